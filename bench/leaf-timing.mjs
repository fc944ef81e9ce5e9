/**
 * How long wstape takes to make the TLS context for a host it has not seen yet, in a fresh
 * process, with the CA already on disk (as the recorder finds it after its first run):
 *
 *   node bench/leaf-timing.mjs <ca-dir> <count>
 *
 * Prints one JSON object: loading the CA, loading node-forge (LeafCertificates.ready()), the
 * process's very first leaf, then `count` more new names and a cached repeat, each timed around
 * LeafCertificates.contextFor(name) (certificate layout in node-forge, RSA signature, and
 * tls.createSecureContext), in ms.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [caDir, countArg] = process.argv.slice(2);
const count = Math.min(200, Math.max(1, Number(countArg) || 20));

const time = async (run) => {
  const start = performance.now();
  const value = await run();
  return { ms: performance.now() - start, value };
};

const { loadOrCreateCa } = await import(path.join(root, 'dist/tls/ca.js'));
const { LeafCertificates } = await import(path.join(root, 'dist/tls/leaf-certs.js'));
const ca = await time(() => loadOrCreateCa(caDir));
const leaves = new LeafCertificates(ca.value);
const forge = await time(() => leaves.ready());
const first = await time(() => leaves.contextFor('first.timing.test'));
const perName = [];
for (let i = 1; i <= count; i++) perName.push((await time(() => leaves.contextFor(`n${i}.timing.test`))).ms);
const cached = await time(() => leaves.contextFor('n1.timing.test'));
process.stdout.write(`${JSON.stringify({ loadCaMs: ca.ms, forgeReadyMs: forge.ms, firstLeafMs: first.ms, perNameMs: perName, cachedMs: cached.ms })}\n`);

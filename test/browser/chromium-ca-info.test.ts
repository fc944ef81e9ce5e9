/**
 * `wstape ca info`'s Chromium/Chrome (Linux) command, as a user runs it: the line is taken from
 * the built CLI's output and run through sh in an empty $HOME (no ~/.pki yet). Headless Debian
 * Chromium with that HOME, and without --ignore-certificate-errors, must then load an https://
 * page through the recorder: the page's script reports back to the site, which it can only do
 * once Chromium accepted the recorder's certificate for it.
 *
 * Chromium and certutil (libnss3-tools) are required (.ci/run installs them); without them the
 * test fails, never skips. Runs the built CLI: `npm test` builds dist/ first.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import https from 'node:https';
import type net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Entry, ErrorEntry, HttpEntry } from '../../src/format/schema.js';
import { loadOrCreateCa } from '../../src/tls/ca.js';
import { cleanupsAfterEach, launchChromium, requireTools, servePage } from '../helpers/chromium.js';
import { runCli } from '../helpers/cli.js';
import { readEntries, startRecorder, tempDir } from '../helpers/peers.js';
import { localhostCertificate } from '../helpers/tls-site.js';

/** How long Chromium gets to start, load the page and run its script. */
const BROWSER_BUDGET_MS = 25_000;

const PAGE_HTML =
  '<!doctype html><html><head><meta charset="utf-8"><title>wstape</title></head>' +
  "<body><script>fetch('/loaded?from=' + location.protocol)</script></body></html>";

const cleanups = cleanupsAfterEach();

/** The command `wstape ca info` prints for Chromium on Linux. */
async function printedChromiumCommand(caDir: string): Promise<string> {
  const info = await runCli(['ca', 'info', '--ca-dir', caDir]);
  expect(info.code, info.stderr).toBe(0);
  const line = /^\s*Chromium\/Chrome \(Linux\)\s{2,}(\S.*)$/m.exec(info.stdout);
  if (!line) throw new Error(`no Chromium/Chrome (Linux) line in wstape ca info:\n${info.stdout}`);
  return line[1]!;
}

describe('the Chromium trust command from wstape ca info', () => {
  it('works as printed on an empty HOME, and Chromium then trusts the recorder', { timeout: 60_000 }, async () => {
    const tools = requireTools();
    const recorderCaDir = tempDir('wstape-recorder-ca-');
    const upstreamCa = await loadOrCreateCa(tempDir('wstape-upstream-ca-'));
    const command = await printedChromiumCommand(recorderCaDir);

    const home = tempDir('wstape-fresh-home-');
    cleanups.push(() => rmSync(home, { recursive: true, force: true }));
    expect(readdirSync(home)).toEqual([]);
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home };
    const ran = spawnSync('sh', ['-c', command], { env, encoding: 'utf8', timeout: 15_000 });
    expect({ status: ran.status, stderr: ran.stderr }).toEqual({ status: 0, stderr: '' });
    expect(existsSync(path.join(home, '.pki', 'nssdb', 'cert9.db'))).toBe(true);

    // The site, with a certificate from another CA that only the recorder trusts (--upstream-ca).
    let onLoaded!: (query: string) => void;
    const loaded = new Promise<string>((resolve) => (onLoaded = resolve));
    const page = servePage(PAGE_HTML);
    const server = https.createServer(localhostCertificate(upstreamCa), (request, response) => {
      if (request.url?.startsWith('/loaded?')) {
        response.writeHead(204).end();
        onLoaded(request.url.slice('/loaded?'.length));
      } else {
        page(request, response);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    const port = (server.address() as net.AddressInfo).port;

    const session = await startRecorder({ caDir: recorderCaDir, upstreamCa: [upstreamCa.paths.cert], insecure: false, noIntercept: [], tls: false });
    cleanups.push(() => session.stop());
    const live: Entry[] = [];
    // A refused certificate (Chromium sends an alert) ends the wait at once, not at the budget.
    let onRefused!: (error: ErrorEntry) => void;
    const refused = new Promise<ErrorEntry>((resolve) => (onRefused = resolve));
    session.recorder.onEntry((entry) => {
      live.push(entry);
      if (entry.kind === 'error' && entry.code === 'CLIENT_TLS') onRefused(entry);
    });

    const pageUrl = `https://localhost:${port}/page`;
    const browser = launchChromium(tools.chromium, home, `http://127.0.0.1:${session.port}`, pageUrl);
    cleanups.push(() => browser.kill());

    let budget: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      loaded,
      refused.then((error) => ({ refused: error.message })),
      new Promise<null>((resolve) => (budget = setTimeout(() => resolve(null), BROWSER_BUDGET_MS))),
    ]);
    clearTimeout(budget);
    if (outcome !== null && typeof outcome === 'object') throw new Error(`Chromium refused the certificate: ${outcome.refused}\n${browser.output()}`);
    if (outcome === null) {
      const errors = live.filter((entry): entry is ErrorEntry => entry.kind === 'error').map((error) => `  ${error.code}: ${error.message.slice(0, 300)}`);
      throw new Error(`Chromium did not load ${pageUrl} through the recorder\nrecorder errors:\n${errors.join('\n')}\nchromium output:\n${browser.output()}`);
    }
    expect(outcome).toBe('from=https:');
    await browser.kill();
    await session.stop();

    const entries = await readEntries(session.path);
    const exchange = entries.find((entry): entry is HttpEntry => entry.kind === 'http' && entry.url === pageUrl);
    expect(exchange).toMatchObject({ mode: 'connect', response: { status: 200 } });
    expect(exchange!.response!.body?.text).toBe(PAGE_HTML);
    const errors = entries.filter((entry): entry is ErrorEntry => entry.kind === 'error');
    expect(errors.filter((error) => error.code === 'CLIENT_TLS')).toEqual([]);
  });
});

/**
 * `wstape ca info`'s Chromium/NSS command, run as printed (through sh) with HOME set to an empty
 * folder: it creates the NSS database and adds the root CA, and running it again changes nothing.
 * certutil (Debian's libnss3-tools) then lists the CA as a trusted CA ("C,,").
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadOrCreateCa, type RootCa } from '../../src/tls/ca.js';
import { trustSteps } from '../../src/tls/trust.js';
import { tempDir } from './helpers.js';

let ca: RootCa;
let cleanups: Array<() => Promise<void>> = [];
beforeAll(async () => {
  const dir = await tempDir('wstape-nss-ca-');
  cleanups.push(dir.cleanup);
  ca = await loadOrCreateCa(dir.dir);
});
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
  cleanups = [];
});

it('the Chromium command works on a fresh HOME, twice', async () => {
  const home = await tempDir('wstape-nss-home-');
  cleanups.push(home.cleanup);
  const step = trustSteps(ca.paths.cert).find((candidate) => candidate.id === 'chromium-linux')!;
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home.dir };
  for (let run = 0; run < 2; run += 1) {
    const result = spawnSync('sh', ['-c', step.command], { env, encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  }
  const listed = spawnSync('certutil', ['-d', `sql:${path.join(home.dir, '.pki/nssdb')}`, '-L'], { env, encoding: 'utf8' });
  expect(listed.status).toBe(0);
  expect(listed.stdout).toMatch(/^wstape\s+C,,\s*$/m);
});

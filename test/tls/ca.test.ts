import { X509Certificate, createPrivateKey, createPublicKey, createHash } from 'node:crypto';
import { chmod, chown, copyFile, mkdir, readdir, readFile, rename, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCliError } from '../../src/errors.js';
import { caPaths, loadCa, loadOrCreateCa, regenerateCa, resolveCaDir, type CaCreatedInfo } from '../../src/tls/ca.js';
import { compileTlsForChildren, tempDir } from './helpers.js';

const isPosix = process.platform !== 'win32';
const isRoot = process.getuid?.() === 0;

function modeOf(info: { mode: number }): number {
  return info.mode & 0o777;
}

async function errorCode(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    if (isCliError(error)) return error.code;
    throw error;
  }
  return undefined;
}

function spki(pem: string): Buffer {
  return createPublicKey(createPrivateKey(pem)).export({ type: 'spki', format: 'der' });
}

describe('resolveCaDir', () => {
  it.each([
    [{ caDir: 'my-ca' }, { WSTAPE_HOME: '/w', HOME: '/h' }, '/cwd/my-ca'],
    [{ caDir: '/abs/ca' }, { WSTAPE_HOME: '/w' }, '/abs/ca'],
    [{}, { WSTAPE_HOME: '/w', HOME: '/h' }, '/w'],
    [{}, { WSTAPE_HOME: 'rel', HOME: '/h' }, '/cwd/rel'],
    [{}, { WSTAPE_HOME: '', HOME: '/h' }, '/h/.wstape'],
    [{ caDir: '' }, { HOME: '/h' }, '/h/.wstape'],
  ])('%j %j -> %s', (options, env, expected) => {
    expect(resolveCaDir(options, env, '/cwd')).toBe(expected);
  });
});

describe('loadOrCreateCa: a new CA', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const created: CaCreatedInfo[] = [];
  const warnings: string[] = [];
  let ca: Awaited<ReturnType<typeof loadOrCreateCa>>;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    dir = path.join(dir, 'nested', 'ca');
    ca = await loadOrCreateCa(dir, { onCreate: (info) => created.push(info), onWarning: (message) => warnings.push(message) });
  });
  afterAll(() => cleanup());

  it('writes ca.pem, ca.key and leaf.key, and reports the creation once', async () => {
    expect((await readdir(dir)).sort()).toEqual(['ca.key', 'ca.pem', 'leaf.key']);
    expect(created).toEqual([{ dir, certPath: path.join(dir, 'ca.pem'), subject: ca.subject, fingerprint256: ca.fingerprint256 }]);
    expect(warnings).toEqual([]);
    expect(ca.paths).toEqual(caPaths(dir));
    expect(await readFile(ca.paths.cert, 'utf8')).toBe(ca.certPem);
  });

  it.runIf(isPosix)('makes the folder 0700 and the keys 0600', async () => {
    expect(modeOf(await stat(dir))).toBe(0o700);
    expect(modeOf(await stat(path.join(dir, 'ca.key')))).toBe(0o600);
    expect(modeOf(await stat(path.join(dir, 'leaf.key')))).toBe(0o600);
  });

  it('is a CA certificate that matches ca.key, with the promised fields', async () => {
    const x509 = new X509Certificate(await readFile(path.join(dir, 'ca.pem')));
    expect(x509.ca).toBe(true);
    expect(x509.checkPrivateKey(createPrivateKey(await readFile(path.join(dir, 'ca.key'))))).toBe(true);
    expect(x509.publicKey.export({ type: 'spki', format: 'der' })).toEqual(spki(await readFile(path.join(dir, 'ca.key'), 'utf8')));
    expect(x509.verify(x509.publicKey)).toBe(true); // self-signed
    expect(x509.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(x509.fingerprint256).toBe(ca.fingerprint256);
    expect(ca.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(x509.subject).toMatch(/^CN=wstape root CA \(.+\)\nO=wstape\nOU=/);
    expect(ca.subject).toBe(x509.subject.split('\n').join(', '));
    expect(ca.serialNumber).toBe(x509.serialNumber.toUpperCase());
    const years = (ca.notAfter.getTime() - Date.now()) / (365.25 * 24 * 3600 * 1000);
    expect(years).toBeGreaterThan(9.9);
    expect(years).toBeLessThan(10.1);
    expect(ca.notBefore.getTime()).toBeLessThan(Date.now());
  });

  it('has the extensions strict verifiers want (basicConstraints, keyUsage critical; SKI; SHA-256)', async () => {
    const { certificate } = await ca.forge();
    const bc = certificate.getExtension('basicConstraints') as { cA?: boolean; critical?: boolean };
    expect(bc).toMatchObject({ cA: true, critical: true });
    const ku = certificate.getExtension('keyUsage') as Record<string, boolean>;
    expect(ku).toMatchObject({ keyCertSign: true, cRLSign: true, critical: true });
    expect(certificate.getExtension('subjectKeyIdentifier')).toBeTruthy();
    expect(certificate.siginfo.algorithmOid).toBe('1.2.840.113549.1.1.11'); // sha256WithRSAEncryption
    // A positive serial without a leading zero byte (RFC 5280 §4.1.2.2, DER minimal encoding).
    expect(certificate.serialNumber).toMatch(/^[4-7][0-9a-f]{31}$/);
  });

  it('exposes the leaf key SPKI hash Chromium takes', async () => {
    const expected = createHash('sha256')
      .update(spki(await readFile(path.join(dir, 'leaf.key'), 'utf8')))
      .digest('base64');
    expect(ca.leafSpkiSha256Base64).toBe(expected);
    expect(ca.leafSpkiSha256Base64).toMatch(/^[A-Za-z0-9+/]{43}=$/);
  });

  it('loads the same CA again without creating one', async () => {
    const again: CaCreatedInfo[] = [];
    const second = await loadOrCreateCa(dir, { onCreate: (info) => again.push(info) });
    expect(again).toEqual([]);
    expect(second.fingerprint256).toBe(ca.fingerprint256);
    expect(second.leafSpkiSha256Base64).toBe(ca.leafSpkiSha256Base64);
    expect((await loadCa(dir))?.fingerprint256).toBe(ca.fingerprint256);
  });
});

describe('loadOrCreateCa: one CA per install', () => {
  let base: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir: base, cleanup } = await tempDir()));
  afterAll(() => cleanup());

  it('two folders give two different CAs', async () => {
    const [a, b] = await Promise.all([loadOrCreateCa(path.join(base, 'a')), loadOrCreateCa(path.join(base, 'b'))]);
    expect(a.fingerprint256).not.toBe(b.fingerprint256);
    expect(a.serialNumber).not.toBe(b.serialNumber);
    expect(a.leafSpkiSha256Base64).not.toBe(b.leafSpkiSha256Base64);
  });

  it('loadCa does not create one', async () => {
    expect(await loadCa(path.join(base, 'none'))).toBeUndefined();
    await mkdir(path.join(base, 'empty'));
    expect(await loadCa(path.join(base, 'empty'))).toBeUndefined();
    expect(await readdir(path.join(base, 'empty'))).toEqual([]);
  });

  it('concurrent first use in one process: one CA, one creator', async () => {
    const dir = path.join(base, 'same-process');
    const created: string[] = [];
    const cas = await Promise.all(Array.from({ length: 4 }, () => loadOrCreateCa(dir, { onCreate: (info) => created.push(info.fingerprint256) })));
    expect(new Set(cas.map((ca) => ca.fingerprint256)).size).toBe(1);
    expect(new Set(cas.map((ca) => ca.leafSpkiSha256Base64)).size).toBe(1);
    expect(created).toEqual([cas[0]!.fingerprint256]);
    expect((await readdir(dir)).sort()).toEqual(['ca.key', 'ca.pem', 'leaf.key']); // no temporary files left
  });

  it('concurrent first use by separate processes: one CA, one creator', async () => {
    const compiled = await compileTlsForChildren();
    try {
      const dir = path.join(base, 'processes');
      const startAt = Date.now() + 1500;
      const script = `
        const { loadOrCreateCa } = await import(${JSON.stringify(path.join(compiled.root, 'src/tls/ca.js'))});
        while (Date.now() < ${startAt}) {}
        let created = false;
        const ca = await loadOrCreateCa(process.argv[1], { onCreate: () => { created = true; } });
        console.log(JSON.stringify({ fingerprint: ca.fingerprint256, leaf: ca.leafSpkiSha256Base64, created }));
      `;
      const runs = await Promise.all(
        Array.from(
          { length: 4 },
          () =>
            new Promise<string>((resolve, reject) => {
              const child = spawn(process.execPath, ['--input-type=module', '-e', script, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
              let out = '';
              child.stdout.on('data', (chunk) => (out += String(chunk)));
              child.on('error', reject);
              child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`child exited ${code}`))));
            }),
        ),
      );
      const results = runs.map((out) => JSON.parse(out) as { fingerprint: string; leaf: string; created: boolean });
      expect(new Set(results.map((r) => r.fingerprint)).size).toBe(1);
      expect(new Set(results.map((r) => r.leaf)).size).toBe(1);
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(new X509Certificate(await readFile(path.join(dir, 'ca.pem'))).fingerprint256).toBe(results[0]!.fingerprint);
      expect((await readdir(dir)).sort()).toEqual(['ca.key', 'ca.pem', 'leaf.key']);
    } finally {
      await compiled.cleanup();
    }
  });
});

describe.runIf(isPosix)('loadOrCreateCa: permissions', () => {
  let base: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir: base, cleanup } = await tempDir()));
  afterAll(() => cleanup());

  it.each(['ca.key', 'leaf.key'])('a %s readable by others is tightened to 0600, with one warning', async (file) => {
    const dir = path.join(base, `loose-${file}`);
    const first = await loadOrCreateCa(dir);
    await chmod(path.join(dir, file), 0o644);
    const warnings: string[] = [];
    const again = await loadOrCreateCa(dir, { onWarning: (message) => warnings.push(message) });
    expect(again.fingerprint256).toBe(first.fingerprint256);
    expect(modeOf(await stat(path.join(dir, file)))).toBe(0o600);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(path.join(dir, file));
    expect(warnings[0]).not.toContain('\n');
    // Once fixed, no more warnings.
    const quiet: string[] = [];
    await loadOrCreateCa(dir, { onWarning: (message) => quiet.push(message) });
    expect(quiet).toEqual([]);
  });

  it('a CA folder open to others that holds only the CA is tightened to 0700', async () => {
    const dir = path.join(base, 'loose-dir');
    await loadOrCreateCa(dir);
    await chmod(dir, 0o755);
    const warnings: string[] = [];
    await loadOrCreateCa(dir, { onWarning: (message) => warnings.push(message) });
    expect(modeOf(await stat(dir))).toBe(0o700);
    expect(warnings).toHaveLength(1);
  });

  it('a CA folder with other files in it is left alone, with a warning; the keys are still 0600', async () => {
    const dir = path.join(base, 'shared-dir');
    await mkdir(dir, { mode: 0o755 });
    await chmod(dir, 0o755);
    await writeFile(path.join(dir, 'notes.txt'), 'mine');
    const warnings: string[] = [];
    await loadOrCreateCa(dir, { onWarning: (message) => warnings.push(message) });
    expect(modeOf(await stat(dir))).toBe(0o755);
    expect(modeOf(await stat(path.join(dir, 'ca.key')))).toBe(0o600);
    expect(warnings.join('\n')).toContain('left as is');
  });

  it('refuses a CA folder every user can write to (ERR_CA)', async () => {
    const dir = path.join(base, 'world-writable');
    await mkdir(dir);
    await chmod(dir, 0o777);
    expect(await errorCode(loadOrCreateCa(dir))).toBe('ERR_CA');
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses a CA folder that is a file (ERR_CA)', async () => {
    const file = path.join(base, 'a-file');
    await writeFile(file, '');
    expect(await errorCode(loadOrCreateCa(file))).toBe('ERR_CA');
  });

  // Only root can give a file to another user; as root, the check is what protects root's trust.
  it.runIf(isRoot)('refuses a key file owned by another user (ERR_CA) and leaves it as it is', async () => {
    const dir = path.join(base, 'foreign-key');
    await loadOrCreateCa(dir);
    await chown(path.join(dir, 'ca.key'), 65534, 65534);
    await chmod(path.join(dir, 'ca.key'), 0o644);
    expect(await errorCode(loadOrCreateCa(dir))).toBe('ERR_CA');
    const info = await stat(path.join(dir, 'ca.key'));
    expect(info.uid).toBe(65534);
    expect(modeOf(info)).toBe(0o644);
  });

  it('refuses a key that is a symbolic link (ERR_CA)', async () => {
    const dir = path.join(base, 'symlink-key');
    await loadOrCreateCa(dir);
    await rename(path.join(dir, 'ca.key'), path.join(base, 'moved.key'));
    await symlink(path.join(base, 'moved.key'), path.join(dir, 'ca.key'));
    expect(await errorCode(loadOrCreateCa(dir))).toBe('ERR_CA');
  });
});

describe('loadOrCreateCa: damaged folders', () => {
  let base: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir: base, cleanup } = await tempDir()));
  afterAll(() => cleanup());

  const old = new Date(Date.now() - 3600 * 1000);

  it('a ca.pem that does not belong to ca.key is refused (ERR_CA)', async () => {
    const a = path.join(base, 'mismatch-a');
    const b = path.join(base, 'mismatch-b');
    await Promise.all([loadOrCreateCa(a), loadOrCreateCa(b)]);
    await copyFile(path.join(b, 'ca.pem'), path.join(a, 'ca.pem'));
    await utimes(path.join(a, 'ca.pem'), old, old);
    await utimes(path.join(a, 'ca.key'), old, old);
    expect(await errorCode(loadOrCreateCa(a))).toBe('ERR_CA');
  });

  it('a recent mismatch (a regen in progress elsewhere) is waited for, then refused', async () => {
    const a = path.join(base, 'young-a');
    const b = path.join(base, 'young-b');
    await Promise.all([loadOrCreateCa(a), loadOrCreateCa(b)]);
    await copyFile(path.join(b, 'ca.pem'), path.join(a, 'ca.pem'));
    const started = Date.now();
    expect(await errorCode(loadOrCreateCa(a, { waitMs: 300 }))).toBe('ERR_CA');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('ca.key without ca.pem (an interrupted creation) is refused once old (ERR_CA)', async () => {
    const dir = path.join(base, 'no-cert');
    await loadOrCreateCa(dir);
    await rm(path.join(dir, 'ca.pem'));
    await utimes(path.join(dir, 'ca.key'), old, old);
    expect(await errorCode(loadOrCreateCa(dir))).toBe('ERR_CA');
  });

  it('ca.pem without ca.key is refused (ERR_CA), never silently replaced', async () => {
    const dir = path.join(base, 'no-key');
    const ca = await loadOrCreateCa(dir);
    await rm(path.join(dir, 'ca.key'));
    expect(await errorCode(loadOrCreateCa(dir))).toBe('ERR_CA');
    expect(await readFile(path.join(dir, 'ca.pem'), 'utf8')).toBe(ca.certPem);
  });

  it('a garbage ca.pem is refused (ERR_CA)', async () => {
    const dir = path.join(base, 'garbage');
    await loadOrCreateCa(dir);
    await writeFile(path.join(dir, 'ca.pem'), 'not a certificate\n');
    await utimes(path.join(dir, 'ca.pem'), old, old);
    expect(await errorCode(loadOrCreateCa(dir))).toBe('ERR_CA');
  });

  it('a missing leaf.key is made again; the root stays', async () => {
    const dir = path.join(base, 'no-leaf');
    const ca = await loadOrCreateCa(dir);
    await rm(path.join(dir, 'leaf.key'));
    const again = await loadOrCreateCa(dir);
    expect(again.fingerprint256).toBe(ca.fingerprint256);
    expect(again.leafSpkiSha256Base64).not.toBe(ca.leafSpkiSha256Base64);
    if (isPosix) expect(modeOf(await stat(path.join(dir, 'leaf.key')))).toBe(0o600);
  });
});

describe('regenerateCa', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir()));
  afterAll(() => cleanup());

  it('replaces the root and the leaf key, keeping the modes', async () => {
    const before = await loadOrCreateCa(dir);
    const created: CaCreatedInfo[] = [];
    const after = await regenerateCa(dir, { onCreate: (info) => created.push(info) });
    expect(after.fingerprint256).not.toBe(before.fingerprint256);
    expect(after.leafSpkiSha256Base64).not.toBe(before.leafSpkiSha256Base64);
    expect(created.map((info) => info.fingerprint256)).toEqual([after.fingerprint256]);
    expect((await loadOrCreateCa(dir)).fingerprint256).toBe(after.fingerprint256);
    expect((await readdir(dir)).sort()).toEqual(['ca.key', 'ca.pem', 'leaf.key']);
    if (isPosix) {
      expect(modeOf(await stat(path.join(dir, 'ca.key')))).toBe(0o600);
      expect(modeOf(await stat(path.join(dir, 'leaf.key')))).toBe(0o600);
    }
  });
});

import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import yargs from 'yargs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  makeCaCommand,
  runCaCert,
  runCaInfo,
  runCaRegen,
  type CaCertOptions,
  type CaInfo,
  type CaInfoOptions,
  type CaRegenOptions,
  type InputStream,
} from '../../src/commands/ca.js';
import { isCliError } from '../../src/errors.js';
import { fakeIo } from '../output/test-archives.js';
import { tempDir } from './helpers.js';

/** Parse argv with the real command module; the runners only capture what they were given. */
async function parseArgs(argv: string[]): Promise<{ sub: string; options: CaCertOptions | CaInfoOptions | CaRegenOptions }> {
  let captured: { sub: string; options: CaCertOptions | CaInfoOptions | CaRegenOptions } | undefined;
  const capture =
    (sub: string) =>
    (options: CaCertOptions | CaInfoOptions | CaRegenOptions): Promise<number> => {
      captured = { sub, options };
      return Promise.resolve(0);
    };
  const command = makeCaCommand({ cert: capture('cert'), info: capture('info'), regen: capture('regen') }, fakeIo, () => new PassThrough());
  await yargs(argv)
    .command(command)
    .strict()
    .exitProcess(false)
    .fail((message, error) => {
      throw error ?? new Error(message);
    })
    .parseAsync();
  if (captured === undefined) throw new Error('no runner called');
  return captured;
}

describe('ca: argv -> options', () => {
  it.each([
    [['ca', 'cert'], 'cert', {}],
    [['ca', 'cert', '--ca-dir', '/x/ca'], 'cert', { caDir: '/x/ca' }],
    [['ca', '--ca-dir', 'rel', 'info'], 'info', { caDir: 'rel', json: false }],
    [['ca', 'info', '--json'], 'info', { json: true }],
    [['ca', 'regen'], 'regen', { yes: false }],
    [['ca', 'regen', '--yes'], 'regen', { yes: true }],
    [['ca', 'regen', '-y', '--ca-dir', '/d'], 'regen', { yes: true, caDir: '/d' }],
  ])('%j', async (argv, sub, expected) => {
    const parsed = await parseArgs(argv);
    expect(parsed.sub).toBe(sub);
    expect(parsed.options).toMatchObject(expected);
    expect(parsed.options.caDir).toBe((expected as { caDir?: string }).caDir);
  });

  it.each([[['ca']], [['ca', 'bogus']], [['ca', 'cert', '--json']], [['ca', 'info', '--yes']]])('rejects %j', async (argv) => {
    await expect(parseArgs(argv)).rejects.toThrow();
  });
});

describe('ca cert / info / regen', () => {
  let base: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir: base, cleanup } = await tempDir()));
  afterAll(() => cleanup());

  it('ca cert prints the root certificate; it is a CA whose key is the stored ca.key', async () => {
    const caDir = path.join(base, 'cert');
    const io = fakeIo();
    expect(await runCaCert({ caDir }, io)).toBe(0);
    const x509 = new X509Certificate(io.out());
    expect(x509.ca).toBe(true);
    const storedKey = createPrivateKey(await readFile(path.join(caDir, 'ca.key')));
    expect(x509.publicKey.export({ type: 'spki', format: 'der' })).toEqual(createPublicKey(storedKey).export({ type: 'spki', format: 'der' }));
    expect(io.out()).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/);
    expect(io.out()).toBe(await readFile(path.join(caDir, 'ca.pem'), 'utf8'));
    // Created on first use: one notice on stderr, nothing else there.
    expect(io.err()).toMatch(/^wstape: created a root CA in .+ \(SHA-256 [0-9A-F:]{95}\); clients must trust it/);
    expect(io.err().trim().split('\n')).toHaveLength(1);

    const again = fakeIo();
    await runCaCert({ caDir }, again);
    expect(again.out()).toBe(io.out());
    expect(again.err()).toBe('');
  });

  it('ca cert finds the CA through WSTAPE_HOME', async () => {
    const home = path.join(base, 'home');
    const io = fakeIo({ env: { WSTAPE_HOME: home } });
    await runCaCert({}, io);
    expect(io.out()).toBe(await readFile(path.join(home, 'ca.pem'), 'utf8'));
  });

  it('ca info --json: one object with the stable fields', async () => {
    const caDir = path.join(base, 'info');
    const io = fakeIo();
    expect(await runCaInfo({ caDir, json: true }, io)).toBe(0);
    const lines = io.out().trim().split('\n');
    expect(lines).toHaveLength(1);
    const info = JSON.parse(lines[0]!) as CaInfo;
    expect(Object.keys(info)).toEqual([
      'dir',
      'cert',
      'key',
      'leafKey',
      'subject',
      'serialNumber',
      'notBefore',
      'notAfter',
      'fingerprint256',
      'leafSpkiSha256',
      'created',
      'trust',
    ]);
    const x509 = new X509Certificate(await readFile(path.join(caDir, 'ca.pem')));
    expect(info).toMatchObject({
      dir: caDir,
      cert: path.join(caDir, 'ca.pem'),
      key: path.join(caDir, 'ca.key'),
      leafKey: path.join(caDir, 'leaf.key'),
      fingerprint256: x509.fingerprint256,
      serialNumber: x509.serialNumber.toUpperCase(),
      created: true,
    });
    expect(new Date(info.notAfter).getTime()).toBe(new Date(x509.validTo).getTime());
    expect(info.trust.map((step) => step.id)).toEqual(['node', 'curl', 'python', 'chromium-linux', 'firefox-linux', 'debian', 'macos', 'windows']);

    const again = fakeIo();
    await runCaInfo({ caDir, json: true }, again);
    expect((JSON.parse(again.out()) as CaInfo).created).toBe(false);
  });

  it('ca info: paths, fingerprint, SPKI hash and the trust commands for each client', async () => {
    const caDir = path.join(base, 'info text');
    const json = fakeIo();
    await runCaInfo({ caDir, json: true }, json);
    const info = JSON.parse(json.out()) as CaInfo;
    const io = fakeIo();
    await runCaInfo({ caDir, json: false }, io);
    const text = io.out();
    const quoted = `'${info.cert}'`; // the path has a space: shell-quoted in commands
    for (const expected of [
      `Certificate  ${info.cert}`,
      info.fingerprint256,
      info.leafSpkiSha256,
      info.subject,
      `NODE_EXTRA_CA_CERTS=${quoted}`,
      `curl --cacert ${quoted}`,
      `SSL_CERT_FILE=${quoted}`,
      `REQUESTS_CA_BUNDLE=${quoted}`,
      `certutil -d sql:$HOME/.pki/nssdb -A -t "C,," -n wstape -i ${quoted}`,
      'certutil -d sql:$HOME/.mozilla/firefox/',
      `sudo cp ${quoted} /usr/local/share/ca-certificates/wstape.crt && sudo update-ca-certificates`,
      `security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain ${quoted}`,
      `certutil -addstore -f ROOT "${info.cert}"`,
    ]) {
      expect(text).toContain(expected);
    }
    // eslint-disable-next-line no-control-regex -- matching control bytes (C0 controls, ANSI escapes) is the point
    expect(text).not.toMatch(/\x1b\[/);
  });

  describe('regen', () => {
    const tty = (answer?: string): InputStream => {
      const input = new PassThrough() as PassThrough & { isTTY?: boolean };
      input.isTTY = true;
      if (answer !== undefined) input.end(answer);
      return input;
    };
    const fingerprint = async (caDir: string): Promise<string> => new X509Certificate(await readFile(path.join(caDir, 'ca.pem'))).fingerprint256;

    it('without a terminal and without --yes: refused (ERR_USAGE, exit 2), nothing changed', async () => {
      const caDir = path.join(base, 'regen-refused');
      await runCaCert({ caDir }, fakeIo());
      const before = await fingerprint(caDir);
      for (const stdin of [undefined, new PassThrough()]) {
        const io = { ...fakeIo(), ...(stdin ? { stdin } : {}) };
        let error: unknown;
        try {
          await runCaRegen({ caDir, yes: false }, io);
        } catch (caught) {
          error = caught;
        }
        expect(isCliError(error) && error.code).toBe('ERR_USAGE');
        expect(isCliError(error) && error.exitCode).toBe(2);
        expect(String((error as Error).message)).not.toContain('\n');
      }
      expect(await fingerprint(caDir)).toBe(before);
    });

    it('--yes replaces it without asking', async () => {
      const caDir = path.join(base, 'regen-yes');
      await runCaCert({ caDir }, fakeIo());
      const before = await fingerprint(caDir);
      const io = fakeIo();
      expect(await runCaRegen({ caDir, yes: true }, io)).toBe(0);
      const after = await fingerprint(caDir);
      expect(after).not.toBe(before);
      expect(io.err()).toContain(`replaced the root CA in ${caDir}: SHA-256 ${after}`);
      expect(io.out()).toBe('');
    });

    it('on a terminal: "y" replaces it, anything else keeps it', async () => {
      const caDir = path.join(base, 'regen-tty');
      await runCaCert({ caDir }, fakeIo());
      const first = await fingerprint(caDir);

      const no = { ...fakeIo(), stdin: tty('n\n') };
      expect(await runCaRegen({ caDir, yes: false }, no)).toBe(0);
      expect(no.err()).toContain(`Replace the root CA in ${caDir} (SHA-256 ${first})?`);
      expect(no.err()).toContain('kept the existing root CA');
      expect(await fingerprint(caDir)).toBe(first);

      const eof = { ...fakeIo(), stdin: tty('') };
      await runCaRegen({ caDir, yes: false }, eof);
      expect(await fingerprint(caDir)).toBe(first);

      const yes = { ...fakeIo(), stdin: tty('y\n') };
      expect(await runCaRegen({ caDir, yes: false }, yes)).toBe(0);
      expect(await fingerprint(caDir)).not.toBe(first);
    });

    it('with no CA yet, it just creates one (nothing to confirm)', async () => {
      const caDir = path.join(base, 'regen-new');
      const io = fakeIo();
      expect(await runCaRegen({ caDir, yes: false }, io)).toBe(0);
      expect(io.err()).toContain(`created a root CA in ${caDir}`);
      expect(new X509Certificate(await readFile(path.join(caDir, 'ca.pem'))).ca).toBe(true);
    });
  });
});

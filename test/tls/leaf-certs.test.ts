import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCliError } from '../../src/errors.js';
import { loadOrCreateCa, type RootCa } from '../../src/tls/ca.js';
import { LeafCertificates, normalizeHost } from '../../src/tls/leaf-certs.js';
import { tempDir } from './helpers.js';

const DAY = 24 * 3600 * 1000;

let ca: RootCa;
let other: RootCa;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const temp = await tempDir();
  cleanup = temp.cleanup;
  [ca, other] = await Promise.all([loadOrCreateCa(`${temp.dir}/ca`), loadOrCreateCa(`${temp.dir}/other`)]);
});
afterAll(() => cleanup());

function x509(leaves: LeafCertificates, host: string): X509Certificate {
  return new X509Certificate(leaves.certificateFor(host).certPem);
}

describe('normalizeHost', () => {
  it.each([
    ['Example.COM', { kind: 'dns', value: 'example.com' }],
    ['example.com.', { kind: 'dns', value: 'example.com' }],
    ['_dmarc.example.com', { kind: 'dns', value: '_dmarc.example.com' }],
    ['xn--bcher-kva.example', { kind: 'dns', value: 'xn--bcher-kva.example' }],
    ['127.0.0.1', { kind: 'ipv4', value: '127.0.0.1' }],
    ['::1', { kind: 'ipv6', value: '::1' }],
    ['[2001:DB8::1]', { kind: 'ipv6', value: '2001:db8::1' }],
    ['fe80::1%eth0', { kind: 'ipv6', value: 'fe80::1' }],
  ])('%s', (host, expected) => {
    expect(normalizeHost(host)).toEqual(expected);
  });

  it.each(['', '.', 'a..b', 'bad host', 'bücher.example', '-a.example', 'a'.repeat(64) + '.example', `${'a.'.repeat(127)}aa`, 'x/y', '*.example.com'])(
    'refuses %j (ERR_TLS_HOST)',
    (host) => {
      let code: string | undefined;
      try {
        normalizeHost(host);
      } catch (error) {
        if (isCliError(error)) code = error.code;
      }
      expect(code).toBe('ERR_TLS_HOST');
    },
  );
});

describe('LeafCertificates', () => {
  it('signs a leaf for a DNS name that node:crypto verifies against the root', () => {
    const leaves = new LeafCertificates(ca);
    const cert = x509(leaves, 'api.example.com');
    expect(cert.verify(ca.certificate.publicKey)).toBe(true);
    expect(cert.verify(other.certificate.publicKey)).toBe(false);
    expect(cert.checkIssued(ca.certificate)).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.checkHost('api.example.com')).toBe('api.example.com');
    expect(cert.checkHost('API.Example.com')).toBeTruthy();
    expect(cert.checkHost('www.example.com')).toBeUndefined();
    expect(cert.subjectAltName).toBe('DNS:api.example.com');
    expect(cert.subject).toBe('CN=api.example.com\nO=wstape');
    expect(cert.issuer).toBe(ca.certificate.subject);
    // The shared leaf key: every leaf carries the same public key.
    expect(cert.publicKey.export({ type: 'spki', format: 'der' })).toEqual(x509(leaves, 'b.example').publicKey.export({ type: 'spki', format: 'der' }));
    expect(cert.checkPrivateKey(ca.leafPrivateKey)).toBe(true);
    // node:crypto's keyUsage is the extended key usage: serverAuth.
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
  });

  it('puts IPv4 and IPv6 addresses in iPAddress SANs', () => {
    const leaves = new LeafCertificates(ca);
    const v4 = x509(leaves, '127.0.0.1');
    expect(v4.subjectAltName).toBe('IP Address:127.0.0.1');
    expect(v4.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(v4.checkIP('127.0.0.2')).toBeUndefined();
    expect(v4.checkHost('127.0.0.1', { subject: 'never' })).toBeUndefined(); // an iPAddress SAN, not a dNSName
    const v6 = x509(leaves, '[2001:db8::1]');
    expect(v6.checkIP('2001:db8::1')).toBe('2001:db8::1');
    expect(v6.checkIP('2001:0db8:0000:0000:0000:0000:0000:0001')).toBeTruthy();
    expect(x509(leaves, '::1').checkIP('::1')).toBe('::1');
    expect(v6.verify(ca.certificate.publicKey)).toBe(true);
  });

  it('has the extensions and validity strict clients require', async () => {
    const leaves = new LeafCertificates(ca);
    const leaf = leaves.certificateFor('strict.example');
    const { forge } = await ca.forge();
    const cert = forge.pki.certificateFromPem(leaf.certPem);
    expect(cert.getExtension('basicConstraints')).toMatchObject({ cA: false, critical: true });
    expect(cert.getExtension('keyUsage')).toMatchObject({ digitalSignature: true, keyEncipherment: true, critical: true });
    expect(cert.getExtension('extKeyUsage')).toMatchObject({ serverAuth: true });
    const aki = cert.getExtension('authorityKeyIdentifier') as { value: string } | undefined;
    const rootSki = (await ca.forge()).certificate.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier: string };
    expect(aki).toBeTruthy();
    // AuthorityKeyIdentifier ::= SEQUENCE { [0] keyIdentifier }: 30 16 80 14 <20 bytes>
    expect(forge.util.bytesToHex(aki!.value)).toBe(`30168014${rootSki.subjectKeyIdentifier}`);
    expect(cert.getExtension('subjectKeyIdentifier')).toBeTruthy();
    expect(cert.siginfo.algorithmOid).toBe('1.2.840.113549.1.1.11');
    const now = Date.now();
    expect(leaf.notBefore.getTime()).toBeLessThan(now - DAY / 2);
    expect(leaf.notAfter.getTime() - leaf.notBefore.getTime()).toBeLessThanOrEqual(398 * DAY);
    expect(leaf.notAfter.getTime()).toBeGreaterThan(now + 390 * DAY);
    expect(new Date(new X509Certificate(leaf.certPem).validTo).getTime()).toBe(Math.floor(leaf.notAfter.getTime() / 1000) * 1000);
  });

  it('caches per normalised host, with a new serial per host', () => {
    const leaves = new LeafCertificates(ca);
    const a = leaves.contextFor('cache.example');
    expect(leaves.contextFor('CACHE.example.')).toBe(a);
    expect(leaves.certificateFor('cache.example')).toBe(leaves.certificateFor('Cache.Example'));
    const serials = new Set(['s1.example', 's2.example', 's3.example'].map((host) => leaves.certificateFor(host).serialNumber));
    expect(serials.size).toBe(3);
    expect(leaves.cachedHosts).toEqual(['cache.example', 's1.example', 's2.example', 's3.example']);
  });

  it('keeps at most cacheSize hosts, dropping the least recently used', () => {
    const leaves = new LeafCertificates(ca, { cacheSize: 2 });
    const a = leaves.contextFor('a.example');
    leaves.contextFor('b.example');
    leaves.contextFor('a.example'); // a is now the most recent
    leaves.contextFor('c.example');
    expect(leaves.cachedHosts).toEqual(['a.example', 'c.example']);
    expect(leaves.contextFor('a.example')).toBe(a);
  });

  it('renews a leaf the day before it expires, and never outlives the root', () => {
    let now = new Date();
    const leaves = new LeafCertificates(ca, { now: () => now });
    const first = leaves.certificateFor('renew.example');
    now = new Date(first.notAfter.getTime() - 2 * DAY);
    expect(leaves.certificateFor('renew.example')).toBe(first);
    now = new Date(first.notAfter.getTime() - DAY / 2);
    const renewed = leaves.certificateFor('renew.example');
    expect(renewed).not.toBe(first);
    expect(renewed.notAfter.getTime()).toBeGreaterThan(first.notAfter.getTime());

    now = new Date(ca.notAfter.getTime() - 100 * DAY);
    expect(leaves.certificateFor('late.example').notAfter.getTime()).toBe(ca.notAfter.getTime());
  });

  it('throws ERR_TLS_HOST for a name that cannot be certified', () => {
    const leaves = new LeafCertificates(ca);
    expect(() => leaves.contextFor('not a host')).toThrow(expect.objectContaining({ code: 'ERR_TLS_HOST' }));
  });

  it('measures a new host: 20 leaves (printed, not asserted)', async () => {
    const leaves = await new LeafCertificates(ca).ready();
    leaves.contextFor('warm-up.example');
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      const context = leaves.contextFor(`host-${i}.timing.example`);
      times.push(performance.now() - started);
      expect(context).toBeTruthy();
      expect(x509(leaves, `host-${i}.timing.example`).verify(ca.certificate.publicKey)).toBe(true);
    }
    const sorted = [...times].sort((a, b) => a - b);
    const median = (sorted[9]! + sorted[10]!) / 2;
    console.log(
      `leaf certificate + SecureContext for a new host (20 hosts): min ${sorted[0]!.toFixed(2)} ms, median ${median.toFixed(2)} ms, max ${sorted[19]!.toFixed(2)} ms`,
    );
  });
});

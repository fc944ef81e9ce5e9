/**
 * node-forge, loaded only when a certificate has to be built, and the one place that signs.
 *
 * node:crypto can sign but cannot build an X.509 certificate; node-forge can build one but signs
 * in pure JavaScript (90-200 ms per RSA-2048 signature on a laptop). So forge lays out the
 * TBSCertificate and node:crypto (OpenSSL) signs its DER: about a millisecond.
 *
 * forge costs ~250 ms to import, so nothing imports it at module load (STYLE.md: heavy modules
 * lazily, so `wstape show` starts fast). Async callers use `loadForge()`; the synchronous
 * `LeafCertificates.contextFor()` (called from an SNI callback) uses `loadForgeSync()`, a
 * `require()` of the same CommonJS module instance.
 */
import { createRequire } from 'node:module';
import { randomBytes, sign, type KeyObject } from 'node:crypto';
import type Forge from 'node-forge';

export type ForgeModule = typeof Forge;

let cached: ForgeModule | undefined;

/** Import node-forge (once). */
export async function loadForge(): Promise<ForgeModule> {
  if (cached === undefined) {
    const imported = (await import('node-forge')) as unknown as { default?: ForgeModule } & ForgeModule;
    cached = imported.default ?? imported;
  }
  return cached;
}

/** The same module, synchronously, for callers that cannot wait (an SNI callback). */
export function loadForgeSync(): ForgeModule {
  cached ??= createRequire(import.meta.url)('node-forge') as ForgeModule;
  return cached;
}

/** forge exports getTBSCertificate at runtime; @types/node-forge does not declare it. */
interface PkiWithTbs {
  getTBSCertificate(cert: Forge.pki.Certificate): Forge.asn1.Asn1;
}

/**
 * Sign a forge certificate with sha256WithRSAEncryption using a node:crypto key. Does what
 * forge's `cert.sign(key, sha256)` does (set the algorithm, cache the TBSCertificate, sign its
 * DER), with OpenSSL doing the RSA operation.
 */
export function signCertificate(forge: ForgeModule, cert: Forge.pki.Certificate, key: KeyObject): void {
  const oid = forge.pki.oids.sha256WithRSAEncryption;
  if (oid === undefined) throw new Error('node-forge lacks the sha256WithRSAEncryption OID');
  cert.signatureOid = oid;
  cert.siginfo.algorithmOid = oid;
  const tbs = (forge.pki as unknown as PkiWithTbs).getTBSCertificate(cert);
  cert.tbsCertificate = tbs;
  const der = Buffer.from(forge.asn1.toDer(tbs).getBytes(), 'binary');
  // RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 §8.2), what sha256WithRSAEncryption names.
  cert.signature = sign('sha256', der, key).toString('binary');
}

/**
 * A random serial number as forge's hex string: 16 bytes (RFC 5280 §4.1.2.2: positive, at most
 * 20 octets; CA/B Forum: at least 64 random bits). The first byte is in 0x40..0x7f so the DER
 * INTEGER is positive and minimally encoded (no leading 0x00 that strict parsers reject).
 */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x3f) | 0x40;
  return bytes.toString('hex');
}

/** ASN.1 UTF8String, for name attributes that PrintableString cannot hold ('_', '@', '*'). */
export const UTF8_STRING = 12;

/**
 * Per-host leaf certificates for TLS interception, signed by the install's root CA.
 *
 * Every leaf uses the install's shared leaf key (see ca.ts), so a new host costs one certificate
 * layout in node-forge and one RSA signature in node:crypto, no key generation. Leaves are cached
 * per host (bounded, least recently used goes first) and renewed a day before they expire.
 *
 * What strict clients need, and where each requirement comes from:
 *   - subjectAltName with the host: browsers ignore the CN (CA/B Forum BR §7.1.4.2.1; Chrome 58+).
 *     DNS names as dNSName, IPv4 and IPv6 addresses as iPAddress (RFC 5280 §4.2.1.6).
 *   - validity at most 398 days (Chromium, Apple): notBefore a day back for skewed clocks, 397
 *     days in all, never past the root's notAfter.
 *   - basicConstraints CA:FALSE, keyUsage digitalSignature + keyEncipherment, extKeyUsage
 *     serverAuth (RFC 5280 §4.2.1.12; Apple and Chromium require serverAuth).
 *   - authorityKeyIdentifier and subjectKeyIdentifier: OpenSSL 3's X509_V_FLAG_X509_STRICT, which
 *     Python 3.13 turns on by default, rejects a leaf without an AKI.
 *   - sha256WithRSAEncryption.
 */
import { isIP } from 'node:net';
import tls from 'node:tls';
import type Forge from 'node-forge';
import { cliError } from '../errors.js';
import type { ForgeCa, RootCa } from './ca.js';
import { randomSerial, signCertificate, UTF8_STRING } from './forge.js';

const DAY_MS = 24 * 3600 * 1000;
/** notBefore is this far in the past; total validity is LEAF_VALIDITY_DAYS. */
const BACKDATE_MS = DAY_MS;
const LEAF_VALIDITY_DAYS = 397;
/** A cached leaf this close to its notAfter is made again. */
const RENEW_BEFORE_MS = DAY_MS;

export interface LeafCertificate {
  /** The normalised host the certificate is for ("example.com", "127.0.0.1", "::1"). */
  host: string;
  /** The leaf alone, PEM. */
  certPem: string;
  /** Uppercase hex. */
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
}

interface CacheEntry {
  leaf: LeafCertificate;
  context: tls.SecureContext;
}

export interface LeafCertificatesOptions {
  /** How many hosts to keep (default 1000). */
  cacheSize?: number;
  /** The clock, for tests. */
  now?: () => Date;
}

export class LeafCertificates {
  readonly #ca: RootCa;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #cacheSize: number;
  readonly #now: () => Date;

  constructor(ca: RootCa, options: LeafCertificatesOptions = {}) {
    this.#ca = ca;
    this.#cacheSize = Math.max(1, options.cacheSize ?? 1000);
    this.#now = options.now ?? ((): Date => new Date());
    // Start loading node-forge now, so the first handshake does not wait ~250 ms for it. Should
    // contextFor() come first, it loads forge synchronously and this finds it done.
    ca.forge().catch(() => undefined);
  }

  /** Load node-forge and parse the CA, if that is not done yet. Optional: contextFor() works without. */
  async ready(): Promise<this> {
    await this.#ca.forge();
    return this;
  }

  /**
   * The TLS context to answer a client that asked for `host` (SNI name, or the CONNECT target when
   * the client sent no SNI): the host's leaf and the root as its chain, with the shared leaf key.
   * Throws CliError ERR_TLS_HOST for a name that cannot go into a certificate.
   */
  contextFor(host: string): tls.SecureContext {
    return this.#entry(host).context;
  }

  /** The host's leaf certificate (made and cached as by contextFor). */
  certificateFor(host: string): LeafCertificate {
    return this.#entry(host).leaf;
  }

  /** Hosts in the cache, least recently used first. */
  get cachedHosts(): string[] {
    return [...this.#cache.keys()];
  }

  #entry(host: string): CacheEntry {
    const name = normalizeHost(host);
    const now = this.#now();
    const cached = this.#cache.get(name.value);
    if (cached !== undefined && cached.leaf.notAfter.getTime() - now.getTime() > RENEW_BEFORE_MS) {
      // Map keeps insertion order: re-inserting marks it most recently used.
      this.#cache.delete(name.value);
      this.#cache.set(name.value, cached);
      return cached;
    }
    const leaf = issueLeaf(this.#ca, this.#ca.forgeSync(), name, now);
    const entry: CacheEntry = {
      leaf,
      context: tls.createSecureContext({ key: this.#ca.leafKeyPem, cert: leaf.certPem + this.#ca.certPem }),
    };
    this.#cache.delete(name.value);
    this.#cache.set(name.value, entry);
    while (this.#cache.size > this.#cacheSize) {
      const oldest = this.#cache.keys().next();
      if (oldest.done === true) break;
      this.#cache.delete(oldest.value);
    }
    return entry;
  }
}

export interface HostName {
  kind: 'dns' | 'ipv4' | 'ipv6';
  value: string;
}

const DNS_LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/**
 * "Example.COM." → dns example.com; "[::1]" → ipv6 ::1; "127.0.0.1" → ipv4. Names arrive from
 * the network (SNI, CONNECT), so anything that is not a plain DNS name (RFC 1035 §2.3.4 lengths,
 * letters, digits, '-', plus the '_' real hosts use) or an IP address is refused.
 */
export function normalizeHost(host: string): HostName {
  let value = host.trim().toLowerCase();
  if (value.startsWith('[') && value.endsWith(']')) value = value.slice(1, -1);
  const zone = value.indexOf('%');
  if (zone > 0 && isIP(value.slice(0, zone)) === 6) value = value.slice(0, zone);
  const ip = isIP(value);
  if (ip === 4) return { kind: 'ipv4', value };
  if (ip === 6) return { kind: 'ipv6', value };
  if (value.endsWith('.')) value = value.slice(0, -1);
  if (value.length === 0 || value.length > 253 || !value.split('.').every((label) => DNS_LABEL.test(label))) {
    throw cliError('ERR_TLS_HOST', `cannot make a certificate for "${host.slice(0, 300)}": not a DNS name or an IP address`);
  }
  return { kind: 'dns', value };
}

/** Lay out and sign one leaf. */
function issueLeaf(ca: RootCa, forgeCa: ForgeCa, name: HostName, now: Date): LeafCertificate {
  const { forge, certificate: root } = forgeCa;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forgeCa.leafPublicKey;
  cert.serialNumber = randomSerial();
  const notBefore = new Date(now.getTime() - BACKDATE_MS);
  const notAfter = new Date(Math.min(notBefore.getTime() + LEAF_VALIDITY_DAYS * DAY_MS, ca.notAfter.getTime()));
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  // The CN is at most 64 characters (RFC 5280 ub-common-name); the SAN is what clients check.
  const subject = [{ name: 'organizationName', value: 'wstape', valueTagClass: UTF8_STRING }];
  if (name.value.length <= 64) subject.unshift({ name: 'commonName', value: name.value, valueTagClass: UTF8_STRING });
  cert.setSubject(subject as unknown as Forge.pki.CertificateField[]);
  // The issuer must equal the root's subject byte for byte: forge keeps each attribute's string
  // type from the parsed root, so re-encoding reproduces it.
  cert.setIssuer(root.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    // RFC 5280 §4.2.1.6 GeneralName: dNSName [2], iPAddress [7] (forge encodes v4 and v6).
    { name: 'subjectAltName', altNames: [name.kind === 'dns' ? { type: 2, value: name.value } : { type: 7, ip: name.value }] },
    { name: 'subjectKeyIdentifier' },
    // RFC 5280 §4.2.1.1: the root's subjectKeyIdentifier.
    { name: 'authorityKeyIdentifier', keyIdentifier: forgeCa.subjectKeyIdentifier },
  ]);
  signCertificate(forge, cert, ca.privateKey);
  return {
    host: name.value,
    certPem: forge.pki.certificateToPem(cert).replace(/\r\n/g, '\n'),
    serialNumber: cert.serialNumber.toUpperCase(),
    notBefore,
    notAfter,
  };
}

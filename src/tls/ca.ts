/**
 * The per-install root CA that TLS interception signs its per-host certificates with.
 *
 * Nothing ships in the package: the first command that needs the CA generates it in the CA folder
 * (`--ca-dir`, else $WSTAPE_HOME, else ~/.wstape):
 *
 *   ca.pem    the root certificate (what users trust)
 *   ca.key    its private key (0600)
 *   leaf.key  one RSA key shared by every per-host certificate (0600), so a new host costs one
 *             signature and no key generation
 *
 * The folder is created 0700. Two processes starting at once must end up with one CA, so each file
 * is written to a temporary name and published with link(2), which fails when the name exists:
 * `ca.key` is published first and is the gate (whoever links it created the CA; the other process
 * throws its keys away and reads the winner's), then `leaf.key`, then `ca.pem`. A reader that
 * finds `ca.key` without `ca.pem`, or a certificate that does not match the key, is looking at
 * a creation or a `ca regen` in progress and waits for it. The file handling (permission checks,
 * publishing) is in ca-files.ts.
 */
import { stat } from 'node:fs/promises';
import { createHash, createPrivateKey, createPublicKey, generateKeyPair, X509Certificate, type KeyObject } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type Forge from 'node-forge';
import { cliError } from '../errors.js';
import { errnoCode, prepareDir, publishFiles, readOptional, readPrivateFile } from './ca-files.js';
import { shellQuote } from './trust.js';
import { loadForge, loadForgeSync, randomSerial, signCertificate, UTF8_STRING, type ForgeModule } from './forge.js';

export const CA_CERT_FILE = 'ca.pem';
export const CA_KEY_FILE = 'ca.key';
export const LEAF_KEY_FILE = 'leaf.key';

/** Root validity. Leaf certificates are capped at the root's notAfter. */
const CA_VALIDITY_YEARS = 10;
/** Warn this long before the root expires. */
const EXPIRY_WARNING_MS = 30 * 24 * 3600 * 1000;
/** How long a half-written CA (another process mid-creation) may stay half-written. */
const DEFAULT_WAIT_MS = 10_000;
/** A file younger than this that looks wrong may still be being written by another process. */
const YOUNG_MS = 10_000;

export interface CaPaths {
  /** The CA folder (absolute). */
  dir: string;
  /** The root certificate, PEM. */
  cert: string;
  /** The root's private key, PKCS#8 PEM. */
  key: string;
  /** The shared leaf key, PKCS#8 PEM. */
  leafKey: string;
}

/** The root CA in memory. Signing uses the node:crypto keys; forge objects are parsed on demand. */
export interface RootCa {
  readonly paths: CaPaths;
  readonly certPem: string;
  readonly keyPem: string;
  readonly leafKeyPem: string;
  readonly certificate: X509Certificate;
  readonly privateKey: KeyObject;
  readonly leafPrivateKey: KeyObject;
  /** "CN=wstape root CA (host), O=wstape, OU=user@host 2026-01-02" */
  readonly subject: string;
  /** Uppercase hex, as X509Certificate and openssl print it. */
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** SHA-256 of the certificate's DER, colon-separated uppercase hex (openssl x509 -fingerprint -sha256). */
  readonly fingerprint256: string;
  /**
   * Base64 SHA-256 of the leaf key's SubjectPublicKeyInfo DER: the value Chromium's
   * `--ignore-certificate-errors-spki-list` takes, valid for every certificate this install signs.
   */
  readonly leafSpkiSha256Base64: string;
  /** The forge view (certificate, leaf public key), parsed once; imports node-forge. */
  forge(): Promise<ForgeCa>;
  /** The same, synchronously (node-forge through require). */
  forgeSync(): ForgeCa;
}

export interface ForgeCa {
  forge: ForgeModule;
  certificate: Forge.pki.Certificate;
  leafPublicKey: Forge.pki.rsa.PublicKey;
  /** The root's subjectKeyIdentifier as a forge binary string (the leaves' authorityKeyIdentifier). */
  subjectKeyIdentifier: string;
}

export interface CaCreatedInfo {
  dir: string;
  certPath: string;
  subject: string;
  fingerprint256: string;
}

export interface CaOptions {
  /** Called once when this call generated a new CA (not when it loaded one). */
  onCreate?: (info: CaCreatedInfo) => void;
  /** One-line warnings: a key file or folder that was tightened, a root close to expiry. */
  onWarning?: (message: string) => void;
  /** How long to wait for another process that is creating or replacing the CA (default 10 s). */
  waitMs?: number;
}

/** `--ca-dir DIR`, else $WSTAPE_HOME, else ~/.wstape; relative paths from `cwd`. */
export function resolveCaDir(options: { caDir?: string | undefined }, env: Record<string, string | undefined>, cwd: string = process.cwd()): string {
  if (options.caDir !== undefined && options.caDir !== '') return path.resolve(cwd, options.caDir);
  if (env.WSTAPE_HOME !== undefined && env.WSTAPE_HOME !== '') return path.resolve(cwd, env.WSTAPE_HOME);
  const home = env.HOME !== undefined && env.HOME !== '' ? env.HOME : os.homedir();
  return path.join(home, '.wstape');
}

export function caPaths(dir: string): CaPaths {
  const abs = path.resolve(dir);
  return { dir: abs, cert: path.join(abs, CA_CERT_FILE), key: path.join(abs, CA_KEY_FILE), leafKey: path.join(abs, LEAF_KEY_FILE) };
}

/**
 * Load the CA from `dir`, creating it (and the folder) on first use. Another process creating it
 * at the same moment is waited for, and its CA is used: one folder never holds two CAs.
 * Throws CliError ERR_CA for a folder or key file it cannot trust or repair.
 */
export async function loadOrCreateCa(dir: string, options: CaOptions = {}): Promise<RootCa> {
  const ca = await openCa(dir, options, true);
  if (ca === undefined) throw new Error('unreachable: openCa(create) returned no CA');
  return ca;
}

/** Load the CA from `dir` if there is one; undefined when the folder holds none. Never creates. */
export async function loadCa(dir: string, options: Omit<CaOptions, 'onCreate'> = {}): Promise<RootCa | undefined> {
  const paths = caPaths(dir);
  try {
    const info = await stat(paths.dir);
    if (!info.isDirectory()) throw cliError('ERR_CA', `${paths.dir} is not a folder`);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
  return openCa(dir, options, false);
}

async function openCa(dir: string, options: CaOptions, create: boolean): Promise<RootCa | undefined> {
  const paths = caPaths(dir);
  const warn = options.onWarning ?? ((): void => {});
  await prepareDir(paths.dir, warn);
  const deadline = Date.now() + (options.waitMs ?? DEFAULT_WAIT_MS);
  let created = false;
  for (;;) {
    const state = await readCa(paths, warn);
    if (state.kind === 'ok') {
      const ca = state.ca;
      checkExpiry(ca, warn);
      if (created) options.onCreate?.({ dir: paths.dir, certPath: paths.cert, subject: ca.subject, fingerprint256: ca.fingerprint256 });
      return ca;
    }
    if (state.kind === 'absent') {
      if (!create) return undefined;
      created = await writeNewCa(paths, 'exclusive');
      // Either way the files on disk are now the CA; read them back (the winner's, if we lost).
      continue;
    }
    if (state.kind === 'broken' || Date.now() >= deadline) throw cliError('ERR_CA', state.message);
    await sleep(50);
  }
}

/**
 * Replace the CA in `dir` with a new root and a new leaf key. Every client that trusted the old
 * root must trust the new one. Processes already running keep the old CA in memory.
 */
export async function regenerateCa(dir: string, options: CaOptions = {}): Promise<RootCa> {
  const paths = caPaths(dir);
  const warn = options.onWarning ?? ((): void => {});
  await prepareDir(paths.dir, warn);
  await writeNewCa(paths, 'replace');
  const state = await readCa(paths, warn);
  if (state.kind !== 'ok') throw cliError('ERR_CA', state.kind === 'absent' ? `${paths.dir}: the new CA vanished while it was written` : state.message);
  options.onCreate?.({ dir: paths.dir, certPath: paths.cert, subject: state.ca.subject, fingerprint256: state.ca.fingerprint256 });
  return state.ca;
}

// ---------------------------------------------------------------------------------------------
// Reading

type ReadState =
  | { kind: 'ok'; ca: RootCa }
  | { kind: 'absent' }
  /** Possibly another process mid-write: retry until the deadline. */
  | { kind: 'incomplete'; message: string }
  | { kind: 'broken'; message: string };

async function readCa(paths: CaPaths, warn: (message: string) => void): Promise<ReadState> {
  const key = await readPrivateFile(paths.key, warn);
  const cert = await readOptional(paths.cert);
  const regen = `run "wstape ca regen --ca-dir ${shellQuote(paths.dir)}" to make a new one`;
  if (key === undefined && cert === undefined) return { kind: 'absent' };
  if (key === undefined) return { kind: 'broken', message: `${paths.dir} has ${CA_CERT_FILE} but no ${CA_KEY_FILE}; ${regen}` };
  if (cert === undefined) {
    return retryIfYoung(key.mtimeMs, `${paths.dir} has ${CA_KEY_FILE} but no ${CA_CERT_FILE} (an interrupted creation?); ${regen}`);
  }
  let certificate: X509Certificate;
  let privateKey: KeyObject;
  try {
    certificate = new X509Certificate(cert.text);
  } catch {
    return retryIfYoung(cert.mtimeMs, `${paths.cert} is not a PEM certificate; ${regen}`);
  }
  try {
    privateKey = createPrivateKey(key.text);
  } catch {
    return retryIfYoung(key.mtimeMs, `${paths.key} is not a PEM private key; ${regen}`);
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    // Mid-`regen` a reader can see the new key with the old certificate for a moment.
    return retryIfYoung(Math.max(key.mtimeMs, cert.mtimeMs), `${paths.cert} does not belong to ${paths.key}; ${regen}`);
  }
  if (!certificate.ca) return { kind: 'broken', message: `${paths.cert} is not a CA certificate; ${regen}` };

  let leaf = await readPrivateFile(paths.leafKey, warn);
  if (leaf === undefined) {
    // A CA from before the shared leaf key, or a deleted leaf.key: make one (first writer wins).
    const leafKey = await generateRsaKey();
    await publishFiles([{ final: paths.leafKey, text: pkcs8(leafKey), mode: 0o600 }], 'exclusive');
    leaf = await readPrivateFile(paths.leafKey, warn);
    if (leaf === undefined) return { kind: 'incomplete', message: `${paths.leafKey} vanished while it was written` };
  }
  let leafPrivateKey: KeyObject;
  try {
    leafPrivateKey = createPrivateKey(leaf.text);
  } catch {
    return retryIfYoung(leaf.mtimeMs, `${paths.leafKey} is not a PEM private key; delete it (a new one is made on next use)`);
  }
  return { kind: 'ok', ca: makeRootCa(paths, cert.text, key.text, leaf.text, certificate, privateKey, leafPrivateKey) };
}

function retryIfYoung(mtimeMs: number, message: string): ReadState {
  return Date.now() - mtimeMs < YOUNG_MS ? { kind: 'incomplete', message } : { kind: 'broken', message };
}

function makeRootCa(
  paths: CaPaths,
  certPem: string,
  keyPem: string,
  leafKeyPem: string,
  certificate: X509Certificate,
  privateKey: KeyObject,
  leafPrivateKey: KeyObject,
): RootCa {
  const leafSpki = createPublicKey(leafPrivateKey).export({ type: 'spki', format: 'der' });
  let forgeCa: ForgeCa | undefined;
  const parse = (forge: ForgeModule): ForgeCa => {
    if (forgeCa !== undefined) return forgeCa;
    const cert = forge.pki.certificateFromPem(certPem);
    const leafPublicKey = forge.pki.publicKeyFromPem(
      createPublicKey(leafPrivateKey).export({ type: 'spki', format: 'pem' }).toString(),
    ) as Forge.pki.rsa.PublicKey;
    const ski = cert.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | undefined;
    const subjectKeyIdentifier =
      ski?.subjectKeyIdentifier !== undefined ? forge.util.hexToBytes(ski.subjectKeyIdentifier) : cert.generateSubjectKeyIdentifier().getBytes();
    forgeCa = { forge, certificate: cert, leafPublicKey, subjectKeyIdentifier };
    return forgeCa;
  };
  return {
    paths,
    certPem,
    keyPem,
    leafKeyPem,
    certificate,
    privateKey,
    leafPrivateKey,
    subject: certificate.subject.split('\n').join(', '),
    serialNumber: certificate.serialNumber.toUpperCase(),
    notBefore: new Date(certificate.validFrom),
    notAfter: new Date(certificate.validTo),
    fingerprint256: certificate.fingerprint256,
    leafSpkiSha256Base64: createHash('sha256').update(leafSpki).digest('base64'),
    forge: async () => parse(await loadForge()),
    forgeSync: () => parse(loadForgeSync()),
  };
}

function checkExpiry(ca: RootCa, warn: (message: string) => void): void {
  const left = ca.notAfter.getTime() - Date.now();
  if (left <= 0) warn(`the root CA in ${ca.paths.dir} expired on ${ca.notAfter.toISOString()}; run "wstape ca regen" and trust the new certificate`);
  else if (left < EXPIRY_WARNING_MS)
    warn(`the root CA in ${ca.paths.dir} expires on ${ca.notAfter.toISOString()}; run "wstape ca regen" and trust the new certificate`);
}

// ---------------------------------------------------------------------------------------------
// Creating

/**
 * Generate a CA and publish it in `paths.dir`. 'exclusive': publish only if no CA is there
 * (returns false when another process published first); 'replace': overwrite.
 */
async function writeNewCa(paths: CaPaths, mode: 'exclusive' | 'replace'): Promise<boolean> {
  const [caKey, leafKey, forge] = await Promise.all([generateRsaKey(), generateRsaKey(), loadForge()]);
  const certPem = buildRootCertificate(forge, caKey);
  return publishFiles(
    [
      // Order matters: ca.key is the gate, ca.pem last (see the header).
      { final: paths.key, text: pkcs8(caKey), mode: 0o600 },
      { final: paths.leafKey, text: pkcs8(leafKey), mode: 0o600 },
      { final: paths.cert, text: certPem, mode: 0o644 },
    ],
    mode,
  );
}

function buildRootCertificate(forge: ForgeModule, key: KeyObject): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString());
  cert.serialNumber = randomSerial();
  const now = new Date();
  // A little in the past, so a client whose clock is slightly behind accepts it.
  cert.validity.notBefore = new Date(now.getTime() - 24 * 3600 * 1000);
  const notAfter = new Date(now);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + CA_VALIDITY_YEARS);
  cert.validity.notAfter = notAfter;
  const attributes = rootSubject(now);
  cert.setSubject(attributes);
  cert.setIssuer(attributes);
  cert.setExtensions([
    // RFC 5280 §4.2.1.9: a CA certificate MUST have basicConstraints cA TRUE, marked critical.
    { name: 'basicConstraints', cA: true, critical: true },
    // RFC 5280 §4.2.1.3: keyCertSign for a certificate that signs certificates. OpenSSL 3's and
    // Python 3.13's X509 strict mode require keyUsage on a CA.
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    // RFC 5280 §4.2.1.2: SKI in every CA certificate; leaves point at it with their AKI.
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: true },
  ]);
  signCertificate(forge, cert, key);
  return forge.pki.certificateToPem(cert).replace(/\r\n/g, '\n');
}

/**
 * CN "wstape root CA (host)", O "wstape", OU "user@host 2026-01-02T10:30Z": says which machine
 * and which install a trusted root belongs to when it shows up in a trust store. Each at most 64
 * characters (RFC 5280 ub-common-name), as UTF8String (@types/node-forge types valueTagClass as
 * an asn1.Class, hence the cast).
 */
function rootSubject(now: Date): Forge.pki.CertificateField[] {
  const host = printable(os.hostname()) || 'localhost';
  let user = '';
  try {
    user = printable(os.userInfo().username);
  } catch {
    // No passwd entry (a container with an arbitrary uid): leave the user out.
  }
  const stamp = `${now.toISOString().slice(0, 16)}Z`;
  const cn = `wstape root CA (${host.slice(0, 64 - 17)})`;
  const ou = `${user ? `${user}@` : ''}${host} ${stamp}`;
  return [
    { name: 'commonName', value: cn, valueTagClass: UTF8_STRING },
    { name: 'organizationName', value: 'wstape', valueTagClass: UTF8_STRING },
    { name: 'organizationalUnitName', value: ou.length <= 64 ? ou : `${ou.slice(0, 64 - stamp.length - 1)} ${stamp}`, valueTagClass: UTF8_STRING },
  ] as unknown as Forge.pki.CertificateField[];
}

/** ASCII printable only: names go into certificates and onto terminals. */
function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '').trim();
}

function generateRsaKey(): Promise<KeyObject> {
  // node:crypto (OpenSSL, off the main thread): ~50-200 ms for RSA-2048, against seconds in forge.
  return new Promise((resolve, reject) => {
    generateKeyPair('rsa', { modulusLength: 2048, publicExponent: 0x10001 }, (error, _publicKey, privateKey) => {
      if (error) reject(error);
      else resolve(privateKey);
    });
  });
}

function pkcs8(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

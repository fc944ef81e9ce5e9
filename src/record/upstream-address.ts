/**
 * Where a request goes, without touching a socket: parsing proxy request targets, classifying
 * upstream failures, building the URLs the archive shows, and the few head rewrites a proxy must
 * make (everything else is forwarded byte for byte). The sans-io proxy core uses only this.
 */
import type { RequestHead } from '../http/http-parser.js';

export interface UpstreamAddress {
  host: string;
  port: number;
}

/** How to speak TLS to an upstream (wss://, https://). */
export interface UpstreamTls {
  /** The name to send as SNI and to verify the certificate against (an IP is verified as such). */
  servername: string;
  /** Skip certificate verification (--insecure). */
  insecure: boolean;
  /** Extra trusted CAs (--upstream-ca), added to Node's default ones. */
  extraCa: string[];
}

/** Error codes OpenSSL and Node use when a peer's certificate does not verify. */
const VERIFY_ERRORS = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REVOKED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Error codes of a TCP connection that never opened. */
const CONNECT_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

/** What the core needs of a socket error (Node's `NodeJS.ErrnoException` is one). */
export interface SocketError {
  code?: string | undefined;
  message: string;
}

/** Classify an upstream socket error: its archive code and a one-line reason for people. */
export function describeUpstreamError(
  error: SocketError,
  address: UpstreamAddress,
  opened: boolean,
): { code: 'UPSTREAM_CONNECT' | 'UPSTREAM_TLS' | 'UPSTREAM_CLOSED' | 'UPSTREAM_PROXY'; reason: string } {
  const where = formatAuthority(address, 0);
  const code = error.code ?? '';
  // A tunnel through --upstream-proxy that did not open; its message says what the proxy answered.
  if (code === 'ERR_UPSTREAM_PROXY') return { code: 'UPSTREAM_PROXY', reason: error.message };
  if (VERIFY_ERRORS.has(code)) {
    return {
      code: 'UPSTREAM_TLS',
      reason: `the certificate of ${where} could not be verified (${code}: ${error.message}); trust its CA with --upstream-ca FILE, or skip verification with --insecure`,
    };
  }
  const connectReason = CONNECT_ERRORS[code];
  if (connectReason !== undefined) return { code: 'UPSTREAM_CONNECT', reason: `cannot connect to ${where}: ${connectReason}` };
  if (!opened && (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || /SSL|TLS/.test(error.message))) {
    return { code: 'UPSTREAM_TLS', reason: `TLS handshake with ${where} failed: ${code ? `${code}: ` : ''}${error.message}` };
  }
  if (!opened) return { code: 'UPSTREAM_CONNECT', reason: `cannot connect to ${where}: ${code || error.message}` };
  return { code: 'UPSTREAM_CLOSED', reason: `connection to ${where} failed: ${code || error.message}` };
}

/** "host:port" or "[v6]:port" → address; null when it is not one (the CONNECT request-target). */
export function parseAuthority(authority: string, defaultPort: number): UpstreamAddress | null {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(authority);
  if (!match) return null;
  const port = match[3] === undefined ? defaultPort : Number(match[3]);
  if (port < 1 || port > 65535) return null;
  return { host: match[1] ?? match[2]!, port };
}

/** host:port as it appears in a URL (IPv6 in brackets, default port left out). */
export function formatAuthority(address: UpstreamAddress, defaultPort: number): string {
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return address.port === defaultPort ? host : `${host}:${address.port}`;
}

/**
 * An absolute-form request target (RFC 9112 §3.2.2), as clients send to a forward proxy.
 * Returns the upstream and the origin-form target, or null when it is not absolute.
 */
export function parseAbsoluteTarget(target: string): { address: UpstreamAddress; originForm: string; scheme: string } | null {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) return null;
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return null;
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  const defaultPort = scheme === 'https' || scheme === 'wss' ? 443 : 80;
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return {
    address: { host, port: url.port === '' ? defaultPort : Number(url.port) },
    originForm: `${url.pathname}${url.search}`,
    scheme,
  };
}

/** The URL the archive shows for a request: ws:// or wss:// for upgrades, http(s):// otherwise. */
export function recordedUrl(address: UpstreamAddress, originForm: string, websocket: boolean, secure: boolean): string {
  const scheme = `${websocket ? 'ws' : 'http'}${secure ? 's' : ''}`;
  const path = originForm.startsWith('/') ? originForm : `/${originForm}`;
  return `${scheme}://${formatAuthority(address, secure ? 443 : 80)}${path}`;
}

/** Hop-by-hop headers meant for the proxy itself; never forwarded upstream. */
const PROXY_ONLY_HEADERS = new Set(['proxy-connection', 'proxy-authorization']);

/**
 * Rewrite a request head for the upstream: a new request-target (absolute-form → origin-form)
 * and/or a new Host value, and without the proxy-only headers. All other lines keep their bytes.
 */
export function rewriteRequestHead(raw: Uint8Array, head: RequestHead, changes: { target?: string; host?: string }): Uint8Array {
  const text = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1');
  const lines = text.split(/\r?\n/);
  lines[0] = `${head.method} ${changes.target ?? head.target} HTTP/${head.httpVersion}`;
  const kept = lines.filter((line, index) => {
    if (index === 0) return true;
    const colon = line.indexOf(':');
    return colon <= 0 || !PROXY_ONLY_HEADERS.has(line.slice(0, colon).trim().toLowerCase());
  });
  if (changes.host !== undefined) {
    const hostLine = kept.findIndex((line, index) => index > 0 && /^host\s*:/i.test(line));
    if (hostLine > 0) kept[hostLine] = `${kept[hostLine]!.slice(0, kept[hostLine]!.indexOf(':'))}: ${changes.host}`;
  }
  return Buffer.from(kept.join('\r\n'), 'latin1');
}

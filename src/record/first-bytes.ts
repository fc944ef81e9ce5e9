/**
 * What a client speaks on the proxy port, decided from its first bytes, with no I/O: HTTP (the
 * proxy and reverse-proxy sessions), SOCKS5 (forward mode), TLS sent straight to the port (a
 * client configured with https:// as the proxy scheme), or anything else. The listening server
 * (proxy-server.ts) reads a connection's first chunk, asks here, and starts the session that
 * speaks it; what nobody speaks is answered at once (a TLS alert, a 400) rather than left to
 * wait for the header timeout.
 */

export type FirstBytes = 'http' | 'socks5' | 'tls' | 'unknown';

/** RFC 9110 §5.6.2: tchar, the characters of a method token. */
const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]$/;

function isTchar(byte: number): boolean {
  return TCHAR.test(String.fromCharCode(byte));
}

/**
 * Classify a connection's first chunk (non-empty). HTTP when it begins like a request line: a
 * method token followed by a space, or by the end of the chunk (the rest comes later), after any
 * empty lines (RFC 9112 §2.2 lets a server ignore CRLFs before a request-line). SOCKS5 only when
 * `socks` (forward mode).
 */
export function classifyFirstBytes(bytes: Uint8Array, socks: boolean): FirstBytes {
  // RFC 1928 §3: a SOCKS5 client begins with VER = X'05'.
  if (socks && bytes[0] === 0x05) return 'socks5';
  // RFC 8446 §5.1: a TLS record begins with its content type, 22 (handshake) for a ClientHello.
  if (bytes[0] === 0x16) return 'tls';
  let at = 0;
  while (at < bytes.length && (bytes[at] === 0x0d || bytes[at] === 0x0a)) at++;
  const start = at;
  while (at < bytes.length && isTchar(bytes[at]!)) at++;
  if (at === bytes.length) return 'http';
  return at > start && bytes[at] === 0x20 ? 'http' : 'unknown';
}

/**
 * A fatal handshake_failure alert (RFC 8446 §6: AlertLevel fatal = 2, AlertDescription
 * handshake_failure = 40), in a TLS record (content type 21, legacy_record_version 0x0303,
 * length 2): what a TLS client sent to a port that does not speak TLS gets, so it fails at once
 * with a TLS error instead of waiting for a ServerHello.
 */
export const TLS_HANDSHAKE_FAILURE_ALERT = Uint8Array.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]);

/** The first bytes as hex, for an error message (at most 16). */
export function leadingHex(bytes: Uint8Array): string {
  const shown = [...bytes.subarray(0, 16)].map((byte) => byte.toString(16).padStart(2, '0')).join(' ');
  return bytes.length > 16 ? `${shown} …` : shown;
}

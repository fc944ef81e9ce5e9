/**
 * The HTTP CONNECT handshake with an upstream (corporate) proxy, without I/O: the request the
 * recorder sends to open a tunnel through it, and a reader for the proxy's answer. The socket
 * side is upstream-proxy.ts.
 */
import { ResponseParser, type ResponseHead } from '../http/http-parser.js';
import { formatAuthority, type UpstreamAddress } from './upstream-address.js';

/**
 * The CONNECT request for `address`. RFC 9110 §9.3.6: the request-target is the authority
 * (host:port, IPv6 in brackets) and so is Host. RFC 9110 §11.7.1: Proxy-Authorization carries
 * the credentials meant for this proxy alone (RFC 7617: Basic, base64 of "user:password").
 */
export function connectRequest(address: UpstreamAddress, authorization: string | null): Uint8Array {
  const authority = formatAuthority(address, 0);
  const lines = [`CONNECT ${authority} HTTP/1.1`, `Host: ${authority}`];
  if (authorization !== null) lines.push(`Proxy-Authorization: ${authorization}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

/** The Basic credentials of a proxy URL's (percent-decoded) userinfo (RFC 7617 §2). */
export function basicAuthorization(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}

/** What the proxy's answer amounts to, once its head is complete. */
export type ConnectOutcome =
  /** RFC 9110 §9.3.6: any 2xx means the tunnel is open; `rest` already belongs to it. */
  | { type: 'open'; head: ResponseHead; rest: Uint8Array }
  /** Any other status: the proxy refused (407 for credentials, 502 when it cannot reach the host). */
  | { type: 'refused'; head: ResponseHead }
  /** Not an HTTP answer at all. */
  | { type: 'invalid'; message: string };

/**
 * Reads the proxy's answer to a CONNECT: push() bytes until it returns an outcome (null: the head
 * is not complete yet). Uses the recorder's HTTP parser, which ends a 2xx to CONNECT at its head.
 */
export class ConnectResponseReader {
  private readonly parser = new ResponseParser();
  private head: ResponseHead | null = null;

  constructor() {
    this.parser.expect('CONNECT');
  }

  push(bytes: Uint8Array): ConnectOutcome | null {
    for (const event of this.parser.push(bytes)) {
      if (event.type === 'error') return { type: 'invalid', message: event.message };
      if (event.type !== 'head') continue;
      // A 1xx before the real answer is skipped (RFC 9110 §15.2); the parser reads on.
      if (event.head.status < 200) continue;
      this.head = event.head;
      if (event.head.status >= 300) return { type: 'refused', head: event.head };
    }
    if (this.head && this.parser.detached) return { type: 'open', head: this.head, rest: this.parser.takeDetachedBytes() };
    return null;
  }
}

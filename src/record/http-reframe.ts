/**
 * The bytes of an HTTP/1.1 message a hook changed or made up. Untouched messages are forwarded as
 * they arrived; these are the only messages the proxy writes from parts. Their body is complete
 * by then, so each is framed with Content-Length, and any Transfer-Encoding is dropped (RFC 9112
 * §6.3: a sender must not send both). No I/O: the sans-io proxy core uses this.
 */
import { STATUS_CODES } from 'node:http';
import type { HeaderPairs } from '../intervene/hooks.js';

/** Framing headers, replaced when a message is re-framed. */
const FRAMING_HEADERS = new Set(['content-length', 'transfer-encoding']);
/** Hop-by-hop headers meant for the proxy itself; never forwarded upstream (as upstream-address.ts). */
const PROXY_ONLY_HEADERS = new Set(['proxy-connection', 'proxy-authorization']);

/** The standard reason phrase of a status ("Not Found"), or "" for one without. */
export function reasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? '';
}

/** The headers with Content-Length and Transfer-Encoding taken out and `Content-Length: length` added (unless null). */
export function reframedHeaders(headers: HeaderPairs, length: number | null): HeaderPairs {
  const kept = headers.filter(([name]) => !FRAMING_HEADERS.has(name.toLowerCase())).map(([name, value]): [string, string] => [name, value]);
  if (length !== null) kept.push(['Content-Length', String(length)]);
  return kept;
}

/** A request head ready to go upstream: the proxy-only headers dropped, framed for a body of `length` bytes. */
export function requestHead(
  method: string,
  target: string,
  httpVersion: string,
  headers: HeaderPairs,
  length: number,
): { headers: HeaderPairs; bytes: Uint8Array } {
  const framed = reframedHeaders(
    headers.filter(([name]) => !PROXY_ONLY_HEADERS.has(name.toLowerCase())),
    // RFC 9110 §8.6: a request without a body need not say Content-Length: 0, but may; a GET
    // with one stays as short as the client sent it.
    length === 0 && !headers.some(([name]) => FRAMING_HEADERS.has(name.toLowerCase())) ? null : length,
  );
  return { headers: framed, bytes: headBytes(`${method} ${target} HTTP/${httpVersion}`, framed) };
}

/**
 * A complete response to the client. RFC 9110 §6.4.1: a 1xx, 204 or 304 response has no body,
 * and neither has the response to a HEAD request: then `body` is not sent, and the headers are
 * kept as the hook gave them (a HEAD response's Content-Length is the size of the GET's body).
 */
export function responseMessage(
  response: { status: number; statusText: string; headers: HeaderPairs; body: Uint8Array },
  httpVersion: string,
  requestMethod: string,
): { headers: HeaderPairs; bytes: Uint8Array } {
  const { status } = response;
  const bodyless = status < 200 || status === 204 || status === 304;
  const head = requestMethod === 'HEAD' || bodyless;
  const headers = head ? response.headers.map(([name, value]): [string, string] => [name, value]) : reframedHeaders(response.headers, response.body.length);
  const start = `HTTP/${httpVersion} ${status} ${response.statusText}`.trimEnd();
  const bytes = headBytes(start, headers);
  return { headers, bytes: head ? bytes : Buffer.concat([bytes, response.body]) };
}

function headBytes(startLine: string, headers: HeaderPairs): Uint8Array {
  // Header names and values were checked for CR, LF and NUL by the hook chain (readHeaders).
  return Buffer.from(`${startLine}\r\n${headers.map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n`, 'latin1');
}

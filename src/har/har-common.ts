/**
 * Conversions both directions of the HAR bridge share: headers, cookies, query strings, HTTP
 * versions, times, base64, and the few RFC 6455 facts (frame header sizes, close payloads, opcode
 * names) needed to rebuild frames from HAR messages. No I/O.
 */
import { isIP } from 'node:net';
import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import type { HeaderList } from '../format/schema.js';
import { encodeClosePayload } from '../wire/frame-encoder.js';
import type { HarCookie, HarNameValue } from './har-types.js';

/** Archive headers (`[name, value]` pairs) as HAR's `{name, value}` objects, order kept. */
export function toHarHeaders(headers: HeaderList): HarNameValue[] {
  return headers.map(([name, value]) => ({ name, value }));
}

/** HAR headers as archive `[name, value]` pairs. */
export function fromHarHeaders(headers: readonly { name: string; value: string }[]): HeaderList {
  return headers.map(({ name, value }) => [name, value] as [string, string]);
}

/** The first value of a header, by case-insensitive name. */
export function headerValue(headers: HeaderList, name: string): string | undefined {
  const lower = name.toLowerCase();
  return headers.find(([key]) => key.toLowerCase() === lower)?.[1];
}

/** Every value of a header, by case-insensitive name. */
export function headerValues(headers: HeaderList, name: string): string[] {
  const lower = name.toLowerCase();
  return headers.filter(([key]) => key.toLowerCase() === lower).map(([, value]) => value);
}

/** RFC 6265 §5.4: `Cookie: a=1; b=2` as HAR cookies. */
export function parseCookieHeader(value: string): HarCookie[] {
  const cookies: HarCookie[] = [];
  for (const part of value.split(';')) {
    const pair = part.trim();
    if (pair === '') continue;
    const at = pair.indexOf('=');
    cookies.push(at === -1 ? { name: '', value: pair } : { name: pair.slice(0, at).trim(), value: pair.slice(at + 1).trim() });
  }
  return cookies;
}

/** RFC 6265 §5.2: one `Set-Cookie` value as a HAR cookie with its attributes. */
export function parseSetCookie(value: string): HarCookie | null {
  const [first = '', ...attributes] = value.split(';');
  const at = first.indexOf('=');
  if (at === -1 && first.trim() === '') return null;
  const cookie: HarCookie = at === -1 ? { name: '', value: first.trim() } : { name: first.slice(0, at).trim(), value: first.slice(at + 1).trim() };
  for (const attribute of attributes) {
    const eq = attribute.indexOf('=');
    const key = (eq === -1 ? attribute : attribute.slice(0, eq)).trim().toLowerCase();
    const val = eq === -1 ? '' : attribute.slice(eq + 1).trim();
    if (key === 'path') cookie.path = val;
    else if (key === 'domain') cookie.domain = val;
    else if (key === 'httponly') cookie.httpOnly = true;
    else if (key === 'secure') cookie.secure = true;
    else if (key === 'samesite' && val !== '') cookie._sameSite = val;
    else if (key === 'expires') {
      const ms = Date.parse(val);
      if (!Number.isNaN(ms)) cookie.expires = new Date(ms).toISOString();
    }
  }
  cookie.httpOnly ??= false;
  cookie.secure ??= false;
  return cookie;
}

/** The request's cookies, from its Cookie headers. */
export function requestCookies(headers: HeaderList): HarCookie[] {
  return headerValues(headers, 'cookie').flatMap(parseCookieHeader);
}

/** The response's cookies, from its Set-Cookie headers. */
export function responseCookies(headers: HeaderList): HarCookie[] {
  return headerValues(headers, 'set-cookie').flatMap((value) => parseSetCookie(value) ?? []);
}

/** The URL's query parameters, decoded, in order (`?a=1&a=2&b` → a=1, a=2, b=""). */
export function queryStringOf(url: string): HarNameValue[] {
  const at = url.indexOf('?');
  if (at === -1) return [];
  const hash = url.indexOf('#', at);
  const search = url.slice(at + 1, hash === -1 ? undefined : hash);
  return [...new URLSearchParams(search)].map(([name, value]) => ({ name, value }));
}

/** Archive `"1.1"` → HAR `"HTTP/1.1"`. */
export function toHarHttpVersion(version: string): string {
  return /^HTTP\//i.test(version) ? version : `HTTP/${version}`;
}

/** HAR's `"HTTP/1.1"`, `"http/2.0"`, `"h2"`, `"h3"` or nothing → the archive's `"1.1"`, `"2"`... */
export function fromHarHttpVersion(version: string | null | undefined): string {
  const text = (version ?? '').trim();
  const http = /^HTTP\/(\d(?:\.\d)?)$/i.exec(text);
  if (http?.[1] !== undefined) return http[1] === '2.0' ? '2' : http[1];
  const alpn = /^h(\d)$/i.exec(text);
  if (alpn?.[1] !== undefined) return alpn[1];
  if (/^http\/2/i.test(text)) return '2';
  return '1.1';
}

/** A wall-clock ISO time as epoch seconds, the unit of Chrome's `_webSocketMessages[].time`. */
export function epochSeconds(iso: string): number {
  return Date.parse(iso) / 1000;
}

/** The host, when it is an IP address (for HAR's `serverIPAddress`). */
export function ipAddressOf(host: string): string | undefined {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return isIP(bare) !== 0 ? bare : undefined;
}

/**
 * Epoch times above this are milliseconds, below it seconds: 1e11 seconds is the year 5138,
 * 1e11 milliseconds is 1973. Chrome, mitmproxy and HTTP Toolkit write seconds; Playwright
 * writes milliseconds.
 */
export const MILLISECONDS_THRESHOLD = 1e11;

/** A HAR message time in either unit, as integer microseconds since the epoch. */
export function epochMicros(time: number, unit: 's' | 'ms'): number {
  return Math.round(unit === 'ms' ? time * 1000 : time * 1e6);
}

/** The unit of a list of HAR message times, decided by magnitude (see MILLISECONDS_THRESHOLD). */
export function timeUnit(times: readonly number[]): 's' | 'ms' {
  const sorted = times.filter((t) => Number.isFinite(t)).sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  return median !== undefined && Math.abs(median) >= MILLISECONDS_THRESHOLD ? 'ms' : 's';
}

/**
 * The times an import accepts, in epoch milliseconds: the years 0000 to 9999, the ones an ISO
 * 8601 date writes with four digits. A HAR time outside them (a message time of 1e300, a date in
 * the year 275760) is refused with its JSON path, not turned into an invalid date.
 */
export const EARLIEST_TIME_MS = Date.parse('0000-01-01T00:00:00.000Z');
export const LATEST_TIME_MS = Date.parse('9999-12-31T23:59:59.999Z');

/** True when epoch milliseconds fall in the years an import accepts. */
export function isImportableTime(ms: number): boolean {
  return Number.isFinite(ms) && ms >= EARLIEST_TIME_MS && ms <= LATEST_TIME_MS;
}

/** Integer epoch microseconds as the archive's ISO time (millisecond precision). */
export function isoOfMicros(micros: number): string {
  return new Date(Math.floor(micros / 1000)).toISOString();
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

/** True when `text` is base64 (standard alphabet; padding optional, whitespace ignored). */
export function isBase64(text: string): boolean {
  return BASE64.test(text.replace(/\s+/g, ''));
}

/**
 * The bytes of a HAR payload that should be base64: decoded when it is, otherwise (a tool that
 * wrote the raw text) the text's UTF-8.
 */
export function base64OrTextBytes(text: string): Buffer {
  return isBase64(text) ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8');
}

/**
 * RFC 6455 §5.5.1: a close payload, a 2-byte big-endian code then the UTF-8 reason (the
 * encoder's); empty without a code. An archive's code is any integer; the wire has 16 bits.
 */
export function closePayloadBytes(code: number | undefined, reason: string | undefined): Buffer {
  if (code === undefined) return Buffer.alloc(0);
  return Buffer.from(encodeClosePayload(code & 0xffff, reason ?? ''));
}

/** The bytes a frame or message payload field holds: `text` as UTF-8, `data` as base64. */
export function fieldBytes(fields: { text?: string | undefined; data?: string | undefined }): Buffer {
  if (fields.text !== undefined) return Buffer.from(fields.text, 'utf8');
  if (fields.data !== undefined) return Buffer.from(fields.data, 'base64');
  return Buffer.alloc(0);
}

/** Bodies are decoded (Content-Encoding) for readers up to this size; larger ones stay as sent. */
const MAX_DECODED_BYTES = 64 * 1024 * 1024;

/**
 * A body decoded from its Content-Encoding (gzip, deflate, br), as HAR's `content.text` holds it
 * and as people want to read it; null when it has none, or the bytes are not what it says.
 */
export function decodeContent(bytes: Uint8Array, headers: HeaderList): Buffer | null {
  const coding = headerValue(headers, 'content-encoding')?.trim().toLowerCase();
  if (coding === undefined || coding === '' || coding === 'identity' || bytes.length === 0) return null;
  const limit = { maxOutputLength: MAX_DECODED_BYTES };
  try {
    if (coding === 'gzip' || coding === 'x-gzip') return gunzipSync(bytes, limit);
    if (coding === 'br') return brotliDecompressSync(bytes, limit);
    if (coding === 'deflate') {
      // RFC 9110 §8.4.1.2: "deflate" is the zlib format, but some servers send raw deflate.
      try {
        return inflateSync(bytes, limit);
      } catch {
        return inflateRawSync(bytes, limit);
      }
    }
  } catch {
    // Not what the header says: left as sent.
  }
  return null;
}

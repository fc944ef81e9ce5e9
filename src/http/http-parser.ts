/**
 * An incremental, I/O-free HTTP/1.x message parser for one direction of a connection.
 *
 * The recorder forwards bytes unchanged, so this parser does not produce messages to re-send: it
 * tells the relay where each message's head and body begin and end (with the raw bytes of each
 * piece, to forward as they are) and decodes what the archive keeps (headers, de-chunked body).
 *
 * After each complete message the parser *detaches*: it stops and keeps any further bytes until
 * the caller calls resume(). The relay uses that to handle one exchange at a time (a pipelined
 * request waits for the previous response), and to hand the bytes after an upgrade or CONNECT to
 * whatever speaks next (WebSocket frames, a TLS tunnel) without parsing them as HTTP.
 */

export type HeaderList = Array<[string, string]>;

export interface RequestHead {
  method: string;
  target: string;
  httpVersion: string;
  headers: HeaderList;
}

export interface ResponseHead {
  status: number;
  statusText: string;
  httpVersion: string;
  headers: HeaderList;
}

export type HttpEvent<Head> =
  /** A complete head; `raw` is its exact bytes. */
  | { type: 'head'; head: Head; raw: Uint8Array }
  /** Body bytes: `raw` as on the wire (chunk framing included), `data` the decoded content. */
  | { type: 'body'; raw: Uint8Array; data: Uint8Array }
  /** The message is complete. The parser is detached until resume(). */
  | { type: 'end' }
  /** The parser stops for good: see {@link HttpErrorCode}. `rest` holds the bytes no event has
   *  carried yet, so the caller can still forward them (when it forwards at all). */
  | { type: 'error'; code: HttpErrorCode; message: string; rest: Uint8Array };

/**
 * Why a parser stopped.
 * - `HTTP_PARSE`: the stream is not HTTP/1.x at all (its start line is not one), or it ended in
 *   the middle of a message. A proxy may still relay such bytes opaquely.
 * - `HTTP_FRAMING`: an HTTP message whose head or body framing is malformed or ambiguous: the
 *   shapes request smuggling uses (RFC 9112 §6.3, §5.1, §5.2, §2.2; RFC 9110 §5.5). A proxy
 *   must not forward it, since the next hop could frame it differently.
 * - `HTTP_HEAD_TOO_LARGE`: the head did not end within {@link MAX_HEAD_BYTES}.
 */
export type HttpErrorCode = 'HTTP_PARSE' | 'HTTP_FRAMING' | 'HTTP_HEAD_TOO_LARGE';

/** RFC 9112 does not bound head size; servers commonly refuse beyond 8-64 KiB. */
export const MAX_HEAD_BYTES = 64 * 1024;
const MAX_CHUNK_LINE = 4096;

/** Thrown by head parsing to reject a message; the parser turns it into an error event. */
class HeadRejected extends Error {
  readonly code: HttpErrorCode;

  constructor(code: HttpErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

const CR = 0x0d;
const LF = 0x0a;

/** How a message's body is delimited (RFC 9112 §6). */
type Framing =
  | { kind: 'none' }
  | { kind: 'length'; length: number }
  | { kind: 'chunked' }
  | { kind: 'close' }
  /** An interim (1xx) response: no body, and the same request's final response follows. */
  | { kind: 'interim' };

const enum State {
  Head,
  FixedBody,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilClose,
  Detached,
  Failed,
}

/** Case-insensitive lookup of the first header with this name. */
export function headerValue(headers: HeaderList, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [key, value] of headers) if (key.toLowerCase() === lower) return value;
  return undefined;
}

/** Whether a comma-separated header (Connection, Upgrade, Transfer-Encoding) contains a token. */
export function headerHasToken(headers: HeaderList, name: string, token: string): boolean {
  const lower = name.toLowerCase();
  const wanted = token.toLowerCase();
  for (const [key, value] of headers) {
    if (key.toLowerCase() !== lower) continue;
    for (const part of value.split(',')) if (part.trim().toLowerCase() === wanted) return true;
  }
  return false;
}

/**
 * Shared machinery for requests and responses: head splitting, body framing, detaching.
 * Subclasses parse the start line and decide how the body is framed.
 */
abstract class MessageParser<Head> {
  private state = State.Head;
  /** Bytes received but not yet consumed (only while a head or chunk line is incomplete). */
  private pending: Uint8Array = new Uint8Array(0);
  /** Bytes left in a Content-Length body or the current chunk. */
  private remaining = 0;

  /** Parse the start line and headers; throw HeadRejected to reject the message. */
  protected abstract parseHead(lines: string[]): Head;
  /** How the body of this message is framed. */
  protected abstract bodyFraming(head: Head): Framing;

  /** True while the parser holds bytes it has not turned into events. */
  get hasPending(): boolean {
    return this.pending.length > 0;
  }

  get detached(): boolean {
    return this.state === State.Detached;
  }

  /** True while part of a head has arrived and its end has not (what a head timeout measures). */
  get inHead(): boolean {
    return this.state === State.Head && this.pending.length > 0;
  }

  /** Feed bytes; returns what they completed. While detached, bytes are only kept. */
  push(chunk: Uint8Array): Array<HttpEvent<Head>> {
    if (this.state === State.Failed) return [];
    const input = this.pending.length > 0 ? concat(this.pending, chunk) : chunk;
    this.pending = new Uint8Array(0);
    if (this.state === State.Detached) {
      this.pending = input;
      return [];
    }
    const events: Array<HttpEvent<Head>> = [];
    this.run(input, events);
    return events;
  }

  /** Leave the detached state and parse the next message from the kept bytes. */
  resume(): Array<HttpEvent<Head>> {
    if (this.state !== State.Detached) return [];
    this.state = State.Head;
    const kept = this.pending;
    this.pending = new Uint8Array(0);
    const events: Array<HttpEvent<Head>> = [];
    if (kept.length > 0) this.run(kept, events);
    return events;
  }

  /** Take the kept bytes (after an upgrade or CONNECT they belong to another protocol). */
  takeDetachedBytes(): Uint8Array {
    const kept = this.pending;
    this.pending = new Uint8Array(0);
    return kept;
  }

  /**
   * The peer closed its side. A body delimited by the connection's end is complete now; anything
   * else in progress is cut short (returned as an error event).
   */
  finish(): Array<HttpEvent<Head>> {
    if (this.state === State.UntilClose) {
      this.state = State.Detached;
      return [{ type: 'end' }];
    }
    if (this.state === State.Head && this.pending.length === 0) return [];
    if (this.state === State.Detached || this.state === State.Failed) return [];
    return [this.fail('HTTP_PARSE', 'connection closed in the middle of a message', this.pending)];
  }

  private fail(code: HttpErrorCode, message: string, rest: Uint8Array): HttpEvent<Head> {
    this.state = State.Failed;
    this.pending = new Uint8Array(0);
    return { type: 'error', code, message, rest };
  }

  private run(input: Uint8Array, events: Array<HttpEvent<Head>>): void {
    let offset = 0;
    while (offset < input.length) {
      switch (this.state) {
        case State.Head: {
          // RFC 9112 §2.2: ignore empty lines before a start line (some clients send a CRLF
          // after a POST body).
          while (offset < input.length && (input[offset] === CR || input[offset] === LF)) offset++;
          if (offset === input.length) return;
          const end = findHeadEnd(input, offset);
          if ((end === -1 ? input.length : end) - offset > MAX_HEAD_BYTES) {
            events.push(this.fail('HTTP_HEAD_TOO_LARGE', `message head larger than ${MAX_HEAD_BYTES} bytes`, input.subarray(offset)));
            return;
          }
          if (end === -1) {
            this.pending = input.slice(offset);
            return;
          }
          const raw = input.subarray(offset, end);
          let head: Head;
          let framing: Framing;
          try {
            head = this.parseHead(splitLines(raw));
            framing = this.bodyFraming(head);
          } catch (reason) {
            if (!(reason instanceof HeadRejected)) throw reason;
            events.push(this.fail(reason.code, reason.message, input.subarray(offset)));
            return;
          }
          offset = end;
          events.push({ type: 'head', head, raw });
          if (framing.kind === 'interim') {
            // Still State.Head: parse the final response next, without detaching.
          } else if (framing.kind === 'none' || (framing.kind === 'length' && framing.length === 0)) {
            this.detach(events);
          } else if (framing.kind === 'length') {
            this.remaining = framing.length;
            this.state = State.FixedBody;
          } else if (framing.kind === 'chunked') {
            this.state = State.ChunkSize;
          } else {
            this.state = State.UntilClose;
          }
          break;
        }
        case State.FixedBody: {
          const take = Math.min(this.remaining, input.length - offset);
          const piece = input.subarray(offset, offset + take);
          offset += take;
          this.remaining -= take;
          events.push({ type: 'body', raw: piece, data: piece });
          if (this.remaining === 0) this.detach(events);
          break;
        }
        case State.ChunkSize:
        case State.ChunkDataEnd:
        case State.Trailers: {
          const lineEnd = indexOfLf(input, offset);
          if (lineEnd === -1) {
            if (input.length - offset > MAX_CHUNK_LINE) {
              events.push(this.fail('HTTP_FRAMING', 'chunk size line too long', input.subarray(offset)));
              return;
            }
            this.pending = input.slice(offset);
            return;
          }
          const lineStart = offset;
          const raw = input.subarray(offset, lineEnd + 1);
          const line = latin1(raw).replace(/\r?\n$/, '');
          offset = lineEnd + 1;
          if (this.state === State.ChunkDataEnd) {
            if (line !== '') {
              events.push(this.fail('HTTP_FRAMING', 'missing CRLF after chunk data', input.subarray(lineStart)));
              return;
            }
            events.push({ type: 'body', raw, data: EMPTY });
            this.state = State.ChunkSize;
          } else if (this.state === State.ChunkSize) {
            // RFC 9112 §7.1: chunk-size [ chunk-ext ] CRLF. No control byte anywhere in the line:
            // a bare CR or NUL in an extension is a smuggling shape (parsers disagree on it).
            const sizeText = line.split(';', 1)[0]!.trim();
            const size = Number.parseInt(sizeText, 16);
            if (!/^[0-9a-fA-F]{1,16}$/.test(sizeText) || !Number.isSafeInteger(size) || CONTROL.test(line)) {
              events.push(this.fail('HTTP_FRAMING', `bad chunk size line "${printable(line)}"`, input.subarray(lineStart)));
              return;
            }
            events.push({ type: 'body', raw, data: EMPTY });
            if (size === 0) {
              this.state = State.Trailers;
            } else {
              this.remaining = size;
              this.state = State.ChunkData;
            }
          } else {
            events.push({ type: 'body', raw, data: EMPTY });
            if (line === '') this.detach(events);
          }
          break;
        }
        case State.ChunkData: {
          const take = Math.min(this.remaining, input.length - offset);
          const piece = input.subarray(offset, offset + take);
          offset += take;
          this.remaining -= take;
          events.push({ type: 'body', raw: piece, data: piece });
          if (this.remaining === 0) this.state = State.ChunkDataEnd;
          break;
        }
        case State.UntilClose: {
          const piece = input.subarray(offset);
          offset = input.length;
          events.push({ type: 'body', raw: piece, data: piece });
          break;
        }
        case State.Detached: {
          this.pending = input.slice(offset);
          return;
        }
        case State.Failed:
          return;
      }
    }
  }

  private detach(events: Array<HttpEvent<Head>>): void {
    this.state = State.Detached;
    events.push({ type: 'end' });
  }
}

/** Parses requests from a client. CONNECT and upgrade requests end at their head. */
export class RequestParser extends MessageParser<RequestHead> {
  protected parseHead(lines: string[]): RequestHead {
    const startLine = lines[0] ?? '';
    // RFC 9112 §3: request-line = method SP request-target SP HTTP-version
    const match = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\S+) HTTP\/(\d\.\d)$/.exec(startLine);
    if (!match) throw new HeadRejected('HTTP_PARSE', `not an HTTP request line: "${printable(startLine)}"`);
    return { method: match[1]!, target: match[2]!, httpVersion: match[3]!, headers: parseHeaderLines(lines) };
  }

  protected bodyFraming(head: RequestHead): Framing {
    const framing = framingFromHeaders(head.headers, head.httpVersion, { kind: 'none' });
    // A CONNECT has no body whatever it says (RFC 9110 §9.3.6); its framing headers are still checked.
    return head.method === 'CONNECT' ? { kind: 'none' } : framing;
  }
}

/**
 * Parses responses from a server. Call expect() with each request's method before its response
 * arrives: a response to HEAD has no body, and a 101 or a 2xx to CONNECT ends at its head.
 */
export class ResponseParser extends MessageParser<ResponseHead> {
  private readonly methods: string[] = [];

  expect(method: string): void {
    this.methods.push(method);
  }

  protected parseHead(lines: string[]): ResponseHead {
    const startLine = lines[0] ?? '';
    // RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ]
    const match = /^HTTP\/(\d\.\d) (\d{3})(?: (.*))?$/.exec(startLine);
    if (!match) throw new HeadRejected('HTTP_PARSE', `not an HTTP status line: "${printable(startLine)}"`);
    return {
      httpVersion: match[1]!,
      status: Number(match[2]),
      statusText: match[3] ?? '',
      headers: parseHeaderLines(lines),
    };
  }

  protected bodyFraming(head: ResponseHead): Framing {
    const interim = head.status >= 100 && head.status < 200 && head.status !== 101;
    // An interim (1xx) response is followed by the real one for the same request.
    const method = interim ? this.methods[0] : this.methods.shift();
    // RFC 9112 §6.3: responses to HEAD, 1xx, 204 and 304 have no body; 101 and a 2xx to CONNECT
    // switch the connection to another protocol.
    if (interim) return { kind: 'interim' };
    const bodyless = method === 'HEAD' || head.status < 200 || head.status === 204 || head.status === 304;
    // Even a response without a body must not carry ambiguous framing headers.
    const framing = framingFromHeaders(head.headers, head.httpVersion, { kind: 'close' });
    if (method === 'CONNECT' && head.status < 300) return { kind: 'none' };
    return bodyless ? { kind: 'none' } : framing;
  }
}

/**
 * How the headers frame a body (RFC 9112 §6.3), refusing every shape two parsers could read
 * differently, which is what request smuggling needs: Content-Length together with
 * Transfer-Encoding, Content-Length values that disagree or are not a number, a
 * Transfer-Encoding whose last coding is not `chunked` (or that applies it twice), and
 * Transfer-Encoding in an HTTP/1.0 message (§6.1). The message is then not forwarded at all, so
 * the next hop never sees it, rather than forwarded with one header removed.
 */
function framingFromHeaders(headers: HeaderList, httpVersion: string, otherwise: Framing): Framing {
  const codings = listValues(headers, 'transfer-encoding');
  const lengths = listValues(headers, 'content-length');
  if (codings !== null) {
    if (lengths !== null) throw new HeadRejected('HTTP_FRAMING', 'both Content-Length and Transfer-Encoding (a request smuggling shape)');
    if (httpVersion === '1.0') throw new HeadRejected('HTTP_FRAMING', 'Transfer-Encoding in an HTTP/1.0 message');
    const lower = codings.map((coding) => coding.toLowerCase());
    if (lower[lower.length - 1] !== 'chunked' || lower.indexOf('chunked') !== lower.length - 1) {
      throw new HeadRejected('HTTP_FRAMING', `Transfer-Encoding "${printable(codings.join(', '))}" does not end in a single chunked`);
    }
    return { kind: 'chunked' };
  }
  if (lengths !== null) {
    // §6.3: a list of identical values may be read as one; anything else is unrecoverable.
    if (lengths.some((value) => !/^\d{1,15}$/.test(value)) || new Set(lengths.map(Number)).size !== 1) {
      throw new HeadRejected('HTTP_FRAMING', `bad Content-Length "${printable(lengths.join(', '))}"`);
    }
    return { kind: 'length', length: Number(lengths[0]) };
  }
  return otherwise;
}

/** Every value of a comma-separated header across all its lines, trimmed; null when absent. */
function listValues(headers: HeaderList, name: string): string[] | null {
  let values: string[] | null = null;
  for (const [key, value] of headers) {
    if (key.toLowerCase() !== name) continue;
    values ??= [];
    for (const part of value.split(',')) values.push(part.trim());
  }
  return values;
}

/** RFC 9110 §5.6.2: a header name is a token. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** RFC 9110 §5.5: a field value holds no control byte but HTAB (so no bare CR, LF or NUL). */
// eslint-disable-next-line no-control-regex -- matching control bytes is the point
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

function parseHeaderLines(lines: string[]): HeaderList {
  const headers: HeaderList = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    // RFC 9112 §5.2: obsolete line folding. A proxy must unfold it before forwarding, and this
    // one forwards bytes as they are, so it refuses the message (as a server may).
    if (line.startsWith(' ') || line.startsWith('\t')) throw new HeadRejected('HTTP_FRAMING', `obsolete line folding in "${printable(line)}"`);
    const colon = line.indexOf(':');
    if (colon <= 0) throw new HeadRejected('HTTP_FRAMING', `malformed header line "${printable(line)}"`);
    const name = line.slice(0, colon);
    // RFC 9112 §5.1: no whitespace between a header name and its colon ("Transfer-Encoding : chunked").
    if (!TOKEN.test(name)) throw new HeadRejected('HTTP_FRAMING', `bad header name "${printable(name)}"`);
    const value = line.slice(colon + 1).trim();
    if (CONTROL.test(value)) throw new HeadRejected('HTTP_FRAMING', `control character in the value of ${printable(name)}`);
    headers.push([name, value]);
  }
  return headers;
}

/** Index just past the blank line (CRLFCRLF or LFLF) that ends a head, or -1. */
function findHeadEnd(input: Uint8Array, from: number): number {
  let index = input.indexOf(LF, from);
  while (index !== -1) {
    if (input[index + 1] === LF) return index + 2;
    if (input[index + 1] === CR && input[index + 2] === LF) return index + 3;
    if (index + 2 >= input.length) return -1;
    index = input.indexOf(LF, index + 1);
  }
  return -1;
}

function indexOfLf(input: Uint8Array, from: number): number {
  return input.indexOf(LF, from);
}

function splitLines(raw: Uint8Array): string[] {
  return latin1(raw).split(/\r?\n/);
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

function printable(text: string): string {
  return text.slice(0, 60).replace(/[^\x20-\x7e]/g, '?');
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

const EMPTY = new Uint8Array(0);

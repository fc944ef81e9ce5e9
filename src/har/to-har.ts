/**
 * An archive as HAR 1.2, fed one entry at a time: HTTP exchanges become ordinary entries as soon
 * as they are read, WebSocket connections when their end entry arrives (websocket-to-har.ts), and
 * the log's own fields (creator, wstape's header, tunnels, stray errors) frame them. No I/O: the
 * command streams what add() and finish() return through HarTextWriter.
 *
 * docs/HAR.md lists every field and what is lost.
 */
import type { ArchiveHeader, ArchiveTrailer, Body, EndEntry, Entry, ErrorEntry, HeaderList, HttpEntry, TunnelEntry } from '../format/schema.js';
import { isValidUtf8 } from '../wire/utf8.js';
import { filtersFrames, keepsExchange, keepsId, type ExportScope } from './export-scope.js';
import {
  decodeContent,
  fieldBytes,
  headerValue,
  ipAddressOf,
  queryStringOf,
  requestCookies,
  responseCookies,
  toHarHeaders,
  toHarHttpVersion,
} from './har-common.js';
import type { HarContent, HarEntry, HarLog, HarPostData, HarResponse, HarWebSocketMessage, WstapeEntryExtras } from './har-types.js';
import { indentJson as indent, messageItemText } from './message-spill.js';
import { spilledList, WebSocketCollector } from './websocket-to-har.js';

export interface HarExportOptions {
  scope: ExportScope;
  header: ArchiveHeader;
  /** wstape's version, for `log.creator`. */
  version: string;
  /** For `log.comment`: the archive's name and the filters, e.g. `--conn c1`. */
  source: string;
  filters: string;
  /**
   * A temporary directory (the caller makes and removes it): WebSocket messages wait there for
   * their connection's end instead of in memory (message-spill.ts). Entries made so are written
   * by HarTextWriter only.
   */
  spillDir?: string | undefined;
}

/** Turns archive entries into HAR entries (see the file comment). */
export class HarExporter {
  readonly #options: HarExportOptions;
  readonly #filtering: boolean;
  readonly #collectors = new Map<string, WebSocketCollector>();
  /** Error entries about exchanges not read yet (the recorder writes them first). */
  readonly #pendingErrors = new Map<string, ErrorEntry[]>();
  readonly #tunnels = new Map<string, Omit<TunnelEntry, 'kind'> & { end?: Omit<EndEntry, 'kind' | 'conn'> }>();
  readonly #logErrors: Omit<ErrorEntry, 'kind'>[] = [];
  #entries = 0;

  constructor(options: HarExportOptions) {
    this.#options = options;
    this.#filtering = filtersFrames(options.scope.filter);
  }

  /** HAR entries written so far. */
  get entries(): number {
    return this.#entries;
  }

  /** Feed one archive entry; returns the HAR entries it completes. */
  add(entry: Entry): HarEntry[] {
    const { scope } = this.#options;
    switch (entry.kind) {
      case 'connection': {
        if (!keepsId(scope, entry.id)) return [];
        this.#collector(entry.id).setConnection(entry);
        return [];
      }
      case 'frame':
        this.#collectors.get(entry.conn)?.addFrame(entry);
        return [];
      case 'end': {
        const collector = this.#collectors.get(entry.conn);
        if (collector !== undefined) {
          collector.setEnd(entry);
          this.#collectors.delete(entry.conn);
          return this.#counted(collector.toHarEntry(this.#filtering));
        }
        const tunnel = this.#tunnels.get(entry.conn);
        if (tunnel !== undefined) {
          const { kind: _kind, conn: _conn, ...rest } = entry;
          tunnel.end = rest;
        }
        return [];
      }
      case 'http': {
        const errors = this.#pendingErrors.get(entry.id) ?? [];
        this.#pendingErrors.delete(entry.id);
        if (!keepsExchange(scope, entry)) return [];
        return this.#counted(httpToHar(entry, errors));
      }
      case 'tunnel': {
        if (keepsExchange(scope, entry)) {
          const { kind: _kind, ...rest } = entry;
          this.#tunnels.set(entry.id, rest);
        }
        return [];
      }
      case 'error':
        this.#error(entry);
        return [];
    }
  }

  /** The archive ended: connections still open, as they stand. */
  finish(): HarEntry[] {
    const rest = [...this.#collectors.values()].flatMap((collector) => this.#counted(collector.toHarEntry(this.#filtering)));
    this.#collectors.clear();
    return rest;
  }

  /** The log's fields before `entries`. */
  logHead(): Pick<HarLog, 'version' | 'creator' | 'comment'> {
    const { source, filters, version } = this.#options;
    return {
      version: '1.2',
      creator: { name: 'wstape', version },
      comment: `Exported by wstape ${version} from ${source}${filters !== '' ? ` (${filters})` : ''}`,
    };
  }

  /** The log's fields after `entries`: wstape's header and trailer, tunnels, stray errors. */
  logTail(trailer: ArchiveTrailer | null): Pick<HarLog, '_wstapeHeader' | '_wstapeTrailer' | '_wstapeTunnels' | '_wstapeErrors'> {
    const tail: Pick<HarLog, '_wstapeHeader' | '_wstapeTrailer' | '_wstapeTunnels' | '_wstapeErrors'> = {
      _wstapeHeader: this.#options.header,
      _wstapeTrailer: trailer,
    };
    if (this.#tunnels.size > 0) tail._wstapeTunnels = [...this.#tunnels.values()];
    // Errors about exchanges that never got their entry (the recording stopped first).
    for (const errors of this.#pendingErrors.values()) for (const { kind: _kind, ...rest } of errors) this.#logErrors.push(rest);
    this.#pendingErrors.clear();
    if (this.#logErrors.length > 0) tail._wstapeErrors = this.#logErrors;
    return tail;
  }

  #collector(id: string): WebSocketCollector {
    let collector = this.#collectors.get(id);
    if (collector === undefined) this.#collectors.set(id, (collector = new WebSocketCollector(id, this.#options.scope, this.#options.spillDir)));
    return collector;
  }

  #counted(entry: HarEntry | null): HarEntry[] {
    if (entry === null) return [];
    this.#entries++;
    return [entry];
  }

  #error(entry: ErrorEntry): void {
    const { scope } = this.#options;
    if (entry.conn === undefined) {
      if (scope.filter.conns === undefined && keepsExchange(scope, { id: '', time: entry.time, elapsed: entry.elapsed })) {
        const { kind: _kind, ...rest } = entry;
        this.#logErrors.push(rest);
      }
      return;
    }
    const collector = this.#collectors.get(entry.conn);
    if (collector !== undefined) {
      collector.addError(entry);
    } else if (this.#tunnels.has(entry.conn)) {
      const { kind: _kind, ...rest } = entry;
      this.#logErrors.push(rest);
    } else if (keepsId(scope, entry.conn)) {
      // Most likely about an HTTP exchange whose entry comes next.
      const list = this.#pendingErrors.get(entry.conn) ?? [];
      list.push(entry);
      this.#pendingErrors.set(entry.conn, list);
    }
  }
}

/** A response body as HAR `content` (text, or base64 with `encoding`), and its bodySize. */
export function harContent(body: Body | undefined, headers: HeaderList): { content: HarContent; bodySize: number } {
  const mimeType = headerValue(headers, 'content-type') ?? 'x-unknown';
  if (body === undefined) return { content: { size: 0, mimeType }, bodySize: 0 };
  const raw = fieldBytes(body);
  const truncated = body.truncated === true;
  const decoded = truncated ? null : decodeContent(raw, headers);
  const bytes = decoded ?? raw;
  const content: HarContent = { size: decoded !== null ? decoded.length : body.size, mimeType };
  if (decoded !== null) content.compression = decoded.length - body.size;
  if (isValidUtf8(bytes)) {
    content.text = bytes.toString('utf8');
  } else {
    content.text = bytes.toString('base64');
    content.encoding = 'base64';
  }
  if (truncated) {
    content._wstapeTruncated = true;
    content.comment = `wstape kept only the first ${raw.length} of ${body.size} bytes`;
  }
  return { content, bodySize: body.size };
}

/** A request body as HAR `postData`: text, or base64 marked `_encoding: "base64"`. */
function harPostData(body: Body | undefined, headers: HeaderList): HarPostData | undefined {
  if (body === undefined || (body.size === 0 && (body.text ?? body.data ?? '') === '')) return undefined;
  const bytes = fieldBytes(body);
  const postData: HarPostData = { mimeType: headerValue(headers, 'content-type') ?? '', text: '' };
  if (isValidUtf8(bytes)) {
    postData.text = bytes.toString('utf8');
  } else {
    postData.text = bytes.toString('base64');
    postData._encoding = 'base64';
  }
  if (body.truncated === true) {
    postData._wstapeTruncated = true;
    postData.comment = `wstape kept only the first ${bytes.length} of ${body.size} bytes`;
  }
  return postData;
}

/** One HTTP exchange as a HAR entry. */
export function httpToHar(entry: HttpEntry, errors: readonly ErrorEntry[] = []): HarEntry {
  const { request } = entry;
  const durationMs = Math.round(Math.max(0, entry.duration) * 1000) / 1000;
  let response: HarResponse;
  if (entry.response === null) {
    // What Chrome and mitmproxy write for a request that got no response.
    response = {
      status: 0,
      statusText: '',
      httpVersion: '',
      cookies: [],
      headers: [],
      content: { size: 0, mimeType: 'x-unknown' },
      redirectURL: '',
      headersSize: -1,
      bodySize: -1,
      _error: entry.error ?? 'no response',
    };
  } else {
    const { content, bodySize } = harContent(entry.response.body, entry.response.headers);
    response = {
      status: entry.response.status,
      statusText: entry.response.statusText,
      httpVersion: toHarHttpVersion(entry.response.httpVersion),
      cookies: responseCookies(entry.response.headers),
      headers: toHarHeaders(entry.response.headers),
      content,
      redirectURL: headerValue(entry.response.headers, 'location') ?? '',
      headersSize: -1,
      bodySize,
    };
    if (entry.error !== undefined) response._error = entry.error;
  }
  const extras: WstapeEntryExtras = {
    id: entry.id,
    elapsed: entry.elapsed,
    mode: entry.mode,
    client: entry.client,
    server: entry.server,
    target: request.target,
    requestHttpVersion: request.httpVersion,
    duration: entry.duration,
  };
  if (entry.response !== null) extras.responseHttpVersion = entry.response.httpVersion;
  if (entry.error !== undefined) extras.error = entry.error;
  if (errors.length > 0) extras.errors = errors.map(({ kind: _kind, conn: _conn, ...rest }) => rest);

  const har: HarEntry = {
    startedDateTime: entry.time,
    time: durationMs,
    request: {
      method: request.method,
      url: entry.url,
      httpVersion: toHarHttpVersion(request.httpVersion),
      cookies: requestCookies(request.headers),
      headers: toHarHeaders(request.headers),
      queryString: queryStringOf(entry.url),
      headersSize: -1,
      bodySize: request.body?.size ?? 0,
    },
    response,
    cache: {},
    // The archive has one duration, from the request head to the end of the response: it is
    // reported as waiting, since the phases within it were not timed.
    timings: { blocked: -1, dns: -1, connect: -1, ssl: -1, send: 0, wait: durationMs, receive: 0 },
  };
  const postData = harPostData(request.body, request.headers);
  if (postData !== undefined) har.request.postData = postData;
  const ip = ipAddressOf(entry.server.host);
  if (ip !== undefined) har.serverIPAddress = ip;
  har._wstape = extras;
  return har;
}

/**
 * The HAR document as text, a piece at a time: head, then each entry, then the tail. Indented
 * two spaces like Chrome's exports, so a person can read and edit it.
 */
export class HarTextWriter {
  #first = true;

  /** `{"log": {` with the fields before `entries`, and the opening of `entries`. */
  head(fields: Record<string, unknown>): string {
    const inner = Object.entries(fields)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => `    ${JSON.stringify(key)}: ${indent(JSON.stringify(value, null, 2), 4)},\n`)
      .join('');
    return `{\n  "log": {\n${inner}    "entries": [`;
  }

  /**
   * One entry, in pieces: a WebSocket entry's messages are stringified one at a time, so a
   * connection with millions of them never becomes one string (V8 caps strings at 512 MiB).
   */
  *entry(entry: HarEntry): Generator<string> {
    yield this.#first ? '\n      {' : ',\n      {';
    this.#first = false;
    const fields = Object.entries(entry).filter(([, value]) => value !== undefined);
    for (const [at, [key, value]] of fields.entries()) {
      const comma = at < fields.length - 1 ? ',' : '';
      const spill = spilledList(entry, key);
      if (spill !== null && spill.length > 0) {
        yield `\n        ${JSON.stringify(key)}: [`;
        yield* spill.chunks();
        yield `\n        ]${comma}`;
      } else if ((key === '_webSocketMessages' || key === '_wstapeControlFrames') && Array.isArray(value) && value.length > 0) {
        yield `\n        ${JSON.stringify(key)}: [`;
        for (const [index, item] of value.entries()) yield messageItemText(item as HarWebSocketMessage, index === 0);
        yield `\n        ]${comma}`;
      } else {
        yield `\n        ${JSON.stringify(key)}: ${indent(JSON.stringify(value, null, 2), 8)}${comma}`;
      }
    }
    yield '\n      }';
  }

  /** The end of `entries`, the fields after it, and the end of the document. */
  tail(fields: Record<string, unknown>): string {
    const inner = Object.entries(fields)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => `,\n    ${JSON.stringify(key)}: ${indent(JSON.stringify(value, null, 2), 4)}`)
      .join('');
    return `${this.#first ? '' : '\n    '}]${inner}\n  }\n}\n`;
  }
}

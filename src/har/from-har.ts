/**
 * A validated HAR (har-schema.ts) as a wstape archive: header, entries in the order things
 * happened, and closing fields. No I/O; `wstape import` reads the file and writes the archive.
 *
 * - Times: `elapsed` counts from the earliest `startedDateTime` (or the archive start a wstape
 *   export recorded), wall-clock `time` keeps millisecond precision.
 * - WebSocket entries (`_resourceType: "websocket"`, `_webSocketMessages`, or a ws:// URL) become
 *   connection, frame, error and end entries (websocket-from-har.ts); everything else becomes an
 *   `http` exchange.
 * - Ids: the ones a wstape export kept (`_wstape.id`) when they are free, otherwise c1, c2... and
 *   h1, h2... in order of start.
 * - Every entry made is validated against the archive schema, so a HAR that converts into
 *   something invalid is refused (ERR_HAR, with the HAR path) instead of written.
 */
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { cliError } from '../errors.js';
import {
  ARCHIVE_FORMAT,
  ARCHIVE_VERSION,
  entrySchema,
  type ArchiveHeader,
  type ArchiveTrailer,
  type Body,
  type Entry,
  type HeaderList,
  type HttpEntry,
} from '../format/schema.js';
import { isValidUtf8 } from '../wire/utf8.js';
import { epochMicros, fromHarHeaders, fromHarHttpVersion, headerValue, timeUnit } from './har-common.js';
import { describeIssue, type HarInput, type HarInputEntry } from './har-schema.js';
import { exchangeBase, stampOf, webSocketFromHar, webSocketUrl, type EntryContext } from './websocket-from-har.js';

export interface HarImportOptions {
  /** wstape's version, for the header's creator. */
  version: string;
  /** One-line warnings (a skipped message, a connection without close information). */
  onWarning?: (message: string) => void;
}

export interface HarImport {
  header: ArchiveHeader;
  entries: Entry[];
  trailer: ArchiveTrailer;
  /** What the HAR held, for the summary line. */
  counts: { connections: number; frames: number; exchanges: number; tunnels: number; openConnections: number; failedConnections: number };
  /** `log.creator.name` of the HAR, e.g. "WebInspector" (Chrome), "mitmproxy". */
  creator: string | null;
}

/** Epoch microseconds of an ISO 8601 time, keeping digits past the millisecond (mitmproxy writes six). */
export function isoMicros(iso: string): number {
  const ms = Date.parse(iso);
  const fraction = /T[^.]*\.(\d+)/.exec(iso)?.[1] ?? '';
  const extra = Number(fraction.padEnd(6, '0').slice(3, 6));
  return Math.floor(ms) * 1000 + (Number.isFinite(extra) ? extra : 0);
}

/**
 * Start times before this (September 2001, as EPOCH_SECONDS_FLOOR in websocket-from-har.ts) are
 * placeholders, not times: Chrome writes `1969-12-31T23:59:59.999Z` or a few seconds into 1970
 * as the start of a WebSocket that never connected (it had no wall-clock time for the request).
 */
const PLACEHOLDER_BEFORE_MICROS = 1e9 * 1e6;

/**
 * Chrome's record of a WebSocket that never connected: no 101, and only `type: "error"` (opcode
 * -1) messages, each carrying the error text. Returns the texts, or null for any other entry.
 */
function webSocketFailure(entry: HarInputEntry): string[] | null {
  const messages = entry._webSocketMessages ?? [];
  if (entry.response.status === 101 || messages.length === 0) return null;
  if (!messages.every((message) => message.type === 'error' || message.opcode === -1)) return null;
  return messages.map((message) => message.data ?? '').filter((text) => text !== '');
}

/**
 * An entry's start in epoch microseconds: its startedDateTime, or, when that is a placeholder
 * (see PLACEHOLDER_BEFORE_MICROS), its first message's time; null when it has neither.
 */
function startOf(entry: HarInputEntry): number | null {
  const start = isoMicros(entry.startedDateTime);
  if (start >= PLACEHOLDER_BEFORE_MICROS) return start;
  const times = (entry._webSocketMessages ?? []).map((message) => message.time).filter((time) => Number.isFinite(time));
  if (times.length === 0) return null;
  const unit = timeUnit(times);
  const first = times.reduce((min, time) => Math.min(min, time), Infinity);
  const micros = epochMicros(first, unit);
  return micros >= PLACEHOLDER_BEFORE_MICROS ? micros : null;
}

function isWebSocket(entry: HarInputEntry): boolean {
  if (entry._resourceType?.toLowerCase() === 'websocket') return true;
  if (/^wss?:/i.test(entry.request.url)) return true;
  return entry._webSocketMessages != null && entry._webSocketMessages.length > 0;
}

/** Ids for the HAR's entries: the recorded ones when free, new ones otherwise (c1, h1, ...). */
function assignIds(entries: readonly { har: HarInputEntry; websocket: boolean }[]): string[] {
  const wanted = new Set(entries.map(({ har }) => har._wstape?.id).filter((id): id is string => id !== undefined));
  const used = new Set<string>();
  const counters = { c: 0, h: 0 };
  return entries.map(({ har, websocket }) => {
    const recorded = har._wstape?.id;
    if (recorded !== undefined && !used.has(recorded)) {
      used.add(recorded);
      return recorded;
    }
    const prefix = websocket ? 'c' : 'h';
    let id: string;
    do id = `${prefix}${++counters[prefix]}`;
    while (used.has(id) || wanted.has(id));
    used.add(id);
    return id;
  });
}

/** HTTP content codings the importer can apply again (RFC 9110 §8.4.1). */
function encodeBody(bytes: Buffer, coding: string): Buffer | null {
  if (coding === 'gzip' || coding === 'x-gzip') return gzipSync(bytes);
  if (coding === 'deflate') return deflateSync(bytes);
  if (coding === 'br') return brotliCompressSync(bytes);
  return null;
}

/**
 * Bytes as an archive body: text when valid UTF-8, base64 otherwise (FORMAT.md's rule); none when
 * empty, as the recorder writes an empty body.
 */
function bodyOf(bytes: Buffer, size: number, truncated: boolean): Body | undefined {
  if (size === 0 && bytes.length === 0) return undefined;
  const body: Body = { size };
  if (isValidUtf8(bytes)) body.text = bytes.toString('utf8');
  else body.data = bytes.toString('base64');
  if (truncated) body.truncated = true;
  return body;
}

/** The request body: postData (text, or base64 with `encoding`/`_encoding`), params, or HTTP Toolkit's `_content`. */
function requestBody(request: HarInputEntry['request']): Body | undefined {
  const { postData, _content: content } = request;
  if (content != null) {
    const bytes = content.encoding === 'base64' ? Buffer.from(content.text, 'base64') : Buffer.from(content.text, 'utf8');
    return bodyOf(bytes, bytes.length, false);
  }
  if (postData == null) return undefined;
  let bytes: Buffer;
  if (postData.text != null) {
    const base64 = postData.encoding === 'base64' || postData._encoding === 'base64';
    bytes = Buffer.from(postData.text, base64 ? 'base64' : 'utf8');
  } else if (postData.params != null && postData.params.length > 0) {
    bytes = Buffer.from(new URLSearchParams(postData.params.map(({ name, value }): [string, string] => [name, value ?? ''])).toString(), 'utf8');
  } else {
    return undefined;
  }
  const truncated = postData._wstapeTruncated === true;
  const size = truncated && request.bodySize != null && request.bodySize > bytes.length ? request.bodySize : bytes.length;
  return bodyOf(bytes, size, truncated);
}

/**
 * The response body. HAR content is decoded (HAR 1.2: `text` is the body after Content-Encoding);
 * the archive keeps bodies as sent, so a body whose headers name gzip, deflate or br is encoded
 * again (the bytes are then equivalent, not identical, to what went over the wire).
 */
function responseBody(har: HarInputEntry, headers: HeaderList): Body | undefined {
  const content = har.response.content;
  if (content == null) return undefined;
  const truncated = content._wstapeTruncated === true;
  if (content.text == null) {
    const size = content.size ?? 0;
    return size > 0 ? { size, text: '', truncated: true } : undefined;
  }
  let bytes: Buffer = Buffer.from(content.text, content.encoding === 'base64' ? 'base64' : 'utf8');
  const coding = headerValue(headers, 'content-encoding')?.trim().toLowerCase();
  // A wstape export that could not decode a body says so by leaving out `compression`.
  const decoded = har._wstape === undefined || content.compression !== undefined;
  if (coding !== undefined && decoded && !truncated && bytes.length > 0) bytes = encodeBody(bytes, coding) ?? bytes;
  const size = truncated && content.size != null && content.size > bytes.length ? content.size : bytes.length;
  return bodyOf(bytes, size, truncated);
}

function httpFromHar(har: HarInputEntry, context: EntryContext): Entry[] {
  const { id, baseMicros, startMicros } = context;
  const extras = har._wstape;
  const stamp = stampOf(startMicros, baseMicros);
  const requestHeaders = fromHarHeaders(har.request.headers);
  const responseHeaders = fromHarHeaders(har.response.headers);
  // Chrome and mitmproxy write status 0 for no response, Playwright -1.
  const answered = har.response.status > 0;
  const failed = webSocketFailure(har);
  const failedText = failed !== null ? `the WebSocket never connected: ${failed.length > 0 ? failed.join('; ') : 'the HAR does not say why'}` : undefined;
  const failure = har.response._error ?? har.response._failureText ?? failedText;
  const error = extras?.error ?? (failure !== undefined && failure !== '' ? failure : answered ? undefined : 'no response (the HAR does not say why)');
  // A WebSocket that never connected keeps its ws:// URL, as the recorder writes a failed upgrade.
  const url = failed !== null ? webSocketUrl(har.request.url) : har.request.url;
  const body = requestBody(har.request);
  const base = exchangeBase(har, url, stamp, requestHeaders);
  const entry: HttpEntry = {
    kind: 'http',
    id,
    ...base,
    request: { ...base.request, ...(body !== undefined ? { body } : {}) },
    response: null,
    duration: extras?.duration ?? Math.max(0, har.time ?? 0),
  };
  if (answered) {
    const responseBodyValue = responseBody(har, responseHeaders);
    entry.response = {
      status: har.response.status,
      statusText: har.response.statusText ?? '',
      httpVersion: extras?.responseHttpVersion ?? fromHarHttpVersion(har.response.httpVersion),
      headers: responseHeaders,
      ...(responseBodyValue !== undefined ? { body: responseBodyValue } : {}),
    };
  }
  if (error !== undefined) entry.error = error;
  const entries: Entry[] = [];
  for (const saved of extras?.errors ?? []) entries.push({ kind: 'error', conn: id, ...saved });
  entries.push(entry);
  return entries;
}

/** A made entry, checked against the archive schema: ERR_HAR naming the HAR path when it fails. */
function validated(entry: Entry, path: string): Entry {
  const result = entrySchema.safeParse(entry);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const detail = issue === undefined ? 'invalid' : describeIssue(issue, entry);
  throw cliError('ERR_HAR', `${path} cannot become a valid "${entry.kind}" archive entry: ${detail}`);
}

/** Convert a validated HAR into an archive (see the file comment). */
export function harToArchive(har: HarInput, options: HarImportOptions): HarImport {
  const warn = options.onWarning ?? (() => {});
  const log = har.log;
  const dated = log.entries.map((entry, at) => ({
    har: entry,
    path: `log.entries[${at}]`,
    start: startOf(entry),
    websocket: isWebSocket(entry),
    failed: webSocketFailure(entry) !== null,
  }));
  // A WebSocket entry whose handshake failed (no 101, no messages, or only Chrome's error
  // messages) is an HTTP exchange that failed, as the recorder writes a failed upgrade.
  for (const item of dated) {
    if (item.websocket && item.har.response.status !== 101 && ((item.har._webSocketMessages ?? []).length === 0 || item.failed)) item.websocket = false;
  }

  const recordedStart = log._wstapeHeader !== undefined ? isoMicros(log._wstapeHeader.startedAt) : undefined;
  // The earliest real time: placeholder starts (a WebSocket that never connected) do not count.
  const earliest = dated.reduce((min, item) => Math.min(min, item.start ?? Infinity), Infinity);
  const baseMicros = recordedStart ?? (Number.isFinite(earliest) ? earliest : Date.now() * 1000);
  const items = dated.map((item) => ({ ...item, startMicros: item.start ?? baseMicros }));
  items.sort((a, b) => a.startMicros - b.startMicros);
  const ids = assignIds(items);

  const made: { entry: Entry; order: number }[] = [];
  const add = (entry: Entry, path: string): void => {
    made.push({ entry: validated(entry, path), order: made.length });
  };
  const counts = { connections: 0, frames: 0, exchanges: 0, tunnels: 0, openConnections: 0, failedConnections: 0 };
  items.forEach((item, at) => {
    const context: EntryContext = { id: ids[at] ?? `x${at}`, path: item.path, baseMicros, startMicros: item.startMicros, warn };
    if (item.websocket) {
      const result = webSocketFromHar(item.har, context);
      for (const entry of result.entries) add(entry, item.path);
      counts.connections++;
      counts.frames += result.frames;
      if (!result.closed) counts.openConnections++;
    } else {
      for (const entry of httpFromHar(item.har, context)) add(entry, item.path);
      if (item.failed) counts.failedConnections++;
      else counts.exchanges++;
    }
  });
  (log._wstapeTunnels ?? []).forEach(({ end, ...tunnel }, at) => {
    const path = `log._wstapeTunnels[${at}]`;
    add({ kind: 'tunnel', ...tunnel }, path);
    if (end !== undefined) add({ kind: 'end', conn: tunnel.id, ...end }, path);
    counts.tunnels++;
  });
  (log._wstapeErrors ?? []).forEach((error, at) => add({ kind: 'error', ...error }, `log._wstapeErrors[${at}]`));
  if (counts.openConnections > 0) {
    warn(
      `${counts.openConnections} WebSocket ${counts.openConnections === 1 ? 'connection has' : 'connections have'} no close information in the HAR ` +
        '(Chrome, mitmproxy and Playwright do not export it); imported as still open',
    );
  }

  // Entries in the order things happened; a connection's own entries keep their order.
  made.sort((a, b) => a.entry.elapsed - b.entry.elapsed || a.order - b.order);
  const entries = made.map(({ entry }) => entry);

  const header: ArchiveHeader = {
    format: ARCHIVE_FORMAT,
    version: ARCHIVE_VERSION,
    creator: { name: 'wstape', version: options.version },
    startedAt: stampOf(baseMicros, baseMicros).time,
  };
  if (log._wstapeHeader?.recorder !== undefined) header.recorder = log._wstapeHeader.recorder;
  const last = entries.reduce((max, entry) => Math.max(max, entry.elapsed), 0);
  const bytes = entries.reduce((sum, entry) => sum + (entry.kind === 'frame' ? entry.wireSize : 0), 0);
  const trailer: ArchiveTrailer = {
    stoppedAt: log._wstapeTrailer?.stoppedAt ?? stampOf(baseMicros + Math.round(last * 1e6), baseMicros).time,
    summary: {
      connections: counts.connections,
      // A WebSocket that never connected is an http entry too.
      exchanges: counts.exchanges + counts.failedConnections,
      tunnels: counts.tunnels,
      frames: counts.frames,
      bytes,
      errors: entries.filter((entry) => entry.kind === 'error').length,
    },
  };
  return { header, entries, trailer, counts, creator: log.creator?.name ?? null };
}

/**
 * The second of `wstape import`'s passes over a HAR (the first is har-scan.ts): every entry
 * becomes archive entries as it streams by, each validated against the archive schema, and goes
 * with its sort key to an EntrySorter, which gives them back in the order things happened. No
 * file I/O here; import-har.ts reads the HAR and writes the archive.
 *
 * - Times: `elapsed` counts from the earliest `startedDateTime` (or the archive start a wstape
 *   export recorded), wall-clock `time` keeps millisecond precision.
 * - WebSocket entries (`_resourceType: "websocket"`, `_webSocketMessages`, or a ws:// URL) become
 *   connection, frame, error and end entries (websocket-from-har.ts), a message at a time;
 *   everything else becomes an `http` exchange.
 * - Ids: the ones a wstape export kept (`_wstape.id`) when they are free, otherwise c1, c2... and
 *   h1, h2... in order of start.
 * - Every entry made is validated against the archive schema, so a HAR that converts into
 *   something invalid is refused (ERR_HAR, with the HAR path) instead of written.
 */
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import type * as z from 'zod';
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
import type { EntrySorter } from './entry-sorter.js';
import { fromHarHeaders, fromHarHttpVersion, headerValue } from './har-common.js';
import { FAILED, INDEXED, IS_WEBSOCKET, isoMicros, type HarScan } from './har-scan.js';
import { describeIssue, inputEntry, inputMessage, type HarInputEntry, type HarInputMessage } from './har-schema.js';
import { MESSAGE_LISTS, type HarVisitor, type MessageList } from './har-tokens.js';
import { messageClock, TimeStats } from './message-clock.js';
import { exchangeBase, stampOf, webSocketUrl, WebSocketConversion, type EntryContext, type SortKey } from './websocket-from-har.js';

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

/** The import as planned from the scan: when the archive starts, each entry's place and id. */
export interface ImportPlan {
  baseMicros: number;
  /** Each entry's start, epoch microseconds (the archive's start when it has none). */
  startMicros: Float64Array;
  /** Each entry's rank by start (file order breaking ties). */
  ranks: Uint32Array;
  ids: string[];
}

/** Plan the conversion (see ImportPlan) from the scan. */
export function planImport(scan: HarScan): ImportPlan {
  const { count, starts, flags, savedIds } = scan;
  const recordedStart = scan.log._wstapeHeader !== undefined ? isoMicros(scan.log._wstapeHeader.startedAt) : undefined;
  // The earliest real time: placeholder starts (a WebSocket that never connected) do not count.
  let earliest = Infinity;
  for (const start of starts) if (!Number.isNaN(start)) earliest = Math.min(earliest, start);
  const baseMicros = recordedStart ?? (Number.isFinite(earliest) ? earliest : Date.now() * 1000);
  const startMicros = starts.map((start) => (Number.isNaN(start) ? baseMicros : start));
  const order = new Uint32Array(count).map((_, at) => at);
  order.sort((a, b) => (startMicros[a] as number) - (startMicros[b] as number) || a - b);
  const ranks = new Uint32Array(count);
  order.forEach((entry, rank) => (ranks[entry] = rank));

  // Ids: the recorded ones when free, new ones otherwise (c1, h1, ...), in order of start.
  const wanted = new Set(savedIds.values());
  const used = new Set<string>();
  const counters = { c: 0, h: 0 };
  const ids = new Array<string>(count);
  for (const entry of order) {
    const recorded = savedIds.get(entry);
    if (recorded !== undefined && !used.has(recorded)) {
      used.add(recorded);
      ids[entry] = recorded;
      continue;
    }
    const prefix = ((flags[entry] as number) & IS_WEBSOCKET) !== 0 ? 'c' : 'h';
    let id: string;
    do id = `${prefix}${++counters[prefix]}`;
    while (used.has(id) || wanted.has(id));
    used.add(id);
    ids[entry] = id;
  }
  return { baseMicros, startMicros, ranks, ids };
}

/** What the HAR held, for the summary line and the trailer. */
export interface ImportCounts {
  connections: number;
  frames: number;
  exchanges: number;
  tunnels: number;
  openConnections: number;
  failedConnections: number;
}

/** Totals over the made entries, for the trailer. */
export interface ImportTotals {
  /** The largest `elapsed`. */
  last: number;
  /** Wire bytes of all frames. */
  bytes: number;
  errors: number;
}

/**
 * Pass two as a HarVisitor: converts each entry (one WebSocketConversion per open WebSocket
 * entry, messages as they come; an HTTP entry whole) into the sorter.
 */
export class HarConverter implements HarVisitor {
  readonly #scan: HarScan;
  readonly #plan: ImportPlan;
  readonly #sorter: EntrySorter;
  readonly #warn: (message: string) => void;
  readonly counts: ImportCounts = { connections: 0, frames: 0, exchanges: 0, tunnels: 0, openConnections: 0, failedConnections: 0 };
  readonly totals: ImportTotals = { last: 0, bytes: 0, errors: 0 };
  #conversion: { entry: number; conversion: WebSocketConversion } | null = null;
  /** An HTTP entry's `_webSocketMessages` (the error messages of a WebSocket that never connected). */
  #httpMessages: HarInputMessage[] = [];

  constructor(scan: HarScan, plan: ImportPlan, sorter: EntrySorter, warn: (message: string) => void) {
    this.#scan = scan;
    this.#plan = plan;
    this.#sorter = sorter;
    this.#warn = warn;
  }

  #context(entry: number): EntryContext {
    return {
      id: this.#plan.ids[entry] ?? `x${entry}`,
      path: `log.entries[${entry}]`,
      baseMicros: this.#plan.baseMicros,
      startMicros: this.#plan.startMicros[entry] as number,
      warn: this.#warn,
    };
  }

  #websocket(entry: number): boolean {
    return ((this.#scan.flags[entry] ?? 0) & IS_WEBSOCKET) !== 0;
  }

  /** Add a made entry: validated, counted, sorted. */
  readonly #add = (key: SortKey, entry: Entry, position: boolean, path: string): void => {
    const valid = validated(entry, path);
    this.totals.last = Math.max(this.totals.last, valid.elapsed);
    if (valid.kind === 'frame') this.totals.bytes += valid.wireSize;
    if (valid.kind === 'error') this.totals.errors++;
    this.#sorter.add(key, valid, position);
  };

  #conversionOf(entry: number): WebSocketConversion {
    if (this.#conversion?.entry === entry) return this.#conversion.conversion;
    const context = this.#context(entry);
    const saved = this.#scan.savedElapsed[entry] as number;
    const clock = messageClock(this.#scan.clocks.get(entry) ?? new TimeStats(), context.startMicros, () =>
      this.#warn(`${context.path}: its message times are not epoch times; they are taken as seconds from the first message`),
    );
    const conversion = new WebSocketConversion(
      {
        ...context,
        rank: this.#plan.ranks[entry] as number,
        clock,
        indexed: ((this.#scan.flags[entry] ?? 0) & INDEXED) !== 0,
        connectionElapsed: Number.isNaN(saved) ? stampOf(context.startMicros, context.baseMicros).elapsed : saved,
      },
      (key, made, position) => this.#add(key, made, position, context.path),
    );
    this.#conversion = { entry, conversion };
    return conversion;
  }

  rootNotObject(): void {}
  format(): void {}
  logNotObject(): void {}
  logField(): void {}
  entriesStart(): void {}

  message(entry: number, list: MessageList, at: number, value: unknown): void {
    const message = checked(inputMessage, value, ['log', 'entries', entry, list, at]);
    if (this.#websocket(entry)) this.#conversionOf(entry).message(MESSAGE_LISTS.indexOf(list), list, at, message);
    else if (list === '_webSocketMessages') this.#httpMessages.push(message);
  }

  entry(entry: number, value: unknown): void {
    const har = checked(inputEntry, value, ['log', 'entries', entry]);
    if (this.#websocket(entry)) {
      const result = this.#conversionOf(entry).finish(har);
      this.#conversion = null;
      this.counts.connections++;
      this.counts.frames += result.frames;
      if (!result.closed) this.counts.openConnections++;
      return;
    }
    if (har._webSocketMessages != null) har._webSocketMessages = this.#httpMessages;
    this.#httpMessages = [];
    const context = this.#context(entry);
    const rank = this.#plan.ranks[entry] as number;
    httpFromHar(har, context).forEach((made, group) => this.#add([made.elapsed, rank, group, 0, 0, 0, 0], made, false, context.path));
    if (((this.#scan.flags[entry] ?? 0) & FAILED) !== 0) this.counts.failedConnections++;
    else this.counts.exchanges++;
  }

  /** After the entries: wstape's tunnels and connection-less errors, and the open-connection warning. */
  finish(): void {
    const { log, count } = this.#scan;
    const tunnels = log._wstapeTunnels ?? [];
    tunnels.forEach(({ end, ...tunnel }, at) => {
      const path = `log._wstapeTunnels[${at}]`;
      const made: Entry = { kind: 'tunnel', ...tunnel };
      this.#add([made.elapsed, count + at, 0, 0, 0, 0, 0], made, false, path);
      if (end !== undefined) this.#add([end.elapsed, count + at, 1, 0, 0, 0, 0], { kind: 'end', conn: tunnel.id, ...end }, false, path);
      this.counts.tunnels++;
    });
    (log._wstapeErrors ?? []).forEach((error, at) =>
      this.#add([error.elapsed, count + tunnels.length + at, 0, 0, 0, 0, 0], { kind: 'error', ...error }, false, `log._wstapeErrors[${at}]`),
    );
    const open = this.counts.openConnections;
    if (open > 0) {
      this.#warn(
        `${open} WebSocket ${open === 1 ? 'connection has' : 'connections have'} no close information in the HAR ` +
          '(Chrome, mitmproxy and Playwright do not export it); imported as still open',
      );
    }
  }
}

/** A part validated again in pass two (the scan passed it: only a file changed since fails here). */
function checked<T>(
  schema: { safeParse(value: unknown): { success: true; data: T } | { success: false; error: { issues: z.core.$ZodIssue[] } } },
  value: unknown,
  prefix: PropertyKey[],
): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw cliError('ERR_HAR', `the HAR changed while it was imported: ${issue === undefined ? 'invalid' : describeIssue(issue, value, prefix)}`);
}

/** The archive's header and closing fields for the import. */
export function archiveEnds(
  scan: HarScan,
  plan: ImportPlan,
  counts: ImportCounts,
  totals: ImportTotals,
  version: string,
): { header: ArchiveHeader; trailer: ArchiveTrailer } {
  const { log } = scan;
  const { baseMicros } = plan;
  const header: ArchiveHeader = {
    format: ARCHIVE_FORMAT,
    version: ARCHIVE_VERSION,
    creator: { name: 'wstape', version },
    startedAt: stampOf(baseMicros, baseMicros).time,
  };
  if (log._wstapeHeader?.recorder !== undefined) header.recorder = log._wstapeHeader.recorder;
  const trailer: ArchiveTrailer = {
    stoppedAt: log._wstapeTrailer?.stoppedAt ?? stampOf(baseMicros + Math.round(totals.last * 1e6), baseMicros).time,
    summary: {
      connections: counts.connections,
      // A WebSocket that never connected is an http entry too.
      exchanges: counts.exchanges + counts.failedConnections,
      tunnels: counts.tunnels,
      frames: counts.frames,
      bytes: totals.bytes,
      errors: totals.errors,
    },
  };
  return { header, trailer };
}

/**
 * One WebSocket connection of an archive as a HAR entry, the way Chrome DevTools exports one:
 * the handshake as request/response (status 101), `_resourceType: "websocket"`, and the data
 * messages in `_webSocketMessages` ({type: "send" | "receive", time: epoch seconds, opcode,
 * data}: text for opcode 1, base64 otherwise).
 *
 * Fragmented messages are reassembled: Chrome and every other HAR reader list messages, and a
 * fragment on its own (a continuation, or half a UTF-8 character) means nothing to them. The
 * frames stay exact in the message's `_wstapeFrames` (each frame's header bits, sizes, index,
 * times and how many of the message's bytes it carried), so `wstape import` rebuilds them. Close,
 * ping, pong and reserved-opcode frames are not messages: they go to `_wstapeControlFrames`, in
 * the same shape. The close itself is also HTTP Toolkit's `_webSocketClose`. docs/HAR.md has the
 * whole mapping.
 *
 * A session wstape changed is written as its receivers saw it: a modified message carries what
 * was forwarded as `data`, with the original in `_wstapeOriginal`; a dropped one moves to
 * `_wstapeDropped`; injected and delayed ones say so in `_wstapeAction`.
 *
 * Frames are collected per connection until its end entry: memory grows with one connection's
 * payloads, not the archive's.
 */
import type { ConnectionEntry, EndEntry, ErrorEntry, FrameEntry } from '../format/schema.js';
import type { FrameLike } from '../output/frame-line.js';
import { CloseCode } from '../wire/close-codes.js';
import { MessageTracker } from '../wire/message-assembler.js';
import { DIRECTIONS, type Direction } from '../wire/side.js';
import { isValidUtf8 } from '../wire/utf8.js';
import { keepsFrame, type ExportScope } from './export-scope.js';
import { MessageSpill } from './message-spill.js';
import {
  closePayloadBytes,
  epochSeconds,
  fieldBytes,
  ipAddressOf,
  queryStringOf,
  requestCookies,
  responseCookies,
  toHarHeaders,
  toHarHttpVersion,
} from './har-common.js';
import type { HarEntry, HarWebSocketClose, HarWebSocketMessage, WstapeEntryExtras, WstapeFrameMeta } from './har-types.js';

/** A frame's header facts without its payload, and how many payload bytes it kept. */
export function frameMeta(frame: FrameEntry): WstapeFrameMeta {
  const { kind: _kind, conn: _conn, dir: _dir, text: _text, data: _data, ...meta } = frame;
  return {
    ...meta,
    bytes: fieldBytes(frame).length,
    as: frame.text !== undefined ? 'text' : frame.data !== undefined ? 'data' : 'none',
  };
}

const harDirection = (dir: Direction): 'send' | 'receive' => (dir === 'out' ? 'send' : 'receive');

/** Milliseconds, rounded to microseconds so floats print short. */
const millis = (seconds: number): number => Math.round(Math.max(0, seconds) * 1e6) / 1e3;

/**
 * Where an entry made with a spill directory keeps its `_webSocketMessages` and its
 * `_wstapeControlFrames` (their arrays are then empty): a long connection's pings and pongs
 * would otherwise be held until it ends, as its messages were.
 */
const SPILLED = Symbol('wstape.spilledLists');
type SpilledEntry = HarEntry & { [SPILLED]?: Partial<Record<SpilledList, MessageSpill>> };
type SpilledList = '_webSocketMessages' | '_wstapeControlFrames';

/** The spilled items of an entry's list, for HarTextWriter; null for a list the entry holds itself. */
export function spilledList(entry: HarEntry, key: string): MessageSpill | null {
  if (key !== '_webSocketMessages' && key !== '_wstapeControlFrames') return null;
  return (entry as SpilledEntry)[SPILLED]?.[key] ?? null;
}

/** Collects one connection's entries and turns them into its HAR entry. */
export class WebSocketCollector {
  readonly id: string;
  readonly #scope: ExportScope;
  #connection: ConnectionEntry | null = null;
  #end: EndEntry | null = null;
  /** Which frames make which message, per direction (RFC 6455 §5.4). */
  readonly #tracker = new MessageTracker();
  /** Data frames of the unfinished message, per direction. */
  readonly #open: Record<Direction, FrameEntry[]> = { out: [], in: [] };
  readonly #messages: HarWebSocketMessage[] = [];
  /** With a spill directory: the messages, as text, in a temporary file (message-spill.ts). */
  readonly #spill: MessageSpill | null;
  readonly #controls: HarWebSocketMessage[] = [];
  /** The same for the control frames. */
  readonly #controlSpill: MessageSpill | null;
  readonly #dropped: HarWebSocketMessage[] = [];
  readonly #errors: ErrorEntry[] = [];
  readonly #anomalies = new Map<string, number>();
  #lastElapsed = 0;
  /** Frames or messages that passed the filters. */
  #kept = 0;

  /** `spillDir`: keep the messages in a file there instead of memory (see spilledMessages). */
  constructor(id: string, scope: ExportScope, spillDir?: string) {
    this.id = id;
    this.#scope = scope;
    this.#spill = spillDir !== undefined ? new MessageSpill(spillDir, id) : null;
    this.#controlSpill = spillDir !== undefined ? new MessageSpill(spillDir, `${id}.controls`) : null;
  }

  get kept(): number {
    return this.#kept;
  }

  get connection(): ConnectionEntry | null {
    return this.#connection;
  }

  setConnection(entry: ConnectionEntry): void {
    this.#connection = entry;
    this.#lastElapsed = Math.max(this.#lastElapsed, entry.elapsed);
  }

  addError(entry: ErrorEntry): void {
    this.#errors.push(entry);
  }

  addFrame(frame: FrameEntry): void {
    this.#lastElapsed = Math.max(this.#lastElapsed, frame.elapsed);
    for (const flag of frame.flags ?? []) this.#anomalies.set(flag, (this.#anomalies.get(flag) ?? 0) + 1);
    const place = this.#tracker.place(frame, frame.dir);
    // RFC 6455 §5.4: a new data frame inside an unfinished message ends that one, incomplete.
    if (place.interrupted !== null) this.#finishMessage(frame.dir, true);
    switch (place.position) {
      case 'control':
      case 'orphan':
        // A continuation with no message open (flagged unexpected-continuation) is not part of
        // any message either, so it is listed with the control frames, as the frame it is.
        this.#addControl(frame);
        return;
      default:
        this.#open[frame.dir].push(frame);
        if (place.position === 'whole' || place.position === 'final') this.#finishMessage(frame.dir, false);
    }
  }

  setEnd(entry: EndEntry): void {
    this.#end = entry;
    this.#lastElapsed = Math.max(this.#lastElapsed, entry.elapsed);
  }

  /**
   * The HAR entry, once the connection ended (or the archive did): null when no frame passed
   * the frame filters although some were set, or when the archive lacks the connection entry.
   */
  toHarEntry(filtering: boolean): HarEntry | null {
    for (const dir of DIRECTIONS) {
      if (this.#tracker.end(dir) !== null) this.#finishMessage(dir, true);
    }
    const connection = this.#connection;
    if (connection === null) return null;
    if (filtering && this.#kept === 0) return null;
    const end = this.#end;
    const durationMs = millis((end?.elapsed ?? this.#lastElapsed) - connection.elapsed);
    const { request, response } = connection;
    const extras: WstapeEntryExtras = {
      id: connection.id,
      elapsed: connection.elapsed,
      mode: connection.mode,
      client: connection.client,
      server: connection.server,
      target: request.target,
      requestHttpVersion: request.httpVersion,
      responseHttpVersion: response.httpVersion,
      subprotocol: connection.subprotocol,
      extensions: connection.extensions,
      permessageDeflate: connection.permessageDeflate,
    };
    if (end !== null) {
      const { kind: _kind, conn: _conn, ...rest } = end;
      extras.end = rest;
    }
    if (this.#anomalies.size > 0) extras.anomalies = Object.fromEntries(this.#anomalies);
    if (this.#errors.length > 0) extras.errors = this.#errors.map(({ kind: _kind, conn: _conn, ...rest }) => rest);

    const entry: HarEntry = {
      startedDateTime: connection.time,
      time: durationMs,
      request: {
        method: request.method,
        url: connection.url,
        httpVersion: toHarHttpVersion(request.httpVersion),
        cookies: requestCookies(request.headers),
        headers: toHarHeaders(request.headers),
        queryString: queryStringOf(connection.url),
        headersSize: -1,
        bodySize: 0,
      },
      response: {
        status: response.status,
        statusText: response.statusText,
        httpVersion: toHarHttpVersion(response.httpVersion),
        cookies: responseCookies(response.headers),
        headers: toHarHeaders(response.headers),
        content: { size: 0, mimeType: 'x-unknown' },
        redirectURL: '',
        headersSize: -1,
        bodySize: 0,
      },
      cache: {},
      // The archive knows when the 101 arrived and when the connection ended; the connection's
      // life is its "receive" phase, as in Chrome's own WebSocket entries.
      timings: { blocked: -1, dns: -1, connect: -1, ssl: -1, send: 0, wait: 0, receive: durationMs },
      _resourceType: 'websocket',
      _webSocketMessages: this.#messages,
    };
    if (this.#spill !== null) (entry as SpilledEntry)[SPILLED] = { _webSocketMessages: this.#spill };
    const ip = ipAddressOf(connection.server.host);
    if (ip !== undefined) entry.serverIPAddress = ip;
    const close = closeOf(end);
    if (close !== undefined) entry._webSocketClose = close;
    if (this.#controls.length > 0) entry._wstapeControlFrames = this.#controls;
    if (this.#controlSpill !== null && this.#controlSpill.length > 0) {
      entry._wstapeControlFrames = [];
      ((entry as SpilledEntry)[SPILLED] ??= {})._wstapeControlFrames = this.#controlSpill;
    }
    if (this.#dropped.length > 0) entry._wstapeDropped = this.#dropped;
    entry._wstape = extras;
    return entry;
  }

  #finishMessage(dir: Direction, incomplete: boolean): void {
    const frames = this.#open[dir];
    this.#open[dir] = [];
    const first = frames[0];
    const last = frames[frames.length - 1];
    if (first === undefined || last === undefined) return;
    const bytes = Buffer.concat(frames.map(fieldBytes));
    const message: HarWebSocketMessage = {
      type: harDirection(dir),
      time: epochSeconds(last.time),
      opcode: first.opcode,
      data: '',
      _wstapeFrames: frames.map(frameMeta),
    };
    const isText = first.type === 'text';
    if (!isText) {
      message.data = bytes.toString('base64');
    } else if (isValidUtf8(bytes)) {
      message.data = bytes.toString('utf8');
    } else {
      // Not valid UTF-8 (flagged, or cut short): readable text for HAR readers, exact bytes aside.
      message.data = bytes.toString('utf8');
      message._wstapeData = bytes.toString('base64');
    }
    if (incomplete) message._wstapeIncomplete = true;
    const flags = [...new Set(frames.flatMap((frame) => frame.flags ?? []))];
    if (flags.length > 0) message._wstapeFlags = flags;

    const joined: FrameLike = { ...first, fin: true, size: frames.reduce((sum, frame) => sum + frame.size, 0) };
    delete joined.text;
    delete joined.data;
    if (isText && message._wstapeData === undefined) joined.text = message.data;
    else joined.data = bytes.toString('base64');
    if (keepsFrame(this.#scope, joined) || frames.some((frame) => keepsFrame(this.#scope, frame))) {
      const dropped = markAction(message, last);
      if (dropped) this.#dropped.push(message);
      else if (this.#spill !== null) this.#spill.push(message);
      else this.#messages.push(message);
      this.#kept++;
    }
  }

  #addControl(frame: FrameEntry): void {
    if (!keepsFrame(this.#scope, frame)) return;
    const payload =
      frame.type === 'close' && frame.text === undefined && frame.data === undefined ? closePayloadBytes(frame.code, frame.reason) : fieldBytes(frame);
    const item: HarWebSocketMessage = {
      type: harDirection(frame.dir),
      time: epochSeconds(frame.time),
      opcode: frame.opcode,
      // RFC 6455 §5.5: control payloads are bytes; written as base64, as Chrome writes CDP payloads
      // of opcodes other than 1.
      data: payload.toString('base64'),
      _wstapeFrames: [frameMeta(frame)],
    };
    if (frame.flags !== undefined && frame.flags.length > 0) item._wstapeFlags = [...frame.flags];
    if (this.#controlSpill !== null) this.#controlSpill.push(item);
    else this.#controls.push(item);
    this.#kept++;
  }
}

/**
 * HTTP Toolkit's `_webSocketClose`: `{code, reason, timestamp}` (timestamp in epoch seconds, as
 * its messages' times), or `"aborted"` when the connection ended without a close frame (1006).
 */
function closeOf(end: EndEntry | null): HarWebSocketClose | undefined {
  if (end === null || end.closeCode === null) return undefined;
  if (end.closeCode === CloseCode.AbnormalClosure) return 'aborted';
  return { code: end.closeCode, reason: end.closeReason, timestamp: epochSeconds(end.time) };
}

/**
 * What wstape did with the message `last` completes, on its HAR message; for a modified message,
 * `data` becomes what was forwarded and the original moves to `_wstapeOriginal`. True when it was
 * dropped (no receiver saw it).
 */
function markAction(message: HarWebSocketMessage, last: FrameEntry): boolean {
  if (last.action === undefined) return false;
  message._wstapeAction = last.action;
  if (last.by !== undefined) message._wstapeBy = last.by;
  const forwarded = last.forwarded;
  if (last.action === 'modified' && forwarded !== undefined) {
    message._wstapeOriginal =
      message._wstapeData ?? (message.opcode === 1 ? Buffer.from(message.data, 'utf8') : Buffer.from(message.data, 'base64')).toString('base64');
    delete message._wstapeData;
    message.opcode = forwarded.type === 'text' ? 1 : 2;
    message.data = forwarded.type === 'text' ? (forwarded.text ?? '') : (forwarded.data ?? '');
  }
  return last.action === 'dropped';
}

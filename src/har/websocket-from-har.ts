/**
 * One HAR WebSocket entry as archive entries: the connection (the handshake), a frame per HAR
 * message (or, for HARs that `wstape export` wrote, the exact frames from `_wstapeFrames`), error
 * entries for Chrome's error messages, and the end entry when the HAR says how it closed.
 *
 * The shapes read, and where they come from (docs/HAR.md has the table):
 * - Chrome/Edge DevTools: `_webSocketMessages: [{type: "send"|"receive"|"error", time, opcode,
 *   data}]`, time in epoch seconds, data text for opcode 1 and base64 otherwise (CDP's rule);
 *   `type: "error"` (opcode -1) carries an error message. No close information.
 * - mitmproxy (savehar.py): the same fields, opcode 1 or 2, time in epoch seconds. No close.
 * - HTTP Toolkit: the same, plus `_webSocketClose: {code, reason, timestamp} | "aborted"`.
 * - Playwright: the same fields with time in epoch milliseconds (decided by magnitude).
 *
 * Without close information the connection is left open (no end entry): the HAR does not say
 * how it ended, and inventing a close code would mislead `wstape stats`.
 */
import { cliError } from '../errors.js';
import { HAR_WEBSOCKET_ERROR } from '../format/error-codes.js';
import type { ConnectionEntry, EndEntry, Entry, ErrorEntry, FrameEntry, HeaderList } from '../format/schema.js';
import { CloseCode, parseClosePayload } from '../wire/close-codes.js';
import { frameHeaderSize } from '../wire/frame-encoder.js';
import { frameTypeOf, Opcode } from '../wire/opcodes.js';
import { negotiatedDeflate } from '../wire/permessage-deflate.js';
import { senderOf, type Direction } from '../wire/side.js';
import { isValidUtf8 } from '../wire/utf8.js';
import { base64OrTextBytes, epochMicros, fromHarHeaders, fromHarHttpVersion, headerValue, isImportableTime, isoOfMicros, timeUnit } from './har-common.js';
import type { FrameMeta, HarInputEntry, HarInputMessage } from './har-schema.js';

/** What converting one entry needs from the whole import. */
export interface EntryContext {
  /** The archive id chosen for this entry. */
  id: string;
  /** `log.entries[3]`, for messages. */
  path: string;
  /** Epoch microseconds of the archive's start. */
  baseMicros: number;
  /** Epoch microseconds of the entry's startedDateTime. */
  startMicros: number;
  warn: (message: string) => void;
}

/** A point in time as both archive clocks. */
export interface Stamp {
  time: string;
  elapsed: number;
}

export function stampOf(micros: number, baseMicros: number): Stamp {
  return { time: isoOfMicros(micros), elapsed: Math.max(0, micros - baseMicros) / 1e6 };
}

/** `ws://host/path` from any of ws:, wss:, http:, https: (mitmproxy writes http: URLs for WebSockets). */
export function webSocketUrl(url: string): string {
  return url.replace(/^http(s?):/i, (_match, s: string) => `ws${s.toLowerCase()}:`);
}

/** The upstream as host and port, from a URL (default ports by scheme). */
export function serverOf(url: string): { host: string; port: number } {
  try {
    const parsed = new URL(url);
    const secure = parsed.protocol === 'https:' || parsed.protocol === 'wss:';
    const host = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname;
    return { host, port: parsed.port !== '' ? Number(parsed.port) : secure ? 443 : 80 };
  } catch {
    return { host: '', port: 0 };
  }
}

/** The request-target a browser sends for a URL: its path and query (origin-form). */
export function originForm(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.pathname || '/'}${parsed.search}`;
  } catch {
    return url;
  }
}

/**
 * What connection and http entries share, from a HAR entry: when and where (from the wstape
 * extras when the HAR came from wstape, from the URL otherwise), and the request.
 */
export function exchangeBase(
  har: HarInputEntry,
  url: string,
  start: Stamp,
  requestHeaders: HeaderList,
): Pick<ConnectionEntry, 'time' | 'elapsed' | 'url' | 'mode' | 'client' | 'server' | 'request'> {
  const extras = har._wstape;
  return {
    time: start.time,
    elapsed: extras?.elapsed ?? start.elapsed,
    url,
    mode: extras?.mode ?? 'forward',
    client: extras?.client ?? { address: '', port: 0 },
    server: extras?.server ?? serverOf(url),
    request: {
      method: har.request.method,
      target: extras?.target ?? originForm(url),
      httpVersion: extras?.requestHttpVersion ?? fromHarHttpVersion(har.request.httpVersion),
      headers: requestHeaders,
    },
  };
}

/** A HAR message's payload bytes: text for opcode 1, base64 otherwise (or exactly, from `_wstapeData`). */
function messageBytes(message: HarInputMessage): Buffer {
  // A message wstape modified: `data` is what the receiver got; its frames are the original.
  if (message._wstapeOriginal !== undefined) return Buffer.from(message._wstapeOriginal, 'base64');
  if (message._wstapeData !== undefined) return Buffer.from(message._wstapeData, 'base64');
  const data = message.data ?? '';
  return message.opcode === Opcode.Text ? Buffer.from(data, 'utf8') : base64OrTextBytes(data);
}

/** The archive's payload fields for bytes: text when the frame is part of a text message and valid UTF-8. */
function payloadFields(bytes: Buffer, text: boolean): Pick<FrameEntry, 'text' | 'data'> {
  return text && isValidUtf8(bytes) ? { text: bytes.toString('utf8') } : { data: bytes.toString('base64') };
}

/** A frame before its place is known; `index` comes from `_wstapeFrames` when the HAR has it. */
interface Pending {
  frame: Omit<FrameEntry, 'index'> & { index?: number };
}

/** The frames of one HAR message or control item. */
function framesOfMessage(
  message: HarInputMessage,
  dir: Direction,
  conn: string,
  stamp: Stamp,
  messageText: boolean,
  where: string,
  warn: (message: string) => void,
): Pending['frame'][] {
  const bytes = messageBytes(message);
  const metas = message._wstapeFrames;
  if (metas !== undefined) {
    const total = metas.reduce((sum, meta) => sum + meta.bytes, 0);
    // A close frame whose code and reason are all the archive kept carries no payload of its
    // own: the HAR's `data` is the payload rebuilt for other readers.
    const rebuilt = metas.every((meta) => meta.as === 'none');
    if (total === bytes.length || rebuilt) {
      let at = 0;
      return metas.map((meta) => {
        const slice = rebuilt ? Buffer.alloc(0) : bytes.subarray(at, at + meta.bytes);
        at += meta.bytes;
        return restoreFrame(meta, slice, dir, conn);
      });
    }
    warn(`${where}: its _wstapeFrames do not add up to its data (was it edited?); imported as one frame`);
  }
  return [plainFrame(message.opcode, bytes, dir, conn, stamp, messageText, metas?.[0])];
}

/** A frame exactly as `_wstapeFrames` describes it, with its share of the payload. */
function restoreFrame(meta: FrameMeta, slice: Buffer, dir: Direction, conn: string): Pending['frame'] {
  const { bytes: _bytes, as, ...rest } = meta;
  const frame: Pending['frame'] = { kind: 'frame', conn, dir, ...rest };
  if (as === 'text') Object.assign(frame, payloadFields(slice, true));
  else if (as === 'data') frame.data = slice.toString('base64');
  return frame;
}

/**
 * A frame for a HAR message that has no frame details (any other tool's HAR): FIN set, no RSV
 * bits, masking unknown and so false, sizes from the payload.
 */
function plainFrame(opcode: number, bytes: Buffer, dir: Direction, conn: string, stamp: Stamp, messageText: boolean, base?: FrameMeta): Pending['frame'] {
  const type = frameTypeOf(opcode);
  const frame: Pending['frame'] = {
    kind: 'frame',
    conn,
    time: base?.time ?? stamp.time,
    elapsed: base?.elapsed ?? stamp.elapsed,
    dir,
    type,
    opcode,
    fin: true,
    rsv1: false,
    rsv2: false,
    rsv3: false,
    masked: false,
    size: bytes.length,
    wireSize: frameHeaderSize(bytes.length, false) + bytes.length,
  };
  if (base?.index !== undefined) frame.index = base.index;
  if (base?.flags !== undefined) frame.flags = [...base.flags];
  if (type === 'close') {
    // RFC 6455 §5.5.1: a 2-byte code, then a UTF-8 reason.
    const close = parseClosePayload(bytes);
    if (close.code !== undefined) frame.code = close.code;
    if (close.code !== undefined || close.reason !== '') frame.reason = close.reason;
    if (close.flags.includes('invalid-utf8') || close.flags.includes('invalid-close-payload')) frame.data = bytes.toString('base64');
    if (close.flags.length > 0) frame.flags = [...new Set([...(frame.flags ?? []), ...close.flags])];
  } else if (type === 'text' || (type === 'continuation' && messageText)) {
    Object.assign(frame, payloadFields(bytes, true));
  } else {
    frame.data = bytes.toString('base64');
  }
  return frame;
}

/** A message time converted to epoch microseconds, refused (ERR_HAR, with its JSON path) when outside the years 0000 to 9999. */
function checkedMicros(micros: number, time: number, where: string): number {
  if (!isImportableTime(micros / 1000)) {
    throw cliError('ERR_HAR', `${where}: ${time} is not a time in the years 0000 to 9999 (epoch seconds or milliseconds)`);
  }
  return micros;
}

/** True when a message becomes frames (not an error, a known type, a WebSocket opcode). */
export function makesFrames(message: Pick<HarInputMessage, 'type' | 'opcode'>): boolean {
  if (message.type === 'error' || message.opcode === -1) return false;
  return (message.type === 'send' || message.type === 'receive') && message.opcode >= 0 && message.opcode <= 15;
}

/**
 * Where an archive entry goes in the import's output: by `elapsed`, then the HAR entry's place
 * (its rank by start time), then `group` (connection 0, frames 1, errors 2, saved errors 3, end
 * 4; an http entry's entries in their order), then within the group: for frames the connection's
 * own order (the `_wstapeFrames` index, or the unclamped time), the list, the message's place in
 * it and the frame's place in the message. This is the order the whole-document import had: each
 * connection's frames sorted, then every entry by time, ties in the order they were made.
 */
export type SortKey = [elapsed: number, rank: number, group: number, order: number, list: number, at: number, sub: number];

/** Where made entries go; `position`: the frame's `index` is its position in its connection (set later). */
export type EntrySink = (key: SortKey, entry: Entry, position: boolean) => void;

/** What converting one WebSocket entry needs beyond EntryContext, from the scan of the whole HAR. */
export interface WebSocketContext extends EntryContext {
  /** The entry's rank by start time. */
  rank: number;
  /** Message time → epoch microseconds (messageClock). */
  clock: (time: number) => number;
  /** Every frame comes with its `_wstapeFrames` index (a wstape export): sorted by it. */
  indexed: boolean;
  /** The connection entry's `elapsed`, before which no frame is placed. */
  connectionElapsed: number;
}

/** A frame's place in its connection's order: compared as [order, list, at, sub]. */
type Place = [number, number, number, number];

function before(a: Place, b: Place): boolean {
  for (let i = 0; i < 4; i++) if ((a[i] as number) !== (b[i] as number)) return (a[i] as number) < (b[i] as number);
  return false;
}

/**
 * One HAR WebSocket entry converted a message at a time (see the file comment): message() as each
 * item of its lists arrives, finish() with the entry itself (without its lists). Entries go to
 * the sink with their sort keys; what the end entry needs from the frames (the first close frame,
 * the last frame, the bytes each way) is kept as the frames pass.
 */
export class WebSocketConversion {
  readonly #context: WebSocketContext;
  readonly #sink: EntrySink;
  #frames = 0;
  #list = -1;
  /** Which message type continuation frames (opcode 0, as Chrome lists them) belong to, per list. */
  #textMessage = { out: false, in: false };
  #firstClose: { place: Place; frame: FrameEntry } | null = null;
  #last: { place: Place; time: string; elapsed: number } | null = null;
  #closeOut = false;
  #closeIn = false;
  #bytes = { out: 0, in: 0 };

  constructor(context: WebSocketContext, sink: EntrySink) {
    this.#context = context;
    this.#sink = sink;
  }

  /** Item `at` of the list `field` (index `list` in MESSAGE_LISTS). */
  message(list: number, field: string, at: number, message: HarInputMessage): void {
    const { id, baseMicros, startMicros, path, warn, clock, rank } = this.#context;
    if (list !== this.#list) {
      this.#list = list;
      this.#textMessage = { out: false, in: false };
    }
    const where = `${path}.${field}[${at}]`;
    const micros = Math.max(checkedMicros(clock(message.time), message.time, `${where}.time`), startMicros);
    const stamp = stampOf(micros, baseMicros);
    if (message.type === 'error' || message.opcode === -1) {
      const error: ErrorEntry = { kind: 'error', time: stamp.time, elapsed: stamp.elapsed, conn: id, code: HAR_WEBSOCKET_ERROR, message: message.data ?? '' };
      this.#sink([stamp.elapsed, rank, 2, 0, list, at, 0], error, false);
      return;
    }
    if (message.type !== 'send' && message.type !== 'receive') {
      warn(`${where}: type "${message.type}" is neither "send" nor "receive"; skipped`);
      return;
    }
    if (message.opcode < 0 || message.opcode > 15) {
      warn(`${where}: opcode ${message.opcode} is not a WebSocket opcode (0-15); skipped`);
      return;
    }
    const dir = message.type === 'send' ? 'out' : 'in';
    // Not the MessageTracker: HAR messages carry no FIN bit, so the last text or binary one counts.
    if (message.opcode === Opcode.Text || message.opcode === Opcode.Binary) this.#textMessage[dir] = message.opcode === Opcode.Text;
    framesOfMessage(message, dir, id, stamp, this.#textMessage[dir], where, warn).forEach((pending, sub) => this.#frame(pending, [0, list, at, sub]));
  }

  #frame(pending: Pending['frame'], place: Place): void {
    const { indexed, connectionElapsed, rank } = this.#context;
    place[0] = indexed ? (pending.index ?? 0) : pending.elapsed;
    // A frame cannot come before its connection opened.
    const frame = { ...pending, index: indexed ? (pending.index ?? 0) : 0, elapsed: Math.max(pending.elapsed, connectionElapsed) } as FrameEntry;
    this.#frames++;
    this.#bytes[frame.dir] += frame.wireSize;
    if (frame.type === 'close') {
      if (frame.dir === 'out') this.#closeOut = true;
      else this.#closeIn = true;
      if (this.#firstClose === null || before(place, this.#firstClose.place)) this.#firstClose = { place, frame };
    }
    if (this.#last === null || !before(place, this.#last.place)) this.#last = { place, time: frame.time, elapsed: frame.elapsed };
    this.#sink([frame.elapsed, rank, 1, ...place], frame, !indexed);
  }

  /** The entry has closed: its connection entry, saved errors and end entry. */
  finish(har: HarInputEntry): { frames: number; closed: boolean } {
    const { id, baseMicros, startMicros, rank } = this.#context;
    const extras = har._wstape;
    const start = stampOf(startMicros, baseMicros);
    const url = webSocketUrl(har.request.url);
    const requestHeaders = fromHarHeaders(har.request.headers);
    const responseHeaders = fromHarHeaders(har.response.headers);
    const extensions = extras?.extensions !== undefined ? extras.extensions : (headerValue(responseHeaders, 'sec-websocket-extensions') ?? null);
    const connection: ConnectionEntry = {
      kind: 'connection',
      id,
      ...exchangeBase(har, url, start, requestHeaders),
      response: {
        status: har.response.status,
        statusText: har.response.statusText ?? '',
        httpVersion: extras?.responseHttpVersion ?? fromHarHttpVersion(har.response.httpVersion),
        headers: responseHeaders,
      },
      subprotocol: extras?.subprotocol !== undefined ? extras.subprotocol : (headerValue(responseHeaders, 'sec-websocket-protocol') ?? null),
      extensions,
      permessageDeflate: extras?.permessageDeflate !== undefined ? extras.permessageDeflate : negotiatedDeflate(extensions ?? undefined),
    };
    this.#sink([connection.elapsed, rank, 0, 0, 0, 0, 0], connection, false);
    (extras?.errors ?? []).forEach((error, at) => {
      const entry: ErrorEntry = { kind: 'error', conn: id, ...error };
      this.#sink([entry.elapsed, rank, 3, 0, 0, at, 0], entry, false);
    });
    const end = this.#endOf(har, connection);
    if (end !== null) this.#sink([end.elapsed, rank, 4, 0, 0, 0, 0], end, false);
    return { frames: this.#frames, closed: end !== null };
  }

  /** The end entry, from `_wstape.end`, HTTP Toolkit's `_webSocketClose`, or close frames; null when unknown. */
  #endOf(har: HarInputEntry, connection: ConnectionEntry): EndEntry | null {
    const { id, baseMicros, startMicros, path } = this.#context;
    const saved = har._wstape?.end;
    if (saved !== undefined) return { kind: 'end', conn: id, ...saved };
    const close = har._webSocketClose ?? undefined;
    const first = this.#firstClose?.frame;
    if (close === undefined && first === undefined) return null;

    const last = this.#last;
    let micros: number;
    if (typeof close === 'object' && close.timestamp != null)
      micros = checkedMicros(epochMicros(close.timestamp, timeUnit([close.timestamp])), close.timestamp, `${path}._webSocketClose.timestamp`);
    else if (har.time != null && har.time >= 0) micros = startMicros + Math.round(har.time * 1000);
    else micros = last !== null ? Math.round(Date.parse(last.time) * 1000) : startMicros;
    let stamp = stampOf(micros, baseMicros);
    if (last !== null && stamp.elapsed < last.elapsed) stamp = { time: last.time, elapsed: last.elapsed };
    if (stamp.elapsed < connection.elapsed) stamp = { time: connection.time, elapsed: connection.elapsed };

    const aborted = close === 'aborted';
    // RFC 6455 §7.1.5: no close frame is 1006; a close frame without a code counts as 1005.
    const closeCode = aborted ? CloseCode.AbnormalClosure : ((typeof close === 'object' ? close.code : undefined) ?? first?.code ?? CloseCode.NoStatusReceived);
    const closeReason = aborted ? '' : ((typeof close === 'object' ? close.reason : undefined) ?? first?.reason ?? '');
    const closedBy = first !== undefined ? senderOf(first.dir) : null;
    const clean = !aborted && this.#closeOut && this.#closeIn;
    return {
      kind: 'end',
      conn: id,
      time: stamp.time,
      elapsed: stamp.elapsed,
      closeCode,
      closeReason,
      closedBy,
      // No HAR says which side's TCP connection ended first. RFC 6455 §7.1.1: "the underlying TCP
      // connection, in most normal cases, SHOULD be closed first by the server".
      droppedBy: closedBy ?? 'server',
      clean,
      bytesOut: this.#bytes.out,
      bytesIn: this.#bytes.in,
    };
  }
}

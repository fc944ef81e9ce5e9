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

/** A frame to be sorted into place; `index` comes from `_wstapeFrames` when the HAR has it. */
interface Pending {
  frame: Omit<FrameEntry, 'index'> & { index?: number };
  order: number;
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

/** Epoch times below this (September 2001) are not epoch times but offsets from some other clock. */
const EPOCH_SECONDS_FLOOR = 1e9;

/**
 * How a HAR entry's message times become epoch microseconds: seconds or milliseconds by magnitude
 * (har-common.ts timeUnit), or, when they are too small to be epoch times at all (a monotonic
 * clock), seconds counted from the first message, placed at the entry's start.
 */
function messageClock(times: readonly number[], startMicros: number, onRelative: () => void): (time: number) => number {
  const unit = timeUnit(times);
  const finite = times.filter((time) => Number.isFinite(time));
  // A loop, not Math.max(...times): a spread of a few hundred thousand arguments overflows the stack.
  let largest = -Infinity;
  let first = Infinity;
  for (const time of finite) {
    largest = Math.max(largest, Math.abs(time));
    first = Math.min(first, time);
  }
  if (unit === 's' && finite.length > 0 && largest < EPOCH_SECONDS_FLOOR) {
    onRelative();
    return (time) => startMicros + Math.round((time - first) * 1e6);
  }
  return (time) => epochMicros(time, unit);
}

/** The result of converting one WebSocket entry. */
export interface WebSocketImport {
  entries: Entry[];
  frames: number;
  /** False when the HAR says nothing about how the connection ended. */
  closed: boolean;
}

/** Convert one HAR WebSocket entry (see the file comment). */
export function webSocketFromHar(har: HarInputEntry, context: EntryContext): WebSocketImport {
  const { id, baseMicros, startMicros, path, warn } = context;
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

  // Messages and control frames, in one time line.
  const messages = har._webSocketMessages ?? [];
  const controls = har._wstapeControlFrames ?? [];
  const dropped = har._wstapeDropped ?? [];
  const toMicros = messageClock(
    [...messages, ...controls, ...dropped].map((message) => message.time),
    startMicros,
    () => warn(`${path}: its message times are not epoch times; they are taken as seconds from the first message`),
  );
  const pending: Pending[] = [];
  const errors: ErrorEntry[] = [];
  let order = 0;
  const lists: [string, HarInputMessage[]][] = [
    ['_webSocketMessages', messages],
    ['_wstapeControlFrames', controls],
    ['_wstapeDropped', dropped],
  ];
  for (const [field, list] of lists) {
    // Which message type continuation frames (opcode 0, as Chrome lists them) belong to.
    const textMessage = { out: false, in: false };
    list.forEach((message, at) => {
      const where = `${path}.${field}[${at}]`;
      const micros = Math.max(checkedMicros(toMicros(message.time), message.time, `${where}.time`), startMicros);
      const stamp = stampOf(micros, baseMicros);
      if (message.type === 'error' || message.opcode === -1) {
        errors.push({ kind: 'error', time: stamp.time, elapsed: stamp.elapsed, conn: id, code: HAR_WEBSOCKET_ERROR, message: message.data ?? '' });
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
      if (message.opcode === Opcode.Text || message.opcode === Opcode.Binary) textMessage[dir] = message.opcode === Opcode.Text;
      for (const frame of framesOfMessage(message, dir, id, stamp, textMessage[dir], where, warn)) pending.push({ frame, order: order++ });
    });
  }
  // wstape's own HARs give every frame its index: capture order, exactly. Other HARs: by time,
  // list order breaking ties.
  const indexed = pending.length > 0 && pending.every((item) => item.frame.index !== undefined);
  pending.sort((a, b) => (indexed ? (a.frame.index ?? 0) - (b.frame.index ?? 0) : a.frame.elapsed - b.frame.elapsed || a.order - b.order));
  const frames: FrameEntry[] = pending.map((item, position) => {
    const frame = { ...item.frame, index: indexed ? (item.frame.index ?? position) : position };
    // A frame cannot come before its connection opened.
    if (frame.elapsed < connection.elapsed) frame.elapsed = connection.elapsed;
    return frame;
  });

  const entries: Entry[] = [connection, ...frames, ...errors];
  for (const error of extras?.errors ?? []) entries.push({ kind: 'error', conn: id, ...error });
  const end = endOf(har, connection, frames, context);
  if (end !== null) entries.push(end);
  return { entries, frames: frames.length, closed: end !== null };
}

/** The end entry, from `_wstape.end`, HTTP Toolkit's `_webSocketClose`, or close frames; null when unknown. */
function endOf(har: HarInputEntry, connection: ConnectionEntry, frames: FrameEntry[], context: EntryContext): EndEntry | null {
  const { id, baseMicros, startMicros } = context;
  const saved = har._wstape?.end;
  if (saved !== undefined) return { kind: 'end', conn: id, ...saved };
  const close = har._webSocketClose ?? undefined;
  const closeFrames = frames.filter((frame) => frame.type === 'close');
  const first = closeFrames[0];
  if (close === undefined && first === undefined) return null;

  const last = frames[frames.length - 1];
  let micros: number;
  if (typeof close === 'object' && close.timestamp != null)
    micros = checkedMicros(epochMicros(close.timestamp, timeUnit([close.timestamp])), close.timestamp, `${context.path}._webSocketClose.timestamp`);
  else if (har.time != null && har.time >= 0) micros = startMicros + Math.round(har.time * 1000);
  else micros = last !== undefined ? Math.round(Date.parse(last.time) * 1000) : startMicros;
  let stamp = stampOf(micros, baseMicros);
  if (last !== undefined && stamp.elapsed < last.elapsed) stamp = { time: last.time, elapsed: last.elapsed };
  if (stamp.elapsed < connection.elapsed) stamp = { time: connection.time, elapsed: connection.elapsed };

  const aborted = close === 'aborted';
  // RFC 6455 §7.1.5: no close frame is 1006; a close frame without a code counts as 1005.
  const closeCode = aborted ? CloseCode.AbnormalClosure : ((typeof close === 'object' ? close.code : undefined) ?? first?.code ?? CloseCode.NoStatusReceived);
  const closeReason = aborted ? '' : ((typeof close === 'object' ? close.reason : undefined) ?? first?.reason ?? '');
  const closedBy = first !== undefined ? senderOf(first.dir) : null;
  const clean = !aborted && closeFrames.some((frame) => frame.dir === 'out') && closeFrames.some((frame) => frame.dir === 'in');
  const sum = (dir: Direction): number => frames.filter((frame) => frame.dir === dir).reduce((total, frame) => total + frame.wireSize, 0);
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
    bytesOut: sum('out'),
    bytesIn: sum('in'),
  };
}

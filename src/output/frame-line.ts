/**
 * The arrow view: one line per archived event, shared by `wstape record`'s live view and
 * `wstape show`.
 *
 *   [10:30:00.123] c1 --> {"type":"join","room":"general"}
 *   [10:30:00.125] c1 <-- PING "hb"
 *   [10:30:01.002] c1 <-- BINARY 1.0 KiB 89 50 4e 47 0d 0a 1a 0a … [deflate]
 *   [10:30:02.000] c1 --> CLOSE 1000 Normal closure "bye"
 *
 * `-->` is client to server (dir "out"), `<--` server to client (dir "in"). Markers after the
 * payload: [frag] (FIN clear: more fragments follow), [deflate] (compressed on the wire),
 * [truncated] (the archive keeps only the first --max-payload bytes) and, in red, [!flag] for
 * each protocol anomaly; message rows (`show --messages`) add [N frags] and [incomplete]. What
 * wstape did (hooks, flags, `wstape send`/`close`) comes first, in magenta: [modified by script]
 * (followed by `=> ` and what was forwarded instead), [dropped by flag], [injected by control],
 * [delayed 300 ms by script].
 * Everything that came from the wire is escaped (see payload.ts). With colour on, JSON text
 * payloads get syntax colours (json-view.ts).
 */
import type { ConnectionEntry, EndEntry, Entry, ErrorEntry, FrameEntry, HttpEntry, TunnelEntry } from '../format/schema.js';
import { CloseCode, closeCodeName } from '../wire/close-codes.js';
import { arrowOf, type Direction } from '../wire/side.js';
import { makePalette, stripAnsi, type Palette } from './colors.js';
import { highlightJson, isJsonDocument, looksLikeJson } from './json-view.js';
import { escapeChar, escapeText, hexBytes, payloadBytes, payloadPrefix, printableText } from './payload.js';
import { formatTimestamp, type TimeFormat } from './labels.js';
import { formatDuration, formatSize } from './units.js';

/**
 * A frame entry, with or without its `kind` (the `show --json` objects have none), or a message
 * reassembled by `show --messages` (src/inspect/messages.ts), which adds its fragment count.
 */
export type FrameLike = Omit<FrameEntry, 'kind'> & { kind?: 'frame'; fragments?: number; incomplete?: true };

export { formatTimestamp, TIME_FORMATS, type TimeFormat } from './labels.js';

export interface LineOptions {
  /** Add ANSI colours (the caller decides, usually with useColor from io.ts). */
  color: boolean;
  /** Default `clock`. */
  time?: TimeFormat;
  /** Width of the whole line in columns, which long payloads are cut to. Default 160. */
  maxWidth?: number;
  /**
   * A subprotocol packet's tag, shown in cyan before the payload: `[socket.io EVENT "chat"]`
   * (src/detect/tags.ts; protocol-tags.ts works it out per connection for the live view).
   */
  tag?: string | null | undefined;
}

export const DEFAULT_MAX_WIDTH = 160;
/** A payload always gets at least this many columns, however narrow the terminal. */
const MIN_PAYLOAD_WIDTH = 24;
/** Text payloads up to this many characters are parsed to decide whether they get JSON colours. */
const MAX_JSON_CHECK = 64 * 1024;
/** Hex previews show at most this many bytes. */
const MAX_HEX_BYTES = 16;

function linePrefix(entry: { time: string; elapsed: number }, options: LineOptions, p: Palette): string {
  return p.dim(`[${formatTimestamp(entry.time, entry.elapsed, options.time)}]`);
}

function arrow(dir: Direction, p: Palette): string {
  return dir === 'out' ? p.green(arrowOf(dir)) : p.cyan(arrowOf(dir));
}

/** The markers after a frame's payload, in a fixed order. */
function frameMarkers(frame: FrameLike, p: Palette): string[] {
  const markers: string[] = [];
  if (frame.fragments !== undefined && frame.fragments > 1) markers.push(p.dim(`[${frame.fragments} frags]`));
  if (frame.incomplete === true) markers.push(p.yellow('[incomplete]'));
  else if (!frame.fin) markers.push(p.yellow('[frag]'));
  if (frame.compressed === true) markers.push(p.dim('[deflate]'));
  if (frame.truncated === true) markers.push(p.yellow('[truncated]'));
  for (const flag of frame.flags ?? []) markers.push(p.red(`[!${flag}]`));
  return markers;
}

/** What wstape did with the frame's message, e.g. `[modified by script]`; '' when nothing. */
export function actionMarker(frame: Pick<FrameEntry, 'action' | 'by' | 'delay'>, p: Palette): string {
  if (frame.action === undefined) return '';
  const by = frame.by !== undefined ? ` by ${frame.by}` : '';
  const delay = frame.delay !== undefined && frame.action !== 'delayed' ? `, delayed ${frame.delay} ms` : '';
  const what = frame.action === 'delayed' ? `delayed ${frame.delay ?? 0} ms` : frame.action;
  return p.magenta(`[${what}${delay}${by}]`);
}

/** For a modified message: `=> ` and what was forwarded instead, cut to `width`. */
function forwardedPart(frame: FrameLike, width: number, p: Palette): string {
  const forwarded = frame.forwarded;
  if (frame.action !== 'modified' || forwarded === undefined) return '';
  const shown =
    forwarded.type === 'text'
      ? cutText(forwarded.text ?? '', forwarded.size, forwarded.truncated === true, Math.max(16, width), p)
      : `BINARY ${formatSize(forwarded.size)}`;
  return `${p.magenta('=>')} ${shown}`;
}

/**
 * Text cut to `width` columns. When it is cut, or the archive kept only part of it, it ends with
 * `…` and the real payload size: `{"rows":[1,2,… (12.3 KiB)`.
 */
function cutText(text: string, size: number, truncated: boolean, width: number, p: Palette, paint: (text: string) => string = (t) => t): string {
  // Escaping never shortens text, so text longer than the width is cut without escaping it all:
  // a multi-megabyte payload costs only the columns shown.
  if (!truncated && text.length <= width) {
    const full = escapeText(text);
    if (full.length <= width) return paint(full);
  }
  const note = ` (${formatSize(size)})`;
  const budget = Math.max(1, width - 1 - note.length);
  let kept = '';
  for (const char of text) {
    const token = escapeChar(char);
    if (kept.length + token.length > budget) break;
    kept += token;
  }
  return `${paint(kept)}…${p.dim(note)}`;
}

/**
 * Whether a text payload gets JSON colours: an object or array that parses, or, when the archive
 * (or the line width) cut it short, one that begins like one. Only decided when colour is on.
 */
function jsonPaint(frame: FrameLike, text: string, p: Palette): ((text: string) => string) | undefined {
  if (!p.enabled) return undefined;
  // Parsing is only worth it for what fits a screen many times over; the live view of
  // `wstape record` runs in the proxy's process, and a large payload is cut to one line anyway.
  const whole = frame.truncated !== true && frame.fin && text.length <= MAX_JSON_CHECK;
  const json = whole ? isJsonDocument(text) : looksLikeJson(text);
  return json ? (escaped) => highlightJson(escaped, p) : undefined;
}

/** `1.0 KiB 89 50 4e 47 …`: the size and the first bytes in hex, as many as fit (at most 16). */
function hexPreview(bytes: Uint8Array, size: number, width: number, p: Palette): string {
  const sizeText = formatSize(size);
  const room = Math.max(1, Math.floor((width - sizeText.length - 3) / 3));
  const shown = bytes.subarray(0, Math.min(MAX_HEX_BYTES, room));
  const more = size > shown.length;
  const hex = shown.length > 0 ? ` ${hexBytes(shown)}` : '';
  return `${p.dim(sizeText)}${hex}${more && shown.length > 0 ? ' …' : ''}`;
}

/** A data payload: its text when it has one, otherwise the hex preview. */
function dataPayload(frame: FrameLike, width: number, p: Palette): string {
  if (frame.text !== undefined) {
    if (frame.text === '' && frame.size === 0) return p.dim('(empty)');
    return cutText(frame.text, frame.size, frame.truncated === true, width, p, jsonPaint(frame, frame.text, p));
  }
  return hexPreview(payloadPrefix(frame, MAX_HEX_BYTES), frame.size, width, p);
}

/** A control payload: quoted when it is printable text, otherwise the hex preview. */
function controlPayload(frame: FrameLike, width: number, p: Palette): string {
  const bytes = payloadBytes(frame);
  if (bytes.length === 0 && frame.size === 0) return '';
  const text = printableText(bytes);
  if (text !== null) {
    const quoted = JSON.stringify(text);
    if (quoted.length <= width && frame.truncated !== true) return quoted;
    return cutText(quoted, frame.size, frame.truncated === true, width, p);
  }
  return hexPreview(bytes, frame.size, width, p);
}

/** `CLOSE 1000 Normal closure "bye"`: the code, its registry name and the reason. */
export function closeBody(frame: FrameLike, p: Palette): string {
  const parts = [p.yellow('CLOSE')];
  if (frame.code !== undefined) parts.push(`${frame.code} ${closeCodeName(frame.code)}`);
  if (frame.reason !== undefined && frame.reason !== '') parts.push(JSON.stringify(frame.reason));
  return joinParts(parts);
}

/** The pieces of a frame's line around its payload, for views that lay the payload out themselves. */
export interface FrameLineParts {
  /** `[time] conn -->`, coloured as options say. */
  head: string;
  /** `[frag]`, `[deflate]`, ... as they follow the payload. */
  markers: string[];
  /** Columns left for the payload on the line. */
  width: number;
  palette: Palette;
}

/** The head, markers and payload width of a frame's line. */
export function frameLineParts(frame: FrameLike, options: LineOptions): FrameLineParts {
  const p = makePalette(options.color);
  const action = actionMarker(frame, p);
  const head = joinParts([`${linePrefix(frame, options, p)} ${p.bold(frame.conn)} ${arrow(frame.dir, p)}`, action]);
  const markers = frameMarkers(frame, p);
  const maxWidth = options.maxWidth ?? DEFAULT_MAX_WIDTH;
  const used = stripAnsi(head).length + 1 + markers.reduce((sum, m) => sum + 1 + stripAnsi(m).length, 0);
  return { head, markers, width: Math.max(MIN_PAYLOAD_WIDTH, maxWidth - used), palette: p };
}

/** Join non-empty parts with single spaces. */
export function joinParts(parts: string[]): string {
  return parts.filter((part) => part !== '').join(' ');
}

/** A text payload cut to `width` columns, escaped, with JSON colours when the palette has them. */
export function textPayload(frame: FrameLike, width: number, p: Palette): string {
  return dataPayload(frame, width, p);
}

/**
 * One frame as a line of the arrow view, e.g. `[10:30:00.123] c1 --> {"type":"join"}`.
 * Never contains a newline; contains ANSI codes only when `options.color` is set.
 */
export function formatFrameLine(frame: FrameLike, options: LineOptions): string {
  const { head: plainHead, markers, width: fullWidth, palette: p } = frameLineParts(frame, options);
  const tag = options.tag != null ? p.cyan(`[${escapeText(options.tag)}]`) : '';
  const head = joinParts([plainHead, tag]);
  const width = Math.max(MIN_PAYLOAD_WIDTH, fullWidth - (tag === '' ? 0 : stripAnsi(tag).length + 1));

  let body: string;
  switch (frame.type) {
    case 'text':
      if (frame.text === undefined) {
        // A text frame whose payload is not valid UTF-8 on its own (flagged invalid-utf8).
        body = joinParts([p.blue('TEXT'), dataPayload(frame, width - 5, p)]);
      } else {
        body = dataPayload(frame, width, p);
      }
      break;
    case 'binary':
      body = joinParts([p.blue('BINARY'), dataPayload(frame, width - 7, p)]);
      break;
    case 'continuation':
      body = joinParts([p.magenta('CONT'), dataPayload(frame, width - 5, p)]);
      break;
    case 'ping':
      body = joinParts([p.yellow('PING'), controlPayload(frame, width - 5, p)]);
      break;
    case 'pong':
      body = joinParts([p.yellow('PONG'), controlPayload(frame, width - 5, p)]);
      break;
    case 'close':
      body = closeBody(frame, p);
      break;
    case 'reserved': {
      const label = `OPCODE 0x${frame.opcode.toString(16)}`;
      body = joinParts([p.red(label), hexPreview(payloadPrefix(frame, MAX_HEX_BYTES), frame.size, width - label.length - 1, p)]);
      break;
    }
  }
  return joinParts([head, body, ...markers, forwardedPart(frame, Math.floor(width / 2), p)]);
}

function statusColor(status: number, p: Palette): string {
  const text = String(status);
  if (status >= 500) return p.red(text);
  if (status >= 400) return p.yellow(text);
  if (status >= 300) return p.cyan(text);
  return p.green(text);
}

function connectionBody(entry: ConnectionEntry, p: Palette): string {
  const details: string[] = [];
  if (entry.subprotocol !== null) details.push(`subprotocol ${escapeText(entry.subprotocol)}`);
  if (entry.permessageDeflate !== null) details.push('permessage-deflate');
  else if (entry.extensions !== null && entry.extensions !== '') details.push(escapeText(entry.extensions));
  const suffix = details.length > 0 ? ` (${details.join(', ')})` : '';
  return `${p.bold('===')} ${escapeText(entry.url)} ${statusColor(entry.response.status, p)}${suffix}`;
}

function httpBody(entry: HttpEntry, p: Palette): string {
  const request = `${p.bold(escapeText(entry.request.method))} ${escapeText(entry.url)} ->`;
  const error = entry.error !== undefined ? p.red(`error: ${escapeText(entry.error)}`) : '';
  // What a hook did: "[modified by script]", "[mocked by flag]", "[refused by script]".
  const action = entry.action !== undefined ? p.yellow(`[${entry.action}${entry.by !== undefined ? ` by ${entry.by}` : ''}]`) : '';
  if (entry.response === null) return joinParts([request, error === '' ? p.red('no response') : error, action]);
  const details: string[] = [];
  if (entry.response.body !== undefined) details.push(formatSize(entry.response.body.size));
  details.push(formatDuration(entry.duration / 1000));
  return joinParts([request, statusColor(entry.response.status, p), `(${details.join(', ')})`, error, action]);
}

function tunnelBody(entry: TunnelEntry, p: Palette): string {
  return `${p.bold('===')} tunnel ${escapeText(entry.url)} ${p.dim(`(${escapeText(entry.reason)}, not recorded)`)}`;
}

/** What a reader of a whole archive knows about a connection when its end entry comes. */
export interface EndSummary {
  /** Seconds from the connection's start (its 101) to the end. */
  seconds: number;
  /** Frames the connection carried, when they were all counted. */
  frames?: number;
}

function endBody(entry: EndEntry, p: Palette, summary?: EndSummary): string {
  const after =
    summary !== undefined
      ? ` after ${formatDuration(summary.seconds)}${summary.frames !== undefined ? `, ${summary.frames} ${summary.frames === 1 ? 'frame' : 'frames'}` : ''}`
      : '';
  const traffic = p.dim(`(${formatSize(entry.bytesOut)} out, ${formatSize(entry.bytesIn)} in)${after}`);
  if (entry.closeCode === null) {
    // Tunnels carry no close frames: say who hung up.
    return `${p.bold('===')} closed: ${entry.droppedBy} dropped the connection ${traffic}`;
  }
  if (entry.closeCode === CloseCode.AbnormalClosure && entry.closedBy === 'wstape') {
    return `${p.bold('===')} ${p.red(`closed ${entry.closeCode} ${closeCodeName(entry.closeCode)}: wstape aborted the connection${entry.closedVia ? ` (${entry.closedVia})` : ''}`)} ${traffic}`;
  }
  if (entry.closeCode === CloseCode.AbnormalClosure) {
    // RFC 6455 §7.1.5: 1006 means no close frame was received before the TCP connection ended.
    return `${p.bold('===')} ${p.red(`closed ${entry.closeCode} ${closeCodeName(entry.closeCode)}: ${entry.droppedBy} dropped the connection`)} ${traffic}`;
  }
  const reason = entry.closeReason !== '' ? ` ${JSON.stringify(entry.closeReason)}` : '';
  const by =
    entry.closedBy === 'wstape' ? ` by wstape${entry.closedVia ? ` (${entry.closedVia})` : ''}` : entry.closedBy !== null ? ` by ${entry.closedBy}` : '';
  const clean = entry.clean ? '(clean)' : p.yellow(`(not clean: ${entry.droppedBy} dropped the connection)`);
  return `${p.bold('===')} closed ${entry.closeCode} ${closeCodeName(entry.closeCode)}${reason}${by} ${clean} ${traffic}`;
}

function errorBody(entry: ErrorEntry, p: Palette): string {
  const where = entry.dir !== undefined ? `${arrow(entry.dir, p)} ` : '';
  return `${where}${p.red(`error ${escapeText(entry.code)}: ${escapeText(entry.message)}`)}`;
}

/** Any non-frame entry: a connection opened, an http exchange, a tunnel, an end or an error. */
export type EventEntry = ConnectionEntry | HttpEntry | TunnelEntry | EndEntry | ErrorEntry;

/**
 * One non-frame entry as a line of the live view, e.g.
 * `[10:30:00.100] c1 === ws://127.0.0.1:9000/chat 101 (subprotocol chat, permessage-deflate)`,
 * `[..] h1 GET http://x/y -> 200 (1.2 KiB, 3 ms)`, `[..] c1 === closed 1000 Normal closure by
 * client (clean)`, `[..] error UPSTREAM_CONNECT: ...`. `wstape show`, which has read the whole
 * connection, passes a summary for an end line: `... (3 B out, 5 B in) after 12.3 s, 40 frames`.
 */
export function formatConnectionLine(entry: EventEntry, options: LineOptions, summary?: EndSummary): string {
  const p = makePalette(options.color);
  const prefix = linePrefix(entry, options, p);
  switch (entry.kind) {
    case 'connection':
      return `${prefix} ${p.bold(entry.id)} ${connectionBody(entry, p)}`;
    case 'http':
      return `${prefix} ${p.bold(entry.id)} ${httpBody(entry, p)}`;
    case 'tunnel':
      return `${prefix} ${p.bold(entry.id)} ${tunnelBody(entry, p)}`;
    case 'end':
      return `${prefix} ${p.bold(entry.conn)} ${endBody(entry, p, summary)}`;
    case 'error':
      return joinParts([prefix, entry.conn !== undefined ? p.bold(entry.conn) : '', errorBody(entry, p)]);
  }
}

/** Any archive entry as a line of the arrow view. */
export function formatEntryLine(entry: Entry, options: LineOptions): string {
  return entry.kind === 'frame' ? formatFrameLine(entry, options) : formatConnectionLine(entry, options);
}

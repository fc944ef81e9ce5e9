/**
 * The control channel's wire protocol, without I/O: one request line and one response line per
 * connection, each a JSON object ending in "\n", each with a `version`.
 *
 *   → {"version":1,"op":"list"}
 *   → {"version":1,"op":"send","conn":"c1","dir":"in","type":"text","text":"{\"type\":\"kick\"}"}
 *   → {"version":1,"op":"send","conn":"c1","dir":"out","type":"binary","base64":"AAEC"}
 *   → {"version":1,"op":"close","conn":"c1","code":1011,"reason":"bye"}
 *   → {"version":1,"op":"abort","conn":"c1"}
 *   ← {"version":1,"ok":true,"open":{"total":1,"connections":[{"id":"c1","url":"ws://..."}]}}
 *   ← {"version":1,"ok":false,"error":{"code":"unknown-connection","message":"..."},"open":{...}}
 *
 * `dir` is the archive's: "out" towards the server, "in" towards the client. Every response
 * carries the open connections (the first MAX_LISTED of them and their total), so a client can
 * say what is open when an id is unknown without a second request.
 */
import type { Direction } from '../intervene/hooks.js';
import { isValidWireCloseCode } from '../wire/close-codes.js';

export const CONTROL_PROTOCOL_VERSION = 1;

/** A request line longer than this is refused (`too-large`) without being parsed. */
export const MAX_REQUEST_BYTES = 64 * 1024 * 1024;
/** A client reads at most this much of a response. */
export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
/** A response lists at most this many open connections (and says how many there are). */
export const MAX_LISTED = 1000;
/** Connection ids are short ("c1"); anything longer is not one. */
const MAX_CONN_ID_LENGTH = 64;
/** RFC 6455 §5.5: a control frame's payload is at most 125 bytes, 2 of them the close code. */
export const MAX_CLOSE_REASON_BYTES = 123;

export type ControlRequest =
  | { version: 1; op: 'list' }
  | { version: 1; op: 'send'; conn: string; dir: Direction; type: 'text'; text: string }
  | { version: 1; op: 'send'; conn: string; dir: Direction; type: 'binary'; base64: string }
  | { version: 1; op: 'close'; conn: string; code: number; reason: string }
  | { version: 1; op: 'abort'; conn: string };

/** The error codes a response may carry (a closed list: add, never rename). */
export type ControlErrorCode = 'bad-request' | 'version' | 'too-large' | 'timeout' | 'unknown-connection' | 'refused' | 'failed';

export interface OpenConnection {
  id: string;
  url: string;
}

export interface OpenList {
  total: number;
  connections: OpenConnection[];
}

export type ControlResponse =
  { version: 1; ok: true; open: OpenList } | { version: 1; ok: false; error: { code: ControlErrorCode; message: string }; open: OpenList };

export interface ControlFailure {
  code: ControlErrorCode;
  message: string;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const ERROR_CODES: readonly ControlErrorCode[] = ['bad-request', 'version', 'too-large', 'timeout', 'unknown-connection', 'refused', 'failed'];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The problem with a close code and reason, or undefined when a peer may be sent them. */
export function closeProblem(code: number, reason: string): string | undefined {
  // RFC 6455 §7.4.1: 1005, 1006 and 1015 must not be sent in a close frame; 1004 is reserved.
  if (!Number.isInteger(code) || !isValidWireCloseCode(code)) return `close code ${code} cannot be sent: use 1000-1003, 1007-1014 or 3000-4999`;
  const bytes = Buffer.byteLength(reason, 'utf8');
  if (bytes > MAX_CLOSE_REASON_BYTES) return `the close reason is ${bytes} bytes in UTF-8; RFC 6455 allows at most ${MAX_CLOSE_REASON_BYTES}`;
  return undefined;
}

/** Parse one request line; a failure says what is wrong in words a user can act on. */
export function parseRequest(line: string): ControlRequest | ControlFailure {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { code: 'bad-request', message: 'the request is not JSON' };
  }
  if (!isObject(value)) return { code: 'bad-request', message: 'the request is not a JSON object' };
  if (value.version !== CONTROL_PROTOCOL_VERSION) {
    return {
      code: 'version',
      message: `control protocol version ${JSON.stringify(value.version)} is not supported; this recorder speaks version ${CONTROL_PROTOCOL_VERSION}`,
    };
  }
  const op = value.op;
  if (op === 'list') return { version: 1, op };
  if (op !== 'send' && op !== 'close' && op !== 'abort')
    return { code: 'bad-request', message: `unknown op ${JSON.stringify(op)}: list, send, close or abort` };
  const conn = value.conn;
  if (typeof conn !== 'string' || conn === '' || conn.length > MAX_CONN_ID_LENGTH)
    return { code: 'bad-request', message: 'conn must be a connection id such as "c1"' };
  if (op === 'abort') return { version: 1, op, conn };
  if (op === 'close') {
    const code = value.code ?? 1000;
    const reason = value.reason ?? '';
    if (typeof code !== 'number' || typeof reason !== 'string') return { code: 'bad-request', message: 'close takes a numeric code and a string reason' };
    const problem = closeProblem(code, reason);
    if (problem !== undefined) return { code: 'bad-request', message: problem };
    return { version: 1, op, conn, code, reason };
  }
  const dir = value.dir;
  if (dir !== 'in' && dir !== 'out') return { code: 'bad-request', message: 'dir must be "out" (towards the server) or "in" (towards the client)' };
  if (value.type === 'text') {
    if (typeof value.text !== 'string') return { code: 'bad-request', message: 'a text message needs a string "text"' };
    return { version: 1, op, conn, dir, type: 'text', text: value.text };
  }
  if (value.type === 'binary') {
    if (typeof value.base64 !== 'string' || value.base64.length % 4 !== 0 || !BASE64.test(value.base64)) {
      return { code: 'bad-request', message: 'a binary message needs its bytes as "base64"' };
    }
    return { version: 1, op, conn, dir, type: 'binary', base64: value.base64 };
  }
  return { code: 'bad-request', message: 'type must be "text" or "binary"' };
}

/** Parse a response line; undefined when it is not one this client understands. */
export function parseResponse(line: string): ControlResponse | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!isObject(value) || value.version !== CONTROL_PROTOCOL_VERSION || !isObject(value.open)) return undefined;
  const { total, connections } = value.open;
  if (typeof total !== 'number' || !Array.isArray(connections)) return undefined;
  const listed: OpenConnection[] = [];
  for (const item of connections as unknown[]) {
    if (!isObject(item) || typeof item.id !== 'string' || typeof item.url !== 'string') return undefined;
    listed.push({ id: item.id, url: item.url });
  }
  const open = { total, connections: listed };
  if (value.ok === true) return { version: 1, ok: true, open };
  const error = value.error;
  if (value.ok !== false || !isObject(error) || typeof error.message !== 'string') return undefined;
  const code = ERROR_CODES.find((known) => known === error.code) ?? 'failed';
  return { version: 1, ok: false, error: { code, message: error.message }, open };
}

/** One line to write: the JSON and its newline. */
export function encodeLine(message: ControlRequest | ControlResponse): string {
  return `${JSON.stringify(message)}\n`;
}

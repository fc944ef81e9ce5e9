/**
 * STOMP 1.0-1.2 frames (stomp.github.io/stomp-specification-1.2.html "Augmented BNF"):
 *
 *   COMMAND EOL *( header EOL ) EOL body NUL *( EOL )
 *
 * with EOL = "\n" or "\r\n" and header = name ":" value. The command must be one the spec defines,
 * every header line must have a colon, and the body ends at NUL (after content-length bytes when
 * that header is given). A message of nothing but EOLs is a heart-beat ("Heart-beating").
 * Without a declared STOMP subprotocol the NUL is required; with one, a missing NUL is tolerated
 * (some clients strip it).
 */

import { isUtf8 } from 'node:buffer';
import { bufferView, excerpt } from './bytes.js';
import { MAX_TEXT_PARSE } from './payload-text.js';
import type { Detection, Detector } from './types.js';

const SUBPROTOCOLS = ['stomp', 'v10.stomp', 'v11.stomp', 'v12.stomp'];
const COMMANDS = new Set([
  'CONNECT',
  'STOMP',
  'CONNECTED',
  'SEND',
  'SUBSCRIBE',
  'UNSUBSCRIBE',
  'ACK',
  'NACK',
  'BEGIN',
  'COMMIT',
  'ABORT',
  'DISCONNECT',
  'MESSAGE',
  'RECEIPT',
  'ERROR',
]);
/** The header block (command and headers) must end within this many bytes. */
const MAX_HEAD = 64 * 1024;

/** The decoded form of a STOMP frame. */
export interface StompFrame {
  command: string;
  headers: Record<string, string>;
  /** The body as text when it is UTF-8 (absent when empty). */
  body?: string;
  /** The body as base64 when it is not UTF-8. */
  bodyBase64?: string;
  /** The body's size, given instead of the body when that is over MAX_TEXT_PARSE bytes. */
  bodyLength?: number;
}

export const stomp: Detector = {
  id: 'stomp',
  subprotocols: SUBPROTOCOLS,
  detect(bytes, context): Detection | null {
    const first = bytes[0];
    if (first === undefined) return null;
    if (first === 0x0a || first === 0x0d) {
      return isHeartbeat(bytes) ? { id: 'stomp', label: 'STOMP heart-beat', heartbeat: true } : null;
    }
    if (first < 0x41 || first > 0x55) return null; // 'A'..'U': the first letters of the commands
    const declared = SUBPROTOCOLS.includes(context.subprotocol?.toLowerCase() ?? '');
    const frame = parseFrame(bytes, declared);
    if (frame === null) return null;
    return { id: 'stomp', label: `STOMP ${stompTag(frame)}`, decoded: frame };
  },
};

/**
 * The frame as the pretty view tags it: the command and its destination (`SEND /queue/a`,
 * `MESSAGE /topic/prices`), or an ERROR's message; a heart-beat (no frame) is `heart-beat`.
 */
export function stompTag(frame: StompFrame | undefined): string {
  if (frame === undefined) return 'heart-beat';
  const destination = frame.headers.destination;
  if (destination !== undefined) return `${frame.command} ${excerpt(destination, 80)}`;
  if (frame.command === 'ERROR' && frame.headers.message !== undefined) return `${frame.command} ${excerpt(frame.headers.message, 80)}`;
  return frame.command;
}

/** One or more EOLs and nothing else. */
function isHeartbeat(bytes: Uint8Array): boolean {
  if (bytes.length > 64) return false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0x0a) continue;
    if (b === 0x0d && bytes[i + 1] === 0x0a) continue;
    return false;
  }
  return true;
}

/** Reads one line ending at `\n` (a preceding `\r` is dropped); null when there is none. */
function line(bytes: Uint8Array, from: number, limit: number): { text: string; next: number } | null {
  if (from >= limit) return null;
  const found = bytes.subarray(from, limit).indexOf(0x0a);
  if (found < 0) return null;
  const nl = from + found;
  const end = nl > from && bytes[nl - 1] === 0x0d ? nl - 1 : nl;
  const view = bufferView(bytes.subarray(from, end));
  if (!isUtf8(view)) return null;
  return { text: view.toString('utf8'), next: nl + 1 };
}

function parseFrame(bytes: Uint8Array, declared: boolean): StompFrame | null {
  const limit = Math.min(bytes.length, MAX_HEAD);
  const commandLine = line(bytes, 0, limit);
  if (commandLine === null || !COMMANDS.has(commandLine.text)) return null;
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  let p = commandLine.next;
  for (;;) {
    const header = line(bytes, p, limit);
    if (header === null) return null;
    p = header.next;
    if (header.text === '') break;
    const colon = header.text.indexOf(':');
    if (colon <= 0) return null;
    const name = header.text.slice(0, colon);
    // "If a client or a server receives repeated frame header entries, only the first header
    // entry SHOULD be used as the value of header entry."
    if (!(name in headers)) headers[name] = header.text.slice(colon + 1);
  }
  let bodyEnd: number;
  const contentLength = headers['content-length'];
  if (contentLength !== undefined && /^\d+$/.test(contentLength)) {
    bodyEnd = p + Number(contentLength);
    if (bodyEnd > bytes.length || (bodyEnd < bytes.length && bytes[bodyEnd] !== 0)) return null;
  } else {
    bodyEnd = bytes.indexOf(0, p);
    if (bodyEnd < 0) bodyEnd = bytes.length;
  }
  if (bodyEnd === bytes.length) {
    if (!declared) return null; // no NUL
  } else if (!isHeartbeat(bytes.subarray(bodyEnd + 1)) && bodyEnd + 1 !== bytes.length) {
    return null; // something after the NUL that is not EOLs
  }
  const frame: StompFrame = { command: commandLine.text, headers: { ...headers } };
  if (bodyEnd - p > MAX_TEXT_PARSE) {
    frame.bodyLength = bodyEnd - p;
  } else if (bodyEnd > p) {
    const body = bufferView(bytes.subarray(p, bodyEnd));
    if (isUtf8(body)) frame.body = body.toString('utf8');
    else frame.bodyBase64 = body.toString('base64');
  }
  return frame;
}

/**
 * ASP.NET Core SignalR, JSON hub protocol (aspnetcore HubProtocol.md): each message is a JSON
 * object terminated by the record separator 0x1E; one WebSocket message may carry several.
 *
 *   {"protocol":"json","version":1}\x1e      handshake request
 *   {}\x1e  /  {"error":"..."}\x1e            handshake response
 *   {"type":1,"target":"Send","arguments":[...]}\x1e   invocation (types 1-9, 6 = ping)
 *
 * Every record must parse as one of these. SignalR negotiates no subprotocol.
 */

import { isRecord, payloadText } from './payload-text.js';
import { excerpt } from './bytes.js';
import { plural } from './json.js';
import type { Detection, Detector } from './types.js';

const RECORD_SEPARATOR = 0x1e;
const TYPES = ['', 'invocation', 'stream item', 'completion', 'stream invocation', 'cancel invocation', 'ping', 'close', 'ack', 'sequence'] as const;
const PING = 6;

export const signalr: Detector = {
  id: 'signalr',
  detect(bytes): Detection | null {
    if (bytes.length < 3 || bytes[bytes.length - 1] !== RECORD_SEPARATOR || bytes[0] !== 0x7b) return null;
    const text = payloadText(bytes);
    if (text === null) return null;
    const pieces = text.split('\x1e');
    pieces.pop(); // the empty string after the last separator
    const records: Record<string, unknown>[] = [];
    const names: string[] = [];
    for (const piece of pieces) {
      let record: unknown;
      try {
        record = JSON.parse(piece);
      } catch {
        return null;
      }
      if (!isRecord(record)) return null;
      const name = describe(record);
      if (name === null) return null;
      records.push(record);
      names.push(name);
    }
    const detection: Detection = { id: 'signalr', label: `SignalR ${tagOf(names)}`, decoded: records };
    if (records.every((record) => record.type === PING)) detection.heartbeat = true;
    return detection;
  },
};

function tagOf(names: string[]): string {
  return names.length === 1 ? (names[0] as string) : `${plural(names.length, 'record')}: ${names.slice(0, 3).join(', ')}${names.length > 3 ? ', …' : ''}`;
}

/**
 * The records of a SignalR message as the pretty view tags them: `invocation Send`, `ping`,
 * `handshake json v1`, `3 records: ping, invocation Send, completion`.
 */
export function signalrTag(records: unknown): string | null {
  if (!Array.isArray(records)) return null;
  const names: string[] = [];
  for (const record of records) {
    const name = isRecord(record) ? describe(record) : null;
    if (name === null) return null;
    names.push(name);
  }
  return names.length === 0 ? null : tagOf(names);
}

/** A short description of one record, or null when it is not a SignalR JSON message. */
function describe(record: Record<string, unknown>): string | null {
  const type = record.type;
  if (type === undefined) {
    if (typeof record.protocol === 'string' && typeof record.version === 'number') {
      return `handshake ${excerpt(record.protocol)} v${record.version}`;
    }
    const keys = Object.keys(record);
    if (keys.length === 0) return 'handshake response';
    if (keys.length === 1 && typeof record.error === 'string') return `handshake error "${excerpt(record.error)}"`;
    return null;
  }
  if (typeof type !== 'number' || !Number.isInteger(type)) return null;
  const name = TYPES[type];
  if (name === undefined || name === '') return null;
  if (type === 1 || type === 4) {
    if (typeof record.target !== 'string' || !Array.isArray(record.arguments)) return null;
    return `${name} ${excerpt(record.target)}`;
  }
  if ((type === 2 || type === 3 || type === 5) && typeof record.invocationId !== 'string') return null;
  if (type === 7 && typeof record.error === 'string') return `close "${excerpt(record.error)}"`;
  return name;
}

/**
 * Socket.IO packets (socket.io-protocol v4 and v5) inside Engine.IO message packets ("4"):
 *
 *   4 <type digit> [<attachments>-] [<namespace>,] [<ack id>] [<JSON data>]
 *
 *   42["chat",{"x":1}]         EVENT "chat"
 *   42/admin,17["get"]         EVENT "get" in namespace /admin, asking for ack 17
 *   4317["ok"]                 ACK 17
 *   451-["file",{"_placeholder":true,"num":0}]   BINARY_EVENT with 1 attachment
 *   40 / 40{"sid":"..."}       CONNECT (to the main namespace)
 *
 * Every part is checked: an EVENT needs an array whose first item is a string, an ACK needs an
 * id and an array, CONNECT an object or nothing, DISCONNECT nothing.
 */

import { isRecord, payloadText } from './payload-text.js';
import { excerpt } from './bytes.js';
import type { Detection, Detector } from './types.js';

const TYPES = ['CONNECT', 'DISCONNECT', 'EVENT', 'ACK', 'CONNECT_ERROR', 'BINARY_EVENT', 'BINARY_ACK'] as const;
const DIGITS = /^\d+$/;

/** The decoded form of a Socket.IO packet. */
export interface SocketIoPacket {
  type: (typeof TYPES)[number];
  nsp: string;
  id?: number;
  attachments?: number;
  data?: unknown;
}

export const socketIo: Detector = {
  id: 'socket.io',
  detect(bytes, context): Detection | null {
    if (context.type !== 'text' || bytes.length < 2 || bytes[0] !== 0x34) return null;
    const typeDigit = (bytes[1] as number) - 0x30;
    if (typeDigit < 0 || typeDigit > 6) return null;
    const text = payloadText(bytes);
    if (text === null) return null;
    const packet = parsePacket(text, typeDigit);
    if (packet === null) return null;
    return { id: 'socket.io', label: describe(packet), decoded: packet };
  },
};

function parsePacket(text: string, typeDigit: number): SocketIoPacket | null {
  const type = TYPES[typeDigit];
  if (type === undefined) return null;
  const packet: SocketIoPacket = { type, nsp: '/' };
  let i = 2;
  if (type === 'BINARY_EVENT' || type === 'BINARY_ACK') {
    const dash = text.indexOf('-', i);
    if (dash < 0 || dash - i > 6 || !DIGITS.test(text.slice(i, dash))) return null;
    packet.attachments = Number(text.slice(i, dash));
    i = dash + 1;
  }
  if (text[i] === '/') {
    const comma = text.indexOf(',', i);
    const end = comma < 0 ? text.length : comma;
    const nsp = text.slice(i, end);
    // A namespace is a path: no JSON punctuation, no blanks.
    if (/[\s[\]{}"]/.test(nsp)) return null;
    packet.nsp = nsp;
    i = comma < 0 ? end : end + 1;
  }
  let j = i;
  while (j < text.length && j - i < 16 && text.charCodeAt(j) >= 0x30 && text.charCodeAt(j) <= 0x39) j++;
  if (j > i) {
    packet.id = Number(text.slice(i, j));
    i = j;
  }
  const rest = text.slice(i);
  if (rest !== '') {
    try {
      packet.data = JSON.parse(rest) as unknown;
    } catch {
      return null;
    }
  }
  return isValid(packet) ? packet : null;
}

function isValid(packet: SocketIoPacket): boolean {
  const data = packet.data;
  switch (packet.type) {
    case 'CONNECT':
      return packet.id === undefined && (data === undefined || isRecord(data));
    case 'DISCONNECT':
      return packet.id === undefined && data === undefined;
    case 'EVENT':
    case 'BINARY_EVENT':
      return Array.isArray(data) && typeof data[0] === 'string';
    case 'ACK':
    case 'BINARY_ACK':
      return packet.id !== undefined && Array.isArray(data);
    case 'CONNECT_ERROR':
      return packet.id === undefined && (isRecord(data) || typeof data === 'string');
  }
}

/**
 * The packet as the pretty view tags it: `EVENT "chat"`, `EVENT "get" /admin ack=17`, `ACK 3`,
 * `CONNECT /ns`, `DISCONNECT`, `CONNECT_ERROR "not authorized"`, `BINARY_EVENT "file" 1 attachment`.
 */
export function socketIoTag(packet: SocketIoPacket): string {
  const parts: string[] = [packet.type];
  if ((packet.type === 'EVENT' || packet.type === 'BINARY_EVENT') && Array.isArray(packet.data)) parts.push(`"${excerpt(String(packet.data[0]))}"`);
  if (packet.type === 'CONNECT_ERROR') {
    const message = isRecord(packet.data) ? packet.data.message : packet.data;
    if (typeof message === 'string') parts.push(`"${excerpt(message)}"`);
  }
  if (packet.nsp !== '/') parts.push(excerpt(packet.nsp));
  if (packet.id !== undefined) parts.push(packet.type === 'ACK' || packet.type === 'BINARY_ACK' ? String(packet.id) : `ack=${packet.id}`);
  if (packet.attachments !== undefined) parts.push(`${packet.attachments} attachment${packet.attachments === 1 ? '' : 's'}`);
  return parts.join(' ');
}

function describe(packet: SocketIoPacket): string {
  let text = `socket.io ${packet.type}`;
  if ((packet.type === 'EVENT' || packet.type === 'BINARY_EVENT') && Array.isArray(packet.data)) {
    text += ` "${excerpt(String(packet.data[0]))}"`;
  }
  if (packet.type === 'CONNECT_ERROR') {
    const data = packet.data;
    const message = isRecord(data) ? data.message : data;
    if (typeof message === 'string') text += ` "${excerpt(message)}"`;
  }
  if (packet.nsp !== '/') text += ` nsp=${excerpt(packet.nsp)}`;
  if (packet.id !== undefined) text += ` ack=${packet.id}`;
  if (packet.attachments !== undefined) text += ` attachments=${packet.attachments}`;
  return text;
}

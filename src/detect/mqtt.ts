/**
 * MQTT 3.1, 3.1.1 and 5.0 control packets over WebSocket (binary messages only: MQTT 3.1.1 §6
 * "MQTT Control Packets MUST be sent in WebSocket binary data frames").
 *
 * A WebSocket message may hold several packets; every one must be complete and they must end
 * exactly at the end of the message (a packet split across messages is not recognised). Each
 * packet is checked: type 1-15, the fixed-header flags the type requires (§2.2.2), a minimal
 * remaining-length varint (§2.2.3), and a body that fits its type: CONNECT carries the protocol
 * name "MQTT" (level 4/5) or "MQIsdp" (level 3), PUBLISH a UTF-8 topic without wildcards,
 * SUBSCRIBE/UNSUBSCRIBE a list of filters, PINGREQ/PINGRESP nothing.
 *
 * PUBLISH payloads are shown as 3.1.1 lays them out: an MQTT 5 PUBLISH has properties between the
 * packet id and the payload, which cannot be told apart without the connection's CONNECT.
 */

import { isUtf8 } from 'node:buffer';
import { bufferView, excerpt, u16be } from './bytes.js';
import { MAX_TEXT_PARSE } from './payload-text.js';
import type { Detection, Detector } from './types.js';

const SUBPROTOCOLS = ['mqtt', 'mqttv3.1'];
const NAMES = [
  '',
  'CONNECT',
  'CONNACK',
  'PUBLISH',
  'PUBACK',
  'PUBREC',
  'PUBREL',
  'PUBCOMP',
  'SUBSCRIBE',
  'SUBACK',
  'UNSUBSCRIBE',
  'UNSUBACK',
  'PINGREQ',
  'PINGRESP',
  'DISCONNECT',
  'AUTH',
] as const;

/** The decoded form of one packet. */
export interface MqttPacket {
  type: string;
  /** CONNECT: protocol name and level, client id. */
  protocol?: string;
  level?: number;
  clientId?: string;
  /** PUBLISH: topic, QoS, flags; SUBSCRIBE / UNSUBSCRIBE: the filters. */
  topic?: string;
  qos?: number;
  retain?: boolean;
  dup?: boolean;
  topics?: string[];
  packetId?: number;
  /** PUBLISH payload as text when UTF-8, else `payloadBase64`. */
  payload?: string;
  payloadBase64?: string;
  /** The payload's size, given instead of the payload when that is over MAX_TEXT_PARSE bytes. */
  payloadLength?: number;
}

export const mqtt: Detector = {
  id: 'mqtt',
  subprotocols: SUBPROTOCOLS,
  detect(bytes, context): Detection | null {
    if (context.type !== 'binary' || bytes.length < 2) return null;
    const first = bytes[0] as number;
    if (first < 0x10) return null; // type 0 is reserved
    const packets: MqttPacket[] = [];
    let p = 0;
    while (p < bytes.length) {
      if (packets.length >= 1000) return null;
      const header = fixedHeader(bytes, p);
      if (header === null) return null;
      const packet = parseBody(header.type, header.flags, bytes.subarray(header.bodyStart, header.end));
      if (packet === null) return null;
      packets.push(packet);
      p = header.end;
    }
    const decoded = packets.length === 1 ? (packets[0] as MqttPacket) : packets;
    const detection: Detection = { id: 'mqtt', label: `MQTT ${mqttTag(decoded)}`, decoded };
    if (packets.every((packet) => packet.type === 'PINGREQ' || packet.type === 'PINGRESP')) detection.heartbeat = true;
    return detection;
  },
};

/**
 * The packet (or the first of several) as the pretty view tags it: `PUBLISH sensors/temp qos=1`,
 * `SUBSCRIBE a/# b/+`, `CONNECT client=dev1`, `PINGREQ`, `PUBACK (+2 more)`.
 */
export function mqttTag(decoded: MqttPacket | MqttPacket[]): string {
  const packets = Array.isArray(decoded) ? decoded : [decoded];
  const head = packets[0];
  if (head === undefined) return 'MQTT';
  let label = head.type;
  if (head.topic !== undefined) label += ` ${excerpt(head.topic)}`;
  if (head.topics !== undefined) label += ` ${head.topics.map((topic) => excerpt(topic)).join(' ')}`;
  if (head.clientId !== undefined) label += ` client=${excerpt(head.clientId)}`;
  if (head.qos !== undefined && head.qos > 0) label += ` qos=${head.qos}`;
  if (packets.length > 1) label += ` (+${packets.length - 1} more)`;
  return label;
}

function fixedHeader(bytes: Uint8Array, start: number): { type: number; flags: number; bodyStart: number; end: number } | null {
  const byte = bytes[start] as number;
  const type = byte >> 4;
  const flags = byte & 0x0f;
  if (type === 0) return null;
  // §2.2.2: PUBREL, SUBSCRIBE and UNSUBSCRIBE have flags 0010; PUBLISH has DUP, QoS, RETAIN;
  // every other type 0000.
  if (type === 6 || type === 8 || type === 10) {
    if (flags !== 2) return null;
  } else if (type === 3) {
    if (((flags >> 1) & 3) === 3) return null; // §3.3.1.2: QoS 3 is malformed
  } else if (flags !== 0) {
    return null;
  }
  // §2.2.3: remaining length, 1-4 bytes of 7 bits, least significant first.
  let length = 0;
  let multiplier = 1;
  let p = start + 1;
  for (let i = 0; ; i++) {
    if (i === 4 || p >= bytes.length) return null;
    const b = bytes[p++] as number;
    length += (b & 0x7f) * multiplier;
    multiplier *= 128;
    if ((b & 0x80) === 0) {
      if (i > 0 && b === 0) return null; // not minimal
      break;
    }
  }
  const end = p + length;
  if (end > bytes.length) return null;
  return { type, flags, bodyStart: p, end };
}

/** A length-prefixed UTF-8 string (§1.5.3) at `p`, or null. */
function utf8String(body: Uint8Array, p: number): { text: string; next: number } | null {
  if (p + 2 > body.length) return null;
  const next = p + 2 + u16be(body, p);
  if (next > body.length) return null;
  const view = bufferView(body.subarray(p + 2, next));
  if (!isUtf8(view)) return null;
  const text = view.toString('utf8');
  if (text.includes('\u0000')) return null; // §1.5.3: U+0000 MUST NOT be included
  return { text, next };
}

/** Skips an MQTT 5 property block (a varint length then that many bytes); -1 when malformed. */
function skipProperties(body: Uint8Array, p: number): number {
  let length = 0;
  let multiplier = 1;
  for (let i = 0; i < 4; i++) {
    const b = body[p++];
    if (b === undefined) return -1;
    length += (b & 0x7f) * multiplier;
    multiplier *= 128;
    if ((b & 0x80) === 0) return p + length <= body.length ? p + length : -1;
  }
  return -1;
}

function parseBody(type: number, flags: number, body: Uint8Array): MqttPacket | null {
  const name = NAMES[type] as string;
  const packet: MqttPacket = { type: name };
  switch (type) {
    case 1:
      return parseConnect(body, packet);
    case 2: // CONNACK: acknowledge flags (only bit 0 defined), return / reason code, v5 properties
      if (body.length < 2 || (body[0] as number) > 1) return null;
      if (body.length > 2 && skipProperties(body, 2) !== body.length) return null;
      return packet;
    case 3: {
      const topic = utf8String(body, 0);
      if (topic === null || topic.text === '' || /[+#]/.test(topic.text)) return null;
      packet.topic = topic.text;
      packet.qos = (flags >> 1) & 3;
      packet.retain = (flags & 1) === 1;
      packet.dup = (flags & 8) === 8;
      let p = topic.next;
      if (packet.qos > 0) {
        if (p + 2 > body.length || u16be(body, p) === 0) return null; // §2.3.1: non-zero id
        packet.packetId = u16be(body, p);
        p += 2;
      } else if (packet.dup) {
        return null; // §3.3.1.1: DUP MUST be 0 for QoS 0
      }
      const payload = bufferView(body.subarray(p));
      if (payload.length > MAX_TEXT_PARSE) {
        packet.payloadLength = payload.length;
      } else if (payload.length > 0) {
        if (isUtf8(payload)) packet.payload = payload.toString('utf8');
        else packet.payloadBase64 = payload.toString('base64');
      }
      return packet;
    }
    case 4:
    case 5:
    case 6:
    case 7:
    case 11: // packet id (+ v5 reason code and properties)
      if (body.length < 2 || u16be(body, 0) === 0) return null;
      packet.packetId = u16be(body, 0);
      return packet;
    case 8:
    case 10:
      return parseSubscribe(body, packet, type === 8);
    case 9: // SUBACK: packet id, then return codes (0, 1, 2 or 0x80; v5 adds reason codes)
      if (body.length < 3 || u16be(body, 0) === 0) return null;
      packet.packetId = u16be(body, 0);
      return packet;
    case 12:
    case 13:
      return body.length === 0 ? packet : null;
    case 14:
    case 15: // DISCONNECT / AUTH: empty, or v5 reason code and properties
      if (body.length <= 1) return packet;
      return skipProperties(body, 1) === body.length ? packet : null;
    default:
      return null;
  }
}

function parseConnect(body: Uint8Array, packet: MqttPacket): MqttPacket | null {
  // §3.1.2.1: protocol name "MQTT" (3.1.1: level 4, 5.0: level 5) or "MQIsdp" (3.1: level 3).
  const protocol = utf8String(body, 0);
  if (protocol === null) return null;
  const level = body[protocol.next];
  const connectFlags = body[protocol.next + 1];
  if (level === undefined || connectFlags === undefined) return null;
  if (!((protocol.text === 'MQTT' && (level === 4 || level === 5)) || (protocol.text === 'MQIsdp' && level === 3))) return null;
  if ((connectFlags & 1) !== 0) return null; // §3.1.2.3: reserved flag MUST be 0
  packet.protocol = protocol.text;
  packet.level = level;
  let p = protocol.next + 4; // level, flags, keep alive (2)
  if (level === 5) {
    p = skipProperties(body, p);
    if (p < 0) return null;
  }
  const clientId = utf8String(body, p);
  if (clientId === null) return null;
  packet.clientId = clientId.text;
  return packet;
}

function parseSubscribe(body: Uint8Array, packet: MqttPacket, subscribe: boolean): MqttPacket | null {
  if (body.length < 2 || u16be(body, 0) === 0) return null;
  packet.packetId = u16be(body, 0);
  // 3.1.1 layout first; MQTT 5 adds a property block after the packet id.
  const topics = filters(body, 2, subscribe) ?? filters(body, skipProperties(body, 2), subscribe);
  if (topics === null) return null;
  packet.topics = topics;
  return packet;
}

function filters(body: Uint8Array, start: number, subscribe: boolean): string[] | null {
  if (start < 0) return null;
  const topics: string[] = [];
  let p = start;
  while (p < body.length) {
    const filter = utf8String(body, p);
    if (filter === null || filter.text === '') return null;
    p = filter.next;
    if (subscribe) {
      const options = body[p++];
      // 3.1.1 §3.8.3.1: requested QoS 0-2, upper bits reserved; v5 uses bits 0-5.
      if (options === undefined || (options & 0xc0) !== 0 || (options & 3) === 3) return null;
    }
    topics.push(filter.text);
  }
  return topics.length > 0 ? topics : null;
}

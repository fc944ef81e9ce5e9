/**
 * Each detector's edge cases, table-driven through the registry: what must be claimed (with which
 * label) and what must not. The fixtures table covers the ordinary samples.
 */

import { deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { detect } from '../../src/detect/registry.js';
import type { DetectContext } from '../../src/detect/types.js';

type Input = string | readonly number[] | Uint8Array;
interface Row {
  name: string;
  bytes: Input;
  type?: 'text' | 'binary';
  subprotocol?: string;
  /** The expected id, or `{ not }`: anything but that id (for bytes other detectors may claim). */
  id: string | null | { not: string };
  label?: string;
}

function toBytes(input: Input): Uint8Array {
  if (typeof input === 'string') return new TextEncoder().encode(input);
  return input instanceof Uint8Array ? input : Uint8Array.from(input);
}

/** An MQTT packet: fixed header byte, remaining length (one byte), body. */
function mqttPacket(first: number, body: readonly number[]): number[] {
  return [first, body.length, ...body];
}
const str16 = (text: string): number[] => [0, text.length, ...new TextEncoder().encode(text)];

const ROWS: Row[] = [
  // magic numbers
  { name: 'PNG signature without IHDR', bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0], id: 'png', label: 'PNG image' },
  { name: 'JPEG without a frame header', bytes: [0xff, 0xd8, 0xff, 0xdb, 0x00, 0x04, 0x00, 0x00], id: 'jpeg', label: 'JPEG image' },
  { name: 'GIF87a', bytes: 'GIF87a\x20\x00\x10\x00', type: 'binary', id: 'gif', label: 'GIF image 32x16' },
  { name: 'RIFF that is not WebP (WAVE)', bytes: 'RIFF\x24\x00\x00\x00WAVEfmt ', id: null },
  { name: 'gzip', bytes: gzipSync('x'), id: 'gzip', label: 'gzip data' },
  { name: 'gzip with a reserved flag bit', bytes: [0x1f, 0x8b, 0x08, 0x20, 0, 0, 0, 0, 0, 3, 1, 2], id: null },
  { name: 'zlib, best compression', bytes: deflateSync('hello hello hello', { level: 9 }), id: 'zlib', label: 'zlib data (32K window, maximum compression)' },
  { name: 'zlib, small window', bytes: deflateSync('hello', { windowBits: 9 }), id: 'zlib', label: 'zlib data (0.5K window, default compression)' },
  { name: 'zlib header with a wrong FCHECK', bytes: [0x78, 0x9d, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], id: null },
  { name: 'text that starts like a zlib header ("x^")', bytes: 'x^ marks the spot where the treasure is', type: 'text', id: null },
  { name: 'zlib header followed by garbage', bytes: [0x78, 0x9c, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], id: null },
  { name: 'zstd with the reserved bit set', bytes: [0x28, 0xb5, 0x2f, 0xfd, 0x28, 0x05, 0x29, 0x00, 0x00], id: { not: 'zstd' } },
  { name: 'empty ZIP', bytes: [0x50, 0x4b, 0x05, 0x06, ...new Array<number>(18).fill(0)], id: 'zip', label: 'ZIP archive (empty)' },
  { name: '%PDF- without a version', bytes: '%PDF-x.y', id: null },
  { name: 'wasm component', bytes: [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00], id: 'wasm', label: 'WebAssembly component (version 13)' },
  { name: 'wasm magic with an unknown layer', bytes: [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x02, 0x00], id: null },

  // json
  { name: 'JSON scalar number', bytes: '12', type: 'text', id: null },
  { name: 'JSON scalar string', bytes: '"hello"', type: 'text', id: null },
  { name: 'truncated JSON', bytes: '{"a":1', type: 'text', id: null },
  { name: 'brackets that are not JSON', bytes: '[not json]', type: 'text', id: null },
  { name: 'empty JSON object', bytes: '{}', type: 'text', id: 'json', label: 'JSON object (0 keys)' },
  { name: 'JSON in a binary message', bytes: '{"a":[1]}', type: 'binary', id: 'json', label: 'JSON object (1 key)' },

  // graphql
  { name: 'connection_init, no subprotocol: the current protocol', bytes: '{"type":"connection_init"}', type: 'text', id: 'graphql-transport-ws' },
  { name: 'connection_init on a graphql-ws connection', bytes: '{"type":"connection_init"}', type: 'text', subprotocol: 'graphql-ws', id: 'graphql-ws' },
  {
    name: 'graphql-transport-ws error (array payload)',
    bytes: '{"id":"7","type":"error","payload":[{"message":"boom"}]}',
    type: 'text',
    id: 'graphql-transport-ws',
    label: 'graphql-transport-ws error id=7',
  },
  {
    name: 'legacy error (object payload)',
    bytes: '{"id":"7","type":"error","payload":{"message":"boom"}}',
    type: 'text',
    id: 'graphql-ws',
    label: 'graphql-ws error id=7',
  },
  { name: 'legacy data', bytes: '{"id":"2","type":"data","payload":{"data":{"x":1}}}', type: 'text', id: 'graphql-ws', label: 'graphql-ws data id=2' },
  { name: 'legacy stop', bytes: '{"id":"2","type":"stop"}', type: 'text', id: 'graphql-ws', label: 'graphql-ws stop id=2' },
  {
    name: 'unknown type, declared subprotocol',
    bytes: '{"type":"custom_thing"}',
    type: 'text',
    subprotocol: 'graphql-transport-ws',
    id: 'graphql-transport-ws',
    label: 'graphql-transport-ws custom_thing',
  },
  { name: 'unknown type, no subprotocol: just JSON', bytes: '{"type":"custom_thing"}', type: 'text', id: 'json' },
  {
    name: 'a subscribe-looking object with extra keys: just JSON',
    bytes: '{"type":"subscribe","id":"1","payload":{"query":"{a}"},"extra":1}',
    type: 'text',
    id: 'json',
  },
  { name: 'subscribe without an id: just JSON', bytes: '{"type":"subscribe","payload":{"query":"{a}"}}', type: 'text', id: 'json' },
  {
    name: 'control characters in an id are escaped in the label',
    bytes: '{"id":"\\u001b[31mred","type":"complete"}',
    type: 'text',
    id: 'graphql-transport-ws',
    label: 'graphql-transport-ws complete id=\\u001b[31mred',
  },

  // socket.io / engine.io
  {
    name: 'BINARY_EVENT with an attachment',
    bytes: '451-["upload",{"_placeholder":true,"num":0}]',
    type: 'text',
    id: 'socket.io',
    label: 'socket.io BINARY_EVENT "upload" attachments=1',
  },
  { name: 'ACK', bytes: '4312["ok",1]', type: 'text', id: 'socket.io', label: 'socket.io ACK ack=12' },
  { name: 'ACK without an id', bytes: '43["ok"]', type: 'text', id: null },
  { name: 'EVENT without data', bytes: '42', type: 'text', id: null },
  { name: 'EVENT whose first item is not a name', bytes: '42[1,2]', type: 'text', id: null },
  { name: 'DISCONNECT from a namespace', bytes: '41/admin,', type: 'text', id: 'socket.io', label: 'socket.io DISCONNECT nsp=/admin' },
  { name: 'CONNECT to a namespace', bytes: '40/admin,{"token":"x"}', type: 'text', id: 'socket.io', label: 'socket.io CONNECT nsp=/admin' },
  { name: 'CONNECT_ERROR', bytes: '44{"message":"Not authorized"}', type: 'text', id: 'socket.io', label: 'socket.io CONNECT_ERROR "Not authorized"' },
  { name: 'Engine.IO message that is not Socket.IO', bytes: '4hello', type: 'text', id: null },
  { name: 'broken Socket.IO JSON', bytes: '42["chat"', type: 'text', id: null },
  { name: 'Engine.IO ping probe', bytes: '2probe', type: 'text', id: 'engine.io', label: 'engine.io ping probe' },
  { name: 'Engine.IO close', bytes: '1', type: 'text', id: 'engine.io', label: 'engine.io close' },
  { name: 'Engine.IO open without sid', bytes: '0{"pingInterval":25000}', type: 'text', id: null },
  { name: '"7" is nothing', bytes: '7', type: 'text', id: null },
  { name: '"2" in a binary message is not Engine.IO', bytes: '2', type: 'binary', id: null },
  { name: '"2" on a STOMP connection is not Engine.IO', bytes: '2', type: 'text', subprotocol: 'v12.stomp', id: null },
  { name: '"2" on a connection with an unknown subprotocol is', bytes: '2', type: 'text', subprotocol: 'chat.v1', id: 'engine.io' },

  // stomp
  { name: 'STOMP without NUL, no subprotocol', bytes: 'SEND\ndestination:/q\n\nhello', type: 'text', id: null },
  { name: 'STOMP without NUL, declared', bytes: 'SEND\ndestination:/q\n\nhello', type: 'text', subprotocol: 'v12.stomp', id: 'stomp', label: 'STOMP SEND /q' },
  { name: 'STOMP header without colon', bytes: 'SEND\ndestination /q\n\nhello\0', type: 'text', id: null },
  { name: 'unknown STOMP command', bytes: 'HELLO\n\n\0', type: 'text', id: null },
  {
    name: 'STOMP content-length body containing NUL',
    bytes: 'MESSAGE\ndestination:/q\ncontent-length:3\n\na\0b\0',
    type: 'text',
    id: 'stomp',
    label: 'STOMP MESSAGE /q',
  },
  { name: 'STOMP content-length that does not end at NUL', bytes: 'MESSAGE\ndestination:/q\ncontent-length:2\n\nabc\0', type: 'text', id: null },
  { name: 'STOMP ERROR', bytes: 'ERROR\nmessage:malformed frame\n\n\0', type: 'text', id: 'stomp', label: 'STOMP ERROR malformed frame' },
  { name: 'STOMP bytes after NUL', bytes: 'SEND\ndestination:/q\n\nhi\0junk', type: 'text', id: null },
  { name: 'STOMP CRLF heart-beat', bytes: '\r\n', type: 'text', id: 'stomp', label: 'STOMP heart-beat' },
  { name: 'lone CR', bytes: '\r', type: 'text', id: null },

  // signalr
  { name: 'SignalR handshake response', bytes: '{}\x1e', type: 'text', id: 'signalr', label: 'SignalR handshake response' },
  { name: 'SignalR completion', bytes: '{"type":3,"invocationId":"1","result":42}\x1e', type: 'text', id: 'signalr', label: 'SignalR completion' },
  { name: 'SignalR close with error', bytes: '{"type":7,"error":"bye"}\x1e', type: 'text', id: 'signalr', label: 'SignalR close "bye"' },
  { name: 'SignalR unknown type', bytes: '{"type":99}\x1e', type: 'text', id: null },
  { name: 'SignalR invocation without arguments', bytes: '{"type":1,"target":"x"}\x1e', type: 'text', id: null },
  { name: 'SignalR record without separator: JSON', bytes: '{"type":6}', type: 'text', id: 'json' },

  // mqtt
  {
    name: 'MQTT 3.1 CONNECT (MQIsdp)',
    bytes: mqttPacket(0x10, [...str16('MQIsdp'), 3, 2, 0, 60, ...str16('c1')]),
    id: 'mqtt',
    label: 'MQTT CONNECT client=c1',
  },
  {
    name: 'MQTT 5 CONNECT with properties',
    bytes: mqttPacket(0x10, [...str16('MQTT'), 5, 2, 0, 60, 3, 0x21, 0, 10, ...str16('c5')]),
    id: 'mqtt',
    label: 'MQTT CONNECT client=c5',
  },
  { name: 'MQTT CONNECT with a wrong level', bytes: mqttPacket(0x10, [...str16('MQTT'), 9, 2, 0, 60, ...str16('c1')]), id: null },
  { name: 'MQTT CONNECT with another protocol name', bytes: mqttPacket(0x10, [...str16('AMQP'), 4, 2, 0, 60, ...str16('c1')]), id: null },
  { name: 'MQTT SUBSCRIBE', bytes: mqttPacket(0x82, [0, 1, ...str16('a/+'), 1, ...str16('b/#'), 0]), id: 'mqtt', label: 'MQTT SUBSCRIBE a/+ b/#' },
  { name: 'MQTT SUBSCRIBE with wrong flags', bytes: mqttPacket(0x80, [0, 1, ...str16('a/+'), 1]), id: null },
  { name: 'MQTT PUBLISH to a wildcard', bytes: mqttPacket(0x30, [...str16('a/#'), 0x41]), id: null },
  { name: 'MQTT PUBLISH QoS 3', bytes: mqttPacket(0x36, [...str16('a/b'), 0, 1, 0x41]), id: null },
  { name: 'MQTT PUBLISH then PINGREQ', bytes: [...mqttPacket(0x30, [...str16('a/b'), 0x41]), 0xc0, 0x00], id: 'mqtt', label: 'MQTT PUBLISH a/b (+1 more)' },
  { name: 'MQTT with a length longer than the message', bytes: [0x30, 0x09, ...str16('a/b')], id: null },
  { name: 'MQTT with a non-minimal remaining length', bytes: [0xc0, 0x80, 0x00], id: null },
  { name: 'MQTT in a text message', bytes: [0xc0, 0x00], type: 'text', id: null },
  { name: 'MQTT PINGRESP', bytes: [0xd0, 0x00], id: 'mqtt', label: 'MQTT PINGRESP' },

  // msgpack
  { name: 'msgpack lone string (a scalar)', bytes: [0xa5, 0x68, 0x65, 0x6c, 0x6c, 0x6f], id: null },
  { name: 'msgpack map with trailing byte', bytes: [0x81, 0xa1, 0x61, 0x01, 0x00], id: null },
  { name: 'msgpack map with an array key', bytes: [0x81, 0x91, 0x01, 0x01, 0x81, 0xa1, 0x61, 0x01], id: null },
  { name: 'msgpack map with integer keys', bytes: [0x82, 0x01, 0xa1, 0x61, 0x02, 0xc3], id: 'msgpack', label: 'MessagePack map (2 keys)' },
  { name: 'msgpack application extension', bytes: [0x91, 0xd4, 0x05, 0x01], id: null },
  { name: 'msgpack invalid UTF-8 in a str', bytes: [0x91, 0xa2, 0xc3, 0x28], id: null },
  { name: 'msgpack 0xc1', bytes: [0x92, 0x01, 0xc1], id: null },
  { name: 'msgpack array32 announcing more items than bytes', bytes: [0xdd, 0xff, 0xff, 0xff, 0xff, 0x01], id: null },
  { name: 'msgpack in a text message', bytes: [0x81, 0xa1, 0x61, 0x01], type: 'text', id: null },

  // protobuf
  { name: 'protobuf field 1 = 150', bytes: [0x08, 0x96, 0x01], id: 'protobuf', label: 'protobuf message (1 field: 1)' },
  { name: 'protobuf group (wire type 3)', bytes: [0x0b, 0x08, 0x01, 0x0c], id: null },
  { name: 'protobuf field number 0', bytes: [0x00, 0x01, 0x08, 0x01], id: null },
  { name: 'protobuf non-minimal varint', bytes: [0x08, 0x81, 0x00], id: null },
  { name: 'protobuf len past the end', bytes: [0x0a, 0x05, 0x61, 0x62], id: null },
  { name: 'protobuf: one len field of opaque bytes', bytes: [0x0a, 0x04, 0xff, 0xfe, 0x80, 0x81], id: null },
  {
    name: 'protobuf of two doubles (a point) is plausible',
    bytes: [0x09, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0x11, 0, 0, 0, 0, 0, 0, 0x02, 0xc0],
    id: 'protobuf',
    label: 'protobuf message (2 fields: 1,2)',
  },
  {
    name: 'protobuf of absurd doubles is not',
    bytes: [0x09, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf1, 0x11, 0x13, 0x57, 0x9b, 0xdf, 0x02, 0x46, 0x8a, 0x0c],
    id: null,
  },
  { name: 'protobuf reserved field number 19000', bytes: [0xc0, 0xb9, 0x09, 0x01], id: null },
];

describe('detectors', () => {
  test.each(ROWS)('$name', (row) => {
    const context: DetectContext = { type: row.type ?? 'binary', subprotocol: row.subprotocol ?? null };
    const found = detect(toBytes(row.bytes), context);
    if (row.id !== null && typeof row.id === 'object') expect(found?.id).not.toBe(row.id.not);
    else expect(found?.id ?? null).toBe(row.id);
    if (row.label !== undefined) expect(found?.label).toBe(row.label);
  });

  test('an empty payload is nothing', () => {
    expect(detect(new Uint8Array(0), { type: 'text', subprotocol: null })).toBeNull();
    expect(detect(new Uint8Array(0), { type: 'binary', subprotocol: 'mqtt' })).toBeNull();
  });
});

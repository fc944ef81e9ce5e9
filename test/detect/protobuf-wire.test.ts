import { join } from 'node:path';
import fc from 'fast-check';
import protobufjs from 'protobufjs';
import { describe, expect, test } from 'vitest';
import { decodeMessage, scanMessage } from '../../src/detect/protobuf-wire.js';

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

describe('protobuf wire decoder', () => {
  test.each([
    // protobuf.dev encoding guide examples
    ['varint 150', bytes(0x08, 0x96, 0x01), [{ field: 1, wire: 'varint', value: 150 }]],
    ['string "testing"', bytes(0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x67), [{ field: 2, wire: 'len', string: 'testing' }]],
    ['nested message', bytes(0x1a, 0x03, 0x08, 0x96, 0x01), [{ field: 3, wire: 'len', message: [{ field: 1, wire: 'varint', value: 150 }] }]],
    ['empty len is an empty string', bytes(0x0a, 0x00), [{ field: 1, wire: 'len', string: '' }]],
    [
      'opaque bytes',
      bytes(0x0a, 0x02, 0xff, 0x00, 0x10, 0x01),
      [
        { field: 1, wire: 'len', bytes: '/wA=' },
        { field: 2, wire: 'varint', value: 1 },
      ],
    ],
    ['fixed32 / float 1.5', bytes(0x0d, 0x00, 0x00, 0xc0, 0x3f), [{ field: 1, wire: 'i32', value: 0x3fc00000, float: 1.5 }]],
    ['fixed64 / double 2.5', bytes(0x09, 0, 0, 0, 0, 0, 0, 0x04, 0x40), [{ field: 1, wire: 'i64', value: '4612811918334230528', double: 2.5 }]],
    [
      'int64 -1 (10-byte varint)',
      bytes(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
      [{ field: 1, wire: 'varint', value: '18446744073709551615' }],
    ],
    ['2^53 - 1 stays a number', bytes(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f), [{ field: 1, wire: 'varint', value: Number.MAX_SAFE_INTEGER }]],
  ])('%s', (_name, input, want) => {
    expect(scanMessage(input, 0, input.length)).toBe(want.length);
    expect(decodeMessage(input, 0, input.length)).toEqual(want);
  });

  test.each([
    ['group start', bytes(0x0b, 0x0c)],
    ['wire type 6', bytes(0x0e, 0x01)],
    ['field 0', bytes(0x02, 0x00)],
    ['11-byte varint', bytes(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)],
    ['10th varint byte above 1', bytes(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02)],
    ['non-minimal tag', bytes(0x88, 0x00, 0x01)],
    ['field above 65535', bytes(0x80, 0x80, 0x20, 0x01)],
    ['truncated fixed64', bytes(0x09, 0x01, 0x02)],
  ])('rejects %s', (_name, input) => {
    expect(scanMessage(input, 0, input.length)).toBe(-1);
  });

  test('decodes whatever protobufjs encodes, numbers and nesting intact', async () => {
    const root = await protobufjs.load(join(import.meta.dirname, '../../fixtures/detect/chat.proto'));
    const Message = root.lookupType('chat.Message');
    fc.assert(
      fc.property(
        fc.record({
          id: fc.integer({ min: 0, max: 2 ** 31 }),
          room: fc.string({ minLength: 1, maxLength: 20 }),
          text: fc.string({ maxLength: 50 }),
          from: fc.record({ name: fc.string({ minLength: 1, maxLength: 10 }), id: fc.integer({ min: 1, max: 1000 }) }),
        }),
        (value) => {
          const encoded = Message.encode(Message.fromObject(value)).finish();
          expect(scanMessage(encoded, 0, encoded.length)).toBeGreaterThan(0);
          const fields = decodeMessage(encoded, 0, encoded.length);
          if (value.id !== 0) expect(fields).toContainEqual({ field: 1, wire: 'varint', value: value.id });
          const from = fields.find((f) => f.field === 3);
          expect(from !== undefined && 'message' in from).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});

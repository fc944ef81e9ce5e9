import { Packr } from 'msgpackr';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { msgpack, scanValue, toJsonSafe } from '../../src/detect/msgpack.js';

const binary = { type: 'binary', subprotocol: null } as const;
const packr = new Packr({ useRecords: false, variableMapSize: true });

describe('msgpack detector', () => {
  test('decodes to JSON-safe values', () => {
    const value = {
      s: 'x',
      n: -5,
      f: 1.25,
      t: true,
      z: null,
      big: 2n ** 63n,
      small64: 5n,
      at: new Date(Date.UTC(2020, 1, 3)),
      bin: Uint8Array.from([0, 255]),
      nested: [{ a: [1, 2] }],
      inf: Infinity,
    };
    const found = msgpack.detect(packr.pack(value), binary);
    expect(found?.decoded).toEqual({
      s: 'x',
      n: -5,
      f: 1.25,
      t: true,
      z: null,
      big: '9223372036854775808',
      small64: 5,
      at: '2020-02-03T00:00:00.000Z',
      bin: { $bin: 'AP8=' },
      nested: [{ a: [1, 2] }],
      inf: 'Infinity',
    });
  });

  test('maps with integer keys become objects with string keys; __proto__ stays a plain key', () => {
    expect(
      toJsonSafe(
        new Map<unknown, unknown>([
          [1, 'a'],
          [2n, 'b'],
          ['__proto__', { x: 1 }],
        ]),
      ),
    ).toEqual(JSON.parse('{"1":"a","2":"b","__proto__":{"x":1}}'));
    const result = toJsonSafe(new Map([['__proto__', 1]])) as object;
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
  });

  test('every JSON-like map or array msgpackr packs is claimed and round-trips', () => {
    const key = fc.string({ maxLength: 8 });
    const leaf = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string({ maxLength: 20 }), fc.boolean(), fc.constant(null));
    const tree = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('node'), { maxLength: 4 }), fc.dictionary(key, tie('node'), { maxKeys: 4 })),
    })).node;
    const root = fc.oneof(fc.array(tree, { maxLength: 5 }), fc.dictionary(key, tree, { maxKeys: 5 }));
    fc.assert(
      fc.property(root, (value) => {
        const packed = packr.pack(value);
        expect(scanValue(packed, 0, 0)).toBe(packed.length);
        const found = msgpack.detect(packed, binary);
        expect(found?.id).toBe('msgpack');
        expect(found?.decoded).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 300 },
    );
  });

  test('payloads over the cap are not scanned', () => {
    const big = packr.pack([new Uint8Array(300 * 1024)]);
    expect(msgpack.detect(big, binary)).toBeNull();
  });
});

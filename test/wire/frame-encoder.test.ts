import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeClosePayload, encodeFrame, frameHeaderSize } from '../../src/wire/frame-encoder.js';
import { FrameParser } from '../../src/wire/frame-parser.js';
import { hex, plain, utf8 } from './split-helpers.js';

function parseOne(bytes: Uint8Array) {
  const events = new FrameParser({ maxRetain: 1 << 20 }).push(bytes);
  expect(events).toHaveLength(1);
  const event = events[0];
  if (event?.type !== 'frame') throw new Error('expected a frame');
  return event;
}

describe('encodeFrame', () => {
  it('matches the RFC 6455 §5.7 examples', () => {
    expect(encodeFrame({ opcode: 1, payload: utf8('Hello') })).toEqual(hex('81 05 48 65 6c 6c 6f'));
    expect(encodeFrame({ opcode: 1, payload: utf8('Hello'), mask: hex('37 fa 21 3d') })).toEqual(hex('81 85 37 fa 21 3d 7f 9f 4d 51 58'));
    expect(encodeFrame({ opcode: 1, payload: utf8('Hel'), fin: false })).toEqual(hex('01 03 48 65 6c'));
    expect(encodeFrame({ opcode: 2, payload: new Uint8Array(256) }).subarray(0, 4)).toEqual(hex('82 7e 01 00'));
    expect(encodeFrame({ opcode: 2, payload: new Uint8Array(65536) }).subarray(0, 10)).toEqual(hex('82 7f 00 00 00 00 00 01 00 00'));
  });

  it('round-trips through the parser', () => {
    fc.assert(
      fc.property(
        fc.record({
          opcode: fc.integer({ min: 0, max: 15 }),
          payload: fc.uint8Array({ maxLength: 300 }),
          fin: fc.boolean(),
          rsv1: fc.boolean(),
          rsv2: fc.boolean(),
          rsv3: fc.boolean(),
          mask: fc.option(fc.uint8Array({ minLength: 4, maxLength: 4 }), { nil: undefined }),
          lengthEncoding: fc.constantFrom('minimal' as const, 64 as const),
        }),
        (options) => {
          const { frame, wireSize } = parseOne(encodeFrame(options));
          expect(frame.header).toMatchObject({
            opcode: options.opcode,
            fin: options.fin,
            rsv1: options.rsv1,
            rsv2: options.rsv2,
            rsv3: options.rsv3,
            masked: options.mask !== undefined,
            payloadLength: options.payload.length,
          });
          if (options.mask !== undefined) expect(frame.header.maskKey).toEqual(options.mask);
          expect(plain(frame.payload)).toEqual(plain(options.payload));
          expect(wireSize).toBe(encodeFrame(options).length);
        },
      ),
    );
  });

  it('masks every payload byte with key byte i MOD 4, whatever the header size (RFC 6455 §5.3)', () => {
    const key = hex('37 fa 21 3d');
    for (const length of [1, 15, 16, 17, 125, 126, 1000, 70_000]) {
      const payload = Uint8Array.from({ length }, (_, i) => (i * 31 + 7) & 0xff);
      const frame = encodeFrame({ opcode: 2, payload, mask: key });
      const body = frame.subarray(frame.length - length);
      // Byte by byte, as the RFC says it, against the word-at-a-time XOR of the encoder.
      const expected = payload.map((byte, i) => byte ^ key[i % 4]!);
      expect(Buffer.from(body).equals(Buffer.from(expected)), `${length} bytes`).toBe(true);
    }
  });

  it('draws a random key for mask: true', () => {
    const a = encodeFrame({ opcode: 1, payload: utf8('same'), mask: true });
    expect(a[1]! & 0x80).toBe(0x80);
    expect(plain(parseOne(a).frame.payload)).toEqual(plain(utf8('same')));
  });

  it('draws a fresh key for every frame, across refills of its pool of keys', () => {
    // 5,000 frames: more than two fills of the 2,048-key pool. Two equal keys among 5,000 random
    // 32-bit ones are possible (a 0.3% chance), so the test allows a few; a pool that is not
    // refilled would repeat thousands.
    const keys = new Set<string>();
    for (let i = 0; i < 5000; i++) keys.add(Buffer.from(encodeFrame({ opcode: 1, payload: utf8('x'), mask: true }).subarray(2, 6)).toString('hex'));
    expect(keys.size).toBeGreaterThan(4990);
  });

  it('forces 16- and 64-bit length fields', () => {
    expect(encodeFrame({ opcode: 2, lengthEncoding: 16 })).toEqual(hex('82 7e 00 00'));
    expect(encodeFrame({ opcode: 2, lengthEncoding: 64 })).toEqual(hex('82 7f 00 00 00 00 00 00 00 00'));
    expect(parseOne(encodeFrame({ opcode: 2, payload: utf8('a'), lengthEncoding: 16 })).frame.header.nonMinimalLength).toBe(true);
  });

  it('writes a declared length that disagrees with the payload', () => {
    expect(encodeFrame({ opcode: 2, declaredLength: 2n ** 63n, payload: hex('01') })).toEqual(hex('82 7f 80 00 00 00 00 00 00 00 01'));
    expect(encodeFrame({ opcode: 2, declaredLength: 200 })).toEqual(hex('82 7e 00 c8'));
  });

  it('rejects what it cannot encode', () => {
    expect(() => encodeFrame({ opcode: 16 })).toThrow(RangeError);
    expect(() => encodeFrame({ opcode: 1, mask: new Uint8Array(3) })).toThrow(RangeError);
    expect(() => encodeFrame({ opcode: 1, declaredLength: 65536, lengthEncoding: 16 })).toThrow(RangeError);
    expect(() => encodeFrame({ opcode: 1, declaredLength: 2n ** 64n })).toThrow(RangeError);
    expect(() => encodeFrame({ opcode: 1, declaredLength: -1 })).toThrow(RangeError);
  });
});

describe('encodeClosePayload', () => {
  it('encodes a code and a reason', () => {
    expect(encodeClosePayload()).toEqual(new Uint8Array(0));
    expect(encodeClosePayload(1000)).toEqual(hex('03 e8'));
    expect(encodeClosePayload(1001, 'bye')).toEqual(hex('03 e9 62 79 65'));
    expect(encodeClosePayload(1005)).toEqual(hex('03 ed'));
  });

  it('rejects a reason without a code and codes outside 16 bits', () => {
    expect(() => encodeClosePayload(undefined, 'x')).toThrow(RangeError);
    expect(() => encodeClosePayload(70000)).toThrow(RangeError);
  });
});

describe('frameHeaderSize', () => {
  it.each([
    [0, false, 2],
    [125, false, 2],
    [126, false, 4],
    [0xffff, false, 4],
    [0x10000, false, 10],
    [0, true, 6],
    [126, true, 8],
    [0x10000, true, 14],
  ])('a %s-byte payload, masked %s: %s header bytes (RFC 6455 §5.2)', (length, masked, size) => {
    expect(frameHeaderSize(length, masked)).toBe(size);
  });

  it('agrees with what encodeFrame writes', () => {
    for (const length of [0, 1, 125, 126, 127, 0xffff, 0x10000]) {
      for (const masked of [false, true]) {
        const frame = encodeFrame({ opcode: 2, payload: new Uint8Array(length), mask: masked });
        expect(frame.length - length, `${length} ${masked}`).toBe(frameHeaderSize(length, masked));
      }
    }
  });

  it('rejects lengths that are not counts', () => {
    expect(() => frameHeaderSize(-1, false)).toThrow(RangeError);
    expect(() => frameHeaderSize(1.5, false)).toThrow(RangeError);
  });
});

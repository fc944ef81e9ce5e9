import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/wire/frame-encoder.js';
import { FrameParser, type ParserEvent } from '../../src/wire/frame-parser.js';
import { unmaskInto } from '../../src/wire/mask.js';
import { expectSplitInvariant, hex, join, toHex, utf8 } from './split-helpers.js';

const KEY = hex('37 fa 21 3d');

/** Parses pieces with a fresh parser; events with payloads as plain arrays. */
function parseAll(pieces: Uint8Array[], maxRetain = 1 << 20): unknown[] {
  const parser = new FrameParser({ maxRetain });
  const out: unknown[] = [];
  for (const piece of pieces) {
    for (const event of parser.push(piece)) out.push(normalize(event));
  }
  return out;
}

function normalize(event: ParserEvent): unknown {
  if (event.type === 'error') return { type: 'error', code: event.error.code };
  const { header, payload, truncated } = event.frame;
  return {
    ...header,
    maskKey: header.maskKey === null ? null : [...header.maskKey],
    payload: toHex(payload),
    truncated,
    wireSize: event.wireSize,
  };
}

function frames(pieces: Uint8Array[], maxRetain?: number): Array<Record<string, unknown>> {
  return parseAll(pieces, maxRetain) as Array<Record<string, unknown>>;
}

function bytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

describe('FrameParser fixtures, fed whole, bytewise and at every split', () => {
  const fixtures: Array<[string, Uint8Array]> = [
    // RFC 6455 §5.7 examples.
    ['unmasked "Hello"', hex('81 05 48 65 6c 6c 6f')],
    ['masked "Hello"', hex('81 85 37 fa 21 3d 7f 9f 4d 51 58')],
    ['fragmented "Hel" "lo"', hex('01 03 48 65 6c 80 02 6c 6f')],
    ['ping "Hello"', hex('89 05 48 65 6c 6c 6f')],
    ['masked pong "Hello"', hex('8a 85 37 fa 21 3d 7f 9f 4d 51 58')],
    ['256-byte binary', join(hex('82 7e 01 00'), bytes(256))],
    ['empty close', hex('88 00')],
    ['rsv bits and a reserved opcode', encodeFrame({ opcode: 0x3, rsv1: true, rsv2: true, rsv3: true, payload: utf8('x') })],
    [
      'many frames in one chunk',
      join(
        encodeFrame({ opcode: 1, payload: utf8('a'), mask: KEY, fin: false }),
        encodeFrame({ opcode: 9, mask: KEY }),
        encodeFrame({ opcode: 0, payload: bytes(130), mask: KEY }),
        encodeFrame({ opcode: 2, payload: bytes(7) }),
        encodeFrame({ opcode: 8, payload: hex('03 e8'), mask: KEY }),
      ),
    ],
  ];
  for (const [name, fixture] of fixtures) {
    it(name, () => {
      const whole = expectSplitInvariant(fixture, (pieces) => parseAll(pieces));
      expect(whole.length).toBeGreaterThan(0);
    });
  }

  it('RFC 6455 §5.7 examples decode to "Hello"', () => {
    const [masked] = frames([hex('81 85 37 fa 21 3d 7f 9f 4d 51 58')]);
    expect(masked).toMatchObject({ fin: true, opcode: 1, masked: true, payloadLength: 5, headerLength: 6 });
    expect(masked?.['payload']).toEqual(toHex(utf8('Hello')));
    const fragmented = frames([hex('01 03 48 65 6c 80 02 6c 6f')]);
    expect(fragmented.map((f) => [f['fin'], f['opcode'], f['payload']])).toEqual([
      [false, 1, toHex(utf8('Hel'))],
      [true, 0, toHex(utf8('lo'))],
    ]);
  });
});

describe('FrameParser length encodings', () => {
  const cases: Array<[number, 'minimal' | 16 | 64, number, boolean]> = [
    // [payload length, encoding, expected header length, non-minimal]
    [0, 'minimal', 2, false],
    [125, 'minimal', 2, false],
    [126, 'minimal', 4, false],
    [127, 'minimal', 4, false],
    [65535, 'minimal', 4, false],
    [65536, 'minimal', 10, false],
    [0, 16, 4, true],
    [125, 16, 4, true],
    [126, 16, 4, false],
    [0, 64, 10, true],
    [125, 64, 10, true],
    [126, 64, 10, true],
    [65535, 64, 10, true],
    [65536, 64, 10, false],
  ];
  for (const [length, lengthEncoding, headerLength, nonMinimal] of cases) {
    for (const mask of [false, true]) {
      it(`${length} bytes, ${lengthEncoding} encoding, ${mask ? 'masked' : 'unmasked'}`, () => {
        const payload = bytes(length, length);
        const wire = encodeFrame({ opcode: 2, payload, mask: mask ? KEY : false, lengthEncoding });
        const expected = {
          payloadLength: length,
          headerLength: headerLength + (mask ? 4 : 0),
          nonMinimalLength: nonMinimal,
          payload: toHex(payload),
          truncated: false,
          wireSize: wire.length,
        };
        const whole = expectSplitInvariant(wire, (pieces) => parseAll(pieces), {
          bytewise: length <= 65535,
          runs: length > 1000 ? 20 : 100,
        });
        expect(whole).toHaveLength(1);
        expect(whole[0]).toMatchObject(expected);
      });
    }
  }
});

describe('FrameParser retention', () => {
  it('keeps only the first maxRetain bytes and counts the rest', () => {
    for (const mask of [false, true]) {
      const payload = bytes(1000);
      const wire = encodeFrame({ opcode: 2, payload, mask: mask ? KEY : false });
      const whole = expectSplitInvariant(wire, (pieces) => parseAll(pieces, 10), { runs: 30 });
      expect(whole[0]).toMatchObject({
        payloadLength: 1000,
        truncated: true,
        payload: toHex(payload.subarray(0, 10)),
        wireSize: wire.length,
      });
    }
  });

  it('maxRetain 0 keeps nothing but still splits frames', () => {
    const wire = join(encodeFrame({ opcode: 1, payload: utf8('abc') }), encodeFrame({ opcode: 10 }));
    const result = frames([wire], 0);
    expect(result.map((f) => [f['opcode'], f['truncated'], f['payload']])).toEqual([
      [1, true, ''],
      [10, false, ''],
    ]);
  });

  it('a frame that declares 2^40 bytes and sends 10 costs about 10 bytes', () => {
    for (const mask of [false, true]) {
      const parser = new FrameParser({ maxRetain: 1 << 30 });
      const header = encodeFrame({ opcode: 2, declaredLength: 2n ** 40n, mask: mask ? KEY : false });
      expect(parser.push(header)).toEqual([]);
      expect(parser.push(bytes(10))).toEqual([]);
      // The kept bytes live in a buffer that at most doubles what arrived.
      expect(parser.retainedBytes).toBeLessThanOrEqual(20);
      // Byte by byte too: nothing grows beyond twice what arrived.
      for (let i = 0; i < 1000; i++) {
        parser.push(bytes(1));
        expect(parser.retainedBytes).toBeLessThanOrEqual(2 * (11 + i));
      }
    }
  });

  it('memory stays bounded when a huge frame streams through', () => {
    const parser = new FrameParser({ maxRetain: 4096 });
    const chunk = new Uint8Array(65536);
    const total = 64 * 65536;
    parser.push(encodeFrame({ opcode: 2, declaredLength: total }));
    for (let i = 0; i < 63; i++) {
      expect(parser.push(chunk)).toEqual([]);
      expect(parser.retainedBytes).toBeLessThanOrEqual(4096);
    }
    const events = parser.push(chunk);
    expect(events).toHaveLength(1);
    const event = events[0];
    expect(event?.type === 'frame' && event.frame.payload.length).toBe(4096);
    expect(event?.type === 'frame' && event.wireSize).toBe(total + 10);
  });

  it('never writes to the pushed chunks', () => {
    const wire = encodeFrame({ opcode: 1, payload: utf8('Hello, world'), mask: KEY });
    const copy = Uint8Array.from(wire);
    new FrameParser({ maxRetain: 100 }).push(wire);
    expect(wire).toEqual(copy);
  });
});

describe('FrameParser unparseable streams', () => {
  it('stops on a 64-bit length with the top bit set (RFC 6455 §5.2)', () => {
    const good = encodeFrame({ opcode: 1, payload: utf8('ok') });
    const bad = encodeFrame({ opcode: 2, declaredLength: 2n ** 63n });
    const whole = expectSplitInvariant(join(good, bad, good), (pieces) => parseAll(pieces));
    expect(whole).toHaveLength(2);
    expect(whole[1]).toEqual({ type: 'error', code: 'WS_STREAM_UNPARSEABLE' });

    const parser = new FrameParser({ maxRetain: 10 });
    const events = parser.push(bad);
    expect(events).toHaveLength(1);
    expect(events[0]?.type === 'error' && events[0].error.message).toMatch(/.+/);
    expect(parser.stopped).toBe(true);
    expect(parser.push(good)).toEqual([]);
    expect(parser.retainedBytes).toBe(0);
  });

  it.each([2n ** 53n, 2n ** 62n, 2n ** 63n - 1n])('parses a legal length above Number.MAX_SAFE_INTEGER (%s) as a length and reads its payload', (declared) => {
    // RFC 6455 §5.2: a 64-bit length is legal up to 2^63 - 1; only the most significant bit must be 0.
    const parser = new FrameParser({ maxRetain: 10 });
    expect(parser.push(encodeFrame({ opcode: 2, declaredLength: declared }))).toEqual([]);
    expect(parser.stopped).toBe(false);
    // A megabyte of its payload: all of it payload, only maxRetain bytes kept.
    for (let i = 0; i < 16; i++) expect(parser.push(new Uint8Array(64 * 1024).fill(0x61))).toEqual([]);
    expect(parser.stopped).toBe(false);
    expect(parser.retainedBytes).toBeLessThanOrEqual(10);
  });

  it('accepts a length of exactly Number.MAX_SAFE_INTEGER and waits for it', () => {
    const parser = new FrameParser({ maxRetain: 10 });
    expect(parser.push(encodeFrame({ opcode: 2, declaredLength: Number.MAX_SAFE_INTEGER }))).toEqual([]);
    expect(parser.stopped).toBe(false);
  });
});

describe('unmaskInto', () => {
  it('matches the byte-by-byte definition at any alignment and key offset (RFC 6455 §5.3)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 100 }),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 7 }),
        (source, key, keyOffset, targetOffset) => {
          const backing = new Uint8Array(source.length + 8);
          const target = backing.subarray(targetOffset, targetOffset + source.length);
          unmaskInto(target, source, key, keyOffset);
          const expected = source.map((byte, i) => byte ^ key[(keyOffset + i) & 3]!);
          expect(toHex(target)).toBe(toHex(expected));
        },
      ),
      { numRuns: 500 },
    );
  });
});

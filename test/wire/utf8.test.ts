import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isValidUtf8, Utf8Validator } from '../../src/wire/utf8.js';
import { cut, hex, splitPoints } from './split-helpers.js';

/** Reference: WHATWG's fatal decoder implements the same RFC 3629 rules. */
function oracle(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

function streamed(pieces: Uint8Array[]): boolean {
  const validator = new Utf8Validator();
  let ok = true;
  for (const piece of pieces) ok = validator.push(piece) && ok;
  return validator.end() && ok;
}

const TABLE: Array<[string, string, boolean]> = [
  ['empty', '', true],
  ['ASCII', '48 65 6c 6c 6f', true],
  ['2-byte é', 'c3 a9', true],
  ['3-byte €', 'e2 82 ac', true],
  ['4-byte U+1F600', 'f0 9f 98 80', true],
  ['U+10FFFF', 'f4 8f bf bf', true],
  ['U+FFFF', 'ef bf bf', true],
  ['U+D7FF (below the surrogates)', 'ed 9f bf', true],
  ['U+E000 (above the surrogates)', 'ee 80 80', true],
  ['overlong NUL c0 80', 'c0 80', false],
  ['overlong c1 bf', 'c1 bf', false],
  ['overlong 3-byte e0 80 af', 'e0 80 af', false],
  ['overlong 4-byte f0 80 80 af', 'f0 80 80 af', false],
  ['surrogate U+D800', 'ed a0 80', false],
  ['surrogate U+DFFF', 'ed bf bf', false],
  ['above U+10FFFF f4 90 80 80', 'f4 90 80 80', false],
  ['f5 lead', 'f5 80 80 80', false],
  ['ff', 'ff', false],
  ['stray continuation', '80', false],
  ['cut 2-byte', 'c3', false],
  ['cut 3-byte', 'e2 82', false],
  ['cut 4-byte', 'f0 9f 98', false],
  ['lead followed by ASCII', 'e2 41 41', false],
  ['valid then invalid', '48 65 c3 a9 ff 6c', false],
  ['Autobahn 6.3.1 style', 'ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64', false],
];

describe('UTF-8 validation', () => {
  for (const [name, text, valid] of TABLE) {
    it(`${name}: ${valid ? 'valid' : 'invalid'} whole and at every split`, () => {
      const bytes = hex(text);
      expect(oracle(bytes)).toBe(valid);
      expect(isValidUtf8(bytes)).toBe(valid);
      expect(streamed([bytes])).toBe(valid);
      for (const a of splitPoints(bytes.length)) {
        expect(streamed(cut(bytes, [a]))).toBe(valid);
        for (const b of splitPoints(bytes.length)) {
          if (b >= a) expect(streamed(cut(bytes, [a, b]))).toBe(valid);
        }
      }
      expect(streamed([...bytes].map((byte) => Uint8Array.of(byte)))).toBe(valid);
    });
  }

  it('agrees with the fatal TextDecoder on random bytes cut at random points', () => {
    // Bias towards bytes that form (or almost form) multi-byte sequences.
    const byte = fc.oneof(
      fc.integer({ min: 0, max: 0x7f }),
      fc.integer({ min: 0x80, max: 0xbf }),
      fc.constantFrom(0xc0, 0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xef, 0xf0, 0xf1, 0xf4, 0xf5, 0xff),
    );
    fc.assert(
      fc.property(fc.array(byte, { maxLength: 40 }), fc.array(fc.nat(), { maxLength: 4 }), (list, rawPoints) => {
        const bytes = Uint8Array.from(list);
        const points = rawPoints.map((p) => p % (bytes.length + 1)).sort((a, b) => a - b);
        const expected = oracle(bytes);
        expect(isValidUtf8(bytes)).toBe(expected);
        expect(streamed(cut(bytes, points))).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts any string encoded as UTF-8, cut anywhere', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.nat(), fc.nat(), (text, a, b) => {
        const bytes = new TextEncoder().encode(text);
        const points = [a % (bytes.length + 1), b % (bytes.length + 1)].sort((x, y) => x - y);
        expect(streamed(cut(bytes, points))).toBe(true);
      }),
    );
  });

  it('reports a cut code point as pending, and failure as sticky', () => {
    const validator = new Utf8Validator();
    expect(validator.push(hex('e2 82'))).toBe(true);
    expect(validator.pending).toBe(true);
    expect(validator.push(hex('ac'))).toBe(true);
    expect(validator.pending).toBe(false);
    expect(validator.push(hex('ff'))).toBe(false);
    expect(validator.invalid).toBe(true);
    expect(validator.push(hex('41'))).toBe(false);
    validator.reset();
    expect(validator.push(hex('41'))).toBe(true);
    expect(validator.end()).toBe(true);
  });
});

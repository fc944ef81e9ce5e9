/**
 * asciiJsonString against JSON.stringify, its model: the same literal for any ASCII bytes at any
 * memory alignment, with every byte that needs escaping (RFC 8259 §7), and null past the bound.
 * Then entryLine with the bytes a large text was decoded from: the same entry, parsed back.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { entryLine } from '../../src/format/archive-lines.js';
import { asciiJsonString } from '../../src/format/json-text.js';
import { frame } from './helpers.js';

/** `bytes` copied to `offset` bytes into a fresh buffer: the scan's word alignment varies with it. */
function at(bytes: number[], offset: number): Uint8Array {
  const memory = new Uint8Array(bytes.length + offset + 8);
  memory.set(bytes, offset);
  return memory.subarray(offset, offset + bytes.length);
}

const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1');

// Mostly plain letters, with the bytes that need escaping mixed in.
const asciiByte = fc.oneof(fc.integer({ min: 0x20, max: 0x7f }), fc.constantFrom(0x00, 0x08, 0x09, 0x0a, 0x0c, 0x0d, 0x1f, 0x22, 0x5c));

describe('asciiJsonString', () => {
  it('is JSON.stringify of the bytes as ASCII, at every alignment', () => {
    fc.assert(
      fc.property(fc.array(asciiByte, { maxLength: 300 }), fc.integer({ min: 0, max: 7 }), (bytes, offset) => {
        const input = at(bytes, offset);
        expect(asciiJsonString(input, input.length)).toBe(JSON.stringify(latin1(input)));
      }),
      { numRuns: 500 },
    );
  });

  it('escapes every control character, the quote and the backslash as JSON.stringify does', () => {
    const all = Array.from({ length: 0x80 }, (_, i) => i);
    for (let offset = 0; offset < 4; offset++) expect(asciiJsonString(at(all, offset), 1000)).toBe(JSON.stringify(latin1(Uint8Array.from(all))));
    expect(asciiJsonString(new Uint8Array(0), 0)).toBe('""');
  });

  it('gives up past maxSpecials, wherever they are', () => {
    const quotes = Buffer.from('"a"b"c"d"e"f"g"h', 'latin1');
    expect(asciiJsonString(quotes, 8)).toBe(JSON.stringify(quotes.toString('latin1')));
    expect(asciiJsonString(quotes, 7)).toBeNull();
    const late = Buffer.from('x'.repeat(100) + '\n\n', 'latin1');
    expect(asciiJsonString(late, 1)).toBeNull();
    expect(asciiJsonString(late, 2)).toBe(JSON.stringify(late.toString('latin1')));
  });
});

describe('entryLine with the text bytes', () => {
  it('writes the same entry as without them, for large texts with few or many characters to escape', () => {
    for (const text of ['{"type":"tick","data":"' + 'abcdefgh'.repeat(1000) + '"}', 'line\n'.repeat(2000), '"q"'.repeat(3000), 'x'.repeat(4096)]) {
      const entry = frame(3, text);
      const bytes = Buffer.from(text, 'latin1');
      const line = entryLine(entry, false, bytes);
      expect(JSON.parse(line.slice(1))).toEqual(entry);
      expect(JSON.parse(line.slice(1))).toEqual(JSON.parse(entryLine(entry, false).slice(1)));
    }
  });
});

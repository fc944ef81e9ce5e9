/**
 * hexdumpC against the real `hexdump -C` (util-linux, Debian package bsdextrautils): the same
 * bytes must give the same output, byte for byte. The tool is required: CI installs it, and a
 * machine without it fails here with a message saying what to install, rather than skipping.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hexdumpC, hexdumpChunks, hexdumpHeader } from '../../src/output/hexdump.js';
import { HEXDUMP, INSTALL_HEXDUMP, realHexdump } from './real-hexdump.js';
import { frame } from './test-archives.js';

const repeat = (byte: number, count: number): number[] => Array<number>(count).fill(byte);

/** A complete, valid PNG (2x1 RGBA, one red and one blue pixel): signature, IHDR, IDAT, IEND, correct CRCs. */
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000002000000010806000000f4227f8a0000000e4944415478da63f8cfc00042ff010ff903fd' + '9879d7000000000049454e44ae426082',
  'hex',
);

const CASES: Array<[string, Uint8Array]> = [
  ['empty', new Uint8Array(0)],
  ['1 byte', Uint8Array.from([0x41])],
  ['1 control byte', Uint8Array.from([0x00])],
  ['7 bytes', Buffer.from('abcdefg')],
  ['8 bytes', Buffer.from('abcdefgh')],
  ['9 bytes', Buffer.from('abcdefghi')],
  ['15 bytes', Buffer.from('0123456789abcde')],
  ['16 bytes', Buffer.from('0123456789abcdef')],
  ['17 bytes', Buffer.from('0123456789abcdefg')],
  ['16 identical bytes', Uint8Array.from(repeat(0, 16))],
  ['24 identical bytes (short last line is not collapsed)', Uint8Array.from(repeat(0, 24))],
  ['32 identical bytes (the * case)', Uint8Array.from(repeat(0xaa, 32))],
  ['48 identical bytes', Uint8Array.from(repeat(0, 48))],
  ['48 identical then different', Uint8Array.from([...repeat(0, 48), 0x61, 0x62, 0x63])],
  ['48 identical then 16 different', Uint8Array.from([...repeat(0, 48), ...repeat(1, 16)])],
  ['two runs of repeats', Uint8Array.from([...repeat(0, 64), ...repeat(7, 16), ...repeat(0, 48), 9])],
  ['a line, repeats, the same line again', Uint8Array.from([...Buffer.from('abcdefghijklmnop'), ...repeat(0, 32), ...Buffer.from('abcdefghijklmnop')])],
  ['a different line between identical ones', Uint8Array.from([...repeat(0, 16), 0x78, ...repeat(0, 31), 0])],
  ['all 256 byte values', Uint8Array.from({ length: 256 }, (_, i) => i)],
  ['all 256 byte values, reversed', Uint8Array.from({ length: 256 }, (_, i) => 255 - i)],
  ['printable boundaries', Uint8Array.from([0x1f, 0x20, 0x7e, 0x7f, 0x80, 0xff, 0x2e])],
  ['UTF-8 text', Buffer.from('héllo wörld → ✓ 🎉\n\t"json":{}', 'utf8')],
  ['a real PNG', PNG],
  ['random 1000 bytes', randomBytes(1000)],
  ['random 4097 bytes', randomBytes(4097)],
  ['64 KiB of zeros and a byte', Uint8Array.from([...repeat(0, 65536), 1])],
];

describe('hexdumpC matches hexdump -C', () => {
  it('has the real hexdump to compare with', () => {
    expect(HEXDUMP, INSTALL_HEXDUMP).not.toBeNull();
  });

  it.each(CASES)('%s', (_name, bytes) => {
    expect(hexdumpC(bytes)).toBe(realHexdump(bytes));
  });

  it('prints nothing for empty input, like hexdump', () => {
    expect(hexdumpC(new Uint8Array(0))).toBe('');
    expect(realHexdump(new Uint8Array(0))).toBe('');
  });

  it('matches on random inputs with long runs', () => {
    // Few distinct bytes and runs of whole lines make repeats (and * lines) likely.
    const line = fc.uint8Array({ minLength: 16, maxLength: 16, min: 0, max: 2 });
    const input = fc
      .tuple(fc.array(fc.tuple(line, fc.integer({ min: 1, max: 4 })), { maxLength: 8 }), fc.uint8Array({ maxLength: 20, max: 2 }))
      .map(([runs, tail]) => Uint8Array.from([...runs.flatMap(([bytes, count]) => Array.from({ length: count }, () => [...bytes]).flat()), ...tail]));
    fc.assert(
      fc.property(input, (bytes) => {
        expect(hexdumpC(bytes)).toBe(realHexdump(bytes));
      }),
      { numRuns: 60 },
    );
  });
});

describe('hexdumpChunks', () => {
  it.each([1, 2, 3, 1024])('joins to hexdumpC with %i lines per chunk', (lines) => {
    const bytes = Uint8Array.from([...randomBytes(100), ...repeat(0, 64), 1, 2, 3]);
    const chunks = [...hexdumpChunks(bytes, lines)];
    expect(chunks.join('')).toBe(hexdumpC(bytes));
    for (const chunk of chunks.slice(0, -1)) expect(chunk.split('\n')).toHaveLength(lines + 1);
  });

  it('yields nothing for no bytes', () => {
    expect([...hexdumpChunks(new Uint8Array(0))]).toEqual([]);
  });
});

describe('hexdumpHeader', () => {
  it('names reserved opcodes', () => {
    const reserved = frame({ conn: 'c3', index: 2, dir: 'in', type: 'reserved', opcode: 0xb, size: 1234, flags: ['reserved-opcode'] });
    expect(hexdumpHeader(reserved, 1234)).toBe('c3 #2 <-- opcode 0xb 1.2 KiB [!reserved-opcode]');
  });
});

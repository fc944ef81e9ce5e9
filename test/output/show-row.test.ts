import { beforeAll, describe, expect, it } from 'vitest';
import { stripAnsi } from '../../src/output/colors.js';
import { formatFrameLine } from '../../src/output/frame-line.js';
import { decodedJson, formatShowRow, type ShowRowInfo } from '../../src/output/show-row.js';
import { ANSI, frame } from './test-archives.js';

beforeAll(() => {
  process.env.TZ = 'UTC';
});

const b64 = (bytes: number[] | Buffer): string => Buffer.from(bytes).toString('base64');
const bin = (bytes: number[], more: Parameters<typeof frame>[0] = {}) =>
  frame({ type: 'binary', opcode: 2, text: undefined, data: b64(bytes), size: bytes.length, dir: 'in', masked: false, mask: undefined, ...more });
const BINARY: ShowRowInfo = { messageType: 'binary' };
const TEXT: ShowRowInfo = { messageType: 'text' };
const plain = { color: false } as const;
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('formatShowRow: binary payloads', () => {
  it('size, label, and hexdump -C lines indented under the line', () => {
    const out = formatShowRow(bin(range(20)), { ...BINARY, detection: { id: 'x', label: 'some format' } }, plain).split('\n');
    expect(out[0]).toMatch(/^\[10:30:\d\d\.\d{3}\] c1 <-- BINARY 20 B \(some format\)$/);
    expect(out.slice(1)).toEqual([
      '  00000000  00 01 02 03 04 05 06 07  08 09 0a 0b 0c 0d 0e 0f  |................|',
      '  00000010  10 11 12 13                                       |....|',
    ]);
  });

  it('at most hexLines lines (4 by default), none for an empty payload or hexLines 0', () => {
    expect(formatShowRow(bin(range(200)), BINARY, plain).split('\n')).toHaveLength(5);
    expect(formatShowRow(bin(range(200)), BINARY, { ...plain, hexLines: 2 }).split('\n')).toHaveLength(3);
    expect(formatShowRow(bin(range(200)), BINARY, { ...plain, hexLines: 0 }).split('\n')).toHaveLength(1);
    expect(formatShowRow(bin([]), BINARY, plain)).toMatch(/ BINARY 0 B$/);
  });

  it('repeated lines fold into * as hexdump does', () => {
    const out = formatShowRow(bin(Array(48).fill(0)), BINARY, plain).split('\n');
    expect(out.slice(1)).toEqual(['  00000000  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|', '  *']);
  });

  it('the decoded value goes on a line of its own, cut to the width, or indented with prettyJson', () => {
    const info: ShowRowInfo = { ...BINARY, detection: { id: 'msgpack', label: 'MessagePack map', decoded: { a: 1, b: [true, null] } } };
    const out = formatShowRow(bin([0x82]), info, plain).split('\n');
    expect(out[1]).toBe('  = {"a":1,"b":[true,null]}');
    const long: ShowRowInfo = { ...BINARY, detection: { id: 'msgpack', label: 'm', decoded: { s: 'x'.repeat(500) } } };
    const cut = formatShowRow(bin([0x82]), long, { ...plain, maxWidth: 80 }).split('\n')[1]!;
    expect(cut.length).toBeLessThanOrEqual(80);
    expect(cut.endsWith('…')).toBe(true);
    expect(
      formatShowRow(bin([0x82]), info, { ...plain, prettyJson: true })
        .split('\n')
        .slice(1, 8),
    ).toEqual(['  = {', '      "a": 1,', '      "b": [', '        true,', '        null', '      ]', '    }']);
  });

  it('file formats do not repeat their decoded metadata; BigInt, Map and Set values print as JSON', () => {
    const png: ShowRowInfo = { ...BINARY, detection: { id: 'png', label: 'PNG image 1x1', decoded: { width: 1, height: 1 } } };
    expect(formatShowRow(bin([0x89]), png, plain)).not.toContain('=');
    expect(decodedJson({ n: 2n ** 64n, m: new Map([['k', 1]]), s: new Set([1]) })).toBe('{"n":"18446744073709551616","m":{"k":1},"s":[1]}');
  });

  it('continuation frames of a binary message are shown as binary; of a text message as text', () => {
    const cont = frame({ type: 'continuation', opcode: 0, text: undefined, data: b64([1, 2]), size: 2 });
    expect(formatShowRow(cont, BINARY, plain).split('\n')).toEqual([
      expect.stringMatching(/ c1 --> CONT 2 B$/),
      expect.stringMatching(/^ {2}00000000 {2}01 02 /),
    ]);
    const textCont = frame({ type: 'continuation', opcode: 0, text: 'abc', size: 3 });
    expect(formatShowRow(textCont, TEXT, plain)).toBe(formatFrameLine(textCont, plain));
  });

  it('nothing from the wire reaches the terminal unescaped', () => {
    const hostile: ShowRowInfo = { ...BINARY, detection: { id: 'x', label: 'evil \u001b[2J label', decoded: { k: '\u001b]0;title\u0007\u202e' } } };
    const out = formatShowRow(bin([0x1b, 0x5b, 0x32, 0x4a]), hostile, plain);
    // eslint-disable-next-line no-control-regex -- matching control bytes (C0 controls, ANSI escapes) is the point
    expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    expect(out).toContain('evil \\x1b[2J label');
  });

  it('colours only when asked', () => {
    const info: ShowRowInfo = { ...BINARY, detection: { id: 'msgpack', label: 'm', decoded: { a: 1 } } };
    const row = bin([1, 2, 3]);
    const coloured = formatShowRow(row, info, { color: true });
    expect(coloured).toMatch(ANSI);
    expect(stripAnsi(coloured)).toBe(formatShowRow(row, info, plain));
  });
});

describe('formatShowRow: text payloads', () => {
  const json = frame({ text: '{"type":"join","tags":["a"],"n":1.50}', size: 37 });

  it('is the arrow view line without --pretty-json', () => {
    expect(formatShowRow(json, TEXT, plain)).toBe(formatFrameLine(json, plain));
  });

  it('--pretty-json: the document over several lines, lined up under the payload column, tokens as sent', () => {
    const out = formatShowRow(json, TEXT, { ...plain, prettyJson: true }).split('\n');
    const column = out[0]!.length - 1;
    expect(out[0]).toMatch(/ c1 --> \{$/);
    expect(out.slice(1).map((line) => line.slice(column))).toEqual(['  "type": "join",', '  "tags": [', '    "a"', '  ],', '  "n": 1.50', '}']);
    expect(out.slice(1).every((line) => line.slice(0, column).trim() === '')).toBe(true);
  });

  it('--pretty-json keeps markers on the first line, and leaves alone what is not a whole JSON document', () => {
    const deflated = frame({ text: '{"a":1}', size: 7, compressed: true, rsv1: true });
    expect(formatShowRow(deflated, TEXT, { ...plain, prettyJson: true }).split('\n')[0]).toMatch(/ \{ \[deflate\]$/);
    for (const f of [
      frame({ text: 'plain text', size: 10 }),
      frame({ text: '{"cut":', size: 1000, truncated: true }),
      frame({ text: '{"frag":', size: 8, fin: false }),
      frame({ text: '"just a string"', size: 15 }),
    ]) {
      expect(formatShowRow(f, TEXT, { ...plain, prettyJson: true })).toBe(formatFrameLine(f, plain));
    }
  });

  it('--pretty-json escapes control characters inside strings', () => {
    const hostile = frame({ text: '{"x":"a\u2028b\u009bc"}', size: 12 });
    const out = formatShowRow(hostile, TEXT, { color: true, prettyJson: true });
    expect(stripAnsi(out)).toContain('"a\\u2028b\\x9bc"');
  });
});

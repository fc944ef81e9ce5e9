import { describe, expect, it } from 'vitest';
import { entryLine, headerLine, LineSplitter, parseArchiveLine, trailerLine } from '../../src/format/archive-lines.js';
import { archiveSchema } from '../../src/format/schema.js';
import { frame, header, sampleEntries, trailer } from './helpers.js';

describe('archive line layout', () => {
  it('writes the exact documented layout', () => {
    const first = frame(0, 'hi');
    const second = frame(1, 'there');
    const text = headerLine(header) + entryLine(first, true) + entryLine(second, false) + trailerLine(trailer);
    const lines = text.split('\n');
    expect(lines).toEqual([
      JSON.stringify(header).slice(0, -1) + ',"entries":[',
      JSON.stringify(first),
      ',' + JSON.stringify(second),
      '],' + JSON.stringify(trailer).slice(1),
      '',
    ]);
    expect(lines[0]).toMatch(/^\{"format":"wstape","version":2,/);
  });

  it('puts format and version first whatever order the header was built in', () => {
    const reordered = { startedAt: header.startedAt, creator: header.creator, version: 2, format: 'wstape' } as const;
    expect(headerLine(reordered)).toMatch(/^\{"format":"wstape","version":2,"startedAt":/);
  });

  it('forms one valid JSON document that matches archiveSchema, with and without entries', () => {
    const entries = sampleEntries();
    const full = headerLine(header) + entries.map((entry, i) => entryLine(entry, i === 0)).join('') + trailerLine(trailer);
    const parsed = archiveSchema.parse(JSON.parse(full));
    expect(parsed.entries).toEqual(entries);
    expect(full.split('\n')).toHaveLength(entries.length + 3);

    const empty = headerLine(header) + trailerLine(trailer);
    expect(archiveSchema.parse(JSON.parse(empty)).entries).toEqual([]);
  });

  it('keeps every entry on one line even when payloads hold newlines', () => {
    const line = entryLine(frame(0, 'a\nb\r\nc\u2028d'), true);
    expect(line.indexOf('\n')).toBe(line.length - 1);
  });
});

describe('parseArchiveLine', () => {
  it.each([
    ['{"format":"wstape","version":1,"entries":[', 1, 'header'],
    ['\uFEFF{"format":"wstape","version":1,"entries":[\r', 1, 'header'],
    ['{"format":"wstape","version":1}', 1, 'damaged'],
    ['{"kind":"frame"}', 2, 'entry'],
    [',{"kind":"frame"}', 3, 'entry'],
    [',{"kind":"frame"}\r', 3, 'entry'],
    ['],"stoppedAt":"x","summary":{}}', 4, 'trailer'],
    [']}', 4, 'trailer'],
    ['   ', 4, 'blank'],
    ['', 4, 'blank'],
    [',{"kind":"fra', 4, 'damaged'],
    ['],"stoppedAt":"x"', 4, 'damaged'],
    [']', 4, 'damaged'],
    ['[1,2]', 4, 'damaged'],
    ['hello', 4, 'damaged'],
  ] as const)('%j on line %i is %s', (line, lineNumber, type) => {
    expect(parseArchiveLine(line, lineNumber).type).toBe(type);
  });

  it('reports whether an entry line has its leading comma', () => {
    expect(parseArchiveLine('{"a":1}', 2)).toEqual({ type: 'entry', value: { a: 1 }, leadingComma: false });
    expect(parseArchiveLine(',{"a":1}', 3)).toEqual({ type: 'entry', value: { a: 1 }, leadingComma: true });
  });
});

describe('LineSplitter', () => {
  const input = Buffer.from('{"a":"é"}\n,{"b":"😀"}\n\n],"c":1}\npartial');
  const expected = ['{"a":"é"}', ',{"b":"😀"}', '', '],"c":1}'];

  function split(chunks: Uint8Array[]): { lines: string[]; rest: string | null } {
    const splitter = new LineSplitter();
    const lines: Buffer[] = [];
    for (const chunk of chunks) lines.push(...splitter.push(chunk));
    return { lines: lines.map((line) => line.toString('utf8')), rest: splitter.end()?.toString('utf8') ?? null };
  }

  it('splits input fed whole', () => {
    expect(split([input])).toEqual({ lines: expected, rest: 'partial' });
  });

  it('splits input fed one byte at a time', () => {
    const bytes = [...input].map((byte) => Uint8Array.of(byte));
    expect(split(bytes)).toEqual({ lines: expected, rest: 'partial' });
  });

  it('splits input cut at every 2-way split point, even inside a UTF-8 character', () => {
    for (let at = 0; at <= input.length; at++) {
      expect(split([input.subarray(0, at), input.subarray(at)])).toEqual({ lines: expected, rest: 'partial' });
    }
  });

  it('returns null at the end when the input ended with a newline', () => {
    expect(split([Buffer.from('a\nb\n')])).toEqual({ lines: ['a', 'b'], rest: null });
  });
});

import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { checkHeader, EntryDecoder, formatIssues, looksLikeWstape, MIGRATIONS, type Migration } from '../../src/format/archive-decode.js';
import { entryLine, trailerLine } from '../../src/format/archive-lines.js';
import { frame, header, trailer } from './helpers.js';

describe('checkHeader', () => {
  it('needs no migration for the current version', () => {
    expect(checkHeader('x', { ...header })).toEqual([]);
  });

  it('migrates version 1 in one step, which only renumbers the header (version 2 only added things)', () => {
    const steps = checkHeader('x', { ...header, version: 1 });
    expect(steps).toEqual([MIGRATIONS[1]]);
    expect(steps[0]!.header({ ...header, version: 1 })).toEqual({ ...header, version: 2 });
    const entry = frame(0, 'a');
    expect(steps[0]!.entry(entry)).toBe(entry);
  });

  it.each([
    [{ format: 'har', version: 1 }, 'ERR_ARCHIVE_FORMAT'],
    [{ version: 1 }, 'ERR_ARCHIVE_FORMAT'],
    [{ format: 'wstape', version: 3 }, 'ERR_ARCHIVE_VERSION'],
    [{ format: 'wstape', version: 0 }, 'ERR_ARCHIVE_DAMAGED'],
    [{ format: 'wstape' }, 'ERR_ARCHIVE_DAMAGED'],
  ])('%j is %s', (raw, code) => {
    expect(() => checkHeader('x', raw)).toThrow(expect.objectContaining({ code }));
  });
});

describe('EntryDecoder', () => {
  it('applies migration steps to each entry and the trailer before validating them', () => {
    // A made-up older layout in which frames called `dir` "direction".
    const step: Migration = {
      header: (value) => value,
      entry: (value) => {
        const { direction, ...rest } = value as Record<string, unknown>;
        return direction === undefined ? value : { ...rest, dir: direction };
      },
      trailer: (value) => ({ ...value, stoppedAt: value.endedAt }),
    };
    const decoder = new EntryDecoder('x', [step], { validate: true });
    const { dir, ...old } = frame(0, 'a');
    const line = JSON.stringify({ ...old, direction: dir });
    expect(decoder.line(line, 2)).toEqual(frame(0, 'a'));
    decoder.line(`],"endedAt":"${trailer.stoppedAt}","summary":${JSON.stringify(trailer.summary)}}`, 3);
    expect(decoder.trailer).toEqual(trailer);
  });

  it('holds back a line that is not JSON: ignored at the end, damage when more follows', () => {
    const atEnd = new EntryDecoder('x', [], { validate: true });
    expect(atEnd.line(entryLine(frame(0, 'a'), true).trimEnd(), 2)).not.toBeNull();
    expect(atEnd.line(',{"kind":"fr', 3)).toBeNull();
    expect(atEnd.lastLineIncomplete).toBe(true);
    expect(atEnd.count).toBe(1);

    const inMiddle = new EntryDecoder('x', [], { validate: true });
    inMiddle.line(',{"kind":"fr', 2);
    expect(() => inMiddle.line(entryLine(frame(1, 'b'), false).trimEnd(), 3)).toThrow(expect.objectContaining({ code: 'ERR_ARCHIVE_DAMAGED' }));
  });

  it('blank lines are skipped, even after a held-back line', () => {
    const decoder = new EntryDecoder('x', [], { validate: true });
    decoder.line(',{"kind":"fr', 2);
    expect(decoder.line('', 3)).toBeNull();
    expect(decoder.lastLineIncomplete).toBe(true);
  });

  it('nothing may follow the closing line', () => {
    const decoder = new EntryDecoder('x', [], { validate: true });
    decoder.line(trailerLine(trailer).trimEnd(), 2);
    expect(() => decoder.line(',{"kind":"frame"}', 3)).toThrow(expect.objectContaining({ code: 'ERR_ARCHIVE_DAMAGED' }));
  });
});

describe('formatIssues', () => {
  it('gives the first issue with its path on one line', () => {
    const schema = z.object({ a: z.array(z.object({ b: z.number() })), c: z.string() });
    const result = schema.safeParse({ a: [{ b: 1 }, { b: 'x' }], c: 1 });
    expect(result.success).toBe(false);
    if (!result.success) expect(formatIssues(result.error)).toMatch(/^a\[1\]\.b: .+ \(and 1 more\)$/);
  });
});

describe('looksLikeWstape', () => {
  it.each([
    ['{"format":"wstape","version":1', true],
    ['{\n  "format": "wstape",\n', true],
    ['{"form', true],
    ['', false],
    ['{"log":{', false],
    ['{"format":"har"', false],
    ['hello', false],
  ])('%j → %s', (text, expected) => {
    expect(looksLikeWstape(text)).toBe(expected);
  });
});

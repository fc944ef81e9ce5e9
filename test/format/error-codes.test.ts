import { readFileSync } from 'node:fs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { EntryDecoder } from '../../src/format/archive-decode.js';
import { ERROR_ENTRY_CODES, IMPORT_ERROR_CODES, RECORDER_ERROR_CODES, type RecorderErrorCode } from '../../src/format/error-codes.js';
import { entrySchema, type ErrorEntry, type FrameEntry } from '../../src/format/schema.js';
import { ANOMALY_FLAGS, type StreamError } from '../../src/wire/types.js';
import { frame } from './helpers.js';

const FORMAT_MD = readFileSync(new URL('../../docs/FORMAT.md', import.meta.url), 'utf8');

/**
 * The names in the first column of the table under a docs/FORMAT.md heading: the rows that
 * start with "| `name` |", from the heading to the next heading.
 */
function documentedNames(heading: string): string[] {
  const lines = FORMAT_MD.split('\n');
  const start = lines.indexOf(heading);
  if (start < 0) throw new Error(`docs/FORMAT.md has no "${heading}" heading`);
  const end = lines.findIndex((line, at) => at > start && line.startsWith('#'));
  return lines
    .slice(start + 1, end < 0 ? undefined : end)
    .map((line) => /^\| `([^`]+)` \|/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined);
}

const errorEntry = (code: string): unknown => ({ kind: 'error', time: '2026-11-25T10:30:02.000Z', elapsed: 1, conn: 'c1', code, message: 'm' });

describe('docs/FORMAT.md lists the closed tables exactly', () => {
  it('every error code, in the order of ERROR_ENTRY_CODES', () => {
    expect(documentedNames('#### Error codes')).toEqual([...ERROR_ENTRY_CODES]);
  });

  it('every anomaly flag, in the order of ANOMALY_FLAGS', () => {
    expect(documentedNames('#### Anomaly flags')).toEqual([...ANOMALY_FLAGS]);
  });
});

describe('the tables', () => {
  it('hold each name once, recorder and import codes apart', () => {
    expect(new Set(ERROR_ENTRY_CODES).size).toBe(ERROR_ENTRY_CODES.length);
    expect(new Set(ANOMALY_FLAGS).size).toBe(ANOMALY_FLAGS.length);
    expect(ERROR_ENTRY_CODES).toEqual([...RECORDER_ERROR_CODES, ...IMPORT_ERROR_CODES]);
  });

  it('include every code the stream observer reports (checked by tsc)', () => {
    expectTypeOf<StreamError['code']>().toExtend<RecorderErrorCode>();
    expectTypeOf<ErrorEntry['code']>().toEqualTypeOf<(typeof ERROR_ENTRY_CODES)[number]>();
    expectTypeOf<NonNullable<FrameEntry['flags']>[number]>().toEqualTypeOf<(typeof ANOMALY_FLAGS)[number]>();
  });
});

describe('the schema', () => {
  it.each(ERROR_ENTRY_CODES)('accepts error code %s', (code) => {
    expect(entrySchema.safeParse(errorEntry(code)).success).toBe(true);
  });

  it('accepts every anomaly flag', () => {
    expect(entrySchema.safeParse({ ...frame(0, 'a'), flags: [...ANOMALY_FLAGS] }).success).toBe(true);
  });

  // Unknown values are refused like any other invalid field: a new code or flag comes with a new
  // archive version (see the comment above anomalyFlagSchema in schema.ts).
  it('refuses a code or flag it does not know, as a damaged line', () => {
    const decoder = new EntryDecoder('x', [], { validate: true });
    expect(() => decoder.value(errorEntry('WS_INVALID_OPCODE'), 'line 2')).toThrow(expect.objectContaining({ code: 'ERR_ARCHIVE_DAMAGED' }));
    expect(() => decoder.value({ ...frame(0, 'a'), flags: ['x'] }, 'line 3')).toThrow(expect.objectContaining({ code: 'ERR_ARCHIVE_DAMAGED' }));
  });
});

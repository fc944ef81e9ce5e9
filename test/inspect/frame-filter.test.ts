import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  frameLineSkipper,
  FRAME_TYPES,
  buildFrameFilter,
  frameMatches,
  parseFrameTypes,
  parseGrep,
  parseTimeBound,
  splitList,
  type FrameFilterSpec,
} from '../../src/inspect/frame-filter.js';
import { isCliError } from '../../src/errors.js';
import { frame, isoAt } from '../output/test-archives.js';

const b64 = (text: string | number[]): string => Buffer.from(text as string).toString('base64');

// Elapsed 1..5 s; wall-clock time 10:30:01..05 (isoAt).
const FRAMES = {
  textOut: frame({ conn: 'c1', dir: 'out', type: 'text', text: '{"type":"join"}', elapsed: 1, time: isoAt(1) }),
  textIn: frame({ conn: 'c2', dir: 'in', type: 'text', text: '{"type":"error","msg":"nope"}', elapsed: 1.5, time: isoAt(1.5) }),
  binaryIn: frame({ conn: 'c1', dir: 'in', type: 'binary', opcode: 2, text: undefined, data: b64([0x89, 0x50, 0x4e, 0x47]), elapsed: 2, time: isoAt(2) }),
  pingOut: frame({ conn: 'c2', dir: 'out', type: 'ping', opcode: 9, text: undefined, data: b64('hb'), elapsed: 3, time: isoAt(3) }),
  closeIn: frame({ conn: 'c1', dir: 'in', type: 'close', opcode: 8, text: undefined, code: 1000, reason: 'bye', elapsed: 4, time: isoAt(4) }),
  cont: frame({ conn: 'c1', dir: 'out', type: 'continuation', opcode: 0, text: 'more', elapsed: 5, time: isoAt(5) }),
};
type Name = keyof typeof FRAMES;

function kept(spec: FrameFilterSpec): Name[] {
  const filter = buildFrameFilter(spec);
  return (Object.keys(FRAMES) as Name[]).filter((name) => frameMatches(FRAMES[name], filter));
}

function usageError(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isCliError(error) ? error.code : 'not a CliError';
  }
  return undefined;
}

describe('frameMatches', () => {
  it.each<[string, FrameFilterSpec, Name[]]>([
    ['no filter', {}, ['textOut', 'textIn', 'binaryIn', 'pingOut', 'closeIn', 'cont']],
    ['conn', { conn: ['c2'] }, ['textIn', 'pingOut']],
    ['conn, several', { conn: ['c2', 'c1'] }, ['textOut', 'textIn', 'binaryIn', 'pingOut', 'closeIn', 'cont']],
    ['conn, comma list', { conn: ['c9,c2'] }, ['textIn', 'pingOut']],
    ['dir out', { dir: 'out' }, ['textOut', 'pingOut', 'cont']],
    ['dir in', { dir: 'in' }, ['textIn', 'binaryIn', 'closeIn']],
    ['type', { type: ['text'] }, ['textOut', 'textIn']],
    ['type list', { type: ['ping,close', 'continuation'] }, ['pingOut', 'closeIn', 'cont']],
    ['grep text', { grep: '"type":"(join|error)"' }, ['textOut', 'textIn']],
    ['grep inside binary (latin1)', { grep: 'PNG' }, ['binaryIn']],
    ['grep binary bytes by escape', { grep: '^\\x89' }, ['binaryIn']],
    ['grep control payload', { grep: '^hb$' }, ['pingOut']],
    ['grep close reason', { grep: 'bye' }, ['closeIn']],
    ['conn + dir', { conn: ['c1'], dir: 'in' }, ['binaryIn', 'closeIn']],
    ['conn + dir + type', { conn: ['c1'], dir: 'in', type: ['close'] }, ['closeIn']],
    ['dir + grep', { dir: 'out', grep: 'o' }, ['textOut', 'cont']],
    ['nothing matches', { conn: ['c2'], type: ['binary'] }, []],
    ['type group data', { type: ['data'] }, ['textOut', 'textIn', 'binaryIn', 'cont']],
    ['type group control', { type: ['control'] }, ['pingOut', 'closeIn']],
    ['type groups and names mixed', { type: ['control,text'] }, ['textOut', 'textIn', 'pingOut', 'closeIn']],
    ['grep is case-sensitive', { grep: 'JOIN' }, []],
    ['grep -i', { grep: 'JOIN', ignoreCase: true }, ['textOut']],
    ['grep -i in binary', { grep: 'png', ignoreCase: true }, ['binaryIn']],
    ['since (seconds)', { since: '2' }, ['binaryIn', 'pingOut', 'closeIn', 'cont']],
    ['until (seconds), inclusive', { until: '2' }, ['textOut', 'textIn', 'binaryIn']],
    ['since + until (seconds), inclusive', { since: '1.5', until: '3' }, ['textIn', 'binaryIn', 'pingOut']],
    ['since (ISO)', { since: '2026-11-25T10:30:04Z' }, ['closeIn', 'cont']],
    ['until (ISO with offset)', { until: '2026-11-25T11:30:01.000+01:00' }, ['textOut']],
    ['since + until (ISO), inclusive', { since: '2026-11-25T10:30:02Z', until: '2026-11-25T10:30:03Z' }, ['binaryIn', 'pingOut']],
    ['time + type + dir', { since: '1.6', dir: 'in', type: ['data'] }, ['binaryIn']],
  ])('%s', (_name, spec, expected) => {
    expect(kept(spec)).toEqual(expected);
  });

  it('is stable across calls (no global regex state)', () => {
    const filter = buildFrameFilter({ grep: 'join' });
    expect([1, 2, 3].map(() => frameMatches(FRAMES.textOut, filter))).toEqual([true, true, true]);
  });
});

describe('filter validation', () => {
  it('accepts every frame type name, case-insensitively', () => {
    expect(parseFrameTypes([...FRAME_TYPES])).toEqual([...FRAME_TYPES]);
    expect(parseFrameTypes(['TEXT,Binary'])).toEqual(['text', 'binary']);
  });

  it('rejects an unknown type with ERR_USAGE naming the valid ones', () => {
    expect(usageError(() => parseFrameTypes(['text,bogus']))).toBe('ERR_USAGE');
    try {
      parseFrameTypes(['bogus']);
    } catch (error) {
      for (const type of FRAME_TYPES) expect(String(error)).toContain(type);
    }
  });

  it('rejects an invalid regular expression with ERR_USAGE', () => {
    expect(usageError(() => parseGrep('('))).toBe('ERR_USAGE');
    expect(usageError(() => buildFrameFilter({ grep: '[a-' }))).toBe('ERR_USAGE');
  });

  it('accepts patterns that are valid only without the u flag', () => {
    expect(parseGrep('\\-').test('a-b')).toBe(true);
  });

  it('accepts the groups data and control, without duplicates', () => {
    expect(parseFrameTypes(['data'])).toEqual(['text', 'binary', 'continuation']);
    expect(parseFrameTypes(['CONTROL,ping'])).toEqual(['close', 'ping', 'pong']);
    expect(parseFrameTypes(['text', 'data'])).toEqual(['text', 'binary', 'continuation']);
  });

  it('compiles -i patterns case-insensitive, and only then', () => {
    expect(parseGrep('abc', true).test('ABC')).toBe(true);
    expect(parseGrep('abc').test('ABC')).toBe(false);
    expect(parseGrep('\\-', true).test('A-B')).toBe(true);
  });

  it.each<[string | number, ReturnType<typeof parseTimeBound>]>([
    ['12', { kind: 'elapsed', seconds: 12 }],
    ['12.5', { kind: 'elapsed', seconds: 12.5 }],
    ['.5', { kind: 'elapsed', seconds: 0.5 }],
    ['+12.345678s', { kind: 'elapsed', seconds: 12.345678 }],
    ['0', { kind: 'elapsed', seconds: 0 }],
    [7, { kind: 'elapsed', seconds: 7 }],
    ['2026-11-25T10:30:05Z', { kind: 'wall', ms: Date.parse('2026-11-25T10:30:05Z') }],
    ['2026-11-25T10:30:05.250Z', { kind: 'wall', ms: Date.parse('2026-11-25T10:30:05.250Z') }],
    ['2026-11-25T12:30:05+02:00', { kind: 'wall', ms: Date.parse('2026-11-25T10:30:05Z') }],
    ['2026-11-25', { kind: 'wall', ms: Date.parse('2026-11-25') }],
  ])('parseTimeBound(%j)', (value, expected) => {
    expect(parseTimeBound(value, '--since')).toEqual(expected);
  });

  it.each(['', 'soon', '-1', '12 s', '1e3', '2026-13-45T99:00:00Z', '10:30', 'NaN'])('parseTimeBound(%j) is ERR_USAGE', (value) => {
    expect(usageError(() => parseTimeBound(value, '--until'))).toBe('ERR_USAGE');
  });

  it('splits comma lists and drops empty items', () => {
    expect(splitList(['a,b', '', ' c ', 'd,'])).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('frameLineSkipper', () => {
  const line = (fields: Record<string, unknown>, first = false): Buffer =>
    Buffer.from((first ? '' : ',') + JSON.stringify({ kind: 'frame', conn: 'c1', index: 0, time: 't', elapsed: 0, ...fields }));
  const skipper = (spec: Parameters<typeof buildFrameFilter>[0], byType = true) => frameLineSkipper(buildFrameFilter(spec), { byType })!;

  it('skips frames of the other direction, other types and other connections', () => {
    expect(skipper({ dir: 'in' })(line({ dir: 'out', type: 'text', text: 'x' }))).toBe(true);
    expect(skipper({ dir: 'in' })(line({ dir: 'in', type: 'text', text: 'x' }, true))).toBe(false);
    expect(skipper({ type: ['binary'] })(line({ dir: 'out', type: 'text', text: 'x' }))).toBe(true);
    expect(skipper({ type: ['binary'] })(line({ dir: 'out', type: 'binary', data: '' }))).toBe(false);
    expect(skipper({ conn: ['c2'] })(line({ dir: 'out', type: 'text', text: 'x' }))).toBe(true);
    expect(skipper({ conn: ['c1', 'c2'] })(line({ dir: 'out', type: 'text', text: 'x' }))).toBe(false);
  });

  it('is not fooled by payloads that spell the fields out', () => {
    // The payload comes first here and says "dir":"out", "type":"binary", "conn":"c9": escaped,
    // so the skipper must judge by the real fields only.
    const tricky = Buffer.from(',' + JSON.stringify({ kind: 'frame', text: '{"dir":"out","type":"binary","conn":"c9"}', conn: 'c1', dir: 'in', type: 'text' }));
    expect(skipper({ dir: 'in' })(tricky)).toBe(false);
    expect(skipper({ type: ['text'] })(tricky)).toBe(false);
    expect(skipper({ conn: ['c1'] })(tricky)).toBe(false);
  });

  it('never skips lines that are not frames, and is absent without dir, type or conn filters', () => {
    const connection = Buffer.from(',{"kind":"connection","id":"c2","dir":"out"}');
    expect(skipper({ dir: 'in', conn: ['c1'] })(connection)).toBe(false);
    expect(frameLineSkipper(buildFrameFilter({ grep: 'x' }), { byType: false })).toBeUndefined();
    expect(frameLineSkipper(buildFrameFilter({ type: ['text'] }), { byType: false })).toBeUndefined();
  });

  describe('with a literal --grep', () => {
    const textLine = (text: string) => line({ dir: 'in', type: 'text', text });

    it('skips text frames whose line cannot hold the needle, and keeps those that may', () => {
      const skip = skipper({ type: ['text'], grep: '"type":"error"' });
      expect(skip(textLine('{"type":"tick","n":1}'))).toBe(true);
      expect(skip(textLine('[{"type":"error","code":7}]'))).toBe(false);
      // Only the text is searched: the needle in another field (here the connection id) is not a match.
      expect(skip(line({ conn: '"type":"error"', dir: 'in', type: 'text', text: 'x' }))).toBe(true);
    });

    it('parses lines that JSON.stringify did not write, base64 payloads and other frame types', () => {
      const skip = skipper({ grep: 'error' });
      // `\u0065rror` is "error" too: an escape JSON.stringify never writes, so the line is parsed.
      expect(skip(Buffer.from(',{"kind":"frame","conn":"c1","dir":"in","type":"text","text":"\\u0065rror"}'))).toBe(false);
      expect(skip(Buffer.from(',{"kind":"frame","conn":"c1","dir":"in","type":"text","text":"a\\/b"}'))).toBe(false);
      // Invalid UTF-8 text keeps its bytes as base64, which the grep reads as latin1.
      expect(skip(line({ dir: 'in', type: 'text', data: b64('error') }))).toBe(false);
      // A nested object's text is not the frame's: this frame's payload is its base64 data.
      expect(skip(line({ dir: 'in', type: 'text', forwarded: { type: 'text', size: 1, text: 'x' }, data: b64('error') }))).toBe(false);
      expect(skip(line({ dir: 'in', type: 'close', code: 1000, reason: 'error' }))).toBe(false);
      expect(skip(line({ dir: 'in', type: 'binary', data: b64('x') }))).toBe(false);
      expect(skip(textLine('no match'))).toBe(true);
    });

    it('trusts the escapes of a line that wstape wrote (JSON.stringify never writes \\u0065)', () => {
      const skip = frameLineSkipper(buildFrameFilter({ grep: 'error' }), { byType: true, stringified: true })!;
      expect(skip(Buffer.from(',{"kind":"frame","conn":"c1","dir":"in","type":"text","text":"a \\u0001 b"}'))).toBe(true);
      expect(skip(line({ dir: 'in', type: 'text', text: 'an \u0001 error' }))).toBe(false);
      expect(skip(line({ dir: 'in', type: 'text', data: b64('error') }))).toBe(false);
    });

    it('is not used for regular expressions, -i, or needles with lone surrogates', () => {
      for (const spec of [{ grep: 'err.r' }, { grep: 'a|b' }, { grep: 'x', ignoreCase: true }, { grep: 'a\ud800' }]) {
        expect(frameLineSkipper(buildFrameFilter(spec), { byType: true }), JSON.stringify(spec)).toBeUndefined();
      }
    });

    it('never skips a frame that the grep would keep (any text, any literal)', () => {
      // Texts and needles from the characters JSON escapes differently: quotes, backslashes,
      // controls, U+2028, surrogate pairs and lone surrogates; needles often cut from the text.
      const unit = fc.constantFrom('a', 'b', '"', '\\', '/', '\n', '\u0001', '\u2028', '\ud83d\ude00', '\ud800', '\udc00', 'é', ':');
      const text = fc.array(unit, { maxLength: 12 }).map((units) => units.join(''));
      const payloadAndNeedle = text.chain((payload) =>
        fc.tuple(
          fc.constant(payload),
          fc.oneof(
            text,
            fc.tuple(fc.nat(payload.length), fc.nat(payload.length)).map(([a, b]) => payload.slice(Math.min(a, b), Math.max(a, b))),
          ),
        ),
      );
      fc.assert(
        fc.property(payloadAndNeedle, fc.boolean(), ([payload, rawNeedle], stringified) => {
          const filter = buildFrameFilter({ grep: rawNeedle.replace(/[\\^$.*+?()[\]{}|]/g, '') });
          const skip = frameLineSkipper(filter, { byType: true, stringified });
          const entry = { kind: 'frame' as const, conn: 'c1', index: 0, time: 't', elapsed: 0, dir: 'in' as const, type: 'text' as const, text: payload };
          const wouldKeep = frameMatches(frame(entry), filter);
          if (skip !== undefined && skip(Buffer.from(',' + JSON.stringify(entry)))) expect(wouldKeep).toBe(false);
        }),
        { numRuns: 3000 },
      );
    });
  });
});

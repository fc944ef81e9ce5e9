import { describe, expect, it } from 'vitest';
import {
  FRAME_TYPES,
  buildFrameFilter,
  frameMatches,
  parseFrameTypes,
  parseGrep,
  splitList,
  type FrameFilterSpec,
} from '../../src/commands/frame-filter.js';
import { isCliError } from '../../src/errors.js';
import { frame } from '../output/test-archives.js';

const b64 = (text: string | number[]): string => Buffer.from(text as string).toString('base64');

const FRAMES = {
  textOut: frame({ conn: 'c1', dir: 'out', type: 'text', text: '{"type":"join"}' }),
  textIn: frame({ conn: 'c2', dir: 'in', type: 'text', text: '{"type":"error","msg":"nope"}' }),
  binaryIn: frame({ conn: 'c1', dir: 'in', type: 'binary', opcode: 2, text: undefined, data: b64([0x89, 0x50, 0x4e, 0x47]) }),
  pingOut: frame({ conn: 'c2', dir: 'out', type: 'ping', opcode: 9, text: undefined, data: b64('hb') }),
  closeIn: frame({ conn: 'c1', dir: 'in', type: 'close', opcode: 8, text: undefined, code: 1000, reason: 'bye' }),
  cont: frame({ conn: 'c1', dir: 'out', type: 'continuation', opcode: 0, text: 'more' }),
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

  it('splits comma lists and drops empty items', () => {
    expect(splitList(['a,b', '', ' c ', 'd,'])).toEqual(['a', 'b', 'c', 'd']);
  });
});

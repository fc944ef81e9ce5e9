import { describe, expect, it } from 'vitest';
import { isCliError } from '../../src/errors.js';
import { WhereMatcher } from '../../src/inspect/where.js';
import { parseWhere } from '../../src/inspect/where-parse.js';
import { connection, frame } from '../output/test-archives.js';

/** The ERR_USAGE message a bad expression gives, or null when it parses. */
function parseError(source: string): string | null {
  try {
    parseWhere(source);
    return null;
  } catch (error) {
    if (!isCliError(error)) throw error;
    expect(error.code).toBe('ERR_USAGE');
    return error.message;
  }
}

const CHAT = connection('c1', {
  url: 'wss://example.com/chat?room=1',
  request: {
    method: 'GET',
    target: '/chat',
    httpVersion: '1.1',
    headers: [
      ['Host', 'example.com'],
      ['User-Agent', 'Mozilla/5.0 Test'],
      ['X-Tag', 'a'],
      ['x-tag', 'b'],
    ],
  },
});

function matcher(source: string): WhereMatcher {
  const where = new WhereMatcher(source);
  where.observe(CHAT);
  return where;
}

const ERROR_IN = frame({ conn: 'c1', index: 4, dir: 'in', text: '{"type":"error","payload":{"id":7,"tags":["x","y"]}}', size: 51, flags: ['invalid-utf8'] });
const PLAIN_OUT = frame({ conn: 'c1', index: 5, dir: 'out', text: 'hello there', size: 11 });
const BINARY = frame({ conn: 'c1', index: 6, dir: 'in', type: 'binary', opcode: 2, text: undefined, data: Buffer.from([1, 2, 3]).toString('base64'), size: 3 });

describe('--where: parse errors name the column', () => {
  it.each([
    ['dir ==', 7, 'expected a value'],
    ['dir == "in" &&', 15, 'expected a value'],
    ['dir = "in"', 5, 'unexpected "="'],
    ['dir == "in', 8, 'unterminated string'],
    ['nope == 1', 1, 'unknown field "nope"'],
    ['(dir == "in"', 13, 'expected ")"'],
    ['dir "in"', 5, 'expected an operator'],
    ['text ~ "("', 8, 'invalid regular expression'],
    ['text ~ dir', 8, 'must be a string'],
    ['json.', 6, 'expected a name after "."'],
    ['json[dir]', 6, 'expected a string or a number'],
    ['"a\\q" == text', 3, 'unknown escape'],
    ['size(1)', 5, 'expected an operator'],
    ['dir == "in" ; rm', 13, 'unexpected ";"'],
    ['size == 1 == 1', 11, 'expected an operator'],
    ['size = = 1', 6, 'unexpected "="'],
  ])('%j: column %i', (source, column, what) => {
    const message = parseError(source);
    expect(message).toContain(`at column ${column}`);
    expect(message).toContain(what);
    expect(message).not.toContain('\n');
  });

  it('refuses empty, too deep and too long expressions', () => {
    expect(parseError('  ')).toContain('empty');
    expect(parseError(`${'('.repeat(100)}size${')'.repeat(100)}`)).toContain('nested deeper');
    expect(parseError(`${'!'.repeat(100)}size`)).toContain('nested deeper');
    expect(parseError(`size == 1${' || size == 1'.repeat(400)}`)).toContain('longer than');
  });
});

describe('--where: operators', () => {
  it.each([
    ['dir == "in"', true],
    ["dir == 'out'", false],
    ['dir != "out"', true],
    ['size == 51', true],
    ['size == "51"', false], // no conversion
    ['size < 52', true],
    ['size <= 51', true],
    ['size > 51', false],
    ['size >= 51', true],
    ['size > "5"', false], // number against string: false
    ['time >= "2026-11-25T10:30:00Z"', true],
    ['index == 4 && opcode == 1', true],
    ['index == 3 || type == "text"', true],
    ['!(dir == "out")', true],
    ['!flags', false],
    ['"invalid-utf8" in flags', true],
    ['"rsv1" in flags', false],
    ['"payload" in text', true],
    ['text ~ "ERROR"', true], // case-insensitive
    ['text ~ "^\\\\{\\"type"', true],
    ['json.type == "error"', true],
    ['json.payload.id == 7', true],
    ['json.payload.tags[1] == "y"', true],
    ['json.payload.tags[-1] == "y"', true],
    ['json.payload.tags.length == 2', true],
    ['"x" in json.payload.tags', true],
    ['json["payload"]["id"] > 6.5', true],
    ['json.payload.missing == null', true],
    ['json.type.deeper == null', true],
    ['conn.url ~ "/chat"', true],
    ['conn.id == "c1" && conn.status == 101', true],
    ['conn.headers["user-agent"] ~ "mozilla"', true],
    ['conn.headers.host == "example.com"', true],
    ['conn.headers["x-tag"] == "a, b"', true],
    ['conn.headers["accept"] == null', true],
    ['conn.subprotocol == null', true],
    ['dir == "in" && json.type == "error" && conn.url ~ "/chat"', true],
    ['json.constructor == null && json.__proto__ == null', true], // own properties only
  ])('%s -> %s', (source, expected) => {
    expect(matcher(source).matches(ERROR_IN)).toBe(expected);
  });

  it('binds ! tighter than comparisons, && tighter than ||', () => {
    expect(matcher('size == 1 && size == 2 || dir == "in"').matches(ERROR_IN)).toBe(true);
    expect(matcher('dir == "in" || size == 1 && size == 2').matches(ERROR_IN)).toBe(true);
    expect(matcher('(dir == "in" || size == 1) && size == 2').matches(ERROR_IN)).toBe(false);
  });
});

describe('--where: JSON paths on frames that are not JSON', () => {
  it.each(['json.type == "error"', 'json', 'json.a.b.c > 1', '"x" in json', 'json ~ "x"'])('%s is false on text and binary frames', (source) => {
    const where = matcher(source);
    expect(where.matches(PLAIN_OUT)).toBe(false);
    expect(where.matches(BINARY)).toBe(false);
  });

  it('a truncated payload is not parsed', () => {
    expect(matcher('json.type == "error"').matches({ ...ERROR_IN, truncated: true })).toBe(false);
  });

  it('text is null on a binary frame, and a connection never seen has no url', () => {
    expect(matcher('text == null').matches(BINARY)).toBe(true);
    expect(matcher('conn.url ~ "chat"').matches({ ...PLAIN_OUT, conn: 'c9' })).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { isCliError } from '../../src/errors.js';
import { compileJsonPath, formatJsonPath, pathMatches, type PathSegment } from '../../src/replay/jsonpath.js';

type Row = [expression: string, path: PathSegment[], matches: boolean];

describe('pathMatches', () => {
  it.each<Row>([
    // root
    ['$', [], true],
    ['$', ['a'], false],
    // .key
    ['$.ts', ['ts'], true],
    ['$.ts', ['tS'], false],
    ['$.ts', [], false],
    ['$.ts', ['ts', 'x'], false],
    ['$.user.name', ['user', 'name'], true],
    ['$.user.name', ['name'], false],
    ['$.user-id', ['user-id'], true],
    ['$.@type', ['@type'], true],
    ['$.$ref', ['$ref'], true],
    ['$.0', ['0'], true],
    ['$.0', [0], false],
    // quoted names
    ["$['a b']", ['a b'], true],
    ['$["a b"]', ['a b'], true],
    ["$['it\\'s']", ["it's"], true],
    ['$["say \\"hi\\""]', ['say "hi"'], true],
    ['$["tab\\there"]', ['tab\there'], true],
    ["$['a.b']", ['a.b'], true],
    ["$['a.b']", ['a', 'b'], false],
    ["$['0']", ['0'], true],
    ["$['0']", [0], false],
    ["$[ 'x' ]", ['x'], true],
    // [n]
    ['$.items[2]', ['items', 2], true],
    ['$.items[2]', ['items', 3], false],
    ['$.items[2]', ['items', '2'], false],
    ['$[0][1]', [0, 1], true],
    // wildcards
    ['$.items[*].id', ['items', 0, 'id'], true],
    ['$.items[*].id', ['items', 41, 'id'], true],
    ['$.items[*].id', ['items', 'k', 'id'], true],
    ['$.items[*].id', ['items', 0, 'name'], false],
    ['$.items[*].id', ['items', 0, 'id', 'x'], false],
    ['$.*.id', ['a', 'id'], true],
    ['$.*.id', [3, 'id'], true],
    ['$.*', [], false],
    // recursive descent
    ['$..ts', ['ts'], true],
    ['$..ts', ['a', 'b', 3, 'ts'], true],
    ['$..ts', ['a', 'ts', 'b'], false],
    ['$..ts', [], false],
    ['$.a..ts', ['a', 'ts'], true],
    ['$.a..ts', ['a', 'x', 'ts'], true],
    ['$.a..ts', ['b', 'ts'], false],
    ['$..items[*].id', ['data', 'items', 7, 'id'], true],
    ['$..[0]', ['x', 'y', 0], true],
    ["$..['a b']", ['x', 'a b'], true],
    ['$..*', ['x'], true],
    ['$..*', ['x', 1, 'y'], true],
    ['$..*', [], false],
    ['$..a..b', ['a', 'b'], true],
    ['$..a..b', ['x', 'a', 'y', 'z', 'b'], true],
    ['$..a..b', ['b', 'a'], false],
  ])('%s on %j → %s', (expression, path, expected) => {
    expect(pathMatches(path, compileJsonPath(expression))).toBe(expected);
  });

  it('keeps the source', () => {
    expect(compileJsonPath('$.items[*].id').source).toBe('$.items[*].id');
  });

  it('stays fast with many recursive steps on a deep path', () => {
    const compiled = compileJsonPath(`$${'..a'.repeat(12)}..b`);
    const path = Array.from({ length: 200 }, () => 'a');
    const started = performance.now();
    expect(pathMatches(path, compiled)).toBe(false);
    expect(performance.now() - started).toBeLessThan(500);
  });
});

describe('compileJsonPath: bad syntax', () => {
  it.each([
    [''],
    ['ts'],
    ['.ts'],
    ['$.'],
    ['$..'],
    ['$a'],
    ['$.a.'],
    ['$.a['],
    ['$.a[1'],
    ['$.a[]'],
    ['$.a[-1]'],
    ['$.a[1:2]'],
    ['$.a[0,1]'],
    ["$.a['x','y']"],
    ['$.a[?(@.x)]'],
    ["$['unterminated]"],
    ['$["bad \\q escape"]'],
    ['$.a b'],
    ['$.a]'],
    ['$.a[x]'],
    ['$.a.b c'],
  ])('%j → ERR_USAGE', (expression) => {
    let caught: unknown;
    try {
      compileJsonPath(expression);
    } catch (error) {
      caught = error;
    }
    expect(isCliError(caught) && caught.code).toBe('ERR_USAGE');
    expect(isCliError(caught) && caught.message.includes('\n')).toBe(false);
  });
});

describe('formatJsonPath', () => {
  it.each<[PathSegment[], string]>([
    [[], '$'],
    [['a', 'b'], '$.a.b'],
    [['items', 2, 'id'], '$.items[2].id'],
    [['a b'], '$["a b"]'],
    [['0'], '$["0"]'],
    [['say "hi"\n'], '$["say \\"hi\\"\\n"]'],
    [['$ref', '_x'], '$.$ref._x'],
  ])('%j → %s', (path, expected) => {
    expect(formatJsonPath(path)).toBe(expected);
  });

  it.each<[PathSegment[]]>([[['a', 0, 'b c', "it's", 'é', '0', 12, '\u0001', '..', '[*]']]])('round-trips through compileJsonPath: %j', (path) => {
    for (let length = 0; length <= path.length; length++) {
      const prefix = path.slice(0, length);
      const compiled = compileJsonPath(formatJsonPath(prefix));
      expect(pathMatches(prefix, compiled)).toBe(true);
      if (length > 0) expect(pathMatches(prefix.slice(0, -1), compiled)).toBe(false);
    }
  });
});

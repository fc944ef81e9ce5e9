import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCliError } from '../../src/errors.js';
import {
  MASK_PLACEHOLDER,
  NO_IGNORES,
  compareFrames,
  compileIgnores,
  frameKey,
  isIgnoredPath,
  jsonChanges,
  maskText,
  renderFrame,
  type FrameMismatch,
  type FrameView,
  type IgnoreRules,
  type JsonChange,
} from '../../src/replay/match.js';

const text = (payload: string, extra: Partial<FrameView> = {}): FrameView => ({ type: 'text', fin: true, text: payload, ...extra });
const b64 = (bytes: number[] | string): string => Buffer.from(bytes as string).toString('base64');
const binary = (bytes: number[]): FrameView => ({ type: 'binary', fin: true, data: b64(bytes) });
const close = (code?: number, reason?: string): FrameView => ({
  type: 'close',
  fin: true,
  ...(code !== undefined ? { code } : {}),
  ...(reason !== undefined ? { reason } : {}),
});

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return isCliError(error) ? error.code : 'not a CliError';
  }
  return undefined;
}

describe('compileIgnores', () => {
  it('sorts specs into JSONPaths and patterns', () => {
    const rules = compileIgnores(['$.ts', 're:\\d{4}-\\d{2}-\\d{2}', '$.items[*].id']);
    expect(rules.jsonPaths.map((p) => p.source)).toEqual(['$.ts', '$.items[*].id']);
    expect(rules.textPatterns.map((r) => r.source)).toEqual(['\\d{4}-\\d{2}-\\d{2}']);
    expect(rules.textPatterns[0]?.flags).toContain('g');
  });

  it('accepts no specs', () => {
    expect(compileIgnores([])).toEqual({ jsonPaths: [], textPatterns: [] });
  });

  it.each([['ts'], ['.ts'], [''], ['$.a['], ['$.a[-1]'], ['re:('], ['re:[a-'], ['re:'], ['re:\\d*'], ['re:x?'], ['re:^']])('%j → ERR_USAGE', (spec) => {
    expect(codeOf(() => compileIgnores([spec]))).toBe('ERR_USAGE');
  });

  it('says what is wrong on one line', () => {
    try {
      compileIgnores(['re:(']);
    } catch (error) {
      expect(isCliError(error) && !error.message.includes('\n') && error.message.includes('re:(')).toBe(true);
    }
  });
});

describe('maskText', () => {
  it('replaces every match of every pattern', () => {
    const rules = compileIgnores(['re:\\d+', 're:id-[a-z]+']);
    expect(maskText('a1 b22 id-xyz c', rules)).toBe(`a${MASK_PLACEHOLDER} b${MASK_PLACEHOLDER} ${MASK_PLACEHOLDER} c`);
    // The global regex keeps no state between calls.
    expect(maskText('7', rules)).toBe(MASK_PLACEHOLDER);
    expect(maskText('7', rules)).toBe(MASK_PLACEHOLDER);
  });
});

interface Case {
  name: string;
  a: FrameView;
  b: FrameView;
  ignore?: string[];
  /** null: equal; otherwise the mismatch's reason. */
  reason: FrameMismatch['reason'] | null;
  changes?: JsonChange[];
}

const CASES: Case[] = [
  // JSON text
  { name: 'identical text', a: text('hello'), b: text('hello'), reason: null },
  { name: 'different text', a: text('hello'), b: text('hullo'), reason: 'payload' },
  { name: 'JSON key order ignored', a: text('{"a":1,"b":{"x":true,"y":null}}'), b: text('{"b":{"y":null,"x":true},"a":1}'), reason: null },
  { name: 'JSON whitespace and number spelling ignored', a: text('{"a": 1.0, "b": [1, 2]}'), b: text('{"a":1,"b":[1,2]}'), reason: null },
  { name: 'top-level JSON array', a: text('[1,{"a":2}]'), b: text(' [1, {"a":2}] '), reason: null },
  {
    name: 'nested change with its path',
    a: text('{"user":{"name":"ada","id":7},"n":1}'),
    b: text('{"n":1,"user":{"id":7,"name":"bob"}}'),
    reason: 'payload',
    changes: [{ path: '$.user.name', kind: 'changed', from: 'ada', to: 'bob' }],
  },
  {
    name: 'added and removed members',
    a: text('{"a":1,"gone":{"x":1}}'),
    b: text('{"a":1,"new":[1]}'),
    reason: 'payload',
    changes: [
      { path: '$.gone', kind: 'removed', from: { x: 1 } },
      { path: '$.new', kind: 'added', to: [1] },
    ],
  },
  {
    name: 'array element added at the end',
    a: text('{"items":[1,2]}'),
    b: text('{"items":[1,2,3]}'),
    reason: 'payload',
    changes: [{ path: '$.items[2]', kind: 'added', to: 3 }],
  },
  {
    name: 'array elements removed at the end',
    a: text('{"items":[1,2,3,4]}'),
    b: text('{"items":[1,2]}'),
    reason: 'payload',
    changes: [
      { path: '$.items[2]', kind: 'removed', from: 3 },
      { path: '$.items[3]', kind: 'removed', from: 4 },
    ],
  },
  {
    name: 'array element changed',
    a: text('{"items":[{"id":1,"v":"a"},{"id":2,"v":"b"}]}'),
    b: text('{"items":[{"id":1,"v":"a"},{"id":2,"v":"c"}]}'),
    reason: 'payload',
    changes: [{ path: '$.items[1].v', kind: 'changed', from: 'b', to: 'c' }],
  },
  {
    name: 'value type change',
    a: text('{"a":{"b":1}}'),
    b: text('{"a":[1]}'),
    reason: 'payload',
    changes: [{ path: '$.a', kind: 'changed', from: { b: 1 }, to: [1] }],
  },
  {
    name: 'string "1" is not number 1',
    a: text('{"a":"1"}'),
    b: text('{"a":1}'),
    reason: 'payload',
    changes: [{ path: '$.a', kind: 'changed', from: '1', to: 1 }],
  },
  {
    name: 'odd keys are quoted in paths',
    a: text('{"a b":{"0":1}}'),
    b: text('{"a b":{"0":2}}'),
    reason: 'payload',
    changes: [{ path: '$["a b"]["0"]', kind: 'changed', from: 1, to: 2 }],
  },
  { name: 'bare JSON scalars stay text', a: text('1.0'), b: text('1'), reason: 'payload' },
  { name: 'JSON vs not JSON', a: text('{"a":1}'), b: text('{"a":1'), reason: 'payload' },
  // ignore paths
  { name: 'ignored top-level path', a: text('{"type":"tick","ts":1}'), b: text('{"ts":2,"type":"tick"}'), ignore: ['$.ts'], reason: null },
  { name: 'ignored path present on one side only', a: text('{"type":"tick","ts":1}'), b: text('{"type":"tick"}'), ignore: ['$.ts'], reason: null },
  {
    name: 'ignored path leaves the rest compared',
    a: text('{"type":"tick","ts":1}'),
    b: text('{"type":"tock","ts":2}'),
    ignore: ['$.ts'],
    reason: 'payload',
    changes: [{ path: '$.type', kind: 'changed', from: 'tick', to: 'tock' }],
  },
  {
    name: 'ignoring a parent ignores its subtree',
    a: text('{"meta":{"a":1,"b":[1]},"x":1}'),
    b: text('{"meta":{"a":2},"x":1}'),
    ignore: ['$.meta'],
    reason: null,
  },
  {
    name: '[*] ignores a field in every element',
    a: text('{"items":[{"id":"u1","v":1},{"id":"u2","v":2}]}'),
    b: text('{"items":[{"id":"k9","v":1},{"id":"k8","v":2}]}'),
    ignore: ['$.items[*].id'],
    reason: null,
  },
  {
    name: '[*] does not hide other fields',
    a: text('{"items":[{"id":"u1","v":1}]}'),
    b: text('{"items":[{"id":"k9","v":5}]}'),
    ignore: ['$.items[*].id'],
    reason: 'payload',
    changes: [{ path: '$.items[0].v', kind: 'changed', from: 1, to: 5 }],
  },
  { name: 'ignored trailing element on one side', a: text('{"a":[1,2,3]}'), b: text('{"a":[1,2]}'), ignore: ['$.a[2]'], reason: null },
  { name: 'ignored middle element', a: text('{"a":[1,9,3]}'), b: text('{"a":[1,8,3]}'), ignore: ['$.a[1]'], reason: null },
  {
    name: 'recursive descent at any depth',
    a: text('{"id":1,"a":{"id":2,"b":[{"id":3,"v":1}]}}'),
    b: text('{"id":4,"a":{"id":5,"b":[{"id":6,"v":1}]}}'),
    ignore: ['$..id'],
    reason: null,
  },
  {
    name: 'recursive descent leaves other keys',
    a: text('{"a":{"id":2,"v":1}}'),
    b: text('{"a":{"id":3,"v":2}}'),
    ignore: ['$..id'],
    reason: 'payload',
    changes: [{ path: '$.a.v', kind: 'changed', from: 1, to: 2 }],
  },
  { name: 'ignoring the root ignores everything', a: text('{"a":1}'), b: text('[2]'), ignore: ['$'], reason: null },
  { name: 'a JSONPath does not apply to non-JSON text', a: text('ts=1'), b: text('ts=2'), ignore: ['$.ts'], reason: 'payload' },
  // re: patterns
  {
    name: 're: masks in plain text',
    a: text('tick at 2026-11-25T10:30:00Z'),
    b: text('tick at 2026-11-26T08:00:01Z'),
    ignore: ['re:\\d{4}-\\d\\d-\\d\\dT[\\d:]+Z'],
    reason: null,
  },
  { name: 're: leaves the rest compared', a: text('tick 1 from a'), b: text('tick 2 from b'), ignore: ['re:\\d+'], reason: 'payload' },
  {
    name: 're: inside JSON string values keeps the comparison structural',
    a: text('{"id":"req-0001","b":1,"a":2}'),
    b: text('{"a":2,"b":1,"id":"req-9999"}'),
    ignore: ['re:req-\\d+'],
    reason: null,
  },
  {
    name: 're: across JSON syntax falls back to masked text',
    a: text('{"a":1,"ts":1732530000123}'),
    b: text('{"a":1,"ts":1732530999999}'),
    ignore: ['re:"ts":\\d+'],
    reason: null,
  },
  { name: 're: masks on one side only still differs', a: text('id 12'), b: text('id x'), ignore: ['re:\\d+'], reason: 'payload' },
  // binary and control frames
  { name: 'same bytes', a: binary([1, 2, 3]), b: binary([1, 2, 3]), reason: null },
  { name: 'different bytes', a: binary([1, 2, 3]), b: binary([1, 2, 4]), reason: 'payload' },
  { name: 'bytes of different length', a: binary([1, 2]), b: binary([1, 2, 0]), reason: 'payload' },
  { name: 'binary is never masked', a: binary([0x31]), b: binary([0x32]), ignore: ['re:\\d'], reason: 'payload' },
  {
    name: 'binary JSON bytes are compared as bytes',
    a: { type: 'binary', data: b64('{"a":1,"b":2}') },
    b: { type: 'binary', data: b64('{"b":2,"a":1}') },
    reason: 'payload',
  },
  { name: 'ping payloads', a: { type: 'ping', data: b64('hb-1') }, b: { type: 'ping', data: b64('hb-1') }, reason: null },
  { name: 'pong payloads differ', a: { type: 'pong', data: b64('hb-1') }, b: { type: 'pong', data: b64('hb-2') }, reason: 'payload' },
  { name: 'empty ping vs no data', a: { type: 'ping' }, b: { type: 'ping', data: '' }, reason: null },
  { name: 'continuation text compared as bytes', a: { type: 'continuation', text: 'abc' }, b: { type: 'continuation', data: b64('abc') }, reason: null },
  { name: 'text frame with valid UTF-8 as data equals its text', a: text('{"a":1}'), b: { type: 'text', fin: true, data: b64('{ "a" : 1 }') }, reason: null },
  { name: 'text frame with invalid UTF-8', a: { type: 'text', data: b64([0xff, 0xfe]) }, b: { type: 'text', data: b64([0xff, 0xfd]) }, reason: 'payload' },
  // type and FIN
  { name: 'different types', a: text('x'), b: { type: 'binary', data: b64('x') }, reason: 'type' },
  { name: 'FIN differs', a: text('x', { fin: false }), b: text('x'), reason: 'type' },
  { name: 'FIN absent means set', a: { type: 'text', text: 'x' }, b: text('x'), reason: null },
  // truncation
  {
    name: 'truncated payloads of different real size',
    a: text('abc', { truncated: true, size: 100 }),
    b: text('abc', { truncated: true, size: 200 }),
    reason: 'payload',
  },
  {
    name: 'truncated payloads of the same real size',
    a: text('abc', { truncated: true, size: 100 }),
    b: text('abc', { truncated: true, size: 100 }),
    reason: null,
  },
  // close
  { name: 'same close', a: close(1000, 'bye'), b: close(1000, 'bye'), reason: null },
  { name: 'close code differs', a: close(1000, 'bye'), b: close(1011, 'bye'), reason: 'close' },
  { name: 'close reason differs', a: close(1000, 'bye'), b: close(1000, 'later'), reason: 'close' },
  { name: 'close without code vs with', a: close(), b: close(1000), reason: 'close' },
  { name: 'empty close frames', a: close(), b: close(), reason: null },
  { name: 'close reason masked by re:', a: close(4000, 'session 123 over'), b: close(4000, 'session 456 over'), ignore: ['re:\\d+'], reason: null },
];

describe('compareFrames and frameKey', () => {
  it.each(CASES)('$name', ({ a, b, ignore, reason, changes }) => {
    const rules = compileIgnores(ignore ?? []);
    const mismatch = compareFrames(a, b, rules);
    expect(mismatch?.reason ?? null).toBe(reason);
    if (changes !== undefined) expect(mismatch?.changes).toEqual(changes);
    if (mismatch !== null) {
      expect(mismatch.expected).not.toBe('');
      expect(mismatch.actual).not.toBe('');
    }
    // The key function agrees with the comparison, both ways round.
    expect(frameKey(a, rules) === frameKey(b, rules)).toBe(reason === null);
    expect(compareFrames(b, a, rules) === null).toBe(reason === null);
  });

  it('renders both sides short and printable', () => {
    const mismatch = compareFrames(text('\u001b[31mred ' + 'x'.repeat(500)), text('plain'), NO_IGNORES);
    expect(mismatch?.expected).not.toContain('\u001b');
    expect(mismatch?.expected.length).toBeLessThan(260);
    expect(compareFrames(binary([1, 2, 3]), binary([1, 2, 4]), NO_IGNORES)).toMatchObject({ expected: 'BINARY 3 B 01 02 03', actual: 'BINARY 3 B 01 02 04' });
    expect(compareFrames(close(1000, 'bye'), close(1011, 'oops'), NO_IGNORES)).toMatchObject({
      expected: 'CLOSE 1000 Normal closure "bye"',
      actual: 'CLOSE 1011 Internal error "oops"',
    });
  });

  it('shows a long payload around its first difference', () => {
    const base = 'a'.repeat(1000);
    const mismatch = compareFrames(text(`${base}XYZ`), text(`${base}QRS`), NO_IGNORES);
    expect(mismatch?.expected).toContain('XYZ');
    expect(mismatch?.actual).toContain('QRS');
    const bytes = Array.from({ length: 300 }, (_, i) => i % 256);
    const changed = [...bytes];
    changed[200] = 0;
    expect(compareFrames(binary(bytes), binary(changed), NO_IGNORES)?.actual).toContain('@196: c4 c5 c6 c7 00');
  });

  it('keeps keys of large payloads short', () => {
    const key = frameKey(text('y'.repeat(100_000)), NO_IGNORES);
    expect(key.length).toBeLessThan(100);
    expect(key).not.toBe(frameKey(text(`${'y'.repeat(99_999)}z`), NO_IGNORES));
  });
});

describe('renderFrame', () => {
  it.each<[FrameView, string]>([
    [text('{"a":1}'), '{"a":1}'],
    [text(''), '(empty)'],
    [text('part', { fin: false }), 'part [frag]'],
    [binary([1, 2]), 'BINARY 2 B 01 02'],
    [binary(Array.from({ length: 20 }, () => 255)), `BINARY 20 B ${Array.from({ length: 16 }, () => 'ff').join(' ')} …`],
    [{ type: 'ping', data: b64('hb') }, 'PING "hb"'],
    [{ type: 'pong' }, 'PONG'],
    [close(1000, 'bye'), 'CLOSE 1000 Normal closure "bye"'],
    [close(), 'CLOSE'],
    [{ type: 'continuation', text: 'rest' }, 'CONT rest'],
    [text('a\nb'), 'a\\nb'],
  ])('%j → %s', (frame, expected) => {
    expect(renderFrame(frame)).toBe(expected);
  });
});

describe('jsonChanges', () => {
  it('returns nothing for equal values', () => {
    expect(jsonChanges({ a: [1, { b: null }] }, { a: [1, { b: null }] }, NO_IGNORES)).toEqual([]);
  });

  it('reports paths under a base path', () => {
    expect(jsonChanges({ x: 1 }, { x: 2 }, NO_IGNORES, ['data', 0])).toEqual([{ path: '$.data[0].x', kind: 'changed', from: 1, to: 2 }]);
  });

  it('applies ignores relative to the document root, with the base path', () => {
    const rules = compileIgnores(['$.data[*].x']);
    expect(jsonChanges({ x: 1 }, { x: 2 }, rules, ['data', 0])).toEqual([]);
    expect(jsonChanges({ x: 1 }, { x: 2 }, rules)).toHaveLength(1);
  });

  it('treats keys named __proto__ as ordinary members', () => {
    const a = JSON.parse('{"__proto__":{"x":1}}') as unknown;
    const b = JSON.parse('{"__proto__":{"x":2}}') as unknown;
    expect(jsonChanges(a, b, NO_IGNORES)).toEqual([{ path: '$.__proto__.x', kind: 'changed', from: 1, to: 2 }]);
  });
});

describe('isIgnoredPath', () => {
  it('matches any of the rules', () => {
    const rules: IgnoreRules = compileIgnores(['$.a', '$..b']);
    expect(isIgnoredPath(['a'], rules)).toBe(true);
    expect(isIgnoredPath(['x', 'b'], rules)).toBe(true);
    expect(isIgnoredPath(['x'], rules)).toBe(false);
    expect(isIgnoredPath(['a'], NO_IGNORES)).toBe(false);
  });
});

describe('frameKey agrees with compareFrames (property)', () => {
  const leaf = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom('a', 'b', ''), fc.boolean(), fc.constant(null));
  const { tree } = fc.letrec((tie) => ({
    tree: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.array(tie('tree'), { maxLength: 3 }),
      fc.dictionary(fc.constantFrom('a', 'b', 'id', 'ts'), tie('tree'), { maxKeys: 3 }),
    ),
  }));
  const container = fc.oneof(fc.array(tree, { maxLength: 3 }), fc.dictionary(fc.constantFrom('a', 'b', 'id', 'ts'), tree, { maxKeys: 4 }));
  const ignores = fc.subarray(['$.ts', '$..id', '$.a[*]', '$[1]', '$.b.a', 're:b']);

  it('for random JSON payloads and ignore rules', () => {
    fc.assert(
      fc.property(
        container,
        container,
        ignores,
        fc.constantFrom('same', 'near', 'other'),
        fc.array(fc.nat(4), { minLength: 40, maxLength: 40 }),
        (a, b, specs, mode, choices) => {
          const rules = compileIgnores(specs);
          // A reordered copy of the value itself, a copy with a few random edits, or another value.
          const same = mode === 'same';
          const other = mode === 'same' ? reorder(a) : mode === 'near' ? mutate(a, choices) : b;
          const frameA = text(JSON.stringify(a));
          const frameB = text(JSON.stringify(other));
          const equal = compareFrames(frameA, frameB, rules) === null;
          expect(frameKey(frameA, rules) === frameKey(frameB, rules)).toBe(equal);
          if (same) expect(equal).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

/** A deep copy with every object's keys in reverse order. */
function reorder(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reorder);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([k, v]) => [k, reorder(v)]),
    );
  }
  return value;
}

/** A copy with a few edits chosen by `choices`: changed leaves, appended or dropped elements and members. */
function mutate(value: unknown, choices: number[]): unknown {
  let next = 0;
  const choose = (): number => choices[next++ % choices.length] ?? 0;
  const walk = (node: unknown): unknown => {
    const pick = choose();
    if (Array.isArray(node)) {
      const items = node.map(walk);
      if (pick === 0) items.push(1);
      if (pick === 1) items.pop();
      return items;
    }
    if (typeof node === 'object' && node !== null) {
      const entries = Object.entries(node).map(([k, v]) => [k, walk(v)] as const);
      if (pick === 0) entries.push(['ts', 7]);
      if (pick === 1) entries.shift();
      return Object.fromEntries(entries);
    }
    return pick === 0 ? 'changed' : node;
  };
  return walk(value);
}

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makePalette, stripAnsi } from '../../src/output/colors.js';
import {
  alignSequences,
  closeOutcome,
  diffConnections,
  diffConversations,
  type AlignOp,
  type Conversation,
  type DiffFrame,
  type Difference,
} from '../../src/replay/diff.js';
import { formatDifference, summaryLine } from '../../src/replay/diff-report.js';
import { compileIgnores, NO_IGNORES } from '../../src/replay/match.js';

const plain = makePalette(false);

/** Frames from a compact script: `>` out, `<` in; `close:CODE:REASON`, `bin:HEX`, else text. */
function conversation(id: string, script: string[], options: { gapsMs?: number[]; end?: Conversation['end'] } = {}): Conversation {
  let elapsed = 1;
  const frames: DiffFrame[] = script.map((line, index) => {
    elapsed += (options.gapsMs?.[index] ?? 10) / 1000;
    const dir = line.startsWith('>') ? 'out' : 'in';
    const body = line.slice(1);
    const base = { dir, index, elapsed, fin: true } as const;
    if (body.startsWith('close:')) {
      const [, code, reason] = body.split(':');
      return { ...base, type: 'close', code: Number(code), reason: reason ?? '' };
    }
    if (body.startsWith('bin:')) return { ...base, type: 'binary', data: Buffer.from(body.slice(4), 'hex').toString('base64') };
    return { ...base, type: 'text', text: body };
  });
  return { id, url: `ws://127.0.0.1:9000/${id}`, start: 1, frames, end: options.end };
}

const only = (differences: Difference[]): Array<Partial<Difference>> =>
  differences.map(({ kind, dir, indexA, indexB, changes }) => ({ kind, dir, indexA, indexB, ...(changes !== null ? { changes } : {}) }));

describe('alignSequences', () => {
  const apply = (ops: AlignOp[], a: string[], b: string[]): { equalA: string[]; equalB: string[]; deleted: number[]; inserted: number[] } => ({
    equalA: ops.flatMap((op) => (op.op === 'equal' ? [a[op.a] as string] : [])),
    equalB: ops.flatMap((op) => (op.op === 'equal' ? [b[op.b] as string] : [])),
    deleted: ops.flatMap((op) => (op.op === 'delete' ? [op.a] : [])),
    inserted: ops.flatMap((op) => (op.op === 'insert' ? [op.b] : [])),
  });

  function lcsLength(a: readonly string[], b: readonly string[]): number {
    const row = new Array<number>(b.length + 1).fill(0);
    for (const x of a) {
      let diagonal = 0;
      for (let j = 1; j <= b.length; j++) {
        const up = row[j] as number;
        row[j] = x === b[j - 1] ? diagonal + 1 : Math.max(up, row[j - 1] as number);
        diagonal = up;
      }
    }
    return row[b.length] as number;
  }

  it.each<[string, string, string]>([
    ['', '', ''],
    ['abc', 'abc', 'abc'],
    ['abc', '', ''],
    ['', 'abc', ''],
    ['abcabba', 'cbabac', 'cbba'],
    ['axbyc', 'abc', 'abc'],
    ['abc', 'xaybzc', 'abc'],
  ])('%j vs %j keeps a longest common subsequence', (a, b, common) => {
    const ops = alignSequences([...a], [...b]);
    const result = apply(ops, [...a], [...b]);
    expect(result.equalA.join('')).toBe(result.equalB.join(''));
    expect(result.equalA.length).toBe(common.length);
  });

  it('visits every element once, in order (property)', () => {
    const sequence = fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 30 });
    fc.assert(
      fc.property(sequence, sequence, (a, b) => {
        const ops = alignSequences(a, b);
        const seenA = ops.flatMap((op) => (op.op === 'insert' ? [] : [op.a]));
        const seenB = ops.flatMap((op) => (op.op === 'delete' ? [] : [op.b]));
        expect(seenA).toEqual([...a.keys()]);
        expect(seenB).toEqual([...b.keys()]);
        const result = apply(ops, a, b);
        expect(result.equalA).toEqual(result.equalB);
        expect(result.equalA.length).toBe(lcsLength(a, b));
      }),
      { numRuns: 300 },
    );
  });

  it('puts the deletes of a run before its inserts', () => {
    const ops = alignSequences(['x', 'a', 'b', 'y'], ['x', 'c', 'd', 'y']).map((op) => op.op);
    expect(ops).toEqual(['equal', 'delete', 'delete', 'insert', 'insert', 'equal']);
  });

  it('gives up past maxEdits and keeps the common prefix and suffix', () => {
    const a = ['p', ...'abcdefgh', 's'];
    const b = ['p', ...'ijklmnop', 's'];
    const ops = alignSequences(a, b, 3);
    expect(ops[0]).toEqual({ op: 'equal', a: 0, b: 0 });
    expect(ops[ops.length - 1]).toEqual({ op: 'equal', a: 9, b: 9 });
    expect(ops.filter((op) => op.op === 'delete')).toHaveLength(8);
    expect(ops.filter((op) => op.op === 'insert')).toHaveLength(8);
  });

  it('aligns long conversations with few edits quickly', () => {
    const a = Array.from({ length: 50_000 }, (_, i) => `m${i}`);
    const b = [...a];
    b.splice(25_000, 1, 'other');
    b.push('extra');
    const started = performance.now();
    const ops = alignSequences(a, b);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(ops.filter((op) => op.op !== 'equal')).toEqual([
      { op: 'delete', a: 25_000 },
      { op: 'insert', b: 25_000 },
      { op: 'insert', b: 50_000 },
    ]);
  });
});

describe('diffConversations', () => {
  const settings = { rules: NO_IGNORES };

  it('finds nothing in equal conversations', () => {
    const script = ['>{"type":"join"}', '<{"type":"welcome","n":1}', '>bin:0102', '>close:1000:bye', '<close:1000:bye'];
    expect(diffConversations(conversation('c1', script), conversation('c1', script), settings)).toEqual([]);
  });

  it('ignores JSON key order', () => {
    const a = conversation('c1', ['>{"a":1,"b":2}']);
    const b = conversation('c1', ['>{"b":2,"a":1}']);
    expect(diffConversations(a, b, settings)).toEqual([]);
  });

  it('reports a changed JSON field with its path', () => {
    const a = conversation('c1', ['>{"type":"join"}', '<{"user":{"name":"ada"}}', '>ok']);
    const b = conversation('c1', ['>{"type":"join"}', '<{"user":{"name":"bob"}}', '>ok']);
    const differences = diffConversations(a, b, settings);
    expect(only(differences)).toEqual([
      { kind: 'changed', dir: 'in', indexA: 1, indexB: 1, changes: [{ path: '$.user.name', kind: 'changed', from: 'ada', to: 'bob' }] },
    ]);
    expect(differences[0]).toMatchObject({ connA: 'c1', connB: 'c1', type: 'text', from: '{"user":{"name":"ada"}}', to: '{"user":{"name":"bob"}}' });
    expect(formatDifference(differences[0] as Difference, plain)).toEqual(['c1 <-- #1 changed: $.user.name "ada" → "bob"']);
  });

  it('reports an added frame', () => {
    const a = conversation('c1', ['>hello', '<hi', '>bye']);
    const b = conversation('c1', ['>hello', '<hi', '<{"type":"extra"}', '>bye']);
    const differences = diffConversations(a, b, settings);
    expect(only(differences)).toEqual([{ kind: 'added', dir: 'in', indexA: null, indexB: 2 }]);
    expect(formatDifference(differences[0] as Difference, plain)).toEqual(['c1 <-- + #2 {"type":"extra"}']);
  });

  it('reports a removed frame', () => {
    const a = conversation('c1', ['>hello', '>again', '<hi']);
    const b = conversation('c1', ['>hello', '<hi']);
    const differences = diffConversations(a, b, settings);
    expect(only(differences)).toEqual([{ kind: 'removed', dir: 'out', indexA: 1, indexB: null }]);
    expect(formatDifference(differences[0] as Difference, plain)).toEqual(['c1 --> - #1 again']);
  });

  it('aligns each direction on its own, so interleaving does not matter', () => {
    const a = conversation('c1', ['>one', '<a', '>two', '<b']);
    const b = conversation('c1', ['>one', '>two', '<a', '<b']);
    expect(diffConversations(a, b, settings)).toEqual([]);
  });

  it('keeps a frame of another type as removed plus added, not changed', () => {
    const a = conversation('c1', ['>x', '>bin:01']);
    const b = conversation('c1', ['>x', '>text']);
    expect(only(diffConversations(a, b, settings))).toEqual([
      { kind: 'removed', dir: 'out', indexA: 1, indexB: null },
      { kind: 'added', dir: 'out', indexA: null, indexB: 1 },
    ]);
  });

  it('reports a changed non-JSON text and binary payload with both renderings', () => {
    const a = conversation('c1', ['>hello', '>bin:0102']);
    const b = conversation('c1', ['>hullo', '>bin:0103']);
    const differences = diffConversations(a, b, settings);
    expect(differences.map((d) => [d.kind, d.from, d.to, d.changes])).toEqual([
      ['changed', 'hello', 'hullo', null],
      ['changed', 'BINARY 2 B 01 02', 'BINARY 2 B 01 03', null],
    ]);
    expect(formatDifference(differences[0] as Difference, plain)).toEqual(['c1 --> #0 changed: hello → hullo']);
  });

  it('orders differences as in the conversation', () => {
    const a = conversation('c1', ['>a', '<1', '>b', '<2', '>c']);
    const b = conversation('c1', ['>a', '<1', '<1.5', '>B', '<2', '>c', '>d']);
    expect(only(diffConversations(a, b, settings)).map((d) => `${d.kind}:${d.indexA}:${d.indexB}`)).toEqual(['added:null:2', 'changed:2:3', 'added:null:6']);
  });

  it('reports a different close code once, as the outcome', () => {
    const a = conversation('c1', ['>x', '>close:1000:bye', '<close:1000:bye'], { end: { code: 1000, reason: 'bye', closedBy: 'client' } });
    const b = conversation('c1', ['>x', '>close:1011:oops', '<close:1011:oops'], { end: { code: 1011, reason: 'oops', closedBy: 'client' } });
    const differences = diffConversations(a, b, settings);
    expect(differences).toHaveLength(1);
    expect(differences[0]).toMatchObject({
      kind: 'close',
      dir: null,
      from: { code: 1000, reason: 'bye', closedBy: 'client' },
      to: { code: 1011, reason: 'oops', closedBy: 'client' },
    });
    expect(formatDifference(differences[0] as Difference, plain)).toEqual(['c1 close: 1000 "bye" by client → 1011 "oops" by client']);
  });

  it('reports who closed, and an abnormal end', () => {
    const a = conversation('c1', ['>close:1000:', '<close:1000:'], { end: { code: 1000, reason: '', closedBy: 'client' } });
    const b = conversation('c1', [], { end: { code: 1006, reason: '', closedBy: 'server' } });
    const differences = diffConversations(a, b, settings);
    expect(differences.map((d) => d.kind)).toEqual(['removed', 'removed', 'close']);
    expect(formatDifference(differences[2] as Difference, plain)).toEqual(['c1 close: 1000 by client → 1006 (Abnormal closure) by server']);
  });

  it('takes the outcome from the first close frame when there is no end entry', () => {
    expect(closeOutcome(conversation('c1', ['<close:4000:x', '>close:4000:x']))).toEqual({ code: 4000, reason: 'x', closedBy: 'server' });
    expect(closeOutcome(conversation('c1', ['>x']))).toBeNull();
    const open = conversation('c1', ['>x']);
    const closed = conversation('c1', ['>x', '>close:1000:'], {});
    expect(only(diffConversations(open, closed, settings)).map((d) => d.kind)).toEqual(['added', 'close']);
  });

  it('reports a different close echo when the outcome is the same', () => {
    const a = conversation('c1', ['>close:1000:bye', '<close:1000:bye'], { end: { code: 1000, reason: 'bye', closedBy: 'client' } });
    const b = conversation('c1', ['>close:1000:bye', '<close:1001:away'], { end: { code: 1000, reason: 'bye', closedBy: 'client' } });
    expect(only(diffConversations(a, b, settings))).toEqual([{ kind: 'changed', dir: 'in', indexA: 1, indexB: 1 }]);
  });

  it('makes ignored paths and patterns equal', () => {
    const a = conversation('c1', ['<{"type":"tick","ts":1,"id":"req-1"}', '<at 10:30:00']);
    const b = conversation('c1', ['<{"id":"req-2","type":"tick","ts":2}', '<at 11:45:09']);
    expect(diffConversations(a, b, settings).map((d) => d.kind)).toEqual(['changed', 'changed']);
    const rules = compileIgnores(['$.ts', '$.id', 're:\\d\\d:\\d\\d:\\d\\d']);
    expect(diffConversations(a, b, { rules })).toEqual([]);
  });

  it('reports timing beyond the tolerance only', () => {
    const script = ['>a', '<b', '>c', '<d'];
    const a = conversation('c1', script, { gapsMs: [10, 20, 30, 40] });
    const b = conversation('c1', script, { gapsMs: [10, 25, 130, 40] });
    expect(diffConversations(a, b, settings)).toEqual([]);
    const differences = diffConversations(a, b, { rules: NO_IGNORES, timingToleranceMs: 50 });
    expect(differences).toHaveLength(1);
    expect(differences[0]).toMatchObject({ kind: 'timing', dir: 'out', indexA: 2, indexB: 2, gapA: 30, gapB: 130, from: 30, to: 130 });
    expect(formatDifference(differences[0] as Difference, plain)).toEqual(['c1 --> #2 timing: gap 30.0 ms → 130.0 ms (+100.0 ms)']);
    expect(diffConversations(a, b, { rules: NO_IGNORES, timingToleranceMs: 4 }).map((d) => d.indexA)).toEqual([1, 2]);
  });

  it('measures the first gap from the handshake', () => {
    const a = conversation('c1', ['>a'], { gapsMs: [5] });
    const b = conversation('c1', ['>a'], { gapsMs: [500] });
    expect(diffConversations(a, b, { rules: NO_IGNORES, timingToleranceMs: 100 })).toMatchObject([{ kind: 'timing', gapA: 5, gapB: 500 }]);
    const noStart = { ...a, start: undefined };
    expect(diffConversations(noStart, b, { rules: NO_IGNORES, timingToleranceMs: 100 })).toEqual([]);
  });

  it('lists many JSON changes under one frame', () => {
    const a = conversation('c1', ['>{"a":1,"b":[1,2],"c":true}']);
    const b = conversation('c1', ['>{"a":2,"b":[1],"d":null}']);
    const lines = formatDifference(diffConversations(a, b, settings)[0] as Difference, plain);
    expect(lines).toEqual(['c1 --> #0 changed:', '    $.a 1 → 2', '    $.b[1] removed 2', '    $.c removed true', '    $.d added null']);
  });
});

describe('diffConnections', () => {
  const settings = { rules: NO_IGNORES };

  it('pairs connections in order', () => {
    const a = [conversation('c1', ['>x']), conversation('c2', ['>y'])];
    const b = [conversation('c4', ['>x']), conversation('c7', ['>z'])];
    const result = diffConnections(a, b, settings);
    expect(result.pairs).toBe(2);
    expect(result.differences).toHaveLength(1);
    expect(result.differences[0]).toMatchObject({ kind: 'changed', connA: 'c2', connB: 'c7' });
    expect(formatDifference(result.differences[0] as Difference, plain)[0]).toMatch(/^c2\/c7 --> #0 changed/);
  });

  it('reports connections only one archive has', () => {
    const a = [conversation('c1', ['>x'])];
    const b = [conversation('c1', ['>x']), conversation('c2', ['>y']), conversation('c3', [])];
    const result = diffConnections(a, b, settings);
    expect(result.differences).toMatchObject([
      { kind: 'connections', connA: null, connB: 'c2', from: 1, to: 3, url: 'ws://127.0.0.1:9000/c2' },
      { kind: 'connections', connA: null, connB: 'c3', from: 1, to: 3 },
    ]);
    expect(formatDifference(result.differences[0] as Difference, plain)).toEqual([
      'c2 only in B: ws://127.0.0.1:9000/c2 (A has 1 WebSocket connection, B has 3)',
    ]);
    expect(diffConnections(b, a, settings).differences[0]).toMatchObject({ kind: 'connections', connA: 'c2', connB: null, from: 3, to: 1 });
  });

  it('summarises', () => {
    const a = [conversation('c1', ['>x', '>y'])];
    const same = diffConnections(a, a, settings);
    expect(summaryLine(same)).toBe('no differences (1 connection, 2 frames in A, 2 in B)');
    const b = [conversation('c1', ['>x', '>z', '>w'])];
    expect(summaryLine(diffConnections(a, b, settings))).toBe('2 differences: 1 changed, 1 added (1 connection compared, 2 frames in A, 3 in B)');
    const closed = [conversation('c1', ['>x', '>close:1000:'])];
    const other = [conversation('c1', ['>x', '>close:1001:']), conversation('c2', []), conversation('c3', [])];
    expect(summaryLine(diffConnections(closed, other, settings))).toBe(
      '3 differences: 1 close outcome, 2 unpaired connections (1 connection compared, 2 frames in A, 2 in B)',
    );
  });

  it('gives every difference every field', () => {
    const a = [conversation('c1', ['>x'])];
    const b = [conversation('c1', ['>y', '>z']), conversation('c2', [])];
    const fields = ['kind', 'connA', 'connB', 'dir', 'type', 'indexA', 'indexB', 'from', 'to', 'changes', 'gapA', 'gapB', 'url'];
    for (const difference of diffConnections(a, b, settings).differences) expect(Object.keys(difference)).toEqual(fields);
  });

  it('colours only through the palette', () => {
    const a = [conversation('c1', ['>{"a":1}'])];
    const b = [conversation('c1', ['>{"a":2}', '<new'])];
    const colour = makePalette(true);
    for (const difference of diffConnections(a, b, settings).differences) {
      const coloured = formatDifference(difference, colour).join('\n');
      expect(coloured).toContain('\u001b[');
      expect(stripAnsi(coloured)).toBe(formatDifference(difference, plain).join('\n'));
    }
  });
});

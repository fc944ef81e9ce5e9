/**
 * `wstape diff`'s logic: compare two recorded WebSocket conversations and list what differs.
 * Pure: it takes the conversations (loaded by commands/diff.ts) and returns differences; the
 * report formatting is here too, as plain functions of a difference.
 *
 * How: each direction (client to server, server to client) is aligned on its own, a longest
 * common subsequence of frames (Myers' algorithm) under frameKey from match.ts, so the ignore
 * rules decide what "the same frame" means. Between two aligned frames, unmatched frames of A are
 * `removed` and of B `added`; a removed and an added frame of the same type in the same gap are
 * one `changed` frame, reported with its JSON differences. The outcome of each connection (who
 * closed, code, reason) is compared once (`close`), and frames that are in both, with
 * --timing-tolerance, by the time since the previous frame of their connection (`timing`).
 *
 * `--json` prints one Difference per line. Fields (stable: added, never renamed; every field is
 * always present, null when it does not apply):
 *
 *   kind     "added" | "removed" | "changed" | "close" | "timing" | "connections"
 *   connA    the connection id in archive A ("c1"), null for a connection only in B
 *   connB    the connection id in archive B, null for a connection only in A
 *   dir      "out" (client to server) | "in" (server to client); null for close, connections
 *   type     the frame type (text, binary, continuation, close, ping, pong, reserved); null for
 *            close and connections
 *   indexA   the frame's `index` in A (its number within its connection, both directions, as in
 *            `show --json`); null for added frames
 *   indexB   the same in B; null for removed frames
 *   from     A's side: removed/changed: the frame rendered short (text cut to 200 characters,
 *            `BINARY 12 B 01 02 …`, `CLOSE 1000 Normal closure "bye"`); close: A's outcome
 *            {code, reason, closedBy} or null while open; timing: gapA; connections: the number
 *            of WebSocket connections compared in A; null for added
 *   to       B's side, the same way; null for removed
 *   changes  changed JSON text frames: [{path, kind: "changed"|"added"|"removed", from?, to?}],
 *            JSONPaths like "$.user.name", `from` absent for added and `to` for removed members;
 *            null otherwise
 *   gapA     timing: milliseconds from the previous frame of the connection (or from the
 *            handshake, for the first frame) to this frame, in A; null otherwise
 *   gapB     the same in B
 *   url      connections: the URL of the connection only one archive has; null otherwise
 *
 * Memory: the frames of both conversations, with their payloads, plus one key per frame. The
 * alignment itself costs O(D²) for D edits and gives up above MAX_EDITS (then the differing
 * middle of the direction is compared position by position).
 */
import type { Closer, FrameType } from '../format/schema.js';
import { CloseCode } from '../wire/close-codes.js';
import { DIRECTIONS, senderOf, type Direction } from '../wire/side.js';
import { compareFrames, frameKey, maskText, renderFrame, type FrameView, type IgnoreRules, type JsonChange } from './match.js';

/** A frame as diff needs it: what matching looks at, plus where and when it was. */
export interface DiffFrame extends FrameView {
  dir: Direction;
  /** The archive's `index`: the frame's number within its connection, both directions. */
  index: number;
  /** Seconds since the recording started (the archive's `elapsed`). */
  elapsed: number;
}

/** How a connection ended, as its end entry (or first close frame) says. */
export interface CloseOutcome {
  /** The first close frame's code, 1005 for one without a code, 1006 for none at all. */
  code: number | null;
  reason: string;
  closedBy: Closer | null;
}

/** One WebSocket connection's conversation. */
export interface Conversation {
  id: string;
  url: string;
  /** The connection entry's `elapsed`: the first frame's gap is measured from it. */
  start?: number | undefined;
  /** Frames in capture order. */
  frames: DiffFrame[];
  /** The end entry's fields; null or absent when the archive has none (still open, cut short). */
  end?: CloseOutcome | null | undefined;
}

export type DifferenceKind = 'added' | 'removed' | 'changed' | 'close' | 'timing' | 'connections';

/** One difference; see the file header for the fields. */
export interface Difference {
  kind: DifferenceKind;
  connA: string | null;
  connB: string | null;
  dir: Direction | null;
  type: FrameType | null;
  indexA: number | null;
  indexB: number | null;
  from: unknown;
  to: unknown;
  changes: JsonChange[] | null;
  gapA: number | null;
  gapB: number | null;
  url: string | null;
}

export interface DiffSettings {
  rules: IgnoreRules;
  /** Report frames in both whose gap from the previous frame moved by more than this (ms). */
  timingToleranceMs?: number | undefined;
}

export interface DiffResult {
  differences: Difference[];
  /** Connection pairs compared. */
  pairs: number;
  framesA: number;
  framesB: number;
}

/** Above this many edits in one direction, the alignment stops and compares by position. */
export const MAX_EDITS = 2000;

export type AlignOp = { op: 'equal'; a: number; b: number } | { op: 'delete'; a: number } | { op: 'insert'; b: number };

/**
 * A shortest edit script turning `a` into `b` (Myers 1986, "An O(ND) Difference Algorithm"):
 * `equal` pairs form a longest common subsequence; within a run of edits, deletes come before
 * inserts. The common prefix and suffix are matched first. With more than `maxEdits` edits the
 * differing middle is returned as all deletes then all inserts.
 */
export function alignSequences<T>(a: readonly T[], b: readonly T[], maxEdits = MAX_EDITS): AlignOp[] {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tailA = a.length;
  let tailB = b.length;
  while (tailA > head && tailB > head && a[tailA - 1] === b[tailB - 1]) {
    tailA--;
    tailB--;
  }
  const ops: AlignOp[] = [];
  for (let i = 0; i < head; i++) ops.push({ op: 'equal', a: i, b: i });
  const middle = myers(a, head, tailA, b, head, tailB, maxEdits);
  if (middle !== null) ops.push(...middle);
  else {
    for (let i = head; i < tailA; i++) ops.push({ op: 'delete', a: i });
    for (let j = head; j < tailB; j++) ops.push({ op: 'insert', b: j });
  }
  for (let i = tailA, j = tailB; i < a.length; i++, j++) ops.push({ op: 'equal', a: i, b: j });
  return ops;
}

function myers<T>(a: readonly T[], a0: number, a1: number, b: readonly T[], b0: number, b1: number, maxEdits: number): AlignOp[] | null {
  const n = a1 - a0;
  const m = b1 - b0;
  const max = n + m;
  if (max === 0) return [];
  // v[offset + k]: the furthest x reached on diagonal k (y = x - k). trace[d] keeps the
  // diagonals -d..d as they were before step d, for the walk back.
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let found = -1;
  for (let d = 0; d <= Math.min(max, maxEdits); d++) {
    trace.push(v.slice(offset - d, offset + d + 1));
    for (let k = -d; k <= d; k += 2) {
      let x =
        k === -d || (k !== d && (v[offset + k - 1] as number) < (v[offset + k + 1] as number))
          ? (v[offset + k + 1] as number)
          : (v[offset + k - 1] as number) + 1;
      let y = x - k;
      while (x < n && y < m && a[a0 + x] === b[b0 + y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = d;
        break;
      }
    }
    if (found !== -1) break;
  }
  if (found === -1) return null;

  const reversed: AlignOp[] = [];
  let x = n;
  let y = m;
  for (let d = found; d >= 0; d--) {
    const saved = trace[d] as Int32Array;
    const at = (k: number): number => saved[k + d] as number;
    const k = x - y;
    let prevK: number;
    if (d === 0) prevK = 0;
    else prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = d === 0 ? 0 : at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      x--;
      y--;
      reversed.push({ op: 'equal', a: a0 + x, b: b0 + y });
    }
    if (d > 0) {
      if (x === prevX) reversed.push({ op: 'insert', b: b0 + prevY });
      else reversed.push({ op: 'delete', a: a0 + prevX });
      x = prevX;
      y = prevY;
    }
  }
  reversed.reverse();
  // Myers may interleave a run's deletes and inserts; put deletes first in each run.
  const ops: AlignOp[] = [];
  let run: AlignOp[] = [];
  const flush = (): void => {
    ops.push(...run.filter((op) => op.op === 'delete'), ...run.filter((op) => op.op === 'insert'));
    run = [];
  };
  for (const op of reversed) {
    if (op.op === 'equal') {
      flush();
      ops.push(op);
    } else run.push(op);
  }
  flush();
  return ops;
}

function emptyDifference(kind: DifferenceKind, a: Conversation | null, b: Conversation | null): Difference {
  return {
    kind,
    connA: a?.id ?? null,
    connB: b?.id ?? null,
    dir: null,
    type: null,
    indexA: null,
    indexB: null,
    from: null,
    to: null,
    changes: null,
    gapA: null,
    gapB: null,
    url: null,
  };
}

/** How the conversation ended: its end entry, else its first close frame, else null (open). */
export function closeOutcome(conversation: Conversation): CloseOutcome | null {
  if (conversation.end !== undefined && conversation.end !== null) return conversation.end;
  const close = conversation.frames.find((frame) => frame.type === 'close');
  if (close === undefined) return null;
  // RFC 6455 §7.1.5: a close frame without a status code counts as 1005.
  return { code: close.code ?? CloseCode.NoStatusReceived, reason: close.reason ?? '', closedBy: senderOf(close.dir) };
}

function sameOutcome(a: CloseOutcome | null, b: CloseOutcome | null, rules: IgnoreRules): boolean {
  if (a === null || b === null) return a === b;
  return a.code === b.code && a.closedBy === b.closedBy && maskText(a.reason, rules) === maskText(b.reason, rules);
}

/** Milliseconds from the previous frame (or the connection's start) to each frame; null if unknown. */
function gaps(conversation: Conversation): Array<number | null> {
  return conversation.frames.map((frame, position) => {
    const previous = position > 0 ? conversation.frames[position - 1]?.elapsed : conversation.start;
    return previous === undefined ? null : roundMs((frame.elapsed - previous) * 1000);
  });
}

function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** A difference and where it goes in the report: by position in A, then in B. */
interface Placed {
  difference: Difference;
  a: number;
  b: number;
}

/** Compare two conversations (one connection of each archive). */
export function diffConversations(a: Conversation, b: Conversation, settings: DiffSettings): Difference[] {
  const { rules } = settings;
  const tolerance = settings.timingToleranceMs;
  const gapsA = tolerance !== undefined ? gaps(a) : [];
  const gapsB = tolerance !== undefined ? gaps(b) : [];
  const placed: Placed[] = [];
  const changedCloses: Placed[] = [];

  const frameDifference = (kind: DifferenceKind, dir: Direction, frameA: DiffFrame | null, frameB: DiffFrame | null): Difference => ({
    ...emptyDifference(kind, a, b),
    dir,
    type: (frameA ?? frameB)?.type ?? null,
    indexA: frameA?.index ?? null,
    indexB: frameB?.index ?? null,
  });

  for (const dir of DIRECTIONS) {
    // Positions in the conversation's frame list, for this direction.
    const positionsA = positionsOf(a, dir);
    const positionsB = positionsOf(b, dir);
    const ids = new Map<string, number>();
    const intern = (frame: DiffFrame): number => {
      const key = frameKey(frame, rules);
      let id = ids.get(key);
      if (id === undefined) ids.set(key, (id = ids.size));
      return id;
    };
    const keysA = positionsA.map((p) => intern(a.frames[p] as DiffFrame));
    const keysB = positionsB.map((p) => intern(b.frames[p] as DiffFrame));

    let lastA = -0.5;
    let deletes: number[] = [];
    let inserts: number[] = [];
    const flushHunk = (): void => {
      // Added frames are placed after the hunk's removed ones (or after the last aligned frame).
      const lastDelete = deletes[deletes.length - 1];
      const anchor = lastDelete === undefined ? lastA : (positionsA[lastDelete] as number);
      for (const pair of pairHunk(deletes, inserts, positionsA, positionsB, a, b)) {
        const frameA = pair.a === undefined ? null : (a.frames[positionsA[pair.a] as number] as DiffFrame);
        const frameB = pair.b === undefined ? null : (b.frames[positionsB[pair.b] as number] as DiffFrame);
        const posA = pair.a === undefined ? anchor + 0.5 : (positionsA[pair.a] as number);
        const posB = pair.b === undefined ? -1 : (positionsB[pair.b] as number);
        if (frameA !== null && frameB !== null) {
          const mismatch = compareFrames(frameA, frameB, rules);
          if (mismatch === null) continue;
          const difference = {
            ...frameDifference('changed', dir, frameA, frameB),
            from: mismatch.expected,
            to: mismatch.actual,
            changes: mismatch.changes ?? null,
          };
          (frameA.type === 'close' ? changedCloses : placed).push({ difference, a: posA, b: posB });
        } else if (frameA !== null) {
          placed.push({ difference: { ...frameDifference('removed', dir, frameA, null), from: renderFrame(frameA) }, a: posA, b: posB });
        } else if (frameB !== null) {
          placed.push({ difference: { ...frameDifference('added', dir, null, frameB), to: renderFrame(frameB) }, a: posA, b: posB });
        }
      }
      lastA = anchor;
      deletes = [];
      inserts = [];
    };

    for (const op of alignSequences(keysA, keysB)) {
      if (op.op === 'delete') deletes.push(op.a);
      else if (op.op === 'insert') inserts.push(op.b);
      else {
        flushHunk();
        const posA = positionsA[op.a] as number;
        const posB = positionsB[op.b] as number;
        lastA = posA;
        if (tolerance === undefined) continue;
        const gapA = gapsA[posA] ?? null;
        const gapB = gapsB[posB] ?? null;
        if (gapA === null || gapB === null || Math.abs(gapB - gapA) <= tolerance) continue;
        const frameA = a.frames[posA] as DiffFrame;
        const frameB = b.frames[posB] as DiffFrame;
        placed.push({ difference: { ...frameDifference('timing', dir, frameA, frameB), from: gapA, to: gapB, gapA, gapB }, a: posA, b: posB });
      }
    }
    flushHunk();
  }

  placed.sort((x, y) => x.a - y.a || x.b - y.b);
  const differences = placed.map((item) => item.difference);
  const outcomeA = closeOutcome(a);
  const outcomeB = closeOutcome(b);
  if (!sameOutcome(outcomeA, outcomeB, rules)) {
    // The outcome line says what the close frames said; their frame-by-frame changes would repeat it.
    differences.push({ ...emptyDifference('close', a, b), from: outcomeA, to: outcomeB });
  } else {
    // Same outcome, different close frames (e.g. a different echo): report those frames.
    differences.push(...changedCloses.map((item) => item.difference));
  }
  return differences;
}

function positionsOf(conversation: Conversation, dir: Direction): number[] {
  const positions: number[] = [];
  conversation.frames.forEach((frame, position) => {
    if (frame.dir === dir) positions.push(position);
  });
  return positions;
}

/**
 * Within one gap between aligned frames: each removed frame is paired, in order, with the next
 * added frame of the same type (a changed frame); the rest stay removed or added. Indexes are
 * into the direction's lists.
 */
function pairHunk(
  deletes: readonly number[],
  inserts: readonly number[],
  positionsA: readonly number[],
  positionsB: readonly number[],
  a: Conversation,
  b: Conversation,
): Array<{ a?: number; b?: number }> {
  const pairs: Array<{ a?: number; b?: number }> = [];
  const used = new Set<number>();
  let next = 0;
  for (const del of deletes) {
    const type = (a.frames[positionsA[del] as number] as DiffFrame).type;
    let match = -1;
    for (let t = next; t < inserts.length; t++) {
      if ((b.frames[positionsB[inserts[t] as number] as number] as DiffFrame).type === type) {
        match = t;
        break;
      }
    }
    if (match === -1) pairs.push({ a: del });
    else {
      pairs.push({ a: del, b: inserts[match] });
      used.add(match);
      next = match + 1;
    }
  }
  inserts.forEach((ins, t) => {
    if (!used.has(t)) pairs.push({ b: ins });
  });
  return pairs;
}

/**
 * Compare two archives' WebSocket connections, paired in order (the first of A with the first of
 * B, ...). A connection without a partner is a `connections` difference.
 */
export function diffConnections(connsA: readonly Conversation[], connsB: readonly Conversation[], settings: DiffSettings): DiffResult {
  const differences: Difference[] = [];
  const pairs = Math.min(connsA.length, connsB.length);
  for (let i = 0; i < pairs; i++) differences.push(...diffConversations(connsA[i] as Conversation, connsB[i] as Conversation, settings));
  const extra = (conversation: Conversation, side: 'A' | 'B'): Difference => ({
    ...emptyDifference('connections', side === 'A' ? conversation : null, side === 'B' ? conversation : null),
    from: connsA.length,
    to: connsB.length,
    url: conversation.url,
  });
  for (const conversation of connsA.slice(pairs)) differences.push(extra(conversation, 'A'));
  for (const conversation of connsB.slice(pairs)) differences.push(extra(conversation, 'B'));
  const count = (conns: readonly Conversation[]): number => conns.slice(0, pairs).reduce((sum, c) => sum + c.frames.length, 0);
  return { differences, pairs, framesA: count(connsA), framesB: count(connsB) };
}

// ---------------------------------------------------------------------------------------------
// The human report

/**
 * `wstape diff`'s logic: compare two recorded WebSocket conversations and list what differs.
 * Pure: it takes the conversations (loaded by diff-archives.ts) and returns differences (the
 * report lines are diff-report.ts's plain functions of a difference).
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
 * Memory: the comparison works on FrameSets (diff-frames.ts): per frame a byte of direction and
 * type and a hash of its key (and its time with --timing-tolerance), 13-21 bytes;
 * the frames themselves are read back only for the differences reported. The alignment costs
 * O(D²) for D edits and gives up above MAX_EDITS (then the differing middle of the direction is
 * compared position by position); the differences of one connection pair are placed in order
 * before they are given out, about 40 bytes each.
 */
import type { FrameType } from '../format/schema.js';
import { CloseCode } from '../wire/close-codes.js';
import { DIRECTIONS, senderOf, type Direction } from '../wire/side.js';
import { alignBy, MAX_EDITS } from './align.js';
import { fromConversation, grown, type FrameSet } from './diff-frames.js';
import type { CloseOutcome, Conversation } from './diff-types.js';
import { compareFrames, maskText, renderFrame, type IgnoreRules, type JsonChange } from './match.js';

export type { CloseOutcome, Conversation, DiffFrame } from './diff-types.js';

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

export { alignBy, alignSequences, MAX_EDITS, type AlignOp, type AlignVisit } from './align.js';

function emptyDifference(kind: DifferenceKind, a: { id: string } | null, b: { id: string } | null): Difference {
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
  return close === undefined ? null : outcomeOfClose(close);
}

function outcomeOfClose(close: { code?: number | undefined; reason?: string | undefined; dir: Direction }): CloseOutcome {
  // RFC 6455 §7.1.5: a close frame without a status code counts as 1005.
  return { code: close.code ?? CloseCode.NoStatusReceived, reason: close.reason ?? '', closedBy: senderOf(close.dir) };
}

/** closeOutcome for a FrameSet. */
function setOutcome(set: FrameSet): CloseOutcome | null {
  if (set.end !== null) return set.end;
  return set.firstClose === null ? null : outcomeOfClose(set.firstClose);
}

function sameOutcome(a: CloseOutcome | null, b: CloseOutcome | null, rules: IgnoreRules): boolean {
  if (a === null || b === null) return a === b;
  return a.code === b.code && a.closedBy === b.closedBy && maskText(a.reason, rules) === maskText(b.reason, rules);
}

/** Milliseconds from the previous frame (or the connection's start) to frame `position`; null if unknown. */
function gapOf(set: FrameSet, position: number): number | null {
  const previous = position > 0 ? set.elapsed(position - 1) : set.start;
  return previous === undefined ? null : roundMs((set.elapsed(position) - previous) * 1000);
}

function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

const KINDS: readonly DifferenceKind[] = ['added', 'removed', 'changed', 'close', 'timing', 'connections'];

/**
 * The differences of one connection pair before they are reported, as columns: kind, direction,
 * the frames' positions (-1: none) and where each goes in the report, by position in A then in B
 * (added frames after the last removed or aligned frame of A: x.5).
 */
class Placed {
  length = 0;
  kind = new Uint8Array(64);
  dir = new Uint8Array(64);
  frameA = new Int32Array(64);
  frameB = new Int32Array(64);
  sortA = new Float64Array(64);
  sortB = new Float64Array(64);

  push(kind: DifferenceKind, dir: Direction, frameA: number, frameB: number, sortA: number, sortB: number): void {
    if (this.length === this.kind.length) this.#grow();
    const at = this.length++;
    this.kind[at] = KINDS.indexOf(kind);
    this.dir[at] = dir === 'in' ? 1 : 0;
    this.frameA[at] = frameA;
    this.frameB[at] = frameB;
    this.sortA[at] = sortA;
    this.sortB[at] = sortB;
  }

  #grow(): void {
    const size = this.kind.length * 2;
    this.kind = grown(this.kind, new Uint8Array(size));
    this.dir = grown(this.dir, new Uint8Array(size));
    this.frameA = grown(this.frameA, new Int32Array(size));
    this.frameB = grown(this.frameB, new Int32Array(size));
    this.sortA = grown(this.sortA, new Float64Array(size));
    this.sortB = grown(this.sortB, new Float64Array(size));
  }

  /** Positions in report order. */
  order(): Uint32Array {
    const order = new Uint32Array(this.length).map((_, at) => at);
    return order.sort((x, y) => (this.sortA[x] as number) - (this.sortA[y] as number) || (this.sortB[x] as number) - (this.sortB[y] as number) || x - y);
  }
}

/** Compare two conversations (one connection of each archive). */
export function diffConversations(a: Conversation, b: Conversation, settings: DiffSettings): Difference[] {
  const timing = settings.timingToleranceMs !== undefined;
  return [...diffFrameSets(fromConversation(a, settings.rules, timing), fromConversation(b, settings.rules, timing), settings)];
}

/** Positions of one direction's frames in a set. */
function positionsOf(set: FrameSet, dir: Direction): Int32Array {
  let count = 0;
  for (let p = 0; p < set.length; p++) if (set.dir(p) === dir) count++;
  const positions = new Int32Array(count);
  let at = 0;
  for (let p = 0; p < set.length; p++) if (set.dir(p) === dir) positions[at++] = p;
  return positions;
}

/**
 * Compare two connections' FrameSets (see the file comment), the differences in report order.
 * With `settings.timingToleranceMs`, both sets must have been made with timing.
 */
export function* diffFrameSets(a: FrameSet, b: FrameSet, settings: DiffSettings): Generator<Difference> {
  const { rules } = settings;
  const tolerance = settings.timingToleranceMs;
  const placed = new Placed();
  const changedCloses = new Placed();

  for (const dir of DIRECTIONS) {
    const positionsA = positionsOf(a, dir);
    const positionsB = positionsOf(b, dir);
    let lastA = -0.5;
    let deletes: number[] = [];
    let inserts: number[] = [];
    const flushHunk = (): void => {
      // Added frames are placed after the hunk's removed ones (or after the last aligned frame).
      const lastDelete = deletes[deletes.length - 1];
      const anchor = lastDelete === undefined ? lastA : (positionsA[lastDelete] as number);
      for (const pair of pairHunk(deletes, inserts, positionsA, positionsB, a, b)) {
        const frameA = pair.a === undefined ? -1 : (positionsA[pair.a] as number);
        const frameB = pair.b === undefined ? -1 : (positionsB[pair.b] as number);
        const posA = pair.a === undefined ? anchor + 0.5 : frameA;
        const posB = pair.b === undefined ? -1 : frameB;
        if (frameA !== -1 && frameB !== -1) (a.type(frameA) === 'close' ? changedCloses : placed).push('changed', dir, frameA, frameB, posA, posB);
        else placed.push(frameA !== -1 ? 'removed' : 'added', dir, frameA, frameB, posA, posB);
      }
      lastA = anchor;
      deletes = [];
      inserts = [];
    };

    alignBy(
      positionsA.length,
      positionsB.length,
      (i, j) => a.same(positionsA[i] as number, b, positionsB[j] as number),
      MAX_EDITS,
      (op, i, j) => {
        if (op === 'delete') deletes.push(i);
        else if (op === 'insert') inserts.push(j);
        else {
          flushHunk();
          const posA = positionsA[i] as number;
          const posB = positionsB[j] as number;
          lastA = posA;
          if (tolerance === undefined) return;
          const gapA = gapOf(a, posA);
          const gapB = gapOf(b, posB);
          if (gapA === null || gapB === null || Math.abs(gapB - gapA) <= tolerance) return;
          placed.push('timing', dir, posA, posB, posA, posB);
        }
      },
    );
    flushHunk();
  }

  for (const at of placed.order()) {
    const difference = placedDifference(placed, at, a, b, rules);
    if (difference !== null) yield difference;
  }
  const outcomeA = setOutcome(a);
  const outcomeB = setOutcome(b);
  if (!sameOutcome(outcomeA, outcomeB, rules)) {
    // The outcome line says what the close frames said; their frame-by-frame changes would repeat it.
    yield { ...emptyDifference('close', a, b), from: outcomeA, to: outcomeB };
  } else {
    // Same outcome, different close frames (e.g. a different echo): report those frames.
    for (let at = 0; at < changedCloses.length; at++) {
      const difference = placedDifference(changedCloses, at, a, b, rules);
      if (difference !== null) yield difference;
    }
  }
}

/** A placed difference as reported; null for a changed pair that compares equal after all. */
function placedDifference(placed: Placed, at: number, a: FrameSet, b: FrameSet, rules: IgnoreRules): Difference | null {
  const kind = KINDS[placed.kind[at] as number] as DifferenceKind;
  const dir: Direction = placed.dir[at] === 1 ? 'in' : 'out';
  const posA = placed.frameA[at] as number;
  const posB = placed.frameB[at] as number;
  // Read back from the sets' store: only the frames of differences ever are.
  const frameA = posA !== -1 ? a.frame(posA) : null;
  const frameB = posB !== -1 ? b.frame(posB) : null;
  const base: Difference = {
    ...emptyDifference(kind, a, b),
    dir,
    type: (frameA ?? frameB)?.type ?? null,
    indexA: frameA?.index ?? null,
    indexB: frameB?.index ?? null,
  };
  if (kind === 'changed' && frameA !== null && frameB !== null) {
    const mismatch = compareFrames(frameA, frameB, rules);
    if (mismatch === null) return null;
    return { ...base, from: mismatch.expected, to: mismatch.actual, changes: mismatch.changes ?? null };
  }
  if (kind === 'removed' && frameA !== null) return { ...base, from: renderFrame(frameA) };
  if (kind === 'added' && frameB !== null) return { ...base, to: renderFrame(frameB) };
  const gapA = gapOf(a, posA);
  const gapB = gapOf(b, posB);
  return { ...base, from: gapA, to: gapB, gapA, gapB };
}

/**
 * Within one gap between aligned frames: each removed frame is paired, in order, with the next
 * added frame of the same type (a changed frame); the rest stay removed or added. Indexes are
 * into the direction's lists.
 */
function pairHunk(
  deletes: readonly number[],
  inserts: readonly number[],
  positionsA: Int32Array,
  positionsB: Int32Array,
  a: FrameSet,
  b: FrameSet,
): Array<{ a?: number; b?: number }> {
  const pairs: Array<{ a?: number; b?: number }> = [];
  const used = new Set<number>();
  let next = 0;
  for (const del of deletes) {
    const type = a.type(positionsA[del] as number);
    let match = -1;
    for (let t = next; t < inserts.length; t++) {
      if (b.type(positionsB[inserts[t] as number] as number) === type) {
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

/** What a comparison of all connection pairs counted, for the summary line. */
export interface DiffTally {
  /** Differences of each kind. */
  counts: Record<DifferenceKind, number>;
  pairs: number;
  framesA: number;
  framesB: number;
}

/**
 * Compare two archives' WebSocket connections, paired in order (the first of A with the first of
 * B, ...). A connection without a partner is a `connections` difference. `tally` is filled in as
 * the differences are given out.
 */
export function* diffAllFrameSets(setsA: readonly FrameSet[], setsB: readonly FrameSet[], settings: DiffSettings, tally: DiffTally): Generator<Difference> {
  const pairs = Math.min(setsA.length, setsB.length);
  tally.pairs = pairs;
  tally.framesA = setsA.slice(0, pairs).reduce((sum, set) => sum + set.length, 0);
  tally.framesB = setsB.slice(0, pairs).reduce((sum, set) => sum + set.length, 0);
  const counted = (difference: Difference): Difference => {
    tally.counts[difference.kind]++;
    return difference;
  };
  for (let i = 0; i < pairs; i++) for (const difference of diffFrameSets(setsA[i] as FrameSet, setsB[i] as FrameSet, settings)) yield counted(difference);
  const extra = (set: FrameSet, side: 'A' | 'B'): Difference => ({
    ...emptyDifference('connections', side === 'A' ? set : null, side === 'B' ? set : null),
    from: setsA.length,
    to: setsB.length,
    url: set.url,
  });
  for (const set of setsA.slice(pairs)) yield counted(extra(set, 'A'));
  for (const set of setsB.slice(pairs)) yield counted(extra(set, 'B'));
}

/** A tally with nothing counted yet. */
export function emptyTally(): DiffTally {
  return { counts: { added: 0, removed: 0, changed: 0, close: 0, timing: 0, connections: 0 }, pairs: 0, framesA: 0, framesB: 0 };
}

/** diffAllFrameSets over conversations held in memory, all differences at once. */
export function diffConnections(connsA: readonly Conversation[], connsB: readonly Conversation[], settings: DiffSettings): DiffResult {
  const timing = settings.timingToleranceMs !== undefined;
  const sets = (conns: readonly Conversation[]): FrameSet[] => conns.map((conversation) => fromConversation(conversation, settings.rules, timing));
  const tally = emptyTally();
  const differences = [...diffAllFrameSets(sets(connsA), sets(connsB), settings, tally)];
  return { differences, pairs: tally.pairs, framesA: tally.framesA, framesB: tally.framesB };
}

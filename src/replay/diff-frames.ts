/**
 * One connection's frames as `wstape diff` compares them, in a form that does not grow with the
 * payloads: per frame, its direction and type (one byte), a 96-bit hash of its match key (match.ts
 * frameKey, under the ignore rules) and, when timing is compared, its `elapsed`: 13 bytes a frame,
 * 21 with timing (and 4 more where the frame's JSON is kept in a file: its length). The alignment
 * needs nothing more; the frames themselves (their `index` too) are read back only for the
 * differences to report, from wherever the set keeps them: memory
 * (fromConversation, for callers that hold the frames anyway) or a temporary file
 * (SpilledFrameSetBuilder, for `wstape diff` over archives of any size).
 *
 * Two frames count as the same when their key hashes are equal. The keys are equal exactly when
 * compareFrames() finds the frames equal; the hashes are equal for different keys with odds of
 * about n² / 2^97 for n distinct frames (below 1 in 10^16 for a million).
 */
import { createHash } from 'node:crypto';
import { appendFileSync, closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { FrameType } from '../format/schema.js';
import type { Direction } from '../wire/side.js';
import type { CloseOutcome, Conversation, DiffFrame } from './diff-types.js';
import { frameKey, type IgnoreRules } from './match.js';

const TYPES: readonly FrameType[] = ['text', 'binary', 'continuation', 'close', 'ping', 'pong', 'reserved'];
const IN = 0x80;

/** What diff reads of a connection (see the file comment). */
export interface FrameSet {
  id: string;
  url: string;
  /** The connection entry's `elapsed`, for the first frame's gap. */
  start: number | undefined;
  /** The end entry's outcome; null when there is none. */
  end: CloseOutcome | null;
  /** The first close frame, for the outcome of a connection without an end entry. */
  firstClose: { code: number | undefined; reason: string | undefined; dir: Direction } | null;
  readonly length: number;
  dir(position: number): Direction;
  type(position: number): FrameType;
  /** Seconds; only when the set was made with timing. */
  elapsed(position: number): number;
  /** True when frame `position` and `other`'s frame `otherPosition` have the same key. */
  same(position: number, other: FrameSet, otherPosition: number): boolean;
  /** The frame itself. */
  frame(position: number): DiffFrame;
  /** The key hashes, three words a frame (for same()). */
  readonly hashes: Uint32Array;
}

/** The first 96 bits of the MD5 of a frame's key, into `out` at `at`. */
function hashKey(key: string, out: Uint32Array, at: number): void {
  const digest = createHash('md5').update(key).digest();
  out[at] = digest.readUInt32LE(0);
  out[at + 1] = digest.readUInt32LE(4);
  out[at + 2] = digest.readUInt32LE(8);
}

/** `next` (a larger typed array) with `old`'s values at its start. */
export function grown<T extends Uint8Array | Int32Array | Uint32Array | Float64Array>(old: T, next: T): T {
  next.set(old);
  return next;
}

/** Growable typed arrays of the compact fields. */
class Columns {
  length = 0;
  // Small to start with: an archive may hold thousands of short connections.
  dirType = new Uint8Array(64);
  hashes = new Uint32Array(3 * 64);
  elapsed: Float64Array | null;

  constructor(timing: boolean) {
    this.elapsed = timing ? new Float64Array(64) : null;
  }

  push(frame: DiffFrame, rules: IgnoreRules): void {
    if (this.length === this.dirType.length) this.#grow();
    const at = this.length++;
    this.dirType[at] = TYPES.indexOf(frame.type) | (frame.dir === 'in' ? IN : 0);
    hashKey(frameKey(frame, rules), this.hashes, 3 * at);
    if (this.elapsed !== null) this.elapsed[at] = frame.elapsed;
  }

  #grow(): void {
    const size = this.dirType.length * 2;
    this.dirType = grown(this.dirType, new Uint8Array(size));
    this.hashes = grown(this.hashes, new Uint32Array(3 * size));
    if (this.elapsed !== null) this.elapsed = grown(this.elapsed, new Float64Array(size));
  }
}

/** The FrameSet methods over Columns; `read` gives a frame back. */
function frameSet(info: Pick<FrameSet, 'id' | 'url' | 'start' | 'end' | 'firstClose'>, columns: Columns, read: (position: number) => DiffFrame): FrameSet {
  const { dirType, hashes, elapsed, length } = columns;
  return {
    ...info,
    length,
    hashes,
    dir: (p) => (((dirType[p] as number) & IN) !== 0 ? 'in' : 'out'),
    type: (p) => TYPES[(dirType[p] as number) & 0x7f] as FrameType,
    elapsed: (p) => elapsed?.[p] ?? NaN,
    same: (p, other, q) => {
      const h = other.hashes;
      return hashes[3 * p] === h[3 * q] && hashes[3 * p + 1] === h[3 * q + 1] && hashes[3 * p + 2] === h[3 * q + 2];
    },
    frame: read,
  };
}

function firstCloseOf(frame: DiffFrame): FrameSet['firstClose'] {
  return { code: frame.code, reason: frame.reason, dir: frame.dir };
}

/** A conversation held in memory, as a FrameSet. */
export function fromConversation(conversation: Conversation, rules: IgnoreRules, timing: boolean): FrameSet {
  const columns = new Columns(timing);
  let firstClose: FrameSet['firstClose'] = null;
  for (const frame of conversation.frames) {
    columns.push(frame, rules);
    if (firstClose === null && frame.type === 'close') firstClose = firstCloseOf(frame);
  }
  const info = { id: conversation.id, url: conversation.url, start: conversation.start, end: conversation.end ?? null, firstClose };
  return frameSet(info, columns, (p) => conversation.frames[p] as DiffFrame);
}

/** One frame in this many has its file offset kept; the others' are summed from their lengths. */
const CHECKPOINT = 64;

/** Text of frames held before it is appended to the connection's file (per open connection). */
const BUFFER_CHARS = 16 * 1024;

/**
 * A connection's FrameSet built as its frames stream by, the frames written to a file of their
 * own in `dir` (made by the caller with mkdtemp: 0700, and removed by it), read back by offset.
 */
export class SpilledFrameSetBuilder {
  readonly #path: string;
  readonly #rules: IgnoreRules;
  readonly #columns: Columns;
  /** Bytes of each frame's JSON in the file, and the offset of every CHECKPOINT-th frame. */
  #lengths = new Uint32Array(64);
  #checkpoints = new Float64Array(1);
  #bytes = 0;
  #buffer = '';
  readonly info: Pick<FrameSet, 'id' | 'url' | 'start' | 'end' | 'firstClose'>;

  constructor(dir: string, info: { id: string; url: string; start: number | undefined }, rules: IgnoreRules, timing: boolean) {
    this.#path = join(dir, `${encodeURIComponent(info.id)}.frames`);
    this.#rules = rules;
    this.#columns = new Columns(timing);
    this.info = { ...info, end: null, firstClose: null };
  }

  push(frame: DiffFrame): void {
    const position = this.#columns.length;
    this.#columns.push(frame, this.#rules);
    if (this.info.firstClose === null && frame.type === 'close') this.info.firstClose = firstCloseOf(frame);
    if (position === this.#lengths.length) this.#lengths = grown(this.#lengths, new Uint32Array(this.#lengths.length * 2));
    if (position % CHECKPOINT === 0) {
      const at = position / CHECKPOINT;
      if (at === this.#checkpoints.length) this.#checkpoints = grown(this.#checkpoints, new Float64Array(this.#checkpoints.length * 2));
      this.#checkpoints[at] = this.#bytes;
    }
    const json = JSON.stringify(frame);
    const bytes = Buffer.byteLength(json);
    this.#lengths[position] = bytes;
    this.#bytes += bytes;
    this.#buffer += json;
    if (this.#buffer.length >= BUFFER_CHARS) this.#flush();
  }

  #flush(): void {
    if (this.#buffer === '') return;
    appendFileSync(this.#path, this.#buffer, { mode: 0o600 });
    this.#buffer = '';
  }

  /**
   * The set, reading frames back from the file; each read opens and closes it, so that a diff
   * of thousands of differing connections holds no descriptor between reads.
   */
  finish(): FrameSet {
    this.#flush();
    const lengths = this.#lengths;
    const checkpoints = this.#checkpoints;
    const read = (p: number): DiffFrame => {
      // The offset: the checkpoint before it, plus the lengths of the frames between.
      let start = checkpoints[Math.floor(p / CHECKPOINT)] as number;
      for (let q = p - (p % CHECKPOINT); q < p; q++) start += lengths[q] as number;
      const bytes = Buffer.alloc(lengths[p] as number);
      const fd = openSync(this.#path, 'r');
      try {
        readSync(fd, bytes, 0, bytes.length, start);
      } finally {
        closeSync(fd);
      }
      return JSON.parse(bytes.toString('utf8')) as DiffFrame;
    };
    return frameSet(this.info, this.#columns, read);
  }
}

/**
 * The conversations `wstape diff` compares (diff.ts), in their own file so that diff.ts and
 * diff-frames.ts, which both use them, do not import each other.
 */
import type { Closer } from '../format/schema.js';
import type { Direction } from '../wire/side.js';
import type { FrameView } from './match.js';

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

/**
 * The conversation types `wstape diff` compares (a connection's frames and how it ended), apart
 * from diff.ts so that the frame stores (diff-frames.ts) and the comparison can both use them.
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

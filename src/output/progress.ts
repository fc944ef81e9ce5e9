/**
 * The progress line of long work (show, list, stats, export, import, redact, diff over a large
 * input): one line on stderr, `wstape show: 312 MiB of 1.0 GiB (30%), 95 MiB/s, 7 s left`,
 * redrawn in place (carriage return, erase line) at most every REDRAW_MS, and erased when the
 * work ends, so what is left on the terminal is what the command printed.
 *
 * Driven by bytes read: the caller says how many bytes the input holds and, as it reads, how many
 * it has read (ArchiveReader.bytesRead, or a byte count of its own). It draws only when stderr is
 * a terminal, without --quiet, not with TERM=dumb (no cursor control), and for inputs of at least
 * PROGRESS_MIN_BYTES; NO_COLOR does not stop it (it is not colour: the line has no colour codes).
 */
import type { Io, OutputStream } from '../io.js';
import { formatSize } from './units.js';

/** Inputs smaller than this are read too fast for a progress line to help. */
export const PROGRESS_MIN_BYTES = 8 * 1024 * 1024;
/** The shortest time between two redraws. */
export const REDRAW_MS = 200;

/** ECMA-48: CR to the line's start, then EL (CSI 2 K) erases the whole line. */
const ERASE_LINE = '\r\u001b[2K';

export interface Progress {
  /** Bytes read so far; redraws when REDRAW_MS have passed since the last draw. */
  update(bytesRead: number): void;
  /** Erase the line (before a warning is printed, say); the next update draws it again. */
  clear(): void;
  /** The work is over: erase the line, and draw no more. */
  done(): void;
}

export interface ProgressOptions {
  /** What is working, e.g. "show" (the line starts `wstape show:`). */
  label: string;
  /** Bytes in the input; NaN or 0 when unknown (then no line is drawn). */
  total: number;
  /** --quiet: no line. */
  quiet?: boolean | undefined;
  /**
   * The command writes to stdout while it reads (show): no line when stdout is a terminal too,
   * where the two would mix. Commands that print at the end (stats, list) or to a file draw it.
   */
  liveStdout?: boolean | undefined;
  /** Milliseconds now; tests pass a fake clock. */
  now?: () => number;
}

const NO_PROGRESS: Progress = { update: () => {}, clear: () => {}, done: () => {} };

/** Whether a progress line may be drawn at all for this io and these options. */
export function progressWanted(io: Pick<Io, 'stderr' | 'env'> & Partial<Pick<Io, 'stdout'>>, options: Omit<ProgressOptions, 'label' | 'now'>): boolean {
  if (options.quiet === true || io.stderr.isTTY !== true || io.env.TERM === 'dumb') return false;
  if (options.liveStdout === true && io.stdout?.isTTY === true) return false;
  return Number.isFinite(options.total) && options.total >= PROGRESS_MIN_BYTES;
}

/** Seconds as `7 s`, `2 min 05 s`, `1 h 03 min`. */
function formatEta(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** The text of the line (without the erase), for tests and for the drawing below. */
export function progressText(label: string, read: number, total: number, elapsedMs: number): string {
  const percent = Math.min(100, Math.floor((read / total) * 100));
  const rate = elapsedMs > 0 ? read / (elapsedMs / 1000) : 0;
  const parts = [`wstape ${label}: ${formatSize(read)} of ${formatSize(total)} (${percent}%)`];
  if (rate > 0) {
    parts.push(`${formatSize(rate)}/s`);
    parts.push(`${formatEta(Math.max(0, total - read) / rate)} left`);
  }
  return parts.join(', ');
}

/** A line drawn on `stream` (a terminal): see the file comment. */
class TerminalProgress implements Progress {
  readonly #stream: OutputStream;
  readonly #label: string;
  readonly #total: number;
  readonly #now: () => number;
  readonly #started: number;
  #lastDraw = -Infinity;
  #shown = false;
  #over = false;

  constructor(stream: OutputStream, options: ProgressOptions) {
    this.#stream = stream;
    this.#label = options.label;
    this.#total = options.total;
    this.#now = options.now ?? Date.now;
    this.#started = this.#now();
  }

  update(bytesRead: number): void {
    if (this.#over) return;
    const now = this.#now();
    // The first update draws at once (so every large input shows the line), later ones throttled.
    if (now - this.#lastDraw < REDRAW_MS) return;
    this.#lastDraw = now;
    this.#shown = true;
    this.#stream.write(`${ERASE_LINE}${progressText(this.#label, bytesRead, this.#total, now - this.#started)}`);
  }

  clear(): void {
    if (!this.#shown) return;
    this.#shown = false;
    // Drawn again at the next update, however soon.
    this.#lastDraw = -Infinity;
    this.#stream.write(ERASE_LINE);
  }

  done(): void {
    this.clear();
    this.#over = true;
  }
}

/** Start a progress line, or one that draws nothing when progressWanted says no. */
export function startProgress(io: Pick<Io, 'stderr' | 'env'> & Partial<Pick<Io, 'stdout'>>, options: ProgressOptions): Progress {
  return progressWanted(io, options) ? new TerminalProgress(io.stderr, options) : NO_PROGRESS;
}

/** The yargs option every reading command takes to turn the progress line off. */
export const QUIET_OPTION = {
  alias: 'q',
  type: 'boolean',
  describe: 'No progress line on stderr (it shows on a terminal for inputs of 8 MiB or more)',
} as const;

/**
 * The `===` lines of `wstape show`'s pretty view: which URL each connection is, and when and how
 * it ended, worded as the live view of `wstape record` and the Markdown export word them (the
 * lines are formatConnectionLine's, frame-line.ts):
 *
 *   [10:30:00.100] c1 === ws://127.0.0.1:9000/chat 101 (permessage-deflate)
 *   [10:30:00.123] c1 --> {"type":"join"}
 *   [10:30:12.400] c1 === closed 1000 Normal closure "bye" by server (clean) (3 B out, 5 B in) after 12.3 s, 40 frames
 *
 * Which lines are printed follows the filters:
 * - --conn: only the selected connections have lines.
 * - without filters on what a frame holds (--dir, --type, --grep, --hide-heartbeats), every
 *   selected connection's start and end lines within --since/--until come where they happened;
 * - with them, a connection has lines only when at least one of its rows is printed: its start
 *   line comes just before its first row, its end line where it happened.
 * In both cases a row or end line never comes without its connection's start line first, even when
 * the connection started before --since. End lines count the frames only when every frame of the
 * connection was read (no --dir or --type, which let show skip archive lines unparsed).
 * No I/O: the caller prints the lines it is given.
 */
import type { ConnectionEntry, EndEntry } from '../format/schema.js';
import type { FrameFilter, TimeBound } from '../inspect/frame-filter.js';
import { formatConnectionLine, type LineOptions } from './frame-line.js';

interface Open {
  entry: ConnectionEntry;
  printed: boolean;
  frames: number;
}

export interface ConnectionNotesOptions {
  filter: FrameFilter;
  /** --hide-heartbeats: rows are left out by what they hold. */
  hideHeartbeats: boolean;
  /** --where: rows are left out by what they hold (and, with a frame field, frames are read anyway). */
  where?: boolean;
  line: LineOptions;
}

function within(entry: { time: string; elapsed: number }, since: TimeBound | undefined, until: TimeBound | undefined): boolean {
  const compare = (bound: TimeBound): number => {
    if (bound.kind === 'elapsed') return entry.elapsed - bound.seconds;
    const ms = Date.parse(entry.time);
    return Number.isNaN(ms) ? 0 : ms - bound.ms;
  };
  return (since === undefined || compare(since) >= 0) && (until === undefined || compare(until) <= 0);
}

/** Decides, entry by entry, which `===` lines go out (see the file comment). */
export class ConnectionNotes {
  readonly #options: ConnectionNotesOptions;
  /** True when no filter looks inside frames: every selected connection gets its lines. */
  readonly #eager: boolean;
  /** True when every frame of a selected connection is read, so end lines can count them. */
  readonly #counts: boolean;
  readonly #open = new Map<string, Open>();

  constructor(options: ConnectionNotesOptions) {
    this.#options = options;
    const { filter } = options;
    this.#counts = filter.dir === undefined && filter.types === undefined;
    this.#eager = this.#counts && filter.grep === undefined && !options.hideHeartbeats && options.where !== true;
  }

  #selected(conn: string): boolean {
    const conns = this.#options.filter.conns;
    return conns === undefined || conns.has(conn);
  }

  #inWindow(entry: { time: string; elapsed: number }): boolean {
    return within(entry, this.#options.filter.since, this.#options.filter.until);
  }

  /**
   * A connection entry: its line, when it is printed now. `now` false (--tail keeps rows for
   * later) only notes it: its line then comes before its first row (beforeRow).
   */
  connection(entry: ConnectionEntry, now = true): string[] {
    if (!this.#selected(entry.id)) return [];
    const open: Open = { entry, printed: false, frames: 0 };
    this.#open.set(entry.id, open);
    if (!now || !this.#eager || !this.#inWindow(entry)) return [];
    open.printed = true;
    return [formatConnectionLine(entry, this.#options.line)];
  }

  /** A frame was read (printed or not), for the end line's count. */
  frame(conn: string): void {
    const open = this.#open.get(conn);
    if (open !== undefined) open.frames++;
  }

  /** A row of `conn` is about to be printed: its connection's line first, if not printed yet. */
  beforeRow(conn: string): string[] {
    const open = this.#open.get(conn);
    if (open === undefined || open.printed) return [];
    open.printed = true;
    return [formatConnectionLine(open.entry, this.#options.line)];
  }

  /**
   * An end entry: the lines it prints (its connection's first, when that is still to come).
   * `now` false (--tail keeps rows for later) prints nothing and keeps the connection for
   * beforeRow, since its rows are printed after its end.
   */
  end(entry: EndEntry, now = true): string[] {
    const open = this.#open.get(entry.conn);
    if (open === undefined || !now) return [];
    this.#open.delete(entry.conn);
    if (!open.printed && !(this.#eager && this.#inWindow(entry))) return [];
    const lines = open.printed ? [] : [formatConnectionLine(open.entry, this.#options.line)];
    const summary = { seconds: Math.max(0, entry.elapsed - open.entry.elapsed), ...(this.#counts ? { frames: open.frames } : {}) };
    lines.push(formatConnectionLine(entry, this.#options.line, summary));
    return lines;
  }
}

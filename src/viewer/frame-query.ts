/**
 * A connection's frames as the viewer lists them, and the filters over them, composed as `show`
 * composes its options (all must hold): direction, frame type (text, binary, control), content
 * search (plain or regex, case-insensitive), time range, hide heartbeats, and messages instead of
 * frames. No DOM: tested through the page, kept apart so the rules read in one place.
 *
 * Where a frame stands in its message (RFC 6455 §5.4) is src/wire/message-assembler.ts's
 * MessageTracker, as for `show` and `hexdump`: it tells a continuation of a text message from one
 * of a binary message, and which frames a joined message replaces.
 */
import { MessageTracker, type FramePlace } from '../wire/message-assembler.js';
import { streamKey } from '../wire/side.js';
import type { ViewerFrame } from './model.js';

export interface FrameQuery {
  dir: 'all' | 'out' | 'in';
  text: boolean;
  binary: boolean;
  control: boolean;
  search: string;
  regex: boolean;
  /** Seconds since the recording started, or an ISO 8601 time, as `show --since` takes them; '' for none. */
  since: string;
  until: string;
  hideHeartbeats: boolean;
  messages: boolean;
}

export const DEFAULT_QUERY: FrameQuery = {
  dir: 'all',
  text: true,
  binary: true,
  control: true,
  search: '',
  regex: false,
  since: '',
  until: '',
  hideHeartbeats: false,
  messages: false,
};

/** A row of the frame list: a frame, or a joined message in messages mode. */
export interface ListedFrame {
  frame: ViewerFrame;
  place: FramePlace;
}

/** One connection's frames, in capture order, with where each stands in its message. */
export class ConnFrames {
  readonly frames: ListedFrame[] = [];
  /** Joined messages (fragmented or unfinished), by their final frame's index. */
  readonly #joined = new Map<number, ViewerFrame>();
  readonly #tracker = new MessageTracker();

  add(frame: ViewerFrame): void {
    this.frames.push({ frame, place: this.#tracker.place(frame, streamKey(frame.conn, frame.dir)) });
  }

  addMessage(message: ViewerFrame): void {
    this.#joined.set(message.lastIndex ?? message.index, message);
  }

  /** The rows of messages mode: whole messages, joined ones where their last frame was, control frames. */
  messages(): ListedFrame[] {
    const rows: ListedFrame[] = [];
    for (const listed of this.frames) {
      const joined = this.#joined.get(listed.frame.index);
      if (joined !== undefined && joined.dir === listed.frame.dir) {
        rows.push({ frame: joined, place: listed.place });
        continue;
      }
      const position = listed.place.position;
      if (position === 'first' || position === 'middle' || position === 'final') continue;
      rows.push(listed);
    }
    return rows;
  }
}

type TimeBound = { kind: 'elapsed'; seconds: number } | { kind: 'wall'; ms: number };

/** `12.5`, `+12.5s` (seconds since the start) or an ISO 8601 time; null for ''; throws on anything else. */
export function parseTimeBound(value: string, name: string): TimeBound | null {
  const text = value.trim();
  if (text === '') return null;
  const seconds = /^\+?(\d+(?:\.\d+)?)s?$/.exec(text);
  if (seconds !== null) return { kind: 'elapsed', seconds: Number(seconds[1]) };
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new Error(`${name}: give seconds since the start (12.5) or an ISO 8601 time`);
  return { kind: 'wall', ms };
}

function compareTime(frame: ViewerFrame, bound: TimeBound): number {
  if (bound.kind === 'elapsed') return frame.elapsed - bound.seconds;
  const ms = Date.parse(frame.time);
  return Number.isNaN(ms) ? 0 : ms - bound.ms;
}

/** What a search is tested against: the text, or the bytes read as latin1 (as `show --grep`), and a close reason. */
function searchableText(frame: ViewerFrame): string {
  const body = frame.text ?? (frame.data !== undefined ? atob(frame.data) : '');
  return frame.reason !== undefined ? `${body}\n${frame.reason}` : body;
}

export interface QueryResult {
  rows: ListedFrame[];
  /** A filter that could not be read (a bad regex or time); it is then not applied. */
  error: string | null;
}

/** A query made ready to test rows: its search compiled, its times parsed. */
export interface CompiledQuery {
  test: (listed: ListedFrame) => boolean;
  /** A filter that could not be read (a bad regex or time); it is then not applied. */
  error: string | null;
}

export function compileQuery(query: FrameQuery): CompiledQuery {
  const errors: string[] = [];
  let match: ((text: string) => boolean) | null = null;
  if (query.search !== '') {
    if (query.regex) {
      try {
        const pattern = new RegExp(query.search, 'i');
        match = (text) => pattern.test(text);
      } catch (error) {
        errors.push(`search: ${(error as Error).message}`);
      }
    } else {
      const needle = query.search.toLowerCase();
      match = (text) => text.toLowerCase().includes(needle);
    }
  }
  const bound = (value: string, name: string): TimeBound | null => {
    try {
      return parseTimeBound(value, name);
    } catch (error) {
      errors.push((error as Error).message);
      return null;
    }
  };
  const since = bound(query.since, 'from');
  const until = bound(query.until, 'to');
  const test = ({ frame, place }: ListedFrame): boolean => {
    if (query.dir !== 'all' && frame.dir !== query.dir) return false;
    const type = place.messageType;
    if (type === 'text' ? !query.text : type === 'binary' ? !query.binary : place.position === 'orphan' ? !(query.text || query.binary) : !query.control) {
      return false;
    }
    if (query.hideHeartbeats && (frame.type === 'ping' || frame.type === 'pong' || frame.det?.heartbeat === true)) return false;
    if (since !== null && compareTime(frame, since) < 0) return false;
    if (until !== null && compareTime(frame, until) > 0) return false;
    if (match !== null && !match(searchableText(frame))) return false;
    return true;
  };
  return { test, error: errors.length > 0 ? errors.join('; ') : null };
}

/** The rows of `conn` that pass every filter of `query`. */
export function runQuery(conn: ConnFrames, query: FrameQuery): QueryResult {
  const compiled = compileQuery(query);
  const source = query.messages ? conn.messages() : conn.frames;
  return { rows: source.filter(compiled.test), error: compiled.error };
}

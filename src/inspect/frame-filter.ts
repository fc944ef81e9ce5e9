/**
 * Which frames (or, with --messages, which messages) `wstape show` prints: a plain filter value
 * built from the command-line options, and one pure predicate. Filters combine with AND; an absent
 * filter lets everything through.
 *
 * Shared by show, hexdump and export (src/har/export-scope.ts), and tested alone. What needs more
 * than one row to decide (--limit, --tail, --hide-heartbeats, which needs content detection) lives
 * in show's row sink.
 */
import { cliError } from '../errors.js';
import { frameTypeSchema, type FrameType } from '../format/schema.js';
import type { FrameLike } from '../output/frame-line.js';
import { payloadMatchString } from '../output/payload.js';

/** The names `--type` accepts: the archive's frame types. */
export const FRAME_TYPES: readonly FrameType[] = frameTypeSchema.options;

/** `--type` group names and the frame types each stands for. */
export const TYPE_GROUPS: Readonly<Record<'data' | 'control', readonly FrameType[]>> = {
  data: ['text', 'binary', 'continuation'],
  control: ['close', 'ping', 'pong'],
};

/** The filter options as the command line gives them (lists may hold comma-separated names). */
export interface FrameFilterSpec {
  conn?: readonly string[] | undefined;
  dir?: 'out' | 'in' | undefined;
  type?: readonly string[] | undefined;
  grep?: string | undefined;
  /** Make --grep case-insensitive (`-i`). */
  ignoreCase?: boolean | undefined;
  /** ISO 8601 time, or seconds since the recording started (`12.5`, `+12.5s`). */
  since?: string | number | undefined;
  until?: string | number | undefined;
}

/**
 * A point in time to compare frames with: a wall-clock instant (compared with the frame's `time`),
 * or seconds since the recording started (compared with its monotonic `elapsed`).
 */
export type TimeBound = { kind: 'wall'; ms: number } | { kind: 'elapsed'; seconds: number };

/** A validated filter. */
export interface FrameFilter {
  /** Connection ids to keep. */
  conns?: ReadonlySet<string>;
  dir?: 'out' | 'in';
  types?: ReadonlySet<FrameType>;
  /** Tested against the text payload, or the binary payload's bytes read as latin1. */
  grep?: RegExp;
  /** Frames at or after this time. */
  since?: TimeBound;
  /** Frames at or before this time. */
  until?: TimeBound;
}

/** Split `a,b` items and drop empty ones: `['a,b', 'c']` → `['a', 'b', 'c']`. */
export function splitList(values: readonly string[]): string[] {
  return values
    .flatMap((value) => value.split(','))
    .map((name) => name.trim())
    .filter((name) => name !== '');
}

/**
 * Validate `--type` names, expanding the groups `data` (text, binary, continuation) and `control`
 * (close, ping, pong); an unknown name is ERR_USAGE, naming the valid ones. No duplicates.
 */
export function parseFrameTypes(values: readonly string[]): FrameType[] {
  const types: FrameType[] = [];
  const add = (type: FrameType): void => {
    if (!types.includes(type)) types.push(type);
  };
  for (const name of splitList(values)) {
    const lower = name.toLowerCase();
    if (lower === 'data' || lower === 'control') {
      TYPE_GROUPS[lower].forEach(add);
      continue;
    }
    const type = FRAME_TYPES.find((candidate) => candidate === lower);
    if (type === undefined) {
      throw cliError('ERR_USAGE', `unknown frame type "${name}" for --type; valid types: ${FRAME_TYPES.join(', ')}, or the groups data, control`);
    }
    add(type);
  }
  return types;
}

/** Compile `--grep` (case-insensitive with `ignoreCase`); an invalid pattern is ERR_USAGE. */
export function parseGrep(pattern: string, ignoreCase = false, flag = '--grep'): RegExp {
  const i = ignoreCase ? 'i' : '';
  try {
    // No `g` flag: a global RegExp keeps lastIndex between test() calls.
    return new RegExp(pattern, `u${i}`);
  } catch {
    try {
      // Patterns valid only without the `u` flag (e.g. `\-` escapes) are still accepted.
      return new RegExp(pattern, i);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw cliError('ERR_USAGE', `invalid ${flag} pattern: ${detail}`);
    }
  }
}

/** Seconds: `12`, `12.5`, `+12.5s` (the form `--time rel` prints). */
const SECONDS = /^\+?(\d+(?:\.\d*)?|\.\d+)s?$/;
/** An ISO 8601 date, optionally with a time: `2026-11-25`, `2026-11-25T10:30:05.5Z`. */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * Parse `--since` / `--until`: a plain number of seconds since the recording started (`12.5`, or
 * `+12.5s` as `--time rel` shows it), or an ISO 8601 time (`2026-11-25T10:30:05Z`; without a zone
 * it is local time, as JavaScript reads it). Anything else is ERR_USAGE.
 */
export function parseTimeBound(value: string | number, flag: string): TimeBound {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return { kind: 'elapsed', seconds: value };
  } else {
    const text = value.trim();
    const seconds = SECONDS.exec(text);
    if (seconds?.[1] !== undefined) return { kind: 'elapsed', seconds: Number(seconds[1]) };
    if (ISO_DATE.test(text)) {
      const ms = Date.parse(text.replace(' ', 'T'));
      if (!Number.isNaN(ms)) return { kind: 'wall', ms };
    }
  }
  throw cliError(
    'ERR_USAGE',
    `invalid ${flag} "${String(value)}": give seconds since the recording started (e.g. 12.5) or an ISO 8601 time (e.g. 2026-11-25T10:30:05Z)`,
  );
}

/** Build a FrameFilter from command-line values, validating them. */
export function buildFrameFilter(spec: FrameFilterSpec): FrameFilter {
  const filter: FrameFilter = {};
  if (spec.conn !== undefined) {
    const conns = splitList(spec.conn);
    if (conns.length > 0) filter.conns = new Set(conns);
  }
  if (spec.dir !== undefined) filter.dir = spec.dir;
  if (spec.type !== undefined) {
    const types = parseFrameTypes(spec.type);
    if (types.length > 0) filter.types = new Set(types);
  }
  if (spec.grep !== undefined) filter.grep = parseGrep(spec.grep, spec.ignoreCase === true);
  if (spec.since !== undefined) filter.since = parseTimeBound(spec.since, '--since');
  if (spec.until !== undefined) filter.until = parseTimeBound(spec.until, '--until');
  return filter;
}

/** True when the frame passes every filter that is set. */
export function frameMatches(frame: FrameLike, filter: FrameFilter): boolean {
  if (filter.conns !== undefined && !filter.conns.has(frame.conn)) return false;
  if (filter.dir !== undefined && frame.dir !== filter.dir) return false;
  if (filter.types !== undefined && !filter.types.has(frame.type)) return false;
  if (filter.since !== undefined && compareTime(frame, filter.since) < 0) return false;
  if (filter.until !== undefined && compareTime(frame, filter.until) > 0) return false;
  if (filter.grep !== undefined && !grepMatches(frame, filter.grep)) return false;
  return true;
}

/** Negative when the frame is before the bound, 0 at it, positive after. */
function compareTime(frame: Pick<FrameLike, 'time' | 'elapsed'>, bound: TimeBound): number {
  if (bound.kind === 'elapsed') return frame.elapsed - bound.seconds;
  const ms = Date.parse(frame.time);
  // A frame whose time cannot be read is kept rather than silently dropped.
  return Number.isNaN(ms) ? 0 : ms - bound.ms;
}

function grepMatches(frame: FrameLike, pattern: RegExp): boolean {
  if (pattern.test(payloadMatchString(frame))) return true;
  // A close frame's reason is also in its payload, after the 2-byte code, but archives may keep
  // the reason field alone.
  return frame.reason !== undefined && pattern.test(frame.reason);
}

/** Frame metadata comes first on a line the recorder wrote; payloads come after it. */
const METADATA_BYTES = 512;
const FRAME_LINE = [Buffer.from('{"kind":"frame"'), Buffer.from(',{"kind":"frame"')];

/**
 * A pre-filter on raw archive lines for big archives: says true for a frame line that the filter
 * would drop, judged from its `"conn":`, `"dir":` and `"type":` fields without parsing the line.
 * It only ever says true on positive evidence: inside a JSON string a quote is escaped, so a raw
 * `"dir":"out"` can only be the frame's own field; a line written differently is simply parsed.
 * `types` is left out when the caller needs every frame of a message (reassembly, or judging a
 * continuation by its message).
 *
 * With `byType`, a literal `--grep` (no regex syntax, case-sensitive) also skips text frames whose
 * line cannot hold it: see {@link grepLineSkipper}. `stringified` says the lines are
 * JSON.stringify's output (wstape wrote the archive); without it that check costs more.
 */
export function frameLineSkipper(filter: FrameFilter, options: { byType: boolean; stringified?: boolean }): ((line: Buffer) => boolean) | undefined {
  const rejectDir = filter.dir === undefined ? null : Buffer.from(`"dir":"${filter.dir === 'out' ? 'in' : 'out'}"`);
  const types = options.byType && filter.types !== undefined ? filter.types : null;
  const conns = filter.conns ?? null;
  const lacksNeedle = options.byType && filter.grep !== undefined ? grepLineSkipper(filter.grep, options.stringified === true) : null;
  if (rejectDir === null && types === null && conns === null && lacksNeedle === null) return undefined;
  const typeKey = Buffer.from('"type":"');
  const connKey = Buffer.from('"conn":"');
  /** The string value after `key` within the metadata, or null when it is not there. */
  const valueAfter = (head: Buffer, key: Buffer): string | null => {
    const at = head.indexOf(key);
    if (at === -1) return null;
    const end = head.indexOf(0x22, at + key.length);
    return end === -1 ? null : head.toString('latin1', at + key.length, end);
  };
  return (line) => {
    if (!FRAME_LINE.some((prefix) => prefix.compare(line, 0, prefix.length) === 0)) return false;
    const head = line.subarray(0, METADATA_BYTES);
    if (rejectDir !== null && head.includes(rejectDir)) return true;
    const type = types !== null || lacksNeedle !== null ? valueAfter(head, typeKey) : null;
    if (types !== null && type !== null && !types.has(type as FrameType)) return true;
    if (conns !== null) {
      const conn = valueAfter(head, connKey);
      if (conn !== null && !conns.has(conn)) return true;
    }
    return lacksNeedle !== null && type === 'text' && lacksNeedle(line, head);
  };
}

const TEXT_FIELD = Buffer.from('"text":"');
const OPEN_BRACE = 0x7b;
const UNICODE_ESCAPE = Buffer.from('\\u');
const SLASH_ESCAPE = Buffer.from('\\/');
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * For a `--grep` that is a plain, case-sensitive literal: says true for a text frame's line that
 * cannot contain it, without parsing the line (on a big archive, most of `show`'s time is
 * JSON.parse and UTF-8 decoding of lines that the grep then drops). Returns null when the
 * pattern is not such a literal.
 *
 * The grep reads a frame's `text` when it has one (base64 `data` otherwise), so the skipper looks
 * for the frame's own `"text":"` key among the metadata (not a nested object's: no `{` between
 * the entry's opening brace and the key) and for the needle after it. JSON.stringify escapes each
 * UTF-16 unit of a string on its own (`"` → `\"`, a control character → `\n` or `\u00XX`, a lone
 * surrogate → `\uDXXX`, everything else as it is), so if the text contains the needle, a line
 * that JSON.stringify wrote contains the needle escaped the same way (for a needle without lone
 * surrogates). Other writers may escape more (`\u00e9`, `\/`); unless `stringified`, a text with
 * such an escape is parsed.
 */
function grepLineSkipper(pattern: RegExp, stringified: boolean): ((line: Buffer, head: Buffer) => boolean) | null {
  if (pattern.ignoreCase || /[\\^$.*+?()[\]{}|]/.test(pattern.source) || LONE_SURROGATE.test(pattern.source)) return null;
  const needle = Buffer.from(JSON.stringify(pattern.source).slice(1, -1));
  return (line, head) => {
    const key = head.indexOf(TEXT_FIELD);
    if (key === -1 || head.lastIndexOf(OPEN_BRACE, key) > 1) return false;
    const text = key + TEXT_FIELD.length;
    if (line.includes(needle, text)) return false;
    return stringified || (!line.includes(UNICODE_ESCAPE, text) && !line.includes(SLASH_ESCAPE, text));
  };
}

/**
 * Which frames `wstape show` prints: a plain filter value built from the command-line options,
 * and one pure predicate. Filters combine with AND; an absent filter lets everything through.
 *
 * Kept apart from show.ts so that later filters (time ranges, case-insensitive grep, data/control
 * groups, limits) extend FrameFilterSpec, FrameFilter and frameMatches here, tested alone.
 */
import { cliError } from '../errors.js';
import { frameTypeSchema, type FrameType } from '../format/schema.js';
import type { FrameLike } from '../output/frame-line.js';
import { payloadMatchString } from '../output/payload.js';

/** The names `--type` accepts: the archive's frame types. */
export const FRAME_TYPES: readonly FrameType[] = frameTypeSchema.options;

/** The filter options as the command line gives them (lists may hold comma-separated names). */
export interface FrameFilterSpec {
  conn?: readonly string[] | undefined;
  dir?: 'out' | 'in' | undefined;
  type?: readonly string[] | undefined;
  grep?: string | undefined;
}

/** A validated filter. */
export interface FrameFilter {
  /** Connection ids to keep. */
  conns?: ReadonlySet<string>;
  dir?: 'out' | 'in';
  types?: ReadonlySet<FrameType>;
  /** Tested against the text payload, or the binary payload's bytes read as latin1. */
  grep?: RegExp;
}

/** Split `a,b` items and drop empty ones: `['a,b', 'c']` → `['a', 'b', 'c']`. */
export function splitList(values: readonly string[]): string[] {
  return values.flatMap((value) => value.split(',')).map((name) => name.trim()).filter((name) => name !== '');
}

/** Validate `--type` names; an unknown name is ERR_USAGE, naming the valid ones. */
export function parseFrameTypes(values: readonly string[]): FrameType[] {
  const types: FrameType[] = [];
  for (const name of splitList(values)) {
    const type = FRAME_TYPES.find((candidate) => candidate === name.toLowerCase());
    if (type === undefined) {
      throw cliError('ERR_USAGE', `unknown frame type "${name}" for --type; valid types: ${FRAME_TYPES.join(', ')}`);
    }
    types.push(type);
  }
  return types;
}

/** Compile `--grep`; an invalid pattern is ERR_USAGE. */
export function parseGrep(pattern: string): RegExp {
  try {
    // No `g` flag: a global RegExp keeps lastIndex between test() calls.
    return new RegExp(pattern, 'u');
  } catch {
    try {
      // Patterns valid only without the `u` flag (e.g. `\-` escapes) are still accepted.
      return new RegExp(pattern);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw cliError('ERR_USAGE', `invalid --grep pattern: ${detail}`);
    }
  }
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
  if (spec.grep !== undefined) filter.grep = parseGrep(spec.grep);
  return filter;
}

/** True when the frame passes every filter that is set. */
export function frameMatches(frame: FrameLike, filter: FrameFilter): boolean {
  if (filter.conns !== undefined && !filter.conns.has(frame.conn)) return false;
  if (filter.dir !== undefined && frame.dir !== filter.dir) return false;
  if (filter.types !== undefined && !filter.types.has(frame.type)) return false;
  if (filter.grep !== undefined && !grepMatches(frame, filter.grep)) return false;
  return true;
}

function grepMatches(frame: FrameLike, pattern: RegExp): boolean {
  if (pattern.test(payloadMatchString(frame))) return true;
  // A close frame's reason is also in its payload, after the 2-byte code, but archives may keep
  // the reason field alone.
  return frame.reason !== undefined && pattern.test(frame.reason);
}

/**
 * Which part of an archive `wstape export` writes, shared by both formats (HAR and Markdown).
 * Built on the show filters (src/inspect/frame-filter.ts), with what they mean for the entries
 * that are not frames:
 *
 * - `--conn IDS` keeps those connections, HTTP exchanges and tunnels (any id).
 * - Frame filters (`--dir`, `--type`, `--grep`, `--since`, `--until`) keep the frames that match;
 *   a WebSocket connection is kept when at least one of its frames is (its handshake and close
 *   come along).
 * - HTTP exchanges and tunnels have no frames: with `--dir`, `--type` or `--grep` they are left
 *   out unless `--conn` names them; `--since` / `--until` keep those that started in the range.
 */
import { frameMatches, type FrameFilter, type TimeBound } from '../inspect/frame-filter.js';
import type { FrameLike } from '../output/frame-line.js';

export interface ExportScope {
  /** The validated show filter (its `conns` is the --conn list). */
  readonly filter: FrameFilter;
}

/** True when a filter selects frames by something other than their connection. */
export function filtersFrames(filter: FrameFilter): boolean {
  return filter.dir !== undefined || filter.types !== undefined || filter.grep !== undefined || filter.since !== undefined || filter.until !== undefined;
}

/** True when the id passes --conn (or there is none). */
export function keepsId(scope: ExportScope, id: string): boolean {
  return scope.filter.conns === undefined || scope.filter.conns.has(id);
}

/** Negative before the bound, 0 at it, positive after (as frame-filter compares frames). */
function compareTime(entry: { time: string; elapsed: number }, bound: TimeBound): number {
  if (bound.kind === 'elapsed') return entry.elapsed - bound.seconds;
  const ms = Date.parse(entry.time);
  return Number.isNaN(ms) ? 0 : ms - bound.ms;
}

/** Whether an HTTP exchange or tunnel is exported (see the header comment). */
export function keepsExchange(scope: ExportScope, entry: { id: string; time: string; elapsed: number }): boolean {
  const { filter } = scope;
  if (!keepsId(scope, entry.id)) return false;
  const named = filter.conns?.has(entry.id) === true;
  if (!named && (filter.dir !== undefined || filter.types !== undefined || filter.grep !== undefined)) return false;
  if (filter.since !== undefined && compareTime(entry, filter.since) < 0) return false;
  if (filter.until !== undefined && compareTime(entry, filter.until) > 0) return false;
  return true;
}

/** Whether one frame passes the filters (its connection was checked already). */
export function keepsFrame(scope: ExportScope, frame: FrameLike): boolean {
  return frameMatches(frame, scope.filter);
}

/** A one-line description of the filters, for the exported document: `--conn c1 --type text`. */
export function describeFilters(spec: {
  conn?: readonly string[] | undefined;
  dir?: string | undefined;
  type?: readonly string[] | undefined;
  grep?: string | undefined;
  ignoreCase?: boolean | undefined;
  since?: string | number | undefined;
  until?: string | number | undefined;
}): string {
  const parts: string[] = [];
  if (spec.conn !== undefined && spec.conn.length > 0) parts.push(`--conn ${spec.conn.join(',')}`);
  if (spec.dir !== undefined) parts.push(`--dir ${spec.dir}`);
  if (spec.type !== undefined && spec.type.length > 0) parts.push(`--type ${spec.type.join(',')}`);
  if (spec.grep !== undefined) parts.push(`--grep ${JSON.stringify(spec.grep)}${spec.ignoreCase === true ? ' -i' : ''}`);
  if (spec.since !== undefined) parts.push(`--since ${String(spec.since)}`);
  if (spec.until !== undefined) parts.push(`--until ${String(spec.until)}`);
  return parts.join(' ');
}

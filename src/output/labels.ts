/**
 * Labels the terminal views and the browser viewer (src/viewer/) print alike: how a time is
 * shown, and the kind badge of a connection. Pure, with no Node API, so the viewer imports them.
 */
import type { ListRow } from '../inspect/list-rows.js';

/**
 * How the time is shown: `clock` the local time of day (HH:MM:SS.mmm), `utc` the archive's ISO
 * 8601 UTC timestamp as stored, `rel` the seconds since the recording started (`+12.345678s`).
 */
export type TimeFormat = 'clock' | 'utc' | 'rel';
export const TIME_FORMATS: readonly TimeFormat[] = ['clock', 'utc', 'rel'];

/** The entry's time as the format asks. */
export function formatTimestamp(time: string, elapsed: number, format: TimeFormat = 'clock'): string {
  if (format === 'utc') return time;
  if (format === 'rel') return `+${elapsed.toFixed(6)}s`;
  const date = new Date(time);
  if (Number.isNaN(date.getTime())) return time;
  const pad = (value: number, width = 2): string => String(value).padStart(width, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

/** WS / WSS / HTTP / HTTPS / TUNNEL. */
export function kindBadge(row: Pick<ListRow, 'kind' | 'url'>): string {
  const secure = /^(wss|https):/i.test(row.url);
  switch (row.kind) {
    case 'websocket':
      return secure ? 'WSS' : 'WS';
    case 'http':
      return secure ? 'HTTPS' : 'HTTP';
    case 'tunnel':
      return 'TUNNEL';
  }
}

/**
 * The `wstape list` table: its columns, kind badges and cells (status and close coloured by
 * outcome).
 */
import type { ListRow } from '../inspect/list-rows.js';
import type { Palette } from './colors.js';
import { escapeText } from './payload.js';
import type { TableColumn } from './table.js';
import { formatDuration, formatSize } from './units.js';

/** The columns of the `wstape list` table. */
export const LIST_COLUMNS: TableColumn[] = [
  { title: 'ID' },
  { title: 'KIND' },
  { title: 'URL' },
  { title: 'STATUS', align: 'right' },
  { title: 'FRAMES OUT/IN', align: 'right' },
  { title: 'BYTES OUT/IN', align: 'right' },
  { title: 'DURATION', align: 'right' },
  { title: 'CLOSE' },
];

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

function statusCell(status: number | null, p: Palette): string {
  if (status === null) return '-';
  const text = String(status);
  if (status >= 500) return p.red(text);
  if (status >= 400) return p.yellow(text);
  return p.green(text);
}

function closeCell(row: ListRow, p: Palette): string {
  if (row.kind === 'http') return '-';
  if (row.closedBy === null) return p.yellow('open');
  if (row.closeCode === null) return `by ${row.closedBy}`;
  const text = `${row.closeCode} ${row.closedBy}`;
  return row.closeCode === 1006 ? p.red(text) : text;
}

/** One table row: the cells of a list row, coloured with `p`. */
export function listTableRow(row: ListRow, p: Palette): string[] {
  const isWebSocket = row.kind === 'websocket';
  return [
    p.bold(row.id),
    kindBadge(row),
    (row.method !== null ? `${escapeText(row.method)} ` : '') + escapeText(row.url),
    statusCell(row.status, p),
    (isWebSocket ? `${row.framesOut}/${row.framesIn}` : '-') + (row.changed > 0 ? ` ${p.magenta(`(${row.changed} changed)`)}` : ''),
    `${formatSize(row.bytesOut)}/${formatSize(row.bytesIn)}`,
    row.duration === null ? '-' : formatDuration(row.duration),
    closeCell(row, p),
  ];
}

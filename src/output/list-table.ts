/**
 * The `wstape list` table: its columns, kind badges and cells (status and close coloured by
 * outcome), and fitting it to a terminal's width by shortening the URL column in the middle
 * (`ws://host/very…/path`), so a row never wraps.
 */
import type { ListRow } from '../inspect/list-rows.js';
import { stripAnsi, type Palette } from './colors.js';
import { kindBadge } from './labels.js';
import { escapeText } from './payload.js';
import { renderTable, type TableColumn } from './table.js';
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

export { kindBadge } from './labels.js';

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

/** The index of the URL column in LIST_COLUMNS, the one shortened to fit. */
const URL_COLUMN = 2;
/** The URL column is never cut below this many characters, however narrow the terminal. */
const MIN_URL_WIDTH = 16;
/** Characters of a URL's end kept when it is shortened after its host. */
const MIN_TAIL = 8;

/**
 * `text` cut to `width` characters by taking out its middle: `ws://host/very…/path`. The start
 * (scheme and host) and the end (the last path segment, often the telling part) stay.
 */
export function shortenMiddle(text: string, width: number): string {
  const chars = [...text];
  if (chars.length <= width) return text;
  if (width <= 1) return '…'.slice(0, width);
  const kept = width - 1;
  // Keep the scheme and host whole (with the slash after them) when that leaves room for a tail.
  const origin = /^(?:[A-Z]+ )?[a-z][a-z0-9+.-]*:\/\/[^/]*\/?/i.exec(text)?.[0].length ?? 0;
  const head = Math.max(Math.ceil(kept / 2), Math.min(origin, kept - MIN_TAIL));
  return `${chars.slice(0, head).join('')}…${chars.slice(chars.length - (kept - head)).join('')}`;
}

function widest(text: string): number {
  return Math.max(0, ...text.split('\n').map((line) => [...stripAnsi(line)].length));
}

/**
 * The list table as text, no line wider than `width` columns when one is given (a terminal): the
 * URL cells are shortened in the middle by what the widest line is over, down to MIN_URL_WIDTH.
 * Without a width (a pipe, `--wide`) every value is whole.
 */
export function renderListTable(rows: readonly string[][], options: { color: boolean; width?: number | undefined }): string {
  const full = renderTable(LIST_COLUMNS, rows, { color: options.color });
  if (options.width === undefined) return full;
  const over = widest(full) - options.width;
  if (over <= 0) return full;
  const urlWidth = Math.max(...rows.map((row) => [...(row[URL_COLUMN] ?? '')].length), LIST_COLUMNS[URL_COLUMN]!.title.length);
  const budget = Math.max(MIN_URL_WIDTH, LIST_COLUMNS[URL_COLUMN]!.title.length, urlWidth - over);
  const fitted = rows.map((row) => row.map((cell, column) => (column === URL_COLUMN ? shortenMiddle(cell, budget) : cell)));
  return renderTable(LIST_COLUMNS, fitted, { color: options.color });
}

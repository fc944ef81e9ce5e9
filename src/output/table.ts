/**
 * Tables for list-style commands, through cli-table3. With colour (a TTY): a boxed table with a
 * bold cyan header. Without: a plain table of columns separated by two spaces, no borders and no
 * escape codes at all, so it can be piped to grep, cut or awk.
 *
 * cli-table3 would colour through its optional @colors/colors dependency, which makes its own
 * TTY decision; the style arrays are therefore always empty and the header is painted here.
 */
import Table from 'cli-table3';
import { makePalette } from './colors.js';

export type Align = 'left' | 'right' | 'center';

export interface TableColumn {
  /** Header text. */
  title: string;
  /** Default left. */
  align?: Align;
}

export interface RenderTableOptions {
  color: boolean;
}

const PLAIN_CHARS = {
  top: '',
  'top-mid': '',
  'top-left': '',
  'top-right': '',
  bottom: '',
  'bottom-mid': '',
  'bottom-left': '',
  'bottom-right': '',
  left: '',
  'left-mid': '',
  mid: '',
  'mid-mid': '',
  right: '',
  'right-mid': '',
  middle: '  ',
} as const;

/**
 * The rows under the columns' titles, as one string ending in a newline. Cells are strings
 * already formatted by the caller (they may hold colours when `options.color` is set).
 */
export function renderTable(columns: readonly TableColumn[], rows: readonly (readonly string[])[], options: RenderTableOptions): string {
  const p = makePalette(options.color);
  const colAligns = columns.map((column) => column.align ?? 'left');
  const table = options.color
    ? new Table({
        head: columns.map((column) => p.bold(p.cyan(column.title))),
        colAligns,
        style: { head: [], border: [], compact: true },
      })
    : new Table({
        head: columns.map((column) => column.title),
        colAligns,
        chars: PLAIN_CHARS,
        style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
      });
  for (const row of rows) table.push([...row]);
  const text = table.toString();
  // Without borders the last column is still padded to its width; drop that trailing space.
  const lines = options.color ? text.split('\n') : text.split('\n').map((line) => line.trimEnd());
  return `${lines.join('\n')}\n`;
}

import { describe, expect, it } from 'vitest';
import { stripAnsi } from '../../src/output/colors.js';
import { renderTable, type TableColumn } from '../../src/output/table.js';
import { ANSI } from './test-archives.js';

const COLUMNS: TableColumn[] = [{ title: 'ID' }, { title: 'URL' }, { title: 'SIZE', align: 'right' }];
const ROWS = [
  ['c1', 'ws://a/chat', '1.0 KiB'],
  ['c10', 'wss://example.com/x', '12.3 MiB'],
];

describe('renderTable', () => {
  it('without colour: aligned columns, no borders, no escape codes, no trailing spaces', () => {
    const text = renderTable(COLUMNS, ROWS, { color: false });
    expect(text).not.toMatch(ANSI);
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line).toBe(line.trimEnd());
    expect(lines[0]).toMatch(/^ID\s+URL\s+SIZE$/);
    // The URL column starts at the same offset on every line.
    const urlColumn = lines[0]!.indexOf('URL');
    expect(lines[1]!.indexOf('ws://')).toBe(urlColumn);
    expect(lines[2]!.indexOf('wss://')).toBe(urlColumn);
    // SIZE is right-aligned: every line ends at the same column.
    expect(new Set(lines.map((line) => line.length)).size).toBe(1);
  });

  it('with colour: a boxed table with a coloured header', () => {
    const text = renderTable(COLUMNS, ROWS, { color: true });
    expect(text).toMatch(ANSI);
    expect(text).toContain('┌');
    expect(stripAnsi(text)).toContain('c10');
    const headerLine = text.split('\n')[1]!;
    expect(headerLine).toMatch(ANSI);
    // Only the header is painted.
    expect(text.split('\n').slice(3).join('\n')).not.toMatch(ANSI);
  });

  it('renders a header alone when there are no rows', () => {
    expect(renderTable(COLUMNS, [], { color: false }).trim()).toMatch(/^ID\s+URL\s+SIZE$/);
  });
});

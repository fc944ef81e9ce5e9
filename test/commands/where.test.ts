/**
 * `show --where` and `list --where` end to end: runShow / runList over an archive on disk, and the
 * built CLI for the exit code of a bad expression.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runList } from '../../src/commands/list.js';
import { runShow } from '../../src/commands/show.js';
import type { Entry } from '../../src/format/schema.js';
import { parseCommand } from '../helpers/argv.js';
import { listCommand } from '../../src/commands/list.js';
import { showCommand } from '../../src/commands/show.js';
import { runCli } from '../helpers/cli.js';
import { connection, end, fakeIo, frame, httpExchange, tempDir, writeArchive } from '../output/test-archives.js';

const ENTRIES: Entry[] = [
  connection('c1', { url: 'ws://127.0.0.1:9000/chat' }),
  frame({ conn: 'c1', index: 0, dir: 'out', text: '{"type":"join"}', size: 15 }),
  frame({ conn: 'c1', index: 1, dir: 'in', text: '{"type":"error","payload":{"id":1}}', size: 35, masked: false, mask: undefined }),
  connection('c2', { elapsed: 0.5, url: 'ws://127.0.0.1:9000/feed' }),
  frame({ conn: 'c2', index: 0, dir: 'in', text: '{"type":"error","payload":{"id":2}}', size: 35, masked: false, mask: undefined }),
  httpExchange('h1', { elapsed: 0.7 }),
  frame({ conn: 'c1', index: 2, dir: 'in', text: 'not json', size: 8, masked: false, mask: undefined }),
  frame({ conn: 'c1', index: 3, dir: 'out', type: 'binary', opcode: 2, text: undefined, data: 'AQID', size: 3 }),
  end('c1', { elapsed: 5 }),
  end('c2', { elapsed: 6 }),
];

let dir: string;
let cleanup: () => Promise<void>;
let archive: string;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  archive = await writeArchive(join(dir, 'where.wstape.json'), ENTRIES);
});
afterAll(() => cleanup());

async function showJson(extra: Record<string, unknown>): Promise<string[]> {
  const io = fakeIo();
  expect(await runShow({ file: archive, json: true, ...extra }, io)).toBe(0);
  return io
    .out()
    .trim()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const row = JSON.parse(line) as { conn: string; index: number };
      return `${row.conn}:${row.index}`;
    });
}

async function listIds(extra: Record<string, unknown>): Promise<string[]> {
  const io = fakeIo();
  expect(await runList({ file: archive, json: true, ...extra }, io)).toBe(0);
  return io
    .out()
    .trim()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => (JSON.parse(line) as { id: string }).id);
}

describe('--where argv', () => {
  it('show and list take --where as a string', async () => {
    expect(await parseCommand(showCommand, ['show', 'a', '--where', 'size > 1'])).toMatchObject({ where: 'size > 1' });
    expect(await parseCommand(listCommand, ['list', 'a', '--where', 'json.type == "x"'])).toMatchObject({ where: 'json.type == "x"' });
  });
});

describe('show --where', () => {
  it('selects rows by JSON path, direction and connection URL', async () => {
    expect(await showJson({ where: 'json.type == "error"' })).toEqual(['c1:1', 'c2:0']);
    expect(await showJson({ where: 'dir == "in" && json.type == "error" && conn.url ~ "/CHAT"' })).toEqual(['c1:1']);
    expect(await showJson({ where: 'json.payload.id >= 2 || type == "binary"' })).toEqual(['c2:0', 'c1:3']);
  });

  it('is ANDed with the other filters', async () => {
    expect(await showJson({ where: 'json.type == "error"', conn: ['c2'] })).toEqual(['c2:0']);
    expect(await showJson({ where: 'dir == "in"', grep: 'json' })).toEqual(['c1:2']);
    expect(await showJson({ where: 'json.type != null', dir: 'out' })).toEqual(['c1:0']);
  });

  it('works on reassembled messages', async () => {
    expect(await showJson({ where: 'json.payload.id == 1', messages: true })).toEqual(['c1:1']);
  });
});

describe('list --where', () => {
  it('keeps the connections with at least one matching frame', async () => {
    expect(await listIds({})).toEqual(['c1', 'c2', 'h1']);
    expect(await listIds({ where: 'json.type == "error"' })).toEqual(['c1', 'c2']);
    expect(await listIds({ where: 'json.payload.id == 2' })).toEqual(['c2']);
    expect(await listIds({ where: 'type == "binary"' })).toEqual(['c1']);
    expect(await listIds({ where: 'size > 1000' })).toEqual([]);
  });

  it('is ANDed with the list filters', async () => {
    expect(await listIds({ where: 'json.type == "error"', grep: 'feed' })).toEqual(['c2']);
  });
});

describe('a bad expression through the CLI', () => {
  it.each([['show'], ['list']])('%s: one line, exit 2, the column', async (command) => {
    const result = await runCli([command, archive, '--where', 'dir == "in" &&& size']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^wstape: --where: .* at column 15: dir == "in" &&& size\n$/);
  });

  it('a good one filters', async () => {
    const result = await runCli(['show', archive, '--where', 'json.payload.id == 2']);
    expect(result.code).toBe(0);
    const rows = result.stdout
      .trim()
      .split('\n')
      .filter((line) => !line.includes(' === '));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain('c2 <-- {"type":"error","payload":{"id":2}}');
    // Only the connection a row was shown for gets its `===` lines (--where looks inside frames).
    expect(result.stdout).not.toMatch(/ c1 === /);
  });
});

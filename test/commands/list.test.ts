import { parseCommand } from '../helpers/argv.js';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listCommand, runList, type ListOptions } from '../../src/commands/list.js';
import { buildListFilter, hostGlob, parseStatus } from '../../src/inspect/list-filter.js';
import { ListAggregator } from '../../src/inspect/list-rows.js';
import { kindBadge } from '../../src/output/list-table.js';
import { isCliError } from '../../src/errors.js';
import type { Entry } from '../../src/format/schema.js';
import { useColor } from '../../src/io.js';
import { recordSession } from '../output/recorded-session.js';
import { ANSI, connection, end, errorEntry, fakeIo, frame, httpExchange, tempDir, tunnel, writeArchive } from '../output/test-archives.js';

/** Parse argv with the real command module; the handler only captures the options. */
function parseArgs(argv: string[]): Promise<ListOptions> {
  return parseCommand(listCommand, argv);
}

describe('list: argv -> options', () => {
  it.each([
    [['list', 'a.wstape'], { file: 'a.wstape', json: false }],
    [['list', 'a.wstape', '--json'], { file: 'a.wstape', json: true }],
    [['list', '--json', 'dir/b.wstape'], { file: 'dir/b.wstape', json: true }],
    [['list', 'a.wstape', '--ws'], { ws: true }],
    [['list', 'a.wstape', '--host', '*.example.com'], { host: ['*.example.com'] }],
    [['list', 'a.wstape', '--host', 'a,b', '--host', 'c'], { host: ['a', 'b', 'c'] }],
    [['list', 'a.wstape', '--status', '101'], { status: ['101'] }],
    [['list', 'a.wstape', '--status', '4xx,5xx'], { status: ['4xx', '5xx'] }],
    [['list', 'a.wstape', '--grep', '/chat', '-i'], { grep: '/chat', ignoreCase: true }],
  ])('%j', async (argv, expected) => {
    expect(await parseArgs(argv)).toMatchObject(expected);
  });

  it.each([[['list']], [['list', 'a.wstape', '--bogus']]])('rejects %j', async (argv) => {
    await expect(parseArgs(argv)).rejects.toThrow();
  });
});

/** A recording with one of everything. */
const ENTRIES: Entry[] = [
  connection('c1', { elapsed: 0.1, subprotocol: 'chat' }),
  frame({ conn: 'c1', index: 0, dir: 'out', wireSize: 10 }),
  frame({ conn: 'c1', index: 1, dir: 'in', wireSize: 20, masked: false, mask: undefined }),
  frame({ conn: 'c1', index: 2, dir: 'in', wireSize: 30, masked: false, mask: undefined }),
  httpExchange('h1', { elapsed: 0.5, duration: 3 }),
  connection('c2', { elapsed: 1.0, url: 'wss://example.com/feed' }),
  frame({ conn: 'c2', index: 0, dir: 'out', wireSize: 7 }),
  tunnel('t1', { elapsed: 1.5 }),
  end('c1', { elapsed: 5.1, closeCode: 1000, closeReason: 'bye', closedBy: 'client', clean: true, bytesOut: 111, bytesIn: 222 }),
  end('t1', { elapsed: 3.5, closeCode: null, closeReason: '', closedBy: 'server', droppedBy: 'server', clean: false, bytesOut: 500, bytesIn: 4000 }),
  connection('c3', { elapsed: 2.0 }),
  end('c3', { elapsed: 2.25, closeCode: 1006, closedBy: 'server', droppedBy: 'server', clean: false, bytesOut: 0, bytesIn: 0 }),
  errorEntry({ conn: 'c3', code: 'WS_STREAM_UNPARSEABLE', message: 'bad' }),
  httpExchange('h2', { elapsed: 2.5, response: null, error: 'reset', request: { method: 'GET', target: '/', httpVersion: '1.1', headers: [] } }),
];

describe('list: run', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let archive: string;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    archive = await writeArchive(join(dir, 'all.wstape'), ENTRIES);
  });
  afterAll(async () => cleanup());

  async function listJson(path: string): Promise<{ rows: Record<string, unknown>[]; err: string }> {
    const io = fakeIo();
    expect(await runList({ file: path, json: true }, io)).toBe(0);
    const lines = io
      .out()
      .split('\n')
      .filter((line) => line !== '');
    return { rows: lines.map((line) => JSON.parse(line) as Record<string, unknown>), err: io.err() };
  }

  it('--json prints one object per connection, exchange or tunnel, in start order, with the contract fields', async () => {
    const { rows, err } = await listJson(archive);
    expect(err).toBe('');
    expect(rows.map((row) => row.id)).toEqual(['c1', 'h1', 'c2', 't1', 'c3', 'h2']);
    expect(rows[0]).toEqual({
      id: 'c1',
      kind: 'websocket',
      url: 'ws://127.0.0.1:9000/chat',
      status: 101,
      framesOut: 1,
      framesIn: 2,
      bytesOut: 111,
      bytesIn: 222,
      closeCode: 1000,
      closedBy: 'client',
      time: ENTRIES[0]!.time,
      duration: 5,
      method: null,
      subprotocol: 'chat',
      closeReason: 'bye',
      clean: true,
      errors: 0,
      changed: 0,
    });
  });

  it('--json: http exchanges', async () => {
    const { rows } = await listJson(archive);
    expect(rows[1]).toMatchObject({
      id: 'h1',
      kind: 'http',
      url: 'http://127.0.0.1:9000/api/items',
      status: 201,
      framesOut: 0,
      framesIn: 0,
      bytesOut: 12,
      bytesIn: 1234,
      closeCode: null,
      closedBy: null,
      duration: 0.003,
      method: 'POST',
      subprotocol: null,
    });
    expect(rows[5]).toMatchObject({ id: 'h2', status: null, bytesIn: 0, method: 'GET' });
  });

  it('--json: an open connection has null close fields and counts frame wire bytes', async () => {
    const { rows } = await listJson(archive);
    expect(rows[2]).toMatchObject({
      id: 'c2',
      kind: 'websocket',
      url: 'wss://example.com/feed',
      framesOut: 1,
      framesIn: 0,
      bytesOut: 7,
      bytesIn: 0,
      closeCode: null,
      closedBy: null,
      duration: null,
      clean: null,
      closeReason: null,
    });
  });

  it('--json: tunnels and abnormal ends', async () => {
    const { rows } = await listJson(archive);
    expect(rows[3]).toMatchObject({ id: 't1', kind: 'tunnel', status: null, bytesOut: 500, bytesIn: 4000, closeCode: null, closedBy: 'server', duration: 2 });
    expect(rows[4]).toMatchObject({ id: 'c3', closeCode: 1006, closedBy: 'server', clean: false, duration: 0.25, errors: 1 });
  });

  it('every --json row has the same fields', async () => {
    const { rows } = await listJson(archive);
    const keys = Object.keys(rows[0]!);
    for (const row of rows) expect(Object.keys(row)).toEqual(keys);
  });

  it('the table has one row per item, kind badges and no escape codes when not a TTY', async () => {
    const io = fakeIo();
    expect(await runList({ file: archive, json: false }, io)).toBe(0);
    const text = io.out();
    expect(text).not.toMatch(ANSI);
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(1 + 6);
    expect(lines[0]).toMatch(/^ID\s+KIND\s+URL\s+STATUS/);
    const row = (id: string): string => lines.find((line) => line.startsWith(`${id} `)) ?? '';
    expect(row('c1')).toMatch(/^c1\s+WS\s+ws:\/\/127\.0\.0\.1:9000\/chat\s+101\s+1\/2\s+111 B\/222 B\s+5\.0 s\s+1000 client$/);
    expect(row('c2')).toMatch(/\bWSS\b.*\bopen$/);
    expect(row('h1')).toMatch(/\bHTTP\s+POST http:\/\//);
    expect(row('t1')).toMatch(/\bTUNNEL\b.*\bby server$/);
    expect(row('c3')).toMatch(/1006 server$/);
  });

  it('the table is boxed and coloured on a TTY', async () => {
    const io = fakeIo({ tty: true });
    await runList({ file: archive, json: false }, io);
    expect(io.out()).toMatch(ANSI);
    expect(io.out()).toContain('┌');
  });

  it('NO_COLOR turns colour off even on a TTY', async () => {
    const io = fakeIo({ tty: true, env: { NO_COLOR: '1' } });
    expect(useColor(io.stdout, io.env)).toBe(false);
    await runList({ file: archive, json: false }, io);
    expect(io.out()).not.toMatch(ANSI);
  });

  it('--json never has escape codes, even on a TTY', async () => {
    const io = fakeIo({ tty: true });
    await runList({ file: archive, json: true }, io);
    expect(io.out()).not.toMatch(ANSI);
  });

  it('warns on stderr, one line, for an archive that was not closed', async () => {
    const path = await writeArchive(join(dir, 'open.wstape'), ENTRIES.slice(0, 5), { closed: false });
    const { rows, err } = await listJson(path);
    expect(rows).toHaveLength(2);
    expect(err).toMatch(/^wstape: warning: [^\n]+\n$/);
  });

  it('propagates reader errors as CliError', async () => {
    const error = await runList({ file: join(dir, 'missing.wstape'), json: false }, fakeIo()).catch((e: unknown) => e);
    expect(isCliError(error) && error.code).toBe('ERR_FILE');
  });

  it('an empty recording prints a header only', async () => {
    const path = await writeArchive(join(dir, 'empty.wstape'), []);
    const io = fakeIo();
    await runList({ file: path, json: false }, io);
    expect(io.out().trimEnd().split('\n')).toHaveLength(1);
  });
});

describe('list: filters', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let archive: string;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    archive = await writeArchive(join(dir, 'all.wstape'), ENTRIES);
  });
  afterAll(async () => cleanup());

  async function listed(options: Partial<ListOptions>): Promise<string[]> {
    const io = fakeIo();
    expect(await runList({ file: archive, json: true, ...options }, io)).toBe(0);
    return io
      .out()
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => (JSON.parse(line) as { id: string }).id);
  }

  // c1 ws://127.0.0.1:9000/chat 101, h1 http://127.0.0.1:9000/api/items 201, c2 wss://example.com/feed 101,
  // t1 https://example.com:443 (no status), c3 ws://127.0.0.1:9000/chat 101, h2 http://127.0.0.1:9000/api/items (no response)
  it.each<[string, Partial<ListOptions>, string[]]>([
    ['none', {}, ['c1', 'h1', 'c2', 't1', 'c3', 'h2']],
    ['--ws', { ws: true }, ['c1', 'c2', 'c3']],
    ['--host exact', { host: ['example.com'] }, ['c2', 't1']],
    ['--host glob', { host: ['*.com'] }, ['c2', 't1']],
    ['--host is case-insensitive', { host: ['EXAMPLE.*'] }, ['c2', 't1']],
    ['--host with ?', { host: ['127.0.0.?'] }, ['c1', 'h1', 'c3', 'h2']],
    ['--host host:port', { host: ['127.0.0.1:9000'] }, ['c1', 'h1', 'c3', 'h2']],
    ['--host host:port glob', { host: ['*:90*'] }, ['c1', 'h1', 'c3', 'h2']],
    ['--host several', { host: ['example.com,nowhere', '127.*'] }, ['c1', 'h1', 'c2', 't1', 'c3', 'h2']],
    ['--host no match', { host: ['example'] }, []],
    ['--status code', { status: ['101'] }, ['c1', 'c2', 'c3']],
    ['--status class', { status: ['2xx'] }, ['h1']],
    ['--status several', { status: ['201,1XX'] }, ['c1', 'h1', 'c2', 'c3']],
    ['--grep on the URL', { grep: '/chat$' }, ['c1', 'c3']],
    ['--grep -i', { grep: 'FEED', ignoreCase: true }, ['c2']],
    ['--grep is case-sensitive', { grep: 'FEED' }, []],
    ['--ws + --host', { ws: true, host: ['127.*'] }, ['c1', 'c3']],
    ['--ws + --grep', { ws: true, grep: '^wss:' }, ['c2']],
    ['--host + --status', { host: ['127.0.0.1'], status: ['2xx'] }, ['h1']],
    ['--ws + --status 2xx', { ws: true, status: ['2xx'] }, []],
  ])('%s', async (_name, options, expected) => {
    expect(await listed(options)).toEqual(expected);
  });

  it('filters the table too, without changing the counts', async () => {
    const io = fakeIo();
    await runList({ file: archive, json: false, ws: true, host: ['127.0.0.1'] }, io);
    const lines = io.out().trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/^c1\s+WS\s+ws:\/\/127\.0\.0\.1:9000\/chat\s+101\s+1\/2\s+111 B\/222 B\s+5\.0 s\s+1000 client$/);
  });

  it.each<[string, Partial<ListOptions>]>([
    ['--status text', { status: ['ok'] }],
    ['--status out of range', { status: ['6xx'] }],
    ['--status too long', { status: ['1010'] }],
    ['--grep invalid', { grep: '(' }],
  ])('%s is ERR_USAGE', async (_name, options) => {
    const error = await runList({ file: archive, json: true, ...options }, fakeIo()).catch((e: unknown) => e);
    expect(isCliError(error) && error.code).toBe('ERR_USAGE');
  });

  it('hostGlob and parseStatus', () => {
    expect(hostGlob('a.b').test('axb')).toBe(false);
    expect(hostGlob('*.example.com').test('api.example.com')).toBe(true);
    expect(hostGlob('*.example.com').test('example.com')).toBe(false);
    expect(parseStatus('404')).toEqual({ min: 404, max: 404 });
    expect(parseStatus('5xx')).toEqual({ min: 500, max: 599 });
    expect(buildListFilter({})).toEqual({});
  });
});

describe('list over a recorded session', () => {
  let archive: string;
  beforeAll(async () => {
    archive = await recordSession();
  });

  it('one WS row per connection: URL, status, frames and bytes each way, duration, close code and side', async () => {
    const io = fakeIo();
    expect(await runList({ file: archive, json: false }, io)).toBe(0);
    const lines = io.out().trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[1]).toMatch(/^c1\s+WS\s+ws:\/\/127\.0\.0\.1:\d+\/chat\s+101\s+8\/5\s+\d+ B\/\d+ B\s+\d+ ms\s+4001 client$/);
    expect(lines[2]).toMatch(/^c2\s+WS\s+ws:\/\/127\.0\.0\.1:\d+\/graphql\s+101\s+4\/4\s.*\s1000 client$/);
    expect(lines[3]).toMatch(/^c3\s+WS\s+\S+\/deflate\s+101\s+3\/2\s.*\s1000 client$/);
  });

  it('--json rows agree with the frames, and filters apply', async () => {
    const io = fakeIo();
    await runList({ file: archive, json: true, grep: 'graphql' }, io);
    const rows = io
      .out()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(rows).toEqual([
      expect.objectContaining({ id: 'c2', subprotocol: 'graphql-transport-ws', framesOut: 4, framesIn: 4, closeCode: 1000, closedBy: 'client', clean: true }),
    ]);
  });
});

describe('ListAggregator', () => {
  it('counts frames without an end entry by wire size, then takes the end entry’s byte counts', () => {
    const aggregator = new ListAggregator();
    aggregator.add(connection('c1'));
    aggregator.add(frame({ conn: 'c1', dir: 'out', wireSize: 10 }));
    expect(aggregator.rows()[0]).toMatchObject({ bytesOut: 10, framesOut: 1 });
    aggregator.add(end('c1', { bytesOut: 99, bytesIn: 5 }));
    aggregator.add(frame({ conn: 'c1', dir: 'out', wireSize: 10 }));
    expect(aggregator.rows()[0]).toMatchObject({ bytesOut: 99, bytesIn: 5, framesOut: 2 });
  });

  it('reports ids that no connection entry introduced', () => {
    const aggregator = new ListAggregator();
    aggregator.add(frame({ conn: 'c9' }));
    expect(aggregator.rows()).toEqual([]);
    expect([...aggregator.unknownIds]).toEqual(['c9']);
  });
});

describe('kindBadge', () => {
  it.each([
    ['websocket', 'ws://a', 'WS'],
    ['websocket', 'wss://a', 'WSS'],
    ['http', 'http://a', 'HTTP'],
    ['http', 'https://a', 'HTTPS'],
    ['tunnel', 'https://a:443', 'TUNNEL'],
  ] as const)('%s %s -> %s', (kind, url, badge) => {
    expect(kindBadge({ kind, url })).toBe(badge);
  });
});

import { parseCommand } from '../helpers/argv.js';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runShow, showCommand, type ShowOptions } from '../../src/commands/show.js';
import { isCliError } from '../../src/errors.js';
import type { Entry, FrameEntry } from '../../src/format/schema.js';
import { formatFrameLine } from '../../src/output/frame-line.js';
import { ANSI, connection, end, fakeIo, frame, httpExchange, tempDir, writeArchive } from '../output/test-archives.js';

beforeAll(() => {
  process.env.TZ = 'UTC';
});

/** A `===` line of the pretty view (a connection's start or end), tested in show-connections.test.ts. */
const CONNECTION_LINE = /^\[[^\]]*\] \S+ === /;

/** Parse argv with the real command module; the handler only captures the options. */
function parseArgs(argv: string[]): Promise<ShowOptions> {
  return parseCommand(showCommand, argv);
}

describe('show: argv -> options', () => {
  it.each<[string[], Partial<ShowOptions>]>([
    [['show', 'a.wstape'], { file: 'a.wstape', json: false }],
    [['show', 'a.wstape', '--json'], { json: true }],
    [['show', 'a.wstape', '--conn', 'c1'], { conn: ['c1'] }],
    [['show', 'a.wstape', '--conn', 'c1', '--conn', 'c2'], { conn: ['c1', 'c2'] }],
    [['show', '--conn', 'c1,c3', 'a.wstape'], { conn: ['c1', 'c3'], file: 'a.wstape' }],
    [['show', 'a.wstape', '--dir', 'in'], { dir: 'in' }],
    [['show', 'a.wstape', '--type', 'text,binary'], { type: ['text', 'binary'] }],
    [['show', 'a.wstape', '--type', 'ping', '--type', 'pong'], { type: ['ping', 'pong'] }],
    [['show', 'a.wstape', '--grep', '"type":"join"'], { grep: '"type":"join"' }],
    [
      ['show', 'a.wstape', '--conn', 'c2', '--dir', 'out', '--type', 'close', '--grep', 'bye', '--json'],
      { file: 'a.wstape', conn: ['c2'], dir: 'out', type: ['close'], grep: 'bye', json: true },
    ],
    [['show', 'a.wstape', '--type', 'data', '--type', 'control'], { type: ['data', 'control'] }],
    [['show', 'a.wstape', '--grep', 'err', '-i'], { grep: 'err', ignoreCase: true }],
    [['show', 'a.wstape', '--grep', 'err', '--ignore-case'], { grep: 'err', ignoreCase: true }],
    [['show', 'a.wstape', '--since', '12.5', '--until', '2026-11-25T10:30:05Z'], { since: '12.5', until: '2026-11-25T10:30:05Z' }],
    [['show', 'a.wstape', '--limit', '10'], { limit: 10 }],
    [['show', 'a.wstape', '--tail', '5'], { tail: 5 }],
    [['show', 'a.wstape', '--messages', '--hide-heartbeats'], { messages: true, hideHeartbeats: true }],
    [['show', 'a.wstape', '--format', 'raw'], { format: 'raw' }],
    [['show', 'a.wstape', '--format', 'json'], { format: 'json' }],
    [['show', 'a.wstape', '--pretty-json', '--time', 'rel'], { prettyJson: true, time: 'rel' }],
    [['show', 'a.wstape', '--proto', 'x.proto', '--message', 'chat.Event'], { proto: 'x.proto', message: 'chat.Event' }],
    [['show', '-f', 'a.wstape'], { follow: true, file: 'a.wstape' }],
    [['show', '--follow', 'a.wstape', '--type', 'text'], { follow: true, file: 'a.wstape', type: ['text'] }],
  ])('%j', async (argv, expected) => {
    expect(await parseArgs(argv)).toMatchObject(expected);
  });

  it('leaves absent filters undefined', async () => {
    const options = await parseArgs(['show', 'a.wstape']);
    expect([options.conn, options.dir, options.type, options.grep]).toEqual([undefined, undefined, undefined, undefined]);
  });

  it.each([
    [['show']],
    [['show', 'a.wstape', '--dir', 'up']],
    [['show', 'a.wstape', '--bogus']],
    [['show', 'a.wstape', '--format', 'xml']],
    [['show', 'a.wstape', '--time', 'local']],
    [['show', 'a.wstape', '--limit', '1', '--tail', '1']],
    [['show', 'a.wstape', '--proto', 'x.proto']],
    [['show', 'a.wstape', '--message', 'a.B']],
  ])('rejects %j', async (argv) => {
    await expect(parseArgs(argv)).rejects.toThrow();
  });
});

const b64 = (bytes: number[] | string): string => Buffer.from(bytes as string).toString('base64');

const FRAMES: FrameEntry[] = [
  frame({ conn: 'c1', index: 0, dir: 'out', type: 'text', text: '{"type":"join","room":"general"}', size: 32 }),
  frame({ conn: 'c1', index: 1, dir: 'in', type: 'text', text: 'line1\nline2', size: 11, masked: false, mask: undefined }),
  frame({
    conn: 'c1',
    index: 2,
    dir: 'in',
    type: 'binary',
    opcode: 2,
    text: undefined,
    data: b64([0x89, 0x50, 0x4e, 0x47]),
    size: 4,
    masked: false,
    mask: undefined,
  }),
  frame({ conn: 'c2', index: 0, dir: 'out', type: 'ping', opcode: 9, text: undefined, data: b64('hb'), size: 2 }),
  frame({ conn: 'c2', index: 1, dir: 'in', type: 'pong', opcode: 10, text: undefined, data: b64('hb'), size: 2, masked: false, mask: undefined }),
  frame({ conn: 'c2', index: 2, dir: 'out', type: 'text', fin: false, text: '{"par', size: 5, compressed: true, rsv1: true }),
  frame({ conn: 'c2', index: 3, dir: 'out', type: 'continuation', opcode: 0, text: 't":1}', size: 5 }),
  frame({
    conn: 'c2',
    index: 4,
    dir: 'in',
    type: 'reserved',
    opcode: 3,
    text: undefined,
    data: '',
    size: 0,
    flags: ['reserved-opcode'],
    masked: false,
    mask: undefined,
  }),
  frame({ conn: 'c1', index: 3, dir: 'out', type: 'close', opcode: 8, text: undefined, code: 1000, reason: 'bye', size: 5 }),
  frame({
    conn: 'c1',
    index: 4,
    dir: 'in',
    type: 'text',
    text: 'x'.repeat(5000),
    size: 1_000_000,
    truncated: true,
    flags: ['reserved-bits'],
    rsv2: true,
    masked: false,
    mask: undefined,
  }),
];

const ENTRIES: Entry[] = [connection('c1'), connection('c2', { elapsed: 0.2 }), httpExchange('h1'), ...FRAMES.slice(0, 5), ...FRAMES.slice(5), end('c1')];

describe('show: run', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let archive: string;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    archive = await writeArchive(join(dir, 'frames.wstape'), ENTRIES);
  });
  afterAll(async () => cleanup());

  async function show(options: Partial<ShowOptions>, ioOptions: Parameters<typeof fakeIo>[0] = {}) {
    const io = fakeIo(ioOptions);
    const code = await runShow({ file: archive, json: false, ...options }, io);
    return {
      code,
      out: io.out(),
      err: io.err(),
      lines: io
        .out()
        .split('\n')
        .filter((line) => line !== '' && !CONNECTION_LINE.test(line)),
    };
  }

  /** Which frames (as conn:index) a filtered --json run printed. */
  async function ids(options: Partial<ShowOptions>): Promise<string[]> {
    const { lines } = await show({ ...options, json: true });
    return lines.map((line) => {
      const value = JSON.parse(line) as { conn: string; index: number };
      return `${value.conn}:${value.index}`;
    });
  }

  it('prints every frame in the arrow view (besides the === lines): one line each, binary frames with a hex dump under it', async () => {
    const { code, lines, err } = await show({});
    expect(code).toBe(0);
    expect(err).toBe('');
    const expected = FRAMES.flatMap((f) =>
      f.type === 'binary'
        ? [formatFrameLine(f, { color: false, maxWidth: 160 }).replace(/ 89 50 4e 47$/, ''), expect.stringMatching(/^ {2}00000000 {2}89 50 4e 47 /)]
        : [formatFrameLine(f, { color: false, maxWidth: 160 })],
    );
    expect(lines).toEqual(expected);
  });

  it('shows each frame type recognisably', async () => {
    const { lines } = await show({});
    expect(lines[0]).toMatch(/ c1 --> \{"type":"join","room":"general"\}$/);
    expect(lines[1]).toMatch(/ c1 <-- line1\\nline2$/);
    expect(lines[2]).toMatch(/ c1 <-- BINARY 4 B$/);
    expect(lines[3]).toBe('  00000000  89 50 4e 47                                       |.PNG|');
    expect(lines[4]).toMatch(/ c2 --> PING "hb"$/);
    expect(lines[5]).toMatch(/ c2 <-- PONG "hb"$/);
    expect(lines[6]).toMatch(/ c2 --> \{"par \[frag\] \[deflate\]$/);
    expect(lines[7]).toMatch(/ c2 --> CONT t":1\}$/);
    expect(lines[8]).toMatch(/ c2 <-- OPCODE 0x3 .*\[!reserved-opcode\]$/);
    expect(lines[9]).toMatch(/ c1 --> CLOSE 1000 Normal closure "bye"$/);
    expect(lines[10]).toMatch(/ c1 <-- x+… \(976\.6 KiB\) \[truncated\] \[!reserved-bits\]$/);
    expect(lines[10]!.length).toBeLessThanOrEqual(160);
  });

  it('--json prints each frame entry minus kind, exactly as archived, plus detected/decoded', async () => {
    const { lines } = await show({ json: true });
    const objects = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const archived = objects.map(({ detected: _d, decoded: _v, ...rest }) => rest);
    expect(archived).toEqual(FRAMES.map(({ kind: _kind, ...rest }) => rest));
    const first = objects[0]!;
    expect(Object.keys(first)).toEqual([
      'conn',
      'index',
      'time',
      'elapsed',
      'dir',
      'type',
      'opcode',
      'fin',
      'rsv1',
      'rsv2',
      'rsv3',
      'masked',
      'mask',
      'size',
      'wireSize',
      'text',
      'detected',
      'decoded',
    ]);
    expect(first).toMatchObject({ detected: 'json', decoded: { type: 'join', room: 'general' } });
    // Nothing recognisable: no detected field at all.
    expect(objects[1]).not.toHaveProperty('detected');
    const close = JSON.parse(lines[8]!) as Record<string, unknown>;
    expect(close).toMatchObject({ type: 'close', code: 1000, reason: 'bye' });
    expect(close).not.toHaveProperty('kind');
  });

  it.each<[string, Partial<ShowOptions>, string[]]>([
    ['--conn', { conn: ['c2'] }, ['c2:0', 'c2:1', 'c2:2', 'c2:3', 'c2:4']],
    ['--conn twice', { conn: ['c2', 'c1'] }, FRAMES.map((f) => `${f.conn}:${f.index}`)],
    ['--dir out', { dir: 'out' }, ['c1:0', 'c2:0', 'c2:2', 'c2:3', 'c1:3']],
    ['--dir in', { dir: 'in' }, ['c1:1', 'c1:2', 'c2:1', 'c2:4', 'c1:4']],
    ['--type text', { type: ['text'] }, ['c1:0', 'c1:1', 'c2:2', 'c1:4']],
    ['--type ping,pong', { type: ['ping,pong'] }, ['c2:0', 'c2:1']],
    ['--type continuation', { type: ['continuation'] }, ['c2:3']],
    ['--type reserved', { type: ['reserved'] }, ['c2:4']],
    ['--type binary', { type: ['binary'] }, ['c1:2']],
    ['--type close', { type: ['close'] }, ['c1:3']],
    ['--grep on text', { grep: 'room' }, ['c1:0']],
    ['--grep across an escaped newline', { grep: 'line1\\nline2' }, ['c1:1']],
    ['--grep inside binary', { grep: 'PNG' }, ['c1:2']],
    ['--grep on a close reason', { grep: '^bye$' }, ['c1:3']],
    ['--conn + --dir', { conn: ['c2'], dir: 'in' }, ['c2:1', 'c2:4']],
    ['--dir + --type', { dir: 'out', type: ['text', 'continuation'] }, ['c1:0', 'c2:2', 'c2:3']],
    ['--conn + --type + --grep', { conn: ['c1'], type: ['text'], grep: 'x{10}' }, ['c1:4']],
    ['no match', { conn: ['c3'] }, []],
  ])('filter %s', async (_name, options, expected) => {
    expect(await ids(options)).toEqual(expected);
  });

  it('filters apply to the arrow view too', async () => {
    const { lines } = await show({ conn: ['c2'], type: ['ping'] });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('PING');
  });

  it.each<[string, Partial<ShowOptions>]>([
    ['unknown --type', { type: ['text,bogus'] }],
    ['invalid --grep', { grep: '(' }],
  ])('%s is ERR_USAGE', async (_name, options) => {
    const error = await show(options).catch((e: unknown) => e);
    expect(isCliError(error) && error.code).toBe('ERR_USAGE');
  });

  it('has no escape codes when stdout is not a TTY', async () => {
    expect((await show({})).out).not.toMatch(ANSI);
  });

  it('colours the arrow view on a TTY', async () => {
    expect((await show({}, { tty: true })).out).toMatch(ANSI);
  });

  it('respects NO_COLOR on a TTY', async () => {
    expect((await show({}, { tty: true, env: { NO_COLOR: '1' } })).out).not.toMatch(ANSI);
  });

  it('never colours --json', async () => {
    expect((await show({ json: true }, { tty: true })).out).not.toMatch(ANSI);
  });

  it('cuts lines to the terminal width on a TTY', async () => {
    const { lines } = await show({ conn: ['c1'], type: ['text'], grep: 'x{10}' }, { tty: true, columns: 80, env: { NO_COLOR: '1' } });
    expect(lines[0]!.length).toBeLessThanOrEqual(80);
  });

  it('warns on stderr, one line, when the archive was not closed, and shows what it holds', async () => {
    const path = await writeArchive(join(dir, 'open.wstape'), ENTRIES.slice(0, 6), { closed: false });
    const io = fakeIo();
    expect(await runShow({ file: path, json: true }, io)).toBe(0);
    expect(io.out().trimEnd().split('\n')).toHaveLength(3);
    expect(io.err()).toMatch(/^wstape: warning: [^\n]+\n$/);
  });

  it('propagates reader errors as CliError', async () => {
    const error = await runShow({ file: join(dir, 'missing.wstape'), json: false }, fakeIo()).catch((e: unknown) => e);
    expect(isCliError(error) && error.code).toBe('ERR_FILE');
  });

  it('waits for drain when stdout is full', async () => {
    const written: string[] = [];
    let drains = 0;
    const io = fakeIo();
    io.stdout = {
      write: (chunk) => {
        written.push(String(chunk));
        return false;
      },
      once: (_event, listener) => {
        drains++;
        setImmediate(listener);
      },
    };
    await runShow({ file: archive, json: true }, io);
    expect(written).toHaveLength(FRAMES.length);
    expect(drains).toBe(FRAMES.length);
  });
});

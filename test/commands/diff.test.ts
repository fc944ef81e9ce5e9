import { parseCommand } from '../helpers/argv.js';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { diffCommand, runDiff, type DiffOptions } from '../../src/commands/diff.js';
import { isCliError } from '../../src/errors.js';
import type { Entry, FrameEntry } from '../../src/format/schema.js';
import type { Difference } from '../../src/replay/diff.js';
import { openClient, readEntries, startRecorder, startWsServer, waitFor, type WsServer } from '../helpers/peers.js';
import { ANSI, connection, end, fakeIo, frame, httpExchange, tempDir, writeArchive } from '../output/test-archives.js';

/** Parse argv with the real command module; the handler only captures the options. */
function parseArgs(argv: string[]): Promise<DiffOptions> {
  return parseCommand(diffCommand, argv);
}

describe('diff: argv -> options', () => {
  it.each<[string[], Partial<DiffOptions>]>([
    [['diff', 'a.json', 'b.json'], { a: 'a.json', b: 'b.json', json: false }],
    [['diff', 'a.json', 'b.json', '--json'], { json: true }],
    [['diff', 'a.json', 'b.json', '--conn-a', 'c2', '--conn-b', 'c5'], { connA: 'c2', connB: 'c5' }],
    [['diff', 'a.json', 'b.json', '--ignore', '$.ts'], { ignore: ['$.ts'] }],
    [['diff', '--ignore', '$.ts', '--ignore', 're:a,b', 'a.json', 'b.json'], { ignore: ['$.ts', 're:a,b'], a: 'a.json', b: 'b.json' }],
    [['diff', 'a.json', 'b.json', '--timing-tolerance', '50'], { timingTolerance: 50 }],
  ])('%j', async (argv, expected) => {
    expect(await parseArgs(argv)).toMatchObject(expected);
  });

  it('leaves absent options undefined', async () => {
    const options = await parseArgs(['diff', 'a.json', 'b.json']);
    expect([options.connA, options.connB, options.ignore, options.timingTolerance]).toEqual([undefined, undefined, undefined, undefined]);
  });

  it.each([[['diff', 'a.json']], [['diff']], [['diff', 'a.json', 'b.json', '--bogus']]])('rejects %j', async (argv) => {
    await expect(parseArgs(argv)).rejects.toThrow();
  });
});

/** A connection c1 whose frames come from a script: `>` out, `<` in, `close:CODE:REASON`. */
function conversationEntries(
  id: string,
  script: string[],
  options: { gapsMs?: number[]; closeCode?: number; closeReason?: string; start?: number } = {},
): Entry[] {
  const start = options.start ?? 0.1;
  let elapsed = start;
  const frames: FrameEntry[] = script.map((line, index) => {
    elapsed += (options.gapsMs?.[index] ?? 10) / 1000;
    const dir = line.startsWith('>') ? 'out' : 'in';
    const body = line.slice(1);
    if (body.startsWith('close:')) {
      const [, code, reason] = body.split(':');
      return frame({
        conn: id,
        index,
        dir,
        elapsed,
        type: 'close',
        opcode: 8,
        text: undefined,
        code: Number(code),
        reason: reason ?? '',
        size: 2 + (reason ?? '').length,
      });
    }
    return frame({ conn: id, index, dir, elapsed, text: body, size: Buffer.byteLength(body) });
  });
  const last = frames.find((f) => f.type === 'close');
  return [
    connection(id, { elapsed: start }),
    ...frames,
    end(id, {
      elapsed: elapsed + 0.01,
      closeCode: options.closeCode ?? last?.code ?? 1006,
      closeReason: options.closeReason ?? last?.reason ?? '',
      closedBy: last?.dir === 'in' ? 'server' : 'client',
    }),
  ];
}

const BASE = [
  '>{"type":"join","room":"general"}',
  '<{"type":"welcome","user":{"name":"ada"},"ts":1}',
  '>hello',
  '<{"type":"msg","text":"hi"}',
  '>close:1000:bye',
  '<close:1000:bye',
];

describe('diff: run on written archives', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let count = 0;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  afterAll(async () => cleanup());

  async function archive(entries: Entry[], options: { closed?: boolean } = {}): Promise<string> {
    return writeArchive(join(dir, `a${count++}.wstape.json`), entries, options);
  }

  async function diff(a: Entry[], b: Entry[], options: Partial<DiffOptions> = {}, ioOptions: Parameters<typeof fakeIo>[0] = {}) {
    const io = fakeIo(ioOptions);
    const code = await runDiff({ a: await archive(a), b: await archive(b), json: false, ...options }, io);
    const lines = io
      .out()
      .split('\n')
      .filter((line) => line !== '');
    return { code, out: io.out(), err: io.err(), lines };
  }

  async function diffJson(a: Entry[], b: Entry[], options: Partial<DiffOptions> = {}) {
    const result = await diff(a, b, { ...options, json: true });
    return { ...result, differences: result.lines.map((line) => JSON.parse(line) as Difference) };
  }

  it('equal archives: exit 0 and a summary', async () => {
    const { code, lines, err } = await diff(conversationEntries('c1', BASE), conversationEntries('c1', BASE));
    expect(code).toBe(0);
    expect(err).toBe('');
    expect(lines).toEqual(['no differences (1 connection, 6 frames in A, 6 in B)']);
  });

  it('equal archives print nothing with --json', async () => {
    const { code, out } = await diff(conversationEntries('c1', BASE), conversationEntries('c1', BASE), { json: true });
    expect(code).toBe(0);
    expect(out).toBe('');
  });

  it('a changed JSON field: which key changed from what to what', async () => {
    const changed = BASE.map((line) => line.replace('"ada"', '"bob"'));
    const { code, lines } = await diff(conversationEntries('c1', BASE), conversationEntries('c1', changed));
    expect(code).toBe(1);
    expect(lines).toEqual(['c1 <-- #1 changed: $.user.name "ada" → "bob"', expect.stringMatching(/^1 difference: 1 changed /)]);
    const { differences } = await diffJson(conversationEntries('c1', BASE), conversationEntries('c1', changed));
    expect(differences).toEqual([
      {
        kind: 'changed',
        connA: 'c1',
        connB: 'c1',
        dir: 'in',
        type: 'text',
        indexA: 1,
        indexB: 1,
        from: '{"type":"welcome","user":{"name":"ada"},"ts":1}',
        to: '{"type":"welcome","user":{"name":"bob"},"ts":1}',
        changes: [{ path: '$.user.name', kind: 'changed', from: 'ada', to: 'bob' }],
        gapA: null,
        gapB: null,
        url: null,
      },
    ]);
  });

  it('an added frame', async () => {
    const added = [...BASE.slice(0, 4), '<{"type":"extra"}', ...BASE.slice(4)];
    const { code, lines } = await diff(conversationEntries('c1', BASE), conversationEntries('c1', added));
    expect(code).toBe(1);
    expect(lines[0]).toBe('c1 <-- + #4 {"type":"extra"}');
    const { differences } = await diffJson(conversationEntries('c1', BASE), conversationEntries('c1', added));
    expect(differences).toMatchObject([{ kind: 'added', dir: 'in', indexA: null, indexB: 4, from: null, to: '{"type":"extra"}' }]);
  });

  it('a removed frame', async () => {
    const removed = BASE.filter((line) => line !== '>hello');
    const { code, lines } = await diff(conversationEntries('c1', BASE), conversationEntries('c1', removed));
    expect(code).toBe(1);
    expect(lines[0]).toBe('c1 --> - #2 hello');
    const { differences } = await diffJson(conversationEntries('c1', BASE), conversationEntries('c1', removed));
    expect(differences).toMatchObject([{ kind: 'removed', dir: 'out', indexA: 2, indexB: null, from: 'hello', to: null }]);
  });

  it('a different close code and reason', async () => {
    const other = BASE.map((line) => line.replace('close:1000:bye', 'close:1011:oops'));
    const { code, lines } = await diff(conversationEntries('c1', BASE), conversationEntries('c1', other));
    expect(code).toBe(1);
    expect(lines[0]).toBe('c1 close: 1000 "bye" by client → 1011 "oops" by client');
    expect(lines).toHaveLength(2);
    const { differences } = await diffJson(conversationEntries('c1', BASE), conversationEntries('c1', other));
    expect(differences).toMatchObject([
      { kind: 'close', dir: null, from: { code: 1000, reason: 'bye', closedBy: 'client' }, to: { code: 1011, reason: 'oops', closedBy: 'client' } },
    ]);
  });

  it('an ignored path makes them equal', async () => {
    const later = BASE.map((line) => line.replace('"ts":1', '"ts":99'));
    expect((await diff(conversationEntries('c1', BASE), conversationEntries('c1', later))).code).toBe(1);
    const { code, lines } = await diff(conversationEntries('c1', BASE), conversationEntries('c1', later), { ignore: ['$.ts'] });
    expect(code).toBe(0);
    expect(lines).toEqual([expect.stringMatching(/^no differences/)]);
  });

  it('a re: pattern makes text equal', async () => {
    const a = conversationEntries('c1', ['<tick 10:30:00.123']);
    const b = conversationEntries('c1', ['<tick 11:02:59.001']);
    expect((await diff(a, b)).code).toBe(1);
    expect((await diff(a, b, { ignore: ['re:\\d\\d:\\d\\d:\\d\\d\\.\\d+'] })).code).toBe(0);
  });

  it('timing differences only with --timing-tolerance, beyond it', async () => {
    const a = conversationEntries('c1', BASE, { gapsMs: [10, 10, 10, 10, 10, 10] });
    const b = conversationEntries('c1', BASE, { gapsMs: [10, 10, 300, 10, 10, 30] });
    expect((await diff(a, b)).code).toBe(0);
    expect((await diff(a, b, { timingTolerance: 500 })).code).toBe(0);
    const { code, differences } = await diffJson(a, b, { timingTolerance: 50 });
    expect(code).toBe(1);
    expect(differences).toMatchObject([{ kind: 'timing', dir: 'out', indexA: 2, indexB: 2, gapA: 10, gapB: 300 }]);
    const human = await diff(a, b, { timingTolerance: 5 });
    expect(human.lines.slice(0, 2)).toEqual(['c1 --> #2 timing: gap 10.0 ms → 300.0 ms (+290.0 ms)', 'c1 <-- #5 timing: gap 10.0 ms → 30.0 ms (+20.0 ms)']);
  });

  it('a different number of connections', async () => {
    const a = conversationEntries('c1', BASE);
    const b = [...conversationEntries('c1', BASE), httpExchange('h1'), ...conversationEntries('c2', ['>again'], { start: 6 })];
    const { code, lines } = await diff(a, b);
    expect(code).toBe(1);
    expect(lines[0]).toBe('c2 only in B: ws://127.0.0.1:9000/chat (A has 1 WebSocket connection, B has 2)');
    const { differences } = await diffJson(a, b);
    expect(differences).toMatchObject([{ kind: 'connections', connA: null, connB: 'c2', from: 1, to: 2, url: 'ws://127.0.0.1:9000/chat' }]);
  });

  it('pairs connections in order, and --conn-a/--conn-b pick exactly two', async () => {
    const a = [...conversationEntries('c1', ['>one']), ...conversationEntries('c2', ['>two'], { start: 3 })];
    const b = [...conversationEntries('c1', ['>two']), ...conversationEntries('c2', ['>one'], { start: 3 })];
    const paired = await diffJson(a, b);
    expect(paired.differences.map((d) => [d.kind, d.connA, d.connB])).toEqual([
      ['changed', 'c1', 'c1'],
      ['changed', 'c2', 'c2'],
    ]);
    expect((await diff(a, b, { connA: 'c1', connB: 'c2' })).code).toBe(0);
    expect((await diff(a, b, { connA: 'c2', connB: 'c1' })).code).toBe(0);
    // One of them alone names the same id in both.
    expect((await diffJson(a, b, { connA: 'c2' })).differences).toMatchObject([{ connA: 'c2', connB: 'c2' }]);
  });

  it('an unknown connection is a usage error naming the ones there are', async () => {
    const a = [...conversationEntries('c1', BASE), httpExchange('h1')];
    for (const connA of ['c9', 'h1']) {
      const error = await diff(a, a, { connA }).catch((e: unknown) => e);
      expect(isCliError(error) && error.code).toBe('ERR_USAGE');
      expect(isCliError(error) && error.message).toContain('c1');
    }
  });

  it.each<[string, Partial<DiffOptions>]>([
    ['a bad JSONPath', { ignore: ['$.a['] }],
    ['a spec that is neither', { ignore: ['ts'] }],
    ['a bad regex', { ignore: ['re:('] }],
    ['a negative tolerance', { timingTolerance: -1 }],
    ['a tolerance that is not a number', { timingTolerance: Number.NaN }],
  ])('%s is ERR_USAGE, checked before reading files', async (_name, options) => {
    const error = await runDiff({ a: join(dir, 'missing-a'), b: join(dir, 'missing-b'), json: false, ...options }, fakeIo()).catch((e: unknown) => e);
    expect(isCliError(error) && error.code).toBe('ERR_USAGE');
    expect(isCliError(error) && error.exitCode).toBe(2);
  });

  it('a missing archive is ERR_FILE (exit 2)', async () => {
    const good = await archive(conversationEntries('c1', BASE));
    const error = await runDiff({ a: good, b: join(dir, 'nope.wstape.json'), json: false }, fakeIo()).catch((e: unknown) => e);
    expect(isCliError(error) && [error.code, error.exitCode]).toEqual(['ERR_FILE', 2]);
  });

  it('reads an unclosed archive, with a warning', async () => {
    const io = fakeIo();
    const a = await archive(conversationEntries('c1', BASE));
    const b = await archive(conversationEntries('c1', BASE), { closed: false });
    expect(await runDiff({ a, b, json: false }, io)).toBe(0);
    expect(io.err()).toMatch(/^wstape: warning: .* not closed cleanly/);
  });

  it('warns when there is nothing to compare', async () => {
    const { code, err } = await diff([httpExchange('h1')], []);
    expect(code).toBe(0);
    expect(err).toMatch(/^wstape: warning: .*WebSocket connection/);
  });

  it('colours on a TTY, not when piped, not with NO_COLOR, never with --json', async () => {
    const a = conversationEntries('c1', BASE);
    const b = conversationEntries(
      'c1',
      BASE.map((line) => line.replace('hello', 'hullo')),
    );
    expect((await diff(a, b, {}, { tty: true })).out).toMatch(ANSI);
    expect((await diff(a, b, {}, { tty: false })).out).not.toMatch(ANSI);
    expect((await diff(a, b, {}, { tty: true, env: { NO_COLOR: '1' } })).out).not.toMatch(ANSI);
    expect((await diff(a, b, { json: true }, { tty: true })).out).not.toMatch(ANSI);
  });

  it('escapes control characters from the archive', async () => {
    const a = conversationEntries('c1', ['>\u001b[2Jclear']);
    const b = conversationEntries('c1', ['>\u001b[2Jclean']);
    const { out } = await diff(a, b);
    expect(out).not.toContain('\u001b');
    expect(out).toContain('\\x1b[2Jclear');
  });
});

describe('diff: two real recordings of the same conversation', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A server that stamps every reply with a high-resolution timestamp, which differs per run. */
  async function stampingServer(): Promise<WsServer> {
    const server = await startWsServer();
    server.wss.on('connection', (socket) => {
      socket.on('message', (data) => {
        const message = JSON.parse(String(data)) as { type: string; n?: number };
        if (message.type === 'subscribe') {
          socket.send(JSON.stringify({ type: 'subscribed', topic: 'prices', ts: performance.now() }));
          socket.send(JSON.stringify({ ts: performance.now(), type: 'price', value: 42 }));
        } else {
          socket.send(JSON.stringify({ type: 'pong', n: message.n, ts: performance.now() }));
        }
      });
    });
    return server;
  }

  /** Record one run of the conversation through the recorder in reverse mode; the archive path. */
  async function recordRun(server: WsServer): Promise<string> {
    const recorder = await startRecorder({ target: server.url });
    cleanups.push(() => recorder.stop());
    const client = await openClient(`ws://127.0.0.1:${recorder.port}/feed`);
    const received: string[] = [];
    client.on('message', (data) => received.push(String(data)));
    client.send(JSON.stringify({ type: 'subscribe', topic: 'prices' }));
    await waitFor(() => received.length === 2, 5000, 'the subscription replies');
    client.send(JSON.stringify({ type: 'ping', n: 1 }));
    await waitFor(() => received.length === 3, 5000, 'the pong');
    const closed = new Promise((resolve) => client.once('close', resolve));
    client.close(1000, 'bye');
    await closed;
    await waitFor(() => recorder.recorder.totals.bytes > 0, 5000, 'the connection end');
    await recorder.stop();
    return recorder.path;
  }

  it('differ by the timestamp field only, and are equal with --ignore $.ts', async () => {
    const server = await stampingServer();
    cleanups.push(server.close);
    const first = await recordRun(server);
    const second = await recordRun(server);

    // Both archives hold the whole conversation.
    const frames = (await readEntries(second)).filter((entry): entry is FrameEntry => entry.kind === 'frame');
    expect(frames.map((f) => `${f.dir} ${f.type}`)).toEqual(['out text', 'in text', 'in text', 'out text', 'in text', 'out close', 'in close']);

    const io = fakeIo();
    expect(await runDiff({ a: first, b: second, json: true }, io)).toBe(1);
    const differences = io
      .out()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Difference);
    expect(differences.map((d) => [d.kind, d.dir, d.indexA, d.indexB, d.changes?.map((c) => `${c.kind} ${c.path}`)])).toEqual([
      ['changed', 'in', 1, 1, ['changed $.ts']],
      ['changed', 'in', 2, 2, ['changed $.ts']],
      ['changed', 'in', 4, 4, ['changed $.ts']],
    ]);

    const human = fakeIo();
    expect(await runDiff({ a: first, b: second, json: false }, human)).toBe(1);
    expect(human.out()).toMatch(/^c1 <-- #1 changed: \$\.ts [\d.]+ → [\d.]+$/m);

    const ignoring = fakeIo();
    expect(await runDiff({ a: first, b: second, json: false, ignore: ['$.ts'] }, ignoring)).toBe(0);
    expect(ignoring.out()).toBe('no differences (1 connection, 7 frames in A, 7 in B)\n');
    expect(ignoring.err()).toBe('');
  });
});

/**
 * `wstape stats`: argv parsing, and runStats on archives recorded for real (the `ws` library as
 * both peers, through the in-process recorder: pings with payloads answered by automatic pongs,
 * permessage-deflate, a clean close, terminate() for 1006 on either side) and on hand-built ones.
 */
import { parseCommand } from '../helpers/argv.js';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { runStats, statsCommand, type StatsOptions } from '../../src/commands/stats.js';
import { EXIT_NO_MATCH, isCliError } from '../../src/errors.js';
import type { Entry } from '../../src/format/schema.js';
import type { ConnectionStats } from '../../src/inspect/stats.js';
import { openClient, startRecorder, startWsServer, waitFor, countEntries } from '../helpers/peers.js';
import { ANSI, connection, end, errorEntry, fakeIo, frame, isoAt, tempDir, writeArchive } from '../output/test-archives.js';

beforeAll(() => {
  process.env.TZ = 'UTC';
});

/** Parse argv with the real command module; the handler only captures the options. */
function parseArgs(argv: string[]): Promise<StatsOptions> {
  return parseCommand(statsCommand, argv);
}

describe('stats: argv -> options', () => {
  it.each<[string[], Partial<StatsOptions>]>([
    [['stats', 'a.wstape'], { file: 'a.wstape', json: false }],
    [['stats', 'a.wstape', '--json'], { json: true }],
    [['stats', 'a.wstape', '--conn', 'c1'], { conn: ['c1'] }],
    [['stats', 'a.wstape', '--conn', 'c1', '--conn', 'c2,c3'], { conn: ['c1', 'c2', 'c3'] }],
  ])('%j', async (argv, expected) => {
    expect(await parseArgs(argv)).toMatchObject(expected);
  });

  it('leaves --conn undefined when absent', async () => {
    expect((await parseArgs(['stats', 'a.wstape'])).conn).toBeUndefined();
  });

  it.each([[['stats']], [['stats', 'a.wstape', '--bogus']]])('rejects %j', async (argv) => {
    await expect(parseArgs(argv)).rejects.toThrow();
  });
});

async function statsJson(file: string, conn?: string[]): Promise<{ stats: ConnectionStats[]; err: string }> {
  const io = fakeIo();
  expect(await runStats({ file, json: true, ...(conn ? { conn } : {}) }, io)).toBe(0);
  const stats = io
    .out()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as ConnectionStats);
  return { stats, err: io.err() };
}

describe('stats on recorded sessions', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A recorder in front of a `ws` server; resolves `ends` as end entries are recorded. */
  async function setup(serverOptions: Parameters<typeof startWsServer>[0] = {}) {
    const server = await startWsServer(serverOptions);
    const recorder = await startRecorder({ target: server.url });
    cleanups.push(server.close, () => recorder.stop());
    return { server, recorder, ends: countEntries(recorder, 'end') };
  }

  /** Ping and wait for the pong with the same payload. */
  async function pingPong(client: WebSocket, payload: string): Promise<void> {
    await new Promise<void>((resolve) => {
      const onPong = (data: Buffer): void => {
        if (data.toString() !== payload) return;
        client.off('pong', onPong);
        resolve();
      };
      client.on('pong', onPong);
      client.ping(payload);
    });
  }

  it('a clean session: messages, compression, ping round trips both ways, close 1000 by the client', async () => {
    const { server, recorder, ends } = await setup({ perMessageDeflate: { threshold: 0 } });
    let serverPinged = false;
    server.wss.on('connection', (socket) => {
      socket.on('message', (data, binary) => socket.send(data, { binary }));
      socket.on('pong', () => (serverPinged = true));
      socket.ping('srv-1');
    });
    const client = await openClient(`ws://127.0.0.1:${recorder.port}/chat`, { perMessageDeflate: { threshold: 0 } });
    const echoed = new Promise((resolve) => client.once('message', resolve));
    client.send(JSON.stringify({ rows: Array.from({ length: 200 }, (_, i) => ({ id: i, name: 'the same words again' })) }));
    await echoed;
    await pingPong(client, 'cli-1');
    await pingPong(client, 'cli-2');
    await waitFor(() => serverPinged, 2000, 'the pong to the server ping');
    const closed = new Promise((resolve) => client.once('close', resolve));
    client.close(1000, 'bye');
    await closed;
    await waitFor(() => ends() === 1, 5000, 'the end entry');
    await recorder.stop();

    const { stats, err } = await statsJson(recorder.path);
    expect(err).toBe('');
    expect(stats).toHaveLength(1);
    const [c1] = stats as [ConnectionStats];
    expect(c1).toMatchObject({ conn: 'c1', url: expect.stringMatching(/^ws:\/\/127\.0\.0\.1:\d+\/chat$/), open: false, messagesOut: 1, messagesIn: 1 });
    expect(c1.types.ping).toMatchObject({ framesOut: 2, framesIn: 1 });
    expect(c1.types.pong).toMatchObject({ framesOut: 1, framesIn: 2 });
    expect(c1.pings).toMatchObject({ out: 2, in: 1, answered: 3, unanswered: 0, unsolicitedPongs: 0, rttSampled: false });
    const rtt = c1.pings.rttMs!;
    expect(rtt.min).toBeGreaterThanOrEqual(0);
    expect(rtt.min).toBeLessThanOrEqual(rtt.median);
    expect(rtt.median).toBeLessThanOrEqual(rtt.p95);
    expect(rtt.p95).toBeLessThanOrEqual(rtt.max);
    expect(rtt.max).toBeLessThan(2000);
    // Repetitive JSON compresses well; both messages went compressed.
    expect(c1.compression!.frames).toBe(2);
    expect(c1.compression!.ratio).toBeGreaterThan(5);
    expect(c1.largestFrame).toMatchObject({ type: 'text', size: expect.any(Number) });
    expect(c1.close).toMatchObject({ code: 1000, name: 'Normal closure', reason: 'bye', closedBy: 'client', clean: true });
    expect(c1.close!.handshakeMs).toBeGreaterThanOrEqual(0);
    expect(c1.diagnosis).toMatch(
      /^client closed with 1000 \(Normal closure\) "bye"; the server answered with its close frame .* later: the close handshake completed$/,
    );
    expect(c1.anomalies).toEqual({});
    // Wire bytes add up to what the end entry counted.
    expect(c1.bytesOut + c1.bytesIn).toBe(recorder.recorder.totals.bytes);
  });

  it('1006 on both sides, in one archive: the server terminates, then a client terminates; --conn picks one', async () => {
    const { server, recorder, ends } = await setup();
    server.wss.on('connection', (socket) => {
      socket.on('message', (data) => {
        if (String(data) === 'drop me') socket.terminate();
        else socket.send(`echo ${String(data)}`);
      });
    });
    const first = await openClient(`ws://127.0.0.1:${recorder.port}/a`);
    await pingPong(first, 'hb-1');
    await pingPong(first, 'hb-2');
    first.send('drop me');
    await waitFor(() => ends() === 1, 5000, 'the first end entry');

    const second = await openClient(`ws://127.0.0.1:${recorder.port}/b`);
    const echo = new Promise((resolve) => second.once('message', resolve));
    second.send('hi');
    await echo;
    second.terminate();
    await waitFor(() => ends() === 2, 5000, 'the second end entry');
    await recorder.stop();

    const { stats } = await statsJson(recorder.path);
    expect(stats.map((s) => s.conn)).toEqual(['c1', 'c2']);
    const [c1, c2] = stats as [ConnectionStats, ConnectionStats];

    expect(c1.close).toMatchObject({ code: 1006, name: 'Abnormal closure', closedBy: 'server', droppedBy: 'server', clean: false, handshakeMs: null });
    expect(c1.close!.keepAlive.client).toMatchObject({ pings: 2, unansweredAtEnd: 0, flowing: true });
    expect(c1.close!.keepAlive.server).toMatchObject({ pings: 0, flowing: false });
    expect(c1.pings).toMatchObject({ out: 2, answered: 2, unanswered: 0 });
    expect(c1.diagnosis).toMatch(
      /^server dropped the TCP connection \d+ ms after the last frame without a close frame; keep-alive pings were flowing \(client every \d+ ms\) and answered, so it was not an idle timeout — the server process exited, crashed or restarted/,
    );

    expect(c2.close).toMatchObject({ code: 1006, closedBy: 'client', droppedBy: 'client', clean: false });
    expect(c2.diagnosis).toMatch(
      /^client dropped the TCP connection \d+ ms after the last frame without a close frame; no pings were flowing in either direction, but the drop came only \d+ ms after traffic, too soon for an idle timeout — the client process exited or crashed/,
    );

    const only = await statsJson(recorder.path, ['c2']);
    expect(only.stats.map((s) => s.conn)).toEqual(['c2']);
    expect(only.stats[0]).toEqual(c2);

    // The readable view: one block per connection, the per-type table, no escape codes when piped.
    const io = fakeIo();
    await runStats({ file: recorder.path, json: false }, io);
    const out = io.out();
    expect(out).not.toMatch(ANSI);
    expect(out).toMatch(/^c1 {2}ws:\/\/127\.0\.0\.1:\d+\/a\n/);
    expect(out).toMatch(/\nc2 {2}ws:\/\/127\.0\.0\.1:\d+\/b\n/);
    expect(out.match(/^ {2}TYPE +FRAMES OUT +FRAMES IN +BYTES OUT +BYTES IN +PAYLOAD OUT +PAYLOAD IN$/gm)).toHaveLength(2);
    expect(out).toContain(`  diagnosis    ${c1.diagnosis}\n`);
  });
});

describe('stats on hand-built archives', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  afterAll(async () => cleanup());

  const server = { masked: false, mask: undefined };
  const ENTRIES: Entry[] = [
    connection('c1', { elapsed: 0, time: isoAt(0), subprotocol: 'chat.v1' }),
    frame({ conn: 'c1', index: 0, elapsed: 1, dir: 'out', text: 'hi', size: 2, wireSize: 8 }),
    frame({ conn: 'c1', index: 1, elapsed: 1.5, dir: 'out', type: 'ping', opcode: 9, text: undefined, data: 'aGI=', size: 2, wireSize: 8 }),
    frame({ conn: 'c1', index: 2, elapsed: 1.5025, dir: 'in', type: 'pong', opcode: 10, text: undefined, data: 'aGI=', size: 2, wireSize: 4, ...server }),
    frame({
      conn: 'c1',
      index: 3,
      elapsed: 2,
      dir: 'in',
      type: 'binary',
      opcode: 2,
      text: undefined,
      data: 'AAE=',
      size: 2048,
      wireSize: 2052,
      truncated: true,
      flags: ['reserved-bits'],
      ...server,
    }),
    errorEntry({ conn: 'c1', elapsed: 2.1, code: 'WS_STREAM_UNPARSEABLE' }),
    end('c1', { elapsed: 32, time: isoAt(32), closeCode: 1006, closedBy: 'server', droppedBy: 'server', clean: false }),
    connection('c2', { elapsed: 40, time: isoAt(40), url: 'ws://127.0.0.1:9000/\u001b[31mevil' }),
    frame({ conn: 'c2', index: 0, elapsed: 41, dir: 'out', text: 'x', size: 1, wireSize: 7 }),
  ];

  it('prints a readable block per connection', async () => {
    const path = await writeArchive(join(dir, 'two.wstape'), ENTRIES);
    const io = fakeIo();
    expect(await runStats({ file: path, json: false }, io)).toBe(0);
    expect(io.out()).toBe(
      [
        'c1  ws://127.0.0.1:9000/chat  subprotocol chat.v1',
        '  started      10:30:00.000, lasted 32.0 s',
        '  messages     1 out, 1 in, 0.06 messages/s',
        '  largest      #3 <-- binary 2.0 KiB (10:30:02.000)',
        '  pings        1 from client, 0 from server, 1 answered',
        '  round trip   min 2.50 ms, median 2.50 ms, p95 2.50 ms, max 2.50 ms',
        '  silence      longest 500 ms, between #0 and #1 (10:30:01.000 to 10:30:01.500)',
        '  anomalies    reserved-bits 1',
        '  errors       WS_STREAM_UNPARSEABLE 1',
        '  close        1006 Abnormal closure by server, not clean (server dropped the TCP connection)',
        "  diagnosis    server dropped the TCP connection 30.0 s after the last frame without a close frame; no keep-alive pings were flowing (the client's last ping came 30.5 s before the end) — an idle timeout (proxy/load balancer) is likely: send pings more often than that timeout",
        '',
        '  TYPE    FRAMES OUT  FRAMES IN  BYTES OUT  BYTES IN  PAYLOAD OUT  PAYLOAD IN',
        '  text             1          0        8 B       0 B          2 B         0 B',
        '  binary           0          1        0 B   2.0 KiB          0 B     2.0 KiB',
        '  ping             1          0        8 B       0 B          2 B         0 B',
        '  pong             0          1        0 B       4 B          0 B         2 B',
        '  total            2          2       16 B   2.0 KiB          4 B     2.0 KiB',
        '',
        'c2  ws://127.0.0.1:9000/\\x1b[31mevil',
        '  started      10:30:40.000, still open',
        '  messages     1 out, 0 in, 1.00 messages/s',
        '  largest      #0 --> text 1 B (10:30:41.000)',
        '  diagnosis    still open at the end of the archive: the recording stopped (or was killed) while the connection was open',
        '',
        '  TYPE   FRAMES OUT  FRAMES IN  BYTES OUT  BYTES IN  PAYLOAD OUT  PAYLOAD IN',
        '  text            1          0        7 B       0 B          1 B         0 B',
        '  total           1          0        7 B       0 B          1 B         0 B',
        '',
      ].join('\n'),
    );
  });

  it('colours the block on a TTY, and never --json', async () => {
    const path = await writeArchive(join(dir, 'colour.wstape'), ENTRIES);
    const tty = fakeIo({ tty: true });
    await runStats({ file: path, json: false }, tty);
    expect(tty.out()).toMatch(ANSI);
    const json = fakeIo({ tty: true });
    await runStats({ file: path, json: true }, json);
    expect(json.out()).not.toMatch(ANSI);
    expect(json.out().trimEnd().split('\n')).toHaveLength(2);
  });

  it('warns about --conn ids it did not find, and about archives without WebSocket connections', async () => {
    const path = await writeArchive(join(dir, 'warn.wstape'), ENTRIES);
    const io = fakeIo();
    expect(await runStats({ file: path, json: true, conn: ['c2', 'c9'] }, io)).toBe(EXIT_NO_MATCH);
    expect(
      io
        .out()
        .trimEnd()
        .split('\n')
        .map((line) => (JSON.parse(line) as ConnectionStats).conn),
    ).toEqual(['c2']);
    expect(io.err()).toMatch(/^wstape: warning: no WebSocket connection c9 in .*\n$/);
    const empty = await writeArchive(join(dir, 'empty.wstape'), []);
    expect((await statsJson(empty)).err).toMatch(/^wstape: warning: .* holds no WebSocket connections\n$/);
  });

  it('prints the reader warnings as wstape: warning lines', async () => {
    const path = await writeArchive(join(dir, 'open.wstape'), ENTRIES, { closed: false });
    const { stats, err } = await statsJson(path);
    expect(stats).toHaveLength(2);
    expect(err).toMatch(/^wstape: warning: [^\n]*not closed cleanly[^\n]*\n$/);
  });

  it('propagates reader errors', async () => {
    const error = await runStats({ file: join(dir, 'missing.wstape'), json: false }, fakeIo()).catch((e: unknown) => e);
    expect(isCliError(error) && error.code).toBe('ERR_FILE');
  });
});

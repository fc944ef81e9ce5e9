/**
 * Faults on replay, end to end: a session recorded through the real recorder, replayed by the mock
 * server (and once as a client) with hooks and the fault flags, against real `ws` peers on
 * 127.0.0.1. Each test also checks the unfaulted case where that is what makes it able to fail.
 * Timing: only lower bounds (nothing comes before it is due); how late things come is never
 * asserted, the machine is loaded.
 */
import { spawn } from 'node:child_process';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import type { FrameEntry } from '../../src/format/schema.js';
import { HookChain } from '../../src/intervene/chain.js';
import type { Hooks, Message } from '../../src/intervene/hooks.js';
import { compileReplayFaults, parseReplayFaults, type ReplayFaultArgs } from '../../src/replay/faults.js';
import { compileIgnores } from '../../src/replay/match.js';
import { MockServer, type MockServerOptions } from '../../src/replay/mock-server.js';
import type { PlayerResult } from '../../src/replay/player.js';
import { loadRecording, type Recording } from '../../src/replay/recording.js';
import { runReplay } from '../../src/commands/replay.js';
import { BIN } from '../helpers/cli.js';
import { captureIo, openClient, readEntries, startRecorder, startWsServer, waitFor } from '../helpers/peers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The server's messages after "start", at these offsets (ms). */
const OFFSETS = [0, 20, 40, 60, 80];
const BIG = 1024 * 1024;

/**
 * The server under recording: "start" gets m0..m4 at OFFSETS; a binary message gets "got N";
 * pings get ws's automatic pong.
 */
async function startServer() {
  const server = await startWsServer({ perMessageDeflate: false });
  const received: string[] = [];
  const closes: number[] = [];
  server.wss.on('connection', (socket) => {
    socket.on('close', (code) => closes.push(code));
    socket.on('message', (data, binary) => {
      received.push(binary ? `bin ${(data as Buffer).length}` : String(data));
      if (binary) socket.send(`got ${(data as Buffer).length}`);
      else if (String(data) === 'start') for (const [i, offset] of OFFSETS.entries()) setTimeout(() => socket.send(`m${i}`), offset);
    });
  });
  return { ...server, received, closes };
}

/** What a client under test saw. */
class Seen {
  messages: string[] = [];
  arrivals: number[] = [];
  pongs = 0;
  close: { code: number; reason: string } | null = null;
  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.arrivals.push(performance.now());
      this.messages.push(String(data));
    });
    ws.on('pong', () => this.pongs++);
    ws.on('close', (code, reason) => (this.close = { code, reason: String(reason) }));
  }
  async count(n: number): Promise<void> {
    await waitFor(() => this.messages.length >= n, 5000, `${n} messages`);
  }
  async closed(): Promise<{ code: number; reason: string }> {
    await waitFor(() => this.close !== null, 5000, 'the close');
    return this.close!;
  }
}

/** The recorded client: start, 5 messages, a ping and its pong, 1 MiB and its answer, close. */
async function record(): Promise<string> {
  const server = await startServer();
  cleanups.push(server.close);
  const recorder = await startRecorder({ target: server.url });
  const seen = new Seen(await openClient(`ws://127.0.0.1:${recorder.port}/feed`));
  seen.ws.send('start');
  await seen.count(OFFSETS.length);
  seen.ws.ping();
  await waitFor(() => seen.pongs === 1, 5000, 'the pong');
  seen.ws.send(Buffer.alloc(BIG, 7));
  await seen.count(OFFSETS.length + 1);
  seen.ws.close(1000);
  await seen.closed();
  await waitFor(() => recorder.recorder.totals.bytes > 0, 5000, 'the end');
  await recorder.stop();
  return recorder.path;
}

let file = '';
let recording: Recording;
/** Each recorded m_i's offset from the recorded "start", in ms. */
let recordedOffsets: number[] = [];
beforeAll(async () => {
  file = await record();
  recording = await loadRecording(file, captureIo());
  const frames = (await readEntries(file)).filter((entry): entry is FrameEntry => entry.kind === 'frame' && entry.type === 'text');
  const start = frames.find((frame) => frame.dir === 'out' && frame.text === 'start')!;
  recordedOffsets = frames.filter((frame) => frame.dir === 'in' && /^m\d$/.test(frame.text ?? '')).map((frame) => (frame.elapsed - start.elapsed) * 1000);
}, 20_000);

const chainOf = (...hooks: Array<{ hooks: Hooks; name: string }>): HookChain =>
  new HookChain(
    hooks.map((entry) => ({ ...entry, by: 'script' as const })),
    1000,
  );
const flags = (args: ReplayFaultArgs): HookChain => new HookChain([compileReplayFaults(parseReplayFaults(args), 'in')!], 1000);

async function mock(options: Partial<MockServerOptions> = {}) {
  const sessions: PlayerResult[] = [];
  const warnings: string[] = [];
  const server = new MockServer({
    recording,
    host: '127.0.0.1',
    port: 0,
    speed: Infinity,
    strict: false,
    rules: compileIgnores([]),
    maxPayload: 1 << 24,
    onSession: (_conversation, result) => sessions.push(result),
    onWarning: (line) => warnings.push(line),
    ...options,
  });
  const address = await server.listen();
  cleanups.push(() => server.close());
  const connect = async (): Promise<Seen> => new Seen(await openClient(`ws://127.0.0.1:${address.port}/feed`));
  return { connect, sessions, warnings };
}

describe('replay --as server: fault flags', () => {
  it('--abort-after 2: the client gets two messages, then the TCP connection drops (1006)', async () => {
    const { connect } = await mock({ hooks: flags({ abortAfter: '2' }) });
    const seen = await connect();
    seen.ws.send('start');
    expect((await seen.closed()).code).toBe(1006);
    expect(seen.messages).toEqual(['m0', 'm1']);
  });

  it('--close-after 2 --close-code 1011 --close-reason (the CLI): the client sees that code and reason after two messages', async () => {
    const child = spawn(
      process.execPath,
      [BIN, 'replay', file, '--as', 'server', '--port', '0', '--once', '--asap', '--close-after', '2', '--close-code', '1011', '--close-reason', 'try later'],
      { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += String(chunk)));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    cleanups.push(() => child.kill('SIGKILL'));
    await waitFor(() => /on ws:\/\/127\.0\.0\.1:(\d+)/.test(stderr), 10_000, 'the mock to listen');
    const port = Number(/on ws:\/\/127\.0\.0\.1:(\d+)/.exec(stderr)![1]);
    const seen = new Seen(await openClient(`ws://127.0.0.1:${port}/feed`));
    seen.ws.send('start');
    expect(await seen.closed()).toEqual({ code: 1011, reason: 'try later' });
    expect(seen.messages).toEqual(['m0', 'm1']);
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/sent 2 frames, received 2, then closed it with 1011/);
  });

  it('--latency 80ms~20ms: no message comes before its recorded offset plus 60 ms', async () => {
    const run = async (hooks: HookChain): Promise<number[]> => {
      const { connect } = await mock({ speed: 1, hooks });
      const seen = await connect();
      const sentAt = performance.now();
      seen.ws.send('start');
      await seen.count(OFFSETS.length);
      seen.ws.terminate();
      return seen.arrivals.map((at, i) => at - sentAt - recordedOffsets[i]!);
    };
    const lateness = await run(flags({ latency: '80ms~20ms' }));
    console.log(`replay --latency 80ms~20ms: each message's lateness over its recorded offset ${lateness.map((ms) => ms.toFixed(1)).join(', ')} ms`);
    // The lower bound only (a timer rounds up, never down; -1 for the float noise of the offsets).
    for (const late of lateness) expect(late).toBeGreaterThan(60 - 1);
  });

  it('--no-pong: the client pings and no pong comes; without it, the recorded pong does', async () => {
    const ping = async (hooks: HookChain | null): Promise<Seen> => {
      const { connect } = await mock({ hooks });
      const seen = await connect();
      cleanups.push(() => seen.ws.terminate());
      seen.ws.send('start');
      await seen.count(OFFSETS.length);
      seen.ws.ping();
      return seen;
    };
    const answered = await ping(null);
    await waitFor(() => answered.pongs === 1, 5000, 'the pong');

    const silent = await ping(flags({ noPong: true }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(silent.pongs).toBe(0);
  });

  it('--slow-read 2MiB: 1 MiB from the client takes at least half a second to be read', async () => {
    const timeBig = async (slowReadBytesPerSecond?: number): Promise<number> => {
      const { connect } = await mock(slowReadBytesPerSecond === undefined ? {} : { slowReadBytesPerSecond });
      const seen = await connect();
      cleanups.push(() => seen.ws.terminate());
      seen.ws.send('start');
      await seen.count(OFFSETS.length);
      seen.ws.ping();
      await waitFor(() => seen.pongs === 1, 5000, 'the pong');
      const sentAt = performance.now();
      seen.ws.send(Buffer.alloc(BIG, 7));
      // The mock answers once it has read the whole message (lockstep).
      await waitFor(() => seen.messages.length === OFFSETS.length + 1, 10_000, 'the answer');
      expect(seen.messages.at(-1)).toBe(`got ${BIG}`);
      return performance.now() - sentAt;
    };
    const rate = 2 * 1024 * 1024;
    // From the send, which is before the mock reads the first byte: at least size / rate (less float noise).
    const slow = await timeBig(rate);
    const fast = await timeBig();
    console.log(`replay --slow-read 2MiB: 1 MiB read in ${slow.toFixed(0)} ms (unthrottled: ${fast.toFixed(0)} ms)`);
    // Only the lower bound: how fast the unthrottled read is depends on the machine's load.
    expect(slow).toBeGreaterThan((BIG / rate) * 1000 - 5);
  });
});

describe('replay --as server: hooks', () => {
  it("replaces and drops the replayer's messages; ctx.send reaches the client only in its direction", async () => {
    const peer: Message[] = [];
    const hooks: Hooks = {
      onMessage: (message, ctx) => {
        if (message.dir === 'out') {
          peer.push(message);
          if (message.text === 'start') {
            ctx.send('in', 'hello from a hook');
            ctx.send('out', 'nobody gets this');
          }
          return undefined;
        }
        if (message.text === 'm1') return 'M1!';
        if (message.text === 'm2') return null;
        return undefined;
      },
    };
    const { connect, warnings } = await mock({ hooks: chainOf({ hooks, name: 'edit.mjs' }) });
    const seen = await connect();
    seen.ws.send('start');
    await seen.count(OFFSETS.length);
    expect(seen.messages).toEqual(['hello from a hook', 'm0', 'M1!', 'm3', 'm4']);
    expect(peer.map((message) => [message.dir, message.text, message.index])).toEqual([['out', 'start', 0]]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/ctx\.send\("out"\) ignored/);
    seen.ws.terminate();
  });

  it('a hook that throws: one warning per failure naming it, and the replay goes on unchanged', async () => {
    const hooks: Hooks = {
      onMessage: (message) => {
        if (message.dir === 'in') throw new Error(`boom on ${message.text ?? ''}`);
        return undefined;
      },
    };
    const { connect, warnings, sessions } = await mock({ hooks: chainOf({ hooks, name: 'boom.mjs' }) });
    const seen = await connect();
    seen.ws.send('start');
    await seen.count(OFFSETS.length);
    expect(seen.messages).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(warnings).toHaveLength(OFFSETS.length);
    expect(warnings[0]).toMatch(/boom\.mjs onMessage failed: Error: boom on m0 \(HOOK_ERROR\)/);
    expect(warnings.every((line) => !line.includes('\n'))).toBe(true);
    // The session goes on as recorded: the pong and the answer still come.
    seen.ws.ping();
    await waitFor(() => seen.pongs === 1, 5000, 'the pong');
    seen.ws.close(1000);
    await waitFor(() => sessions.length === 1, 5000, 'the session to end');
  });

  it("ctx.close on the peer's message: the client gets the close at once", async () => {
    const hooks: Hooks = { onMessage: (message, ctx) => (message.dir === 'out' ? ctx.close(4001, 'go away') : undefined) };
    const { connect, sessions } = await mock({ hooks: chainOf({ hooks, name: 'kick.mjs' }) });
    const seen = await connect();
    seen.ws.send('start');
    expect(await seen.closed()).toEqual({ code: 4001, reason: 'go away' });
    await waitFor(() => sessions.length === 1, 5000, 'the session to end');
    expect(sessions[0]!.endedBy).toEqual({ action: 'close', code: 4001, reason: 'go away' });
  });
});

describe('replay --as client: fault flags', () => {
  it('--abort-after 1: the server under test gets the first message, then sees 1006', async () => {
    const server = await startServer();
    cleanups.push(server.close);
    const io = captureIo();
    await runReplay(
      {
        file,
        as: 'client',
        port: 0,
        host: '127.0.0.1',
        target: server.url,
        speed: 1,
        asap: true,
        strict: false,
        once: false,
        timeout: 2000,
        insecure: false,
        maxPayload: '16MiB',
        abortAfter: '1',
      },
      io,
    );
    await waitFor(() => server.closes.length === 1, 5000, 'the server to see the end');
    expect(server.received).toEqual(['start']);
    expect(server.closes).toEqual([1006]);
    expect(io.err()).toMatch(/dropped the connection/);
  });
});

/**
 * The player with hooks, on a fake clock (as player.test.ts): when each message goes out with
 * --latency (jitter from a fixed sequence), what replacing, dropping and injecting do to the
 * frames, a silenced ping's pong, and ctx.close's handshake.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ConnectionEntry, FrameEntry } from '../../src/format/schema.js';
import { HookChain } from '../../src/intervene/chain.js';
import type { Hooks } from '../../src/intervene/hooks.js';
import { compileReplayFaults, parseReplayFaults } from '../../src/replay/faults.js';
import { compileIgnores } from '../../src/replay/match.js';
import { ConversationPlayer, type PlayerResult } from '../../src/replay/player.js';
import type { Conversation } from '../../src/replay/recording.js';
import { FrameParser } from '../../src/wire/frame-parser.js';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

type Kind = 'text' | 'continuation' | 'ping' | 'pong' | 'close';
const OPCODES: Record<Kind, number> = { text: 1, continuation: 0, ping: 9, pong: 10, close: 8 };

function frame(index: number, elapsed: number, dir: 'in' | 'out', type: Kind, text = '', fin = true): FrameEntry {
  return {
    kind: 'frame',
    conn: 'c1',
    index,
    time: new Date(Date.UTC(2026, 0, 1) + elapsed * 1000).toISOString(),
    elapsed,
    dir,
    type,
    opcode: OPCODES[type],
    fin,
    rsv1: false,
    rsv2: false,
    rsv3: false,
    masked: dir === 'out',
    size: text.length,
    wireSize: text.length + 2,
    ...(type === 'close' ? { code: 1000, reason: '' } : { text }),
  };
}

function conversation(frames: FrameEntry[]): Conversation {
  return { connection: { kind: 'connection', id: 'c1', elapsed: 0, url: 'ws://x/feed' } as ConnectionEntry, frames, end: null };
}

interface Sent {
  opcode: number;
  fin: boolean;
  text: string;
  at: number;
}

/** Play the server side with these hooks; what it sent, when (fake clock), and what it warned. */
function playServer(frames: FrameEntry[], hooks: HookChain, speed = 1) {
  const sent: Sent[] = [];
  const warnings: string[] = [];
  const ends: string[] = [];
  const parser = new FrameParser({ maxRetain: 1 << 20 });
  const player = new ConversationPlayer(
    conversation(frames),
    { side: 'server', speed, strict: false, rules: compileIgnores([]), deflate: false, hooks },
    {
      send: (bytes) => {
        for (const event of parser.push(bytes)) {
          if (event.type === 'frame') {
            sent.push({
              opcode: event.frame.header.opcode,
              fin: event.frame.header.fin,
              text: Buffer.from(event.frame.payload).toString('latin1'),
              at: performance.now(),
            });
          }
        }
      },
      drop: () => ends.push('drop'),
      finish: () => ends.push('finish'),
      warn: (line) => warnings.push(line),
    },
  );
  const done: Promise<PlayerResult> = player.play();
  return { player, sent, warnings, ends, done };
}

const chain = (hooks: Hooks): HookChain => new HookChain([{ hooks, name: 'test.mjs', by: 'script' }], 1000);

/** A random source that returns these values in turn. */
const sequence = (values: number[]): (() => number) => {
  let i = 0;
  return () => values[i++ % values.length]!;
};

describe('--latency on a fake clock', () => {
  const offsets = [0, 0.04, 0.12, 0.15, 0.26, 0.3];
  const ticks = [frame(0, 1.0, 'out', 'text', 'start'), ...offsets.map((offset, i) => frame(i + 1, 1.0 + offset, 'in', 'text', `tick ${i}`))];

  it('sends each message its recorded offset plus its latency after the peer frame, the jitter uniform around it', async () => {
    // 50ms~20ms with these draws: 50 + (2r - 1) * 20 = 50, 70, 30, 50, 40, 60 ms.
    const random = sequence([0.5, 1, 0, 0.5, 0.25, 0.75]);
    const flags = compileReplayFaults(parseReplayFaults({ latency: '50ms~20ms' }), 'in', random)!;
    const { player, sent, done } = playServer(ticks, new HookChain([flags], 1000));
    const start = performance.now();
    player.peerFrame({ type: 'text', text: 'start' });
    await vi.advanceTimersByTimeAsync(1000);
    await done;
    const delays = [50, 70, 30, 50, 40, 60];
    // Each from its own due time: a steady latency does not add up from message to message.
    expect(sent.map(({ at }) => Math.round(at - start))).toEqual(offsets.map((offset, i) => Math.round(offset * 1000) + delays[i]!));
  });

  it('never lets a later message overtake a delayed one: it goes right after it', async () => {
    const frames = [frame(0, 1.0, 'out', 'text', 'start'), frame(1, 1.0, 'in', 'text', 'a'), frame(2, 1.01, 'in', 'text', 'b')];
    // a: 70 ms, b: 30 ms (due at 10 + 30 = 40, but a goes at 70).
    const flags = compileReplayFaults(parseReplayFaults({ latency: '50~20' }), 'in', sequence([1, 0]))!;
    const { player, sent, done } = playServer(frames, new HookChain([flags], 1000));
    const start = performance.now();
    player.peerFrame({ type: 'text', text: 'start' });
    await vi.advanceTimersByTimeAsync(1000);
    await done;
    expect(sent.map(({ text, at }) => [text, Math.round(at - start)])).toEqual([
      ['a', 70],
      ['b', 70],
    ]);
  });

  it('delays messages only, not the pong that answers a ping', async () => {
    const frames = [frame(0, 1.0, 'out', 'ping'), frame(1, 1.001, 'in', 'pong')];
    const flags = compileReplayFaults(parseReplayFaults({ latency: '200' }), 'in')!;
    const { player, sent, done } = playServer(frames, new HookChain([flags], 1000));
    const start = performance.now();
    player.peerFrame({ type: 'ping', data: '' });
    await vi.advanceTimersByTimeAsync(100);
    await done;
    expect(sent.map(({ opcode, at }) => [opcode, Math.round(at - start)])).toEqual([[10, 1]]);
  });
});

describe('hooks on the fake clock', () => {
  // The server's message "hello world" in two fragments, then "bye".
  const fragmented = [
    frame(0, 1.0, 'out', 'text', 'start'),
    frame(1, 1.01, 'in', 'text', 'hello ', false),
    frame(2, 1.02, 'in', 'continuation', 'world'),
    frame(3, 1.03, 'in', 'text', 'bye'),
  ];

  it('sees a fragmented message whole; unchanged, its fragments go out as recorded, and an injection waits for the last one', async () => {
    const seen: string[] = [];
    const hooks = chain({
      onMessage: (message, ctx) => {
        seen.push(`${message.dir} ${message.index} ${message.text ?? ''}`);
        if (message.text === 'hello world') ctx.send('in', 'injected');
        return undefined;
      },
    });
    const { player, sent, done } = playServer(fragmented, hooks);
    player.peerFrame({ type: 'text', text: 'start' });
    await vi.advanceTimersByTimeAsync(1000);
    await done;
    expect(seen).toEqual(['out 0 start', 'in 0 hello world', 'in 1 bye']);
    expect(sent.map(({ opcode, fin, text }) => [opcode, fin, text])).toEqual([
      [1, false, 'hello '],
      [0, true, 'world'],
      [1, true, 'injected'],
      [1, true, 'bye'],
    ]);
  });

  it('sends a replacement as one frame and skips the fragments it replaced; a drop sends nothing', async () => {
    const hooks = chain({ onMessage: (message) => (message.text === 'hello world' ? 'HELLO' : message.text === 'bye' ? null : undefined) });
    const { player, sent, done } = playServer(fragmented, hooks);
    player.peerFrame({ type: 'text', text: 'start' });
    await vi.advanceTimersByTimeAsync(1000);
    const result = await done;
    expect(sent.map(({ opcode, fin, text }) => [opcode, fin, text])).toEqual([[1, true, 'HELLO']]);
    expect(result.sent).toBe(1);
  });

  it('a ping that onControl silences gets no pong; the next one does', async () => {
    const frames = [
      frame(0, 1.0, 'out', 'ping', 'one'),
      frame(1, 1.0, 'in', 'pong', 'one'),
      frame(2, 1.1, 'out', 'ping', 'two'),
      frame(3, 1.1, 'in', 'pong', 'two'),
    ];
    let pings = 0;
    const hooks = chain({ onControl: (control) => (control.type === 'ping' && pings++ === 0 ? null : undefined) });
    const { player, sent, done } = playServer(frames, hooks);
    player.peerFrame({ type: 'ping', text: 'one' });
    await vi.advanceTimersByTimeAsync(50);
    player.peerFrame({ type: 'ping', text: 'two' });
    await vi.advanceTimersByTimeAsync(50);
    await done;
    expect(sent.map(({ opcode, text }) => [opcode, text])).toEqual([[10, 'two']]);
  });

  it('ctx.close sends the close frame after the message, waits for the answer, then ends; the rest is not sent', async () => {
    const hooks = chain({ onMessage: (message, ctx) => (message.text === 'hello world' ? ctx.close(1011, 'boom') : undefined) });
    const { player, sent, ends, done } = playServer(fragmented, hooks);
    player.peerFrame({ type: 'text', text: 'start' });
    await vi.advanceTimersByTimeAsync(100);
    expect(sent.map(({ opcode, text }) => [opcode, text])).toEqual([
      [1, 'hello '],
      [0, 'world'],
      [8, `${String.fromCharCode(0x03, 0xf3)}boom`],
    ]);
    expect(ends).toEqual([]);
    player.peerFrame({ type: 'close', code: 1011, reason: 'boom' });
    await vi.advanceTimersByTimeAsync(0);
    const result = await done;
    expect(ends).toEqual(['finish']);
    expect(result.endedBy).toEqual({ action: 'close', code: 1011, reason: 'boom' });
  });

  it('a close nobody answers is dropped after the close timeout', async () => {
    const hooks = chain({ onMessage: (message, ctx) => (message.dir === 'out' ? ctx.close(1000, '') : undefined) });
    const { player, ends, done } = playServer(fragmented, hooks);
    player.peerFrame({ type: 'text', text: 'start' });
    await vi.advanceTimersByTimeAsync(4000);
    expect(ends).toEqual([]);
    await vi.advanceTimersByTimeAsync(2000);
    await done;
    expect(ends).toEqual(['drop']);
  });
});

/**
 * The replay schedule, on a fake clock: which gap the player waits before each of its frames, and
 * what it measures that gap from. Deterministic, so it can say exactly what the e2e test in
 * replay-e2e.test.ts can only measure on a loaded machine.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ConnectionEntry, FrameEntry } from '../../src/format/schema.js';
import { compileIgnores } from '../../src/replay/match.js';
import { ConversationPlayer } from '../../src/replay/player.js';
import type { Conversation } from '../../src/replay/recording.js';
import { FrameParser } from '../../src/wire/frame-parser.js';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

function frame(index: number, elapsed: number, dir: 'in' | 'out', text: string): FrameEntry {
  return {
    kind: 'frame',
    conn: 'c1',
    index,
    time: new Date(Date.UTC(2026, 0, 1) + elapsed * 1000).toISOString(),
    elapsed,
    dir,
    type: 'text',
    opcode: 1,
    fin: true,
    rsv1: false,
    rsv2: false,
    rsv3: false,
    masked: dir === 'out',
    size: text.length,
    wireSize: text.length + 2,
    text,
  };
}

function conversation(frames: FrameEntry[]): Conversation {
  return { connection: { kind: 'connection', id: 'c1', elapsed: 0 } as ConnectionEntry, frames, end: null };
}

/** Play the server side; returns the fake-clock times at which each of its frames was sent, by text. */
function playServer(frames: FrameEntry[], speed: number): { player: ConversationPlayer; sent: Array<[string, number]>; done: Promise<unknown> } {
  const sent: Array<[string, number]> = [];
  const parser = new FrameParser({ maxRetain: 1 << 20 });
  const player = new ConversationPlayer(
    conversation(frames),
    { side: 'server', speed, strict: false, rules: compileIgnores([]), deflate: false },
    {
      send: (bytes) => {
        for (const event of parser.push(bytes)) if (event.type === 'frame') sent.push([Buffer.from(event.frame.payload).toString(), performance.now()]);
      },
      drop: () => {},
      finish: () => {},
    },
  );
  return { player, sent, done: player.play() };
}

describe('replay schedule', () => {
  const ticks = [0, 0.04, 0.12, 0.15, 0.26, 0.3];
  const recorded = [frame(0, 1.0, 'out', 'start'), ...ticks.map((offset, i) => frame(i + 1, 1.0 + offset, 'in', `tick ${i}`))];

  it('sends each frame its recorded gap after the event before it, from the peer frame it answers', async () => {
    const { player, sent, done } = playServer(recorded, 1);
    await vi.advanceTimersByTimeAsync(500);
    expect(sent).toEqual([]);
    const start = performance.now();
    player.peerFrame({ type: 'text', text: 'start' });
    await vi.advanceTimersByTimeAsync(1000);
    await done;
    expect(sent.map(([text]) => text)).toEqual(ticks.map((_, i) => `tick ${i}`));
    expect(sent.map(([, at]) => Math.round(at - start))).toEqual(ticks.map((offset) => Math.round(offset * 1000)));
  });

  it('scales the gaps by --speed', async () => {
    const { player, sent, done } = playServer(recorded, 2);
    const start = performance.now();
    player.peerFrame({ type: 'text', text: 'start' });
    await vi.advanceTimersByTimeAsync(1000);
    await done;
    expect(sent.map(([, at]) => Math.round(at - start))).toEqual(ticks.map((offset) => Math.round((offset * 1000) / 2)));
  });

  it('with --asap (speed Infinity) sends everything at once', async () => {
    const { player, sent, done } = playServer(recorded, Infinity);
    const start = performance.now();
    player.peerFrame({ type: 'text', text: 'start' });
    await vi.advanceTimersByTimeAsync(0);
    await done;
    expect(sent.map(([, at]) => at - start)).toEqual(ticks.map(() => 0));
  });

  it('waits for a late peer frame, then keeps the recorded gap after it', async () => {
    // The client's second message came 50 ms before the server's answer; it arrives 2 s late here.
    const frames = [frame(0, 1.0, 'out', 'a'), frame(1, 1.01, 'in', 'A'), frame(2, 1.5, 'out', 'b'), frame(3, 1.55, 'in', 'B')];
    const { player, sent, done } = playServer(frames, 1);
    player.peerFrame({ type: 'text', text: 'a' });
    await vi.advanceTimersByTimeAsync(2000);
    expect(sent.map(([text]) => text)).toEqual(['A']);
    const late = performance.now();
    player.peerFrame({ type: 'text', text: 'b' });
    await vi.advanceTimersByTimeAsync(100);
    await done;
    expect(sent.map(([text]) => text)).toEqual(['A', 'B']);
    expect(Math.round(sent[1]![1] - late)).toBe(50);
  });
});

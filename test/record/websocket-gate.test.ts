/**
 * The relay core with a gate (hooks watching), fed bytes and decisions by hand: what it forwards
 * and records when the hooks answer at once, when they answer later, and when a direction stops
 * parsing while a message waits for them.
 */
import { describe, expect, it } from 'vitest';
import type { MessageDecision } from '../../src/intervene/chain.js';
import type { Message } from '../../src/intervene/hooks.js';
import { WebSocketRelayCore, type RelayAction } from '../../src/record/websocket-relay-core.js';
import { encodeFrame } from '../../src/wire/frame-encoder.js';
import { FrameParser } from '../../src/wire/frame-parser.js';

const recorder = { now: () => ({ time: '2026-12-03T00:00:00.000Z', elapsed: 1 }), maxPayload: 1 << 20, isClosed: false };

const forwarded = (actions: RelayAction[]): Buffer =>
  Buffer.concat(actions.flatMap((action) => (action.type === 'forward' && action.to === 'server' ? [action.bytes] : [])));

const unchanged: MessageDecision = { outcome: 'unchanged', delayMs: 0, by: null, failures: [] };

/** The text of each frame in `bytes` (as a server would read them). */
function texts(bytes: Buffer): string[] {
  const parser = new FrameParser({ maxRetain: 1 << 20 });
  return parser.push(bytes).flatMap((event) => (event.type === 'frame' ? [Buffer.from(event.frame.payload).toString()] : []));
}

describe('hooks that answer at once', () => {
  it('decide every message of a chunk in the same call: nothing paused, forwarded in order, each recorded first', () => {
    const asked: string[] = [];
    const decide = (_side: string, _seq: number, message: Message): MessageDecision => {
      asked.push(message.text ?? '');
      if (message.type === 'text' && message.text === 'two') return { ...unchanged, outcome: 'replaced', payload: { type: 'text', text: 'TWO' }, by: 'script' };
      if (message.type === 'text' && message.text === 'three') return { ...unchanged, outcome: 'dropped', by: 'script' };
      return unchanged;
    };
    const core = new WebSocketRelayCore({ recorder, id: 'c1', deflate: null, intervention: { control: null, message: decide } });
    const frames = ['one', 'two', 'three', 'four'].map((text) => Buffer.from(encodeFrame({ opcode: 1, payload: Buffer.from(text), mask: true })));
    const actions = core.handle({ type: 'bytes', side: 'client', bytes: Buffer.concat(frames) });
    expect(asked).toEqual(['one', 'two', 'three', 'four']);
    expect(actions.some((action) => action.type === 'pause')).toBe(false);
    expect(texts(forwarded(actions))).toEqual(['one', 'TWO', 'four']);
    // Unchanged messages go as their original bytes (the client's own mask).
    expect(forwarded(actions).subarray(0, frames[0]!.length)).toEqual(frames[0]);
    // As on the byte-exact path: one forward and one flush for the chunk, every record before it.
    expect(actions.filter((action) => action.type === 'forward')).toHaveLength(1);
    const records = actions.filter((action) => action.type === 'record');
    expect(records).toHaveLength(4);
    expect(records.map((action) => action.type === 'record' && action.flush)).toEqual([false, false, false, true]);
    expect(actions.findIndex((action) => action.type === 'forward')).toBeGreaterThan(actions.lastIndexOf(records.at(-1)!));
  });

  it('write an error entry for a hook that failed, and forward that message unchanged', () => {
    const failure = { code: 'HOOK_ERROR' as const, hook: 'x.mjs onMessage', message: 'x.mjs onMessage failed: boom' };
    const core = new WebSocketRelayCore({
      recorder,
      id: 'c1',
      deflate: null,
      intervention: { control: null, message: () => ({ ...unchanged, failures: [failure] }) },
    });
    const frame = Buffer.from(encodeFrame({ opcode: 1, payload: Buffer.from('hi'), mask: true }));
    const actions = core.handle({ type: 'bytes', side: 'client', bytes: frame });
    expect(actions.find((action) => action.type === 'error')).toMatchObject({
      code: 'HOOK_ERROR',
      dir: 'out',
      message: expect.stringMatching(/boom .*message 0 .*forwarded unchanged/),
    });
    expect(forwarded(actions)).toEqual(frame);
  });
});

describe('hooks that answer later', () => {
  it('hold the direction (paused) until the decision, then forward what it says', () => {
    const core = new WebSocketRelayCore({ recorder, id: 'c1', deflate: null, intervention: { control: null, message: () => null } });
    const frames = ['one', 'two'].map((text) => Buffer.from(encodeFrame({ opcode: 1, payload: Buffer.from(text), mask: true })));
    const first = core.handle({ type: 'bytes', side: 'client', bytes: Buffer.concat(frames) });
    expect(first).toContainEqual({ type: 'pause', side: 'client' });
    expect(forwarded(first).length).toBe(0);
    const second = core.handle({
      type: 'decided',
      side: 'client',
      seq: 0,
      decision: { ...unchanged, outcome: 'replaced', payload: { type: 'text', text: 'ONE' }, by: 'script' },
    });
    expect(texts(forwarded(second))).toEqual(['ONE']);
    const third = core.handle({ type: 'decided', side: 'client', seq: 1, decision: unchanged });
    expect(forwarded(third)).toEqual(frames[1]);
    expect(third).toContainEqual({ type: 'resume', side: 'client' });
  });
});

describe('a gated direction that stops parsing', () => {
  it('hands on the held message and every later byte, in order, without waiting for the hooks', () => {
    const asked: number[] = [];
    const core = new WebSocketRelayCore({
      recorder,
      id: 'c1',
      deflate: null,
      intervention: { control: null, message: (_side, seq) => (asked.push(seq), null) },
    });
    const message = encodeFrame({ opcode: 1, payload: Buffer.from('held for the hooks'), mask: true });
    const first = core.handle({ type: 'bytes', side: 'client', bytes: message });
    expect(asked).toEqual([0]);
    expect(forwarded(first).length).toBe(0);
    // RFC 6455 §5.2: a 64-bit length with its most significant bit set cannot be parsed.
    const unparseable = Buffer.from([0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4, 0x61, 0x62]);
    const second = core.handle({ type: 'bytes', side: 'client', bytes: unparseable });
    expect(second.some((action) => action.type === 'error' && action.code === 'WS_STREAM_UNPARSEABLE')).toBe(true);
    const later = Buffer.from('anything after');
    const third = core.handle({ type: 'bytes', side: 'client', bytes: later });
    expect(Buffer.concat([forwarded(second), forwarded(third)])).toEqual(Buffer.concat([message, unparseable, later]));
    // The held message is recorded before it is forwarded, and the late decision changes nothing.
    const recordIndex = second.findIndex((action) => action.type === 'record');
    const forwardIndex = second.findIndex((action) => action.type === 'forward');
    expect(recordIndex).toBeGreaterThanOrEqual(0);
    expect(recordIndex).toBeLessThan(forwardIndex);
    const late = core.handle({ type: 'decided', side: 'client', seq: 0, decision: { outcome: 'dropped', delayMs: 0, by: 'script', failures: [] } });
    expect(forwarded(late).length).toBe(0);
  });
});

/**
 * The relay core with a gate (hooks watching): what it forwards when a direction stops parsing
 * while a message waits for the hooks. Every byte the client sent must still reach the server,
 * in order: the held message as it arrived, then the rest untouched.
 */
import { describe, expect, it } from 'vitest';
import { WebSocketRelayCore, type RelayAction } from '../../src/record/websocket-relay-core.js';
import { encodeFrame } from '../../src/wire/frame-encoder.js';

const recorder = { now: () => ({ time: '2026-12-03T00:00:00.000Z', elapsed: 1 }), maxPayload: 1 << 20, isClosed: false };

const forwarded = (actions: RelayAction[]): Buffer =>
  Buffer.concat(actions.flatMap((action) => (action.type === 'forward' && action.to === 'server' ? [action.bytes] : [])));

describe('a gated direction that stops parsing', () => {
  it('hands on the held message and every later byte, in order, without waiting for the hooks', () => {
    const core = new WebSocketRelayCore({ recorder, id: 'c1', deflate: null, intervention: { control: null } });
    const message = encodeFrame({ opcode: 1, payload: Buffer.from('held for the hooks'), mask: true });
    const first = core.handle({ type: 'bytes', side: 'client', bytes: message });
    expect(first.some((action) => action.type === 'decide')).toBe(true);
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

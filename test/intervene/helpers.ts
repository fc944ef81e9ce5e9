/**
 * Messages, control frames and a fake MessageContext that records what the hooks asked for
 * (send, close, abort), for calling compiled hooks without a relay.
 */
import type { ConnectionInfo, ControlFrame, Direction, Message, MessageContext } from '../../src/intervene/hooks.js';

export interface FakeContext extends MessageContext {
  sent: Array<[Direction, string | Uint8Array]>;
  closed: Array<[number | undefined, string | undefined]>;
  aborted: number;
}

export const connectionInfo: ConnectionInfo = { id: 'c1', url: 'ws://example.test/chat', headers: [], protocols: [], subprotocol: null };

export function fakeContext(): FakeContext {
  const ctx: FakeContext = {
    connection: connectionInfo,
    state: {},
    sent: [],
    closed: [],
    aborted: 0,
    send: (dir, payload) => void ctx.sent.push([dir, payload]),
    close: (code, reason) => void ctx.closed.push([code, reason]),
    abort: () => void (ctx.aborted += 1),
  };
  return ctx;
}

export function textMessage(dir: Direction, text: string, index = 0): Message {
  return { conn: 'c1', dir, type: 'text', text, index, time: '2026-12-03T10:00:00.000Z' };
}

export function binaryMessage(dir: Direction, data: Uint8Array | string, index = 0): Message {
  return { conn: 'c1', dir, type: 'binary', data: typeof data === 'string' ? Buffer.from(data, 'latin1') : data, index, time: '2026-12-03T10:00:00.000Z' };
}

export function control(dir: Direction, type: 'ping' | 'pong', data = ''): ControlFrame {
  return { conn: 'c1', dir, type, data: Buffer.from(data) };
}

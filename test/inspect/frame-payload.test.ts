/** framePayload (the bytes a frame entry keeps) and MessageTypeTracker (continuations' message type). */
import { describe, expect, it } from 'vitest';
import { framePayload, MessageTypeTracker } from '../../src/inspect/frame-payload.js';

describe('framePayload', () => {
  it.each<[string, Parameters<typeof framePayload>[0], number[]]>([
    ['text as UTF-8', { type: 'text', text: 'hé' }, [0x68, 0xc3, 0xa9]],
    ['base64 data', { type: 'binary', data: 'AAEC/w==' }, [0, 1, 2, 255]],
    ['empty data', { type: 'binary', data: '' }, []],
    ['nothing kept', { type: 'binary' }, []],
    ['a close frame from code and reason', { type: 'close', code: 1000, reason: 'bye' }, [0x03, 0xe8, 0x62, 0x79, 0x65]],
    ['a close frame with a code only', { type: 'close', code: 4001 }, [0x0f, 0xa1]],
    ['a close frame without a code', { type: 'close' }, []],
    ['a close frame whose raw payload was kept', { type: 'close', code: 1000, reason: '\ufffd', data: 'A+j/' }, [0x03, 0xe8, 0xff]],
  ])('%s', (_name, frame, bytes) => {
    expect([...framePayload(frame)]).toEqual(bytes);
  });
});

describe('MessageTypeTracker', () => {
  it('gives continuation frames the type of their message, per connection and direction', () => {
    const tracker = new MessageTypeTracker();
    const seen = (
      [
        ['c1', 'out', 'binary', false],
        ['c1', 'in', 'text', false],
        ['c2', 'out', 'text', false],
        ['c1', 'out', 'ping', true],
        ['c1', 'out', 'continuation', false],
        ['c1', 'in', 'continuation', true],
        ['c2', 'out', 'continuation', true],
        ['c1', 'out', 'continuation', true],
        ['c1', 'out', 'continuation', true],
        ['c1', 'out', 'binary', true],
      ] as const
    ).map(([conn, dir, type, fin]) => tracker.observe({ conn, dir, type, fin }));
    expect(seen).toEqual(['binary', 'text', 'text', null, 'binary', 'text', 'text', 'binary', null, 'binary']);
  });
});

import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { encodeClosePayload, encodeFrame, type EncodeFrameOptions } from '../../src/wire/frame-encoder.js';
import { StreamObserver, type ObserverEvent } from '../../src/wire/stream-observer.js';
import type { DeflateParams, ObservedFrame, Sender } from '../../src/wire/types.js';
import { expectSplitInvariant, hex, join, toHex, utf8 } from './split-helpers.js';

const KEY = hex('12 34 56 78');
const TAKEOVER: DeflateParams = {
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
};
const NO_TAKEOVER: DeflateParams = { ...TAKEOVER, serverNoContextTakeover: true, clientNoContextTakeover: true };

type Normalized = Omit<ObservedFrame, 'payload' | 'maskKey'> & { payload: string; maskKey: string | null };
type Event = { type: 'frame'; frame: Normalized } | { type: 'error'; code: string };

function normalize(event: ObserverEvent): Event {
  if (event.type === 'error') return { type: 'error', code: event.error.code };
  const { payload, maskKey, ...rest } = event.frame;
  return { type: 'frame', frame: { ...rest, payload: toHex(payload), maskKey: maskKey === null ? null : toHex(maskKey) } };
}

interface Setup {
  sender?: Sender;
  deflate?: DeflateParams | null;
  maxPayload?: number;
}

function observe(pieces: Uint8Array[], setup: Setup = {}): Event[] {
  const observer = new StreamObserver({
    sender: setup.sender ?? 'server',
    deflate: setup.deflate ?? null,
    maxPayload: setup.maxPayload ?? 1 << 20,
  });
  return pieces.flatMap((piece) => observer.push(piece).map(normalize));
}

/** Frames only, fed whole. */
function frames(bytes: Uint8Array, setup: Setup = {}): Normalized[] {
  return observe([bytes], setup).flatMap((e) => (e.type === 'frame' ? [e.frame] : []));
}

/** Client frames are masked with KEY unless told otherwise. */
function client(options: EncodeFrameOptions): Uint8Array {
  return encodeFrame({ mask: KEY, ...options });
}

const server = (options: EncodeFrameOptions): Uint8Array => encodeFrame(options);
const flagsOf = (list: Normalized[]) => list.map((f) => f.flags);

describe('StreamObserver: a clean conversation', () => {
  const conversation = join(
    client({ opcode: 1, payload: utf8('héllo') }),
    client({ opcode: 2, payload: hex('00 ff 10') }),
    client({ opcode: 1, payload: utf8('frag'), fin: false }),
    client({ opcode: 9, payload: utf8('ping') }),
    client({ opcode: 0, payload: utf8('mented €') }),
    client({ opcode: 10 }),
    client({ opcode: 8, payload: encodeClosePayload(1000, 'bye') }),
  );

  it('describes each frame with no flags, cut anywhere', () => {
    const events = expectSplitInvariant(conversation, (pieces) => observe(pieces, { sender: 'client' }), { runs: 50 });
    const list = events.map((e) => (e.type === 'frame' ? e.frame : null));
    expect(list.map((f) => f?.type)).toEqual(['text', 'binary', 'text', 'ping', 'continuation', 'pong', 'close']);
    expect(list.every((f) => f?.flags.length === 0)).toBe(true);
    expect(list[0]).toMatchObject({
      opcode: 1,
      fin: true,
      masked: true,
      maskKey: '12345678',
      compressed: false,
      payload: toHex(utf8('héllo')),
      size: 6,
      wireSize: 12,
      truncated: false,
      isText: true,
    });
    expect(list.map((f) => f?.isText)).toEqual([true, false, true, false, true, false, false]);
    expect(list[6]).toMatchObject({ closeCode: 1000, closeReason: 'bye' });
    expect(list[5]?.closeCode).toBeUndefined();
  });

  it('reports a close frame without a code', () => {
    const [close] = frames(server({ opcode: 8 }));
    expect(close).toMatchObject({ type: 'close', closeReason: '', flags: [] });
    expect(close?.closeCode).toBeUndefined();
  });
});

describe('StreamObserver: anomaly flags', () => {
  it('reserved-opcode (RFC 6455 §5.2)', () => {
    const list = frames(join(server({ opcode: 0x3 }), server({ opcode: 0x7 }), server({ opcode: 0xb }), server({ opcode: 0xf })));
    expect(list.map((f) => f.type)).toEqual(['reserved', 'reserved', 'reserved', 'reserved']);
    expect(flagsOf(list)).toEqual([['reserved-opcode'], ['reserved-opcode'], ['reserved-opcode'], ['reserved-opcode']]);
  });

  it('reserved-bits: RSV1 without deflate, RSV2/RSV3 always', () => {
    const wire = join(
      server({ opcode: 1, rsv1: true, payload: utf8('a') }),
      server({ opcode: 1, rsv2: true, payload: utf8('a') }),
      server({ opcode: 2, rsv3: true }),
    );
    expect(flagsOf(frames(wire))).toEqual([['reserved-bits'], ['reserved-bits'], ['reserved-bits']]);
    expect(flagsOf(frames(wire.subarray(3), { deflate: TAKEOVER }))).toEqual([['reserved-bits'], ['reserved-bits']]);
  });

  it('reserved-bits: with deflate, RSV1 only on the first frame of a data message', () => {
    const list = frames(
      join(
        server({ opcode: 1, rsv1: true, fin: false, payload: hex('f2 48 cd') }),
        server({ opcode: 0, rsv1: true, payload: hex('c9 c9 07 00') }),
        server({ opcode: 9, rsv1: true }),
      ),
      { deflate: TAKEOVER },
    );
    expect(flagsOf(list)).toEqual([[], ['reserved-bits'], ['reserved-bits']]);
    expect(list[1]).toMatchObject({ payload: toHex(utf8('Hello')), compressed: true });
  });

  it('control-frame-too-long and control-frame-fragmented (RFC 6455 §5.5)', () => {
    const list = frames(
      join(
        server({ opcode: 9, payload: new Uint8Array(126) }),
        server({ opcode: 10, payload: new Uint8Array(125) }),
        server({ opcode: 9, fin: false }),
        server({ opcode: 8, payload: join(encodeClosePayload(1000), new Uint8Array(124)) }),
      ),
    );
    expect(flagsOf(list)).toEqual([['control-frame-too-long'], [], ['control-frame-fragmented'], ['control-frame-too-long']]);
  });

  it('unmasked-client-frame and masked-server-frame (RFC 6455 §5.1)', () => {
    expect(flagsOf(frames(server({ opcode: 1, payload: utf8('x') }), { sender: 'client' }))).toEqual([['unmasked-client-frame']]);
    expect(flagsOf(frames(client({ opcode: 1, payload: utf8('x') }), { sender: 'server' }))).toEqual([['masked-server-frame']]);
  });

  it('unexpected-continuation (RFC 6455 §5.4)', () => {
    const list = frames(join(server({ opcode: 0, payload: utf8('x') }), server({ opcode: 1, payload: utf8('ok') })));
    expect(flagsOf(list)).toEqual([['unexpected-continuation'], []]);
    expect(list[0]).toMatchObject({ type: 'continuation', isText: false, compressed: false, payload: toHex(utf8('x')) });
  });

  it('interrupted-message: a new data frame starts a new message (RFC 6455 §5.4)', () => {
    const list = frames(
      join(
        server({ opcode: 2, fin: false, payload: hex('01') }),
        server({ opcode: 1, fin: false, payload: utf8('new') }),
        server({ opcode: 0, payload: utf8(' message') }),
        server({ opcode: 0, payload: utf8('stray') }),
      ),
    );
    expect(flagsOf(list)).toEqual([[], ['interrupted-message'], [], ['unexpected-continuation']]);
    expect(list[2]?.isText).toBe(true);
  });

  it('invalid-utf8 in a one-frame text message (RFC 6455 §8.1)', () => {
    const list = frames(join(server({ opcode: 1, payload: hex('ce ba ed a0 80') }), server({ opcode: 2, payload: hex('ff') })));
    expect(flagsOf(list)).toEqual([['invalid-utf8'], []]);
    expect(list[0]?.isText).toBe(false);
  });

  it('invalid-utf8 streamed over fragments, flagged where detected', () => {
    // € = e2 82 ac, cut between fragments: valid as a message, no fragment valid on its own.
    const split = frames(join(server({ opcode: 1, fin: false, payload: hex('41 e2') }), server({ opcode: 0, payload: hex('82 ac 42') })));
    expect(flagsOf(split)).toEqual([[], []]);
    expect(split.map((f) => f.isText)).toEqual([false, false]);

    const bad = frames(
      join(
        server({ opcode: 1, fin: false, payload: utf8('fine') }),
        server({ opcode: 0, fin: false, payload: hex('41 c0 80') }),
        server({ opcode: 0, payload: utf8('end') }),
      ),
    );
    expect(flagsOf(bad)).toEqual([[], ['invalid-utf8'], []]);
    expect(bad.map((f) => f.isText)).toEqual([true, false, true]);

    // The message ends in the middle of a code point: flagged on the final frame.
    const cutShort = frames(join(server({ opcode: 1, fin: false, payload: utf8('a') }), server({ opcode: 0, payload: hex('f0 9f 98') })));
    expect(flagsOf(cutShort)).toEqual([[], ['invalid-utf8']]);

    // Binary messages are never checked.
    expect(flagsOf(frames(join(server({ opcode: 2, fin: false, payload: hex('ff') }), server({ opcode: 0, payload: hex('c0') }))))).toEqual([[], []]);
  });

  it('invalid-close-code and invalid-close-payload (RFC 6455 §7.4, §5.5.1)', () => {
    expect(flagsOf(frames(server({ opcode: 8, payload: encodeClosePayload(1005) })))).toEqual([['invalid-close-code']]);
    expect(flagsOf(frames(server({ opcode: 8, payload: encodeClosePayload(999) })))).toEqual([['invalid-close-code']]);
    const [oneByte] = frames(server({ opcode: 8, payload: hex('03') }));
    expect(oneByte?.flags).toEqual(['invalid-close-payload']);
    expect(oneByte?.closeCode).toBeUndefined();
  });

  it('invalid-utf8 in a close reason', () => {
    const [close] = frames(server({ opcode: 8, payload: join(encodeClosePayload(1000), hex('ff')) }));
    expect(close).toMatchObject({ closeCode: 1000, closeReason: '\uFFFD', flags: ['invalid-utf8'] });
  });

  it('non-minimal-length (RFC 6455 §5.2)', () => {
    const list = frames(
      join(
        server({ opcode: 1, payload: utf8('a'), lengthEncoding: 16 }),
        server({ opcode: 2, payload: new Uint8Array(200), lengthEncoding: 64 }),
        server({ opcode: 2, payload: new Uint8Array(200) }),
      ),
    );
    expect(flagsOf(list)).toEqual([['non-minimal-length'], ['non-minimal-length'], []]);
  });

  it('frame-after-close (RFC 6455 §5.5.1)', () => {
    const list = frames(join(server({ opcode: 8, payload: encodeClosePayload(1000) }), server({ opcode: 1, payload: utf8('late') }), server({ opcode: 8 })));
    expect(flagsOf(list)).toEqual([[], ['frame-after-close'], ['frame-after-close']]);
  });

  it('several flags on one frame', () => {
    const [frame] = frames(encodeFrame({ opcode: 0xc, rsv2: true, fin: false, payload: new Uint8Array(126), lengthEncoding: 64 }), {
      sender: 'client',
    });
    expect(new Set(frame?.flags)).toEqual(
      new Set(['non-minimal-length', 'unmasked-client-frame', 'reserved-opcode', 'reserved-bits', 'control-frame-too-long', 'control-frame-fragmented']),
    );
  });
});

describe('StreamObserver: permessage-deflate', () => {
  const hello = hex('f2 48 cd c9 c9 07 00');
  const helloAgain = hex('f2 00 11 00 00');

  it('inflates the RFC 7692 §7.2.3.2 messages in sequence', () => {
    for (const sender of ['client', 'server'] as const) {
      const encode = sender === 'client' ? client : server;
      const wire = join(encode({ opcode: 1, rsv1: true, payload: hello }), encode({ opcode: 1, rsv1: true, payload: helloAgain }));
      const events = expectSplitInvariant(wire, (pieces) => observe(pieces, { sender, deflate: TAKEOVER }));
      const list = events.map((e) => (e.type === 'frame' ? e.frame : null));
      expect(list).toHaveLength(2);
      for (const frame of list) {
        expect(frame).toMatchObject({ type: 'text', compressed: true, payload: toHex(utf8('Hello')), size: 5, isText: true, flags: [] });
      }
      expect(list.map((f) => f?.wireSize)).toEqual(sender === 'client' ? [13, 11] : [9, 7]);
    }
  });

  it('a fragment that does not end on a flush point yields its content with a later one (RFC 7692 §7.2.3.1)', () => {
    const wire = join(
      server({ opcode: 1, rsv1: true, fin: false, payload: hex('f2 48 cd') }),
      server({ opcode: 9, payload: utf8('in between') }),
      server({ opcode: 0, payload: hex('c9 c9 07 00') }),
    );
    const events = expectSplitInvariant(wire, (pieces) => observe(pieces, { deflate: TAKEOVER }));
    const list = events.map((e) => (e.type === 'frame' ? e.frame : null));
    expect(list[0]).toMatchObject({ type: 'text', compressed: true, payload: '', size: 0, wireSize: 5, truncated: false, isText: true, fin: false });
    expect(list[1]).toMatchObject({ type: 'ping', compressed: false, payload: toHex(utf8('in between')) });
    expect(list[2]).toMatchObject({ type: 'continuation', compressed: true, payload: toHex(utf8('Hello')), size: 5, wireSize: 6, isText: true });
  });

  // What `ws` and Python websockets send: a sync flush after every fragment, so each non-final
  // fragment ends with 00 00 ff ff and only the final one has it removed (RFC 7692 §7.2.1).
  // Message 1 is "Hello" + ", Hello" (the second fragment refers back into the first), message
  // 2 is "Hello, Hello" whole, all from one zlib stream (context takeover).
  const flushed = {
    first: hex('f2 48 cd c9 c9 07 00 00 00 ff ff'),
    second: hex('d2 51 f0 00 51 00 00'),
    next: hex('f2 40 62 03 00'),
  };

  it('inflates each flushed fragment as it arrives, with the window across fragments and messages', () => {
    for (const sender of ['client', 'server'] as const) {
      const encode = sender === 'client' ? client : server;
      const wire = join(
        encode({ opcode: 1, rsv1: true, fin: false, payload: flushed.first }),
        encode({ opcode: 9, payload: utf8('between') }),
        encode({ opcode: 0, payload: flushed.second }),
        encode({ opcode: 1, rsv1: true, payload: flushed.next }),
      );
      const events = expectSplitInvariant(wire, (pieces) => observe(pieces, { sender, deflate: TAKEOVER }));
      const list = events.flatMap((e) => (e.type === 'frame' ? [e.frame] : []));
      expect(list.map((f) => [f.type, Buffer.from(f.payload, 'hex').toString(), f.size, f.isText, f.compressed, f.flags])).toEqual([
        ['text', 'Hello', 5, true, true, []],
        ['ping', 'between', 7, false, false, []],
        ['continuation', ', Hello', 7, true, true, []],
        ['text', 'Hello, Hello', 12, true, true, []],
      ]);
    }
  });

  it('without context takeover, fragments of one message still share a window; the next message starts empty', () => {
    // Message 2 is "Hello" from a fresh compressor: with message 1's window it would still
    // inflate, so the check is that message 1's second fragment needs its first.
    const wire = join(
      server({ opcode: 2, rsv1: true, fin: false, payload: flushed.first }),
      server({ opcode: 0, payload: flushed.second }),
      server({ opcode: 1, rsv1: true, payload: hello }),
    );
    const list = expectSplitInvariant(wire, (pieces) => observe(pieces, { deflate: NO_TAKEOVER })).flatMap((e) => (e.type === 'frame' ? [e.frame] : []));
    expect(list.map((f) => [Buffer.from(f.payload, 'hex').toString(), f.flags])).toEqual([
      ['Hello', []],
      [', Hello', []],
      ['Hello', []],
    ]);
    // The second fragment alone, with no first one to refer back to, does not inflate.
    const alone = frames(server({ opcode: 2, rsv1: true, payload: flushed.second }), { deflate: NO_TAKEOVER });
    expect(alone[0]?.flags).toEqual(['inflate-error']);
  });

  it('checks UTF-8 across inflated fragments: a code point split between them is text as a message', () => {
    // "€" (e2 82 ac) flushed after its second byte.
    const wire = join(server({ opcode: 1, rsv1: true, fin: false, payload: hex('7a d4 04 00 00 00 ff ff') }), server({ opcode: 0, payload: hex('5a 03 00') }));
    const list = expectSplitInvariant(wire, (pieces) => observe(pieces, { deflate: TAKEOVER })).flatMap((e) => (e.type === 'frame' ? [e.frame] : []));
    expect(list.map((f) => [f.payload, f.size, f.flags])).toEqual([
      ['e282', 2, []],
      ['ac', 1, []],
    ]);
    // Cut inside a code point, each part on its own is not text; the message is (no invalid-utf8).
    expect(list.map((f) => f.isText)).toEqual([false, false]);
  });

  it('inflates a message larger than maxPayload when its fragments are flushed', () => {
    // Three flushed fragments of 40 stored bytes each: 45 compressed bytes per fragment, 135 in
    // all, over maxPayload 64 only as a whole.
    const part = (byte: number) => new Uint8Array(40).fill(byte);
    const stored = (bytes: Uint8Array) => join(hex('00 28 00 d7 ff'), bytes);
    const wire = join(
      server({ opcode: 2, rsv1: true, fin: false, payload: join(stored(part(1)), hex('00 00 00 ff ff')) }),
      server({ opcode: 0, fin: false, payload: join(stored(part(2)), hex('00 00 00 ff ff')) }),
      server({ opcode: 0, payload: stored(part(3)) }),
    );
    const list = frames(wire, { deflate: TAKEOVER, maxPayload: 64 });
    expect(list.map((f) => [f.payload, f.size, f.truncated, f.flags])).toEqual([1, 2, 3].map((byte) => [toHex(part(byte)), 40, false, []]));
  });

  it('leaves messages without RSV1 uncompressed', () => {
    const [frame] = frames(server({ opcode: 1, payload: utf8('plain') }), { deflate: TAKEOVER });
    expect(frame).toMatchObject({ compressed: false, payload: toHex(utf8('plain')), isText: true });
  });

  it('flags a compressed text message that inflates to invalid UTF-8', () => {
    // A stored block holding ff.
    const [frame] = frames(server({ opcode: 1, rsv1: true, payload: hex('00 01 00 fe ff ff') }), { deflate: NO_TAKEOVER });
    expect(frame).toMatchObject({ payload: 'ff', isText: false, flags: ['invalid-utf8'] });
  });

  it('caps an inflated message at maxPayload and reports the real size', () => {
    const text = utf8('€'.repeat(1000));
    const deflated = zlib.deflateRawSync(text, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    const payload = deflated.subarray(0, deflated.length - 4);
    expect(payload.length).toBeLessThan(100);
    const [frame] = frames(server({ opcode: 1, rsv1: true, payload }), { deflate: TAKEOVER, maxPayload: 100 });
    expect(frame).toMatchObject({ payload: toHex(text.subarray(0, 100)), size: 3000, truncated: true, flags: [] });
    // 100 bytes cut the 34th euro sign: the kept bytes still count as text.
    expect(frame?.isText).toBe(true);
  });

  it('inflate-error on corrupt data; with context takeover, later messages are shown raw', () => {
    const corrupt = hex('ff ff ff ff');
    const wire = join(
      server({ opcode: 1, rsv1: true, fin: false, payload: corrupt.subarray(0, 2) }),
      server({ opcode: 0, payload: corrupt.subarray(2) }),
      server({ opcode: 2, rsv1: true, fin: false, payload: hello.subarray(0, 3) }),
      server({ opcode: 0, payload: hello.subarray(3) }),
      server({ opcode: 1, payload: utf8('uncompressed still fine') }),
      server({ opcode: 1, rsv1: true, payload: hello }),
    );
    const events = expectSplitInvariant(wire, (pieces) => observe(pieces, { deflate: TAKEOVER }), { runs: 30 });
    expect(events.map((e) => (e.type === 'error' ? e.code : e.frame.flags))).toEqual([
      [],
      ['inflate-error'],
      'WS_INFLATE_UNAVAILABLE',
      ['inflate-error'],
      ['inflate-error'],
      [],
      ['inflate-error'],
    ]);
    const list = events.flatMap((e) => (e.type === 'frame' ? [e.frame] : []));
    // The failed message's final frame carries its compressed bytes.
    expect(list[1]).toMatchObject({ compressed: true, payload: 'ffffffff', size: 4, truncated: false });
    // Raw messages: each frame its own compressed bytes.
    expect(list[2]).toMatchObject({ compressed: true, payload: 'f248cd', size: 3 });
    expect(list[3]).toMatchObject({ compressed: true, payload: 'c9c90700', size: 4 });
    expect(list[4]).toMatchObject({ compressed: false, isText: true, flags: [] });
    expect(list[5]).toMatchObject({ compressed: true, payload: toHex(hello), isText: false });
  });

  it('inflate-error without context takeover affects one message only', () => {
    const list = frames(join(server({ opcode: 1, rsv1: true, payload: hex('ff ff') }), server({ opcode: 1, rsv1: true, payload: hello })), {
      deflate: NO_TAKEOVER,
    });
    expect(list.map((f) => [f.flags, f.payload])).toEqual([
      [['inflate-error'], 'ffff'],
      [[], toHex(utf8('Hello'))],
    ]);
  });

  it('abandons a message whose compressed bytes exceed maxPayload; with takeover the context is lost', () => {
    // "Hello" in a stored block: 11 compressed bytes, over maxPayload 7 once both fragments are in.
    const stored = hex('00 05 00 fa ff 48 65 6c 6c 6f 00');
    const wire = join(
      server({ opcode: 1, rsv1: true, fin: false, payload: stored.subarray(0, 5) }),
      server({ opcode: 0, payload: stored.subarray(5) }),
      server({ opcode: 1, rsv1: true, payload: hello }),
    );
    const events = observe([wire], { deflate: TAKEOVER, maxPayload: 7 });
    expect(events.map((e) => (e.type === 'error' ? e.code : [e.frame.payload, e.frame.size, e.frame.truncated, e.frame.flags]))).toEqual([
      ['', 0, false, []],
      ['', 11, true, []],
      'WS_INFLATE_UNAVAILABLE',
      [toHex(hello), 7, false, ['inflate-error']],
    ]);

    const independent = observe([wire], { deflate: NO_TAKEOVER, maxPayload: 7 });
    expect(independent.map((e) => (e.type === 'error' ? e.code : [e.frame.payload, e.frame.truncated]))).toEqual([
      ['', false],
      ['', true],
      [toHex(utf8('Hello')), false],
    ]);
  });

  it('an interrupted compressed message loses the context', () => {
    const wire = join(server({ opcode: 1, rsv1: true, fin: false, payload: hello.subarray(0, 3) }), server({ opcode: 1, rsv1: true, payload: hello }));
    const events = observe([wire], { deflate: TAKEOVER });
    expect(events.map((e) => (e.type === 'error' ? e.code : e.frame.flags))).toEqual([[], ['interrupted-message', 'inflate-error'], 'WS_INFLATE_UNAVAILABLE']);
  });

  it('reports WS_INFLATE_UNAVAILABLE once', () => {
    const wire = join(...Array.from({ length: 5 }, () => server({ opcode: 1, rsv1: true, payload: hex('ff ff') })));
    const events = observe([wire], { deflate: TAKEOVER });
    expect(events.filter((e) => e.type === 'error')).toHaveLength(1);
  });
});

describe('StreamObserver: unparseable streams', () => {
  it('passes the parser error through and ignores later input', () => {
    const observer = new StreamObserver({ sender: 'server', deflate: null, maxPayload: 100 });
    const events = observer.push(join(server({ opcode: 1, payload: utf8('a') }), server({ opcode: 2, declaredLength: 2n ** 63n })));
    expect(events.map((e) => e.type)).toEqual(['frame', 'error']);
    expect(events[1]?.type === 'error' && events[1].error.code).toBe('WS_STREAM_UNPARSEABLE');
    expect(observer.stopped).toBe(true);
    expect(observer.push(server({ opcode: 1, payload: utf8('b') }))).toEqual([]);
  });
});

describe('StreamObserver: bounded memory', () => {
  const GiB = 2 ** 30;
  const CHUNK = new Uint8Array(64 * 1024);
  const MAX = 1 << 20;

  function stream(sender: Sender, options: EncodeFrameOptions, deflate: DeflateParams | null): Normalized {
    const observer = new StreamObserver({ sender, deflate, maxPayload: MAX });
    expect(observer.push(encodeFrame({ ...options, declaredLength: GiB }))).toEqual([]);
    let peak = 0;
    let events: ObserverEvent[] = [];
    for (let sent = 0; sent < GiB; sent += CHUNK.length) {
      events = observer.push(CHUNK);
      peak = Math.max(peak, observer.retainedBytes);
    }
    expect(peak).toBeLessThanOrEqual(MAX + CHUNK.length);
    expect(observer.retainedBytes).toBe(0);
    expect(events).toHaveLength(1);
    return normalize(events[0]!).type === 'frame' ? (normalize(events[0]!) as { frame: Normalized }).frame : expect.unreachable();
  }

  it('streams 1 GiB of binary in 64 KiB chunks keeping at most maxPayload', () => {
    const frame = stream('server', { opcode: 2 }, null);
    expect(frame).toMatchObject({ size: GiB, wireSize: GiB + 10, truncated: true, flags: [] });
    expect(frame.payload.length).toBe(2 * MAX);
  });

  it('streams a 1 GiB masked text frame', () => {
    // Masked zeros unmask to the key bytes: 00 11 22 33 repeated is valid UTF-8.
    const frame = stream('client', { opcode: 1, mask: hex('00 11 22 33') }, null);
    expect(frame).toMatchObject({ size: GiB, truncated: true, isText: true, flags: [] });
    expect(frame.payload.slice(0, 16)).toBe('0011223300112233');
  });

  it('abandons a 1 GiB compressed frame without keeping it', () => {
    const frame = stream('server', { opcode: 2, rsv1: true }, NO_TAKEOVER);
    expect(frame).toMatchObject({ compressed: true, payload: '', size: GiB, truncated: true, flags: [] });
  });
});

describe('StreamObserver: a hostile conversation', () => {
  // One stream holding every anomaly, so that cutting it anywhere is tested too.
  const hostile = join(
    server({ opcode: 0x3 }),
    server({ opcode: 1, rsv2: true, payload: utf8('a') }),
    server({ opcode: 9, payload: new Uint8Array(126) }),
    server({ opcode: 10, fin: false }),
    client({ opcode: 2, payload: hex('01') }),
    server({ opcode: 0, payload: utf8('stray') }),
    server({ opcode: 1, fin: false, payload: hex('41 e2') }),
    server({ opcode: 1, fin: false, payload: utf8('again') }),
    server({ opcode: 0, payload: hex('82 ac ed a0 80') }),
    server({ opcode: 1, rsv1: true, payload: hex('ff ff') }),
    server({ opcode: 2, payload: hex('00'), lengthEncoding: 64 }),
    server({ opcode: 8, payload: hex('03') }),
    server({ opcode: 8, payload: join(encodeClosePayload(1006), hex('c0 80')) }),
    server({ opcode: 1, payload: utf8('late') }),
  );

  it('yields the same events however it is cut, and every anomaly flag', () => {
    const events = expectSplitInvariant(hostile, (pieces) => observe(pieces, { deflate: NO_TAKEOVER }));
    const flags = new Set(events.flatMap((e) => (e.type === 'frame' ? e.frame.flags : [])));
    expect([...flags].sort()).toEqual(
      [
        'reserved-opcode',
        'reserved-bits',
        'control-frame-too-long',
        'control-frame-fragmented',
        'masked-server-frame',
        'unexpected-continuation',
        'interrupted-message',
        'invalid-utf8',
        'invalid-close-code',
        'invalid-close-payload',
        'non-minimal-length',
        'frame-after-close',
        'inflate-error',
      ].sort(),
    );
    // The client-side flag, from the same bytes seen as client traffic.
    const asClient = observe([hostile], { sender: 'client', deflate: NO_TAKEOVER });
    expect(asClient.some((e) => e.type === 'frame' && e.frame.flags.includes('unmasked-client-frame'))).toBe(true);
  });
});

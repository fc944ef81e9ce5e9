/**
 * The WebSocket relay core with literal frames and no socket: every chunk is forwarded unchanged,
 * after the frames it completes were recorded and flushed (the crash promise), frames are recorded
 * the same however the bytes were split, and the end entry says who closed and how.
 */
import { describe, expect, it } from 'vitest';
import type { Side } from '../../src/wire/side.js';
import { WebSocketRelayCore, type RelayAction, type RelayEvent } from '../../src/record/websocket-relay-core.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');
/** A masked client text frame "hello" (mask 00 00 00 00 keeps the payload readable). */
const clientHello = '\x81\x85\x00\x00\x00\x00hello';
const serverHi = '\x81\x02hi';
const serverPing = '\x89\x00';
const clientClose = '\x88\x82\x00\x00\x00\x00\x03\xe8';
const serverClose = '\x88\x02\x03\xe8';

function relay(isClosed = false): { core: WebSocketRelayCore; run: (events: RelayEvent[]) => RelayAction[] } {
  const core = new WebSocketRelayCore({
    recorder: { now: () => ({ time: '2026-12-03T00:00:00.000Z', elapsed: 1 }), maxPayload: 1024, isClosed },
    id: 'c1',
    deflate: null,
  });
  return { core, run: (events) => events.flatMap((event) => core.handle(event)) };
}

const send = (side: Side, text: string): RelayEvent => ({ type: 'bytes', side, bytes: bytes(text) });
const entries = (actions: RelayAction[]): unknown[] => actions.flatMap((action) => (action.type === 'record' ? [action.entry] : []));

/**
 * The crash promise for one chunk's actions: the forward comes last, and when the chunk completed
 * frames, their records come before it with the last one flushed (one write for all of them).
 */
function expectRecordedBeforeForward(actions: RelayAction[]): void {
  expect(actions.at(-1)?.type).toBe('forward');
  expect(actions.filter((action) => action.type === 'forward')).toHaveLength(1);
  const records = actions.filter((action) => action.type === 'record');
  if (records.length > 0) expect(records.at(-1)).toMatchObject({ flush: true });
  const lastRecord = actions.findLastIndex((action) => action.type === 'record');
  const lastError = actions.findLastIndex((action) => action.type === 'error');
  // Whatever follows the last error action (which writes at once) must end with a flushed record.
  if (lastRecord > lastError) expect(actions[lastRecord]).toMatchObject({ flush: true });
}

describe('WebSocketRelayCore', () => {
  it('records the frames a chunk completes, flushed with one write, before it forwards the chunk unchanged', () => {
    const { run } = relay();
    const chunk = serverHi + serverPing;
    const actions = run([send('server', chunk)]);
    expect(actions).toMatchObject([
      { type: 'record', entry: { kind: 'frame', conn: 'c1', index: 0, dir: 'in', type: 'text', text: 'hi', masked: false }, flush: false },
      { type: 'record', entry: { kind: 'frame', index: 1, dir: 'in', type: 'ping' }, flush: true },
      { type: 'forward', to: 'client', bytes: bytes(chunk) },
    ]);
    expect(actions).toHaveLength(3);
  });

  it('says which records are ASCII, so the writer may copy their lines instead of encoding them', () => {
    const { run } = relay();
    const utf8Text = Buffer.from('h\u00e9', 'utf8');
    const chunk = Buffer.concat([bytes(serverHi), Buffer.from([0x81, utf8Text.length]), utf8Text, bytes('\x82\x02\xff\xfe')]);
    const records = run([{ type: 'bytes', side: 'server', bytes: chunk }]).filter((action) => action.type === 'record');
    expect(records.map((action) => [action.entry.kind === 'frame' ? (action.entry.text ?? action.entry.data) : null, action.ascii])).toEqual([
      ['hi', true],
      ['h\u00e9', false],
      // Binary: base64 is ASCII whatever the bytes.
      ['//4=', true],
    ]);
  });

  it('forwards the bytes of a frame not yet complete at once, and records it before the chunk that completes it', () => {
    const { core } = relay();
    const first = clientHello.slice(0, 4);
    const rest = clientHello.slice(4) + clientClose.slice(0, 3);
    const last = clientClose.slice(3);
    // Nothing complete yet: only the forward (the frame has no entry while its bytes are partly out).
    expect(core.handle(send('client', first))).toEqual([{ type: 'forward', to: 'server', bytes: bytes(first) }]);
    const second = core.handle(send('client', rest));
    expect(second).toMatchObject([
      { type: 'record', entry: { type: 'text', text: 'hello' }, flush: true },
      { type: 'forward', to: 'server', bytes: bytes(rest) },
    ]);
    const third = core.handle(send('client', last));
    expect(third).toMatchObject([
      { type: 'record', entry: { type: 'close', code: 1000 }, flush: true },
      { type: 'forward', to: 'server', bytes: bytes(last) },
    ]);
  });

  it('records the same frames whether a chunk comes whole, byte by byte or split anywhere', () => {
    const stream = clientHello + clientClose;
    const whole = entries(relay().run([send('client', stream)]));
    expect(whole).toHaveLength(2);
    const byByte = relay();
    const perChunk = [...stream].map((char) => byByte.core.handle(send('client', char)));
    perChunk.forEach(expectRecordedBeforeForward);
    const byteByByte = perChunk.flat();
    expect(entries(byteByByte)).toEqual(whole);
    // Every byte still goes out, in order, one forward per chunk.
    expect(byteByByte.flatMap((action) => (action.type === 'forward' ? [Buffer.from(action.bytes).toString('latin1')] : [])).join('')).toBe(stream);
    for (let cut = 1; cut < stream.length; cut++) {
      const { core } = relay();
      const halves = [core.handle(send('client', stream.slice(0, cut))), core.handle(send('client', stream.slice(cut)))];
      halves.forEach(expectRecordedBeforeForward);
      expect(entries(halves.flat())).toEqual(whole);
    }
  });

  it('records a clean close handshake: first closer, code, both close frames seen', () => {
    const { run } = relay();
    const actions = run([
      send('client', clientClose),
      send('server', serverClose),
      { type: 'ended', side: 'server' },
      { type: 'closed', side: 'server' },
      { type: 'closed', side: 'client' },
    ]);
    expect(actions).toContainEqual({ type: 'close', side: 'client', how: 'end' });
    const end = entries(actions).at(-1);
    expect(end).toMatchObject({ kind: 'end', closeCode: 1000, closedBy: 'client', droppedBy: 'server', clean: true, bytesOut: 8, bytesIn: 4 });
    expect(actions.at(-1)).toEqual({ type: 'done' });
  });

  it('records 1006 when the connection drops without a close frame, and who dropped it', () => {
    const { run } = relay();
    const actions = run([
      send('client', clientHello),
      { type: 'failed', side: 'client' },
      { type: 'closed', side: 'client' },
      { type: 'closed', side: 'server' },
    ]);
    expect(actions).toContainEqual({ type: 'close', side: 'server', how: 'destroy' });
    expect(entries(actions).at(-1)).toMatchObject({ closeCode: 1006, closedBy: 'client', droppedBy: 'client', clean: false });
  });

  it('flags a frame that breaks the protocol and still forwards it unchanged', () => {
    const { run } = relay();
    // RFC 6455 §5.1: a client MUST mask; this frame is not masked.
    const actions = run([send('client', '\x81\x02hi')]);
    expectRecordedBeforeForward(actions);
    expect(actions.at(-1)).toEqual({ type: 'forward', to: 'server', bytes: bytes('\x81\x02hi') });
    expect(entries(actions)).toMatchObject([{ type: 'text', text: 'hi', masked: false, flags: ['unmasked-client-frame'] }]);
  });

  it('records a stream that cannot be parsed any further as an error entry, and keeps forwarding', () => {
    // A 64-bit length with the top bit set: RFC 6455 §5.2 says the most significant bit MUST be 0.
    const broken = '\x82\xff\x80\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00';
    const { core } = relay();
    const first = core.handle(send('client', broken));
    // The error entry is written (the adapter flushes it) before the chunk is forwarded.
    expect(first).toMatchObject([
      { type: 'error', code: 'WS_STREAM_UNPARSEABLE', dir: 'out' },
      { type: 'forward', to: 'server', bytes: bytes(broken) },
    ]);
    expect(core.handle(send('client', 'more'))).toEqual([{ type: 'forward', to: 'server', bytes: bytes('more') }]);
  });

  it('forwards a frame declaring 2^62 payload bytes and records no error: the length is legal (RFC 6455 §5.2)', () => {
    const { run } = relay();
    const huge = '\x82\x7f\x40\x00\x00\x00\x00\x00\x00\x00';
    const actions = run([send('client', huge), send('client', 'payload bytes')]);
    expect(actions.filter((action) => action.type === 'forward')).toEqual([
      { type: 'forward', to: 'server', bytes: bytes(huge) },
      { type: 'forward', to: 'server', bytes: bytes('payload bytes') },
    ]);
    expect(actions.filter((action) => action.type === 'error')).toEqual([]);
  });

  it('forwards but no longer parses once recording stopped; stop records RECORDING_STOPPED', () => {
    const stopped = relay(true).run([send('server', serverHi)]);
    expect(stopped).toEqual([{ type: 'forward', to: 'client', bytes: bytes(serverHi) }]);
    const { run } = relay();
    expect(run([{ type: 'stop' }])).toEqual([
      { type: 'error', code: 'RECORDING_STOPPED', message: 'the connection was still open when recording stopped; the recorder closed it' },
      { type: 'close', side: 'client', how: 'destroy' },
      { type: 'close', side: 'server', how: 'destroy' },
    ]);
  });

  it("stop after the close handshake and a FIN each way, before a socket's 'close': no RECORDING_STOPPED, the end is clean", () => {
    // A TLS socket over an upstream proxy's tunnel reports 'close' a few turns after its FIN.
    const { run } = relay();
    run([
      send('client', clientClose),
      send('server', serverClose),
      { type: 'ended', side: 'server' },
      { type: 'ended', side: 'client' },
      { type: 'closed', side: 'client' },
    ]);
    const stopped = run([{ type: 'stop' }]);
    expect(stopped.filter((action) => action.type === 'error')).toEqual([]);
    const end = entries(run([{ type: 'closed', side: 'server' }])).find((entry) => (entry as { kind: string }).kind === 'end');
    expect(end).toMatchObject({ closeCode: 1000, closedBy: 'client', clean: true });
  });

  it('stop when only one side sent its FIN: RECORDING_STOPPED', () => {
    const { run } = relay();
    run([send('client', clientClose), { type: 'ended', side: 'client' }]);
    expect(run([{ type: 'stop' }]).filter((action) => action.type === 'error')).toMatchObject([{ code: 'RECORDING_STOPPED' }]);
  });
});

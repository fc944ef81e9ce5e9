/**
 * End to end over loopback with the real `ws` library as both peers, through the recorder in
 * reverse mode and as a forward proxy (CONNECT, as browsers use for ws://). TCP taps on both
 * sides of the recorder prove it forwards every byte unchanged; the archive must hold exactly
 * the frames the peers exchanged.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import type { FrameEntry, EndEntry, ConnectionEntry } from '../../src/format/schema.js';
import { ConnectAgent, openClient, readEntries, startRecorder, startTap, startWsServer, waitFor, type Tap } from '../helpers/peers.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Strip the HTTP heads (CONNECT, upgrade request, 200, 101) in front of the WebSocket bytes. */
function websocketBytes(bytes: Buffer): Buffer {
  let rest = bytes;
  while (/^(?:[A-Z]+ \S+ HTTP\/1\.1|HTTP\/1\.1 \d{3})/.test(rest.subarray(0, 64).toString('latin1'))) {
    const end = rest.indexOf('\r\n\r\n');
    rest = rest.subarray(end + 4);
  }
  return rest;
}

interface Session {
  serverReceived: Array<{ data: string; binary: boolean }>;
  clientReceived: Array<{ data: string; binary: boolean }>;
  closeSeenByServer: { code: number; reason: string } | null;
}

/**
 * The conversation: text, binary, a fragmented text message with a ping between its fragments,
 * server text + binary + ping (auto-pong), then the client closes with 4001 "done".
 */
async function converse(makeClient: () => Promise<WebSocket>, server: Awaited<ReturnType<typeof startWsServer>>): Promise<Session> {
  const session: Session = { serverReceived: [], clientReceived: [], closeSeenByServer: null };
  server.wss.on('connection', (socket) => {
    socket.on('message', (data, binary) => {
      const text = binary ? Buffer.from(data as Buffer).toString('hex') : String(data);
      session.serverReceived.push({ data: text, binary });
      if (text === 'frag-one frag-two') {
        socket.send('{"type":"welcome","n":1}');
        socket.send(Buffer.from([9, 8, 7, 0, 255]));
        socket.ping('srv-ping');
      }
    });
    socket.on('close', (code, reason) => (session.closeSeenByServer = { code, reason: reason.toString() }));
  });
  const client = await makeClient();
  let pongs = 0;
  client.on('pong', () => pongs++);
  let serverPingSeen = false;
  client.on('ping', () => (serverPingSeen = true));
  client.on('message', (data, binary) => {
    session.clientReceived.push({ data: binary ? Buffer.from(data as Buffer).toString('hex') : String(data), binary });
  });
  client.send('hello');
  client.send(Buffer.from([0, 1, 2, 255]));
  client.send('frag-one ', { fin: false });
  client.ping('between');
  client.send('frag-two', { fin: true });
  await waitFor(() => session.clientReceived.length === 2 && serverPingSeen && pongs === 1, 5000, 'server messages');
  // Let the automatic pong leave before closing.
  await new Promise((resolve) => setTimeout(resolve, 20));
  const closed = new Promise((resolve) => client.once('close', resolve));
  client.close(4001, 'done');
  await closed;
  await waitFor(() => session.closeSeenByServer !== null, 2000, 'the server to see the close');
  return session;
}

function framesOf(entries: Awaited<ReturnType<typeof readEntries>>, dir: 'out' | 'in'): FrameEntry[] {
  return entries.filter((entry): entry is FrameEntry => entry.kind === 'frame' && entry.dir === dir);
}

function describeFrame(frame: FrameEntry): string {
  const bytes = Buffer.from(frame.data ?? '', 'base64');
  const control = frame.type === 'ping' || frame.type === 'pong';
  const payload = frame.text ?? (control ? bytes.toString('utf8') : bytes.toString('hex'));
  const close = frame.type === 'close' ? ` ${frame.code} ${frame.reason}` : '';
  return `${frame.type}${frame.fin ? '' : '(more)'}:${frame.type === 'close' ? close : payload}`;
}

async function checkRecording(recorder: Awaited<ReturnType<typeof startRecorder>>, taps: { client: Tap; server: Tap }, compressed: boolean): Promise<void> {
  // The recorder forwarded every WebSocket byte unchanged, both ways.
  await waitFor(() => websocketBytes(taps.server.serverToClient()).length === websocketBytes(taps.client.serverToClient()).length, 2000, 'bytes to settle');
  expect(websocketBytes(taps.server.clientToServer()).equals(websocketBytes(taps.client.clientToServer()))).toBe(true);
  expect(websocketBytes(taps.client.serverToClient()).equals(websocketBytes(taps.server.serverToClient()))).toBe(true);
  expect(websocketBytes(taps.client.clientToServer()).length).toBeGreaterThan(40);

  await waitFor(() => recorder.recorder.totals.bytes > 0, 3000, 'the connection end');
  await recorder.stop();
  const entries = await readEntries(recorder.path);
  const out = framesOf(entries, 'out');
  const inbound = framesOf(entries, 'in');
  // Compressed or not, each fragment carries its own content: ws flushes its compressor after
  // every fragment, and the recorder inflates each as it arrives (see stream-observer.ts).
  expect(out.map(describeFrame)).toEqual([
    'text:hello',
    'binary:000102ff',
    'text(more):frag-one ',
    'ping:between',
    'continuation:frag-two',
    'pong:srv-ping',
    'close: 4001 done',
  ]);
  expect(inbound.map(describeFrame)).toEqual(['pong:between', 'text:{"type":"welcome","n":1}', 'binary:09080700ff', 'ping:srv-ping', 'close: 4001 done']);
  // Client frames are masked, server frames are not; nothing was flagged.
  expect(out.every((frame) => frame.masked && /^[0-9a-f]{8}$/.test(frame.mask ?? ''))).toBe(true);
  expect(inbound.every((frame) => !frame.masked)).toBe(true);
  expect(entries.some((entry) => entry.kind === 'frame' && entry.flags)).toBe(false);
  // Data frames are marked compressed exactly when permessage-deflate was on.
  const dataFrames = [...out, ...inbound].filter((frame) => frame.type === 'text' || frame.type === 'binary');
  expect(dataFrames.every((frame) => (frame.compressed ?? false) === compressed)).toBe(true);
  // Indexes number the frames of the connection in capture order, both directions.
  const indexes = entries.filter((entry): entry is FrameEntry => entry.kind === 'frame').map((frame) => frame.index);
  expect(indexes).toEqual([...Array(indexes.length).keys()]);
  // Wire sizes add up to the bytes the taps saw.
  const wireOut = out.reduce((sum, frame) => sum + frame.wireSize, 0);
  expect(wireOut).toBe(websocketBytes(taps.client.clientToServer()).length);

  const connection = entries.find((entry): entry is ConnectionEntry => entry.kind === 'connection')!;
  expect(connection.response.status).toBe(101);
  expect(connection.permessageDeflate !== null).toBe(compressed);
  const end = entries.find((entry): entry is EndEntry => entry.kind === 'end')!;
  expect(end).toMatchObject({ closeCode: 4001, closeReason: 'done', closedBy: 'client', clean: true });
}

describe.each([
  { name: 'plain', deflate: false },
  { name: 'permessage-deflate', deflate: true },
])('recording ws traffic ($name)', ({ deflate }) => {
  const perMessageDeflate = deflate ? { threshold: 0 } : false;

  it('in reverse mode (--target)', async () => {
    const server = await startWsServer({ perMessageDeflate });
    const serverTap = await startTap(server.port);
    const recorder = await startRecorder({ target: `ws://127.0.0.1:${serverTap.port}` });
    const clientTap = await startTap(recorder.port);
    cleanups.push(server.close, serverTap.close, () => recorder.stop(), clientTap.close);

    const session = await converse(() => openClient(`ws://127.0.0.1:${clientTap.port}/chat?room=1`, { perMessageDeflate }), server);
    expect(session.serverReceived).toEqual([
      { data: 'hello', binary: false },
      { data: '000102ff', binary: true },
      { data: 'frag-one frag-two', binary: false },
    ]);
    expect(session.closeSeenByServer).toEqual({ code: 4001, reason: 'done' });
    await checkRecording(recorder, { client: clientTap, server: serverTap }, deflate);
    const entries = await readEntries(recorder.path);
    const connection = entries.find((entry): entry is ConnectionEntry => entry.kind === 'connection')!;
    expect(connection.url).toBe(`ws://127.0.0.1:${serverTap.port}/chat?room=1`);
    expect(connection.mode).toBe('reverse');
  });

  it('as a forward proxy through CONNECT', async () => {
    const server = await startWsServer({ perMessageDeflate });
    const serverTap = await startTap(server.port);
    const recorder = await startRecorder();
    const clientTap = await startTap(recorder.port);
    cleanups.push(server.close, serverTap.close, () => recorder.stop(), clientTap.close);

    const session = await converse(
      () => openClient(`ws://127.0.0.1:${serverTap.port}/live`, { perMessageDeflate, agent: new ConnectAgent(clientTap.port) }),
      server,
    );
    expect(session.serverReceived.map((message) => message.data)).toEqual(['hello', '000102ff', 'frag-one frag-two']);
    await checkRecording(recorder, { client: clientTap, server: serverTap }, deflate);
    const entries = await readEntries(recorder.path);
    const connection = entries.find((entry): entry is ConnectionEntry => entry.kind === 'connection')!;
    expect(connection.mode).toBe('connect');
    expect(connection.url).toBe(`ws://127.0.0.1:${serverTap.port}/live`);
  });
});

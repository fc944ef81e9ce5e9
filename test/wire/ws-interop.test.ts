/**
 * Interop with a real peer: a `ws` server and client talk over loopback through a TCP tap that
 * copies the raw bytes of each direction. Those bytes must observe to the messages that were
 * sent, with no anomaly flags, with and without permessage-deflate.
 *
 * With WSTAPE_WRITE_FIXTURES=1 the capture is also written to fixtures/wire/, where the
 * fixture test below replays it (whole, at every split point) without any socket.
 */

import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer, type PerMessageDeflateOptions } from 'ws';
import { negotiatedDeflate } from '../../src/wire/permessage-deflate.js';
import { StreamObserver } from '../../src/wire/stream-observer.js';
import type { ObservedFrame, Sender } from '../../src/wire/types.js';
import { bytewise, cut, join, splitPoints, toHex } from './split-helpers.js';

const FIXTURE = new URL('../../fixtures/wire/ws-permessage-deflate.json', import.meta.url);

interface Message {
  type: 'text' | 'binary';
  data: Uint8Array;
}

/** Messages as strings: quick to compare. */
const comparable = (messages: Message[]) => messages.map((m) => `${m.type}:${toHex(m.data)}`);

interface Capture {
  /** The server's Sec-WebSocket-Extensions response header, if any. */
  extensions: string | undefined;
  /** Bytes each peer sent after the handshake. */
  client: Uint8Array;
  server: Uint8Array;
}

/** What the client sends; the server echoes each message back. */
function script(): Array<{ data: string | Buffer; options: { binary?: boolean; compress?: boolean; fin?: boolean } }> {
  const json = (i: number) => JSON.stringify({ seq: i, topic: 'quotes', bid: 101.25 + i, ask: 101.5 + i, venue: 'XNYS' });
  const random = Buffer.alloc(100_000);
  for (let i = 0; i < random.length; i++) random[i] = (i * 2654435761) >>> 24;
  return [
    { data: 'hello', options: {} },
    { data: '', options: {} },
    { data: 'héllo wörld — ✓ 😀', options: {} },
    ...Array.from({ length: 20 }, (_, i) => ({ data: json(i), options: {} })),
    { data: 'not compressed', options: { compress: false } },
    { data: Buffer.from([0, 1, 2, 255]), options: { binary: true } },
    { data: random, options: { binary: true } },
    { data: 'x'.repeat(70_000), options: {} },
    { data: 'frag', options: { fin: false } },
    { data: 'ment', options: { fin: false } },
    { data: 'ed ✓', options: { fin: true } },
    { data: json(99), options: {} },
  ];
}

function expectedMessages(): Message[] {
  const messages: Message[] = [];
  let pending: Message | null = null;
  for (const { data, options } of script()) {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    if (pending === null) pending = { type: options.binary === true ? 'binary' : 'text', data: bytes };
    else pending.data = join(pending.data, bytes);
    if (options.fin !== false) {
      messages.push(pending);
      pending = null;
    }
  }
  return messages;
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** Runs the conversation and returns the raw bytes of each direction. */
async function converse(perMessageDeflate: boolean | PerMessageDeflateOptions): Promise<Capture> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  closers.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  wss.on('connection', (socket) => {
    socket.on('message', (data, isBinary) => socket.send(data as Buffer, { binary: isBinary }));
  });
  const wsPort = (wss.address() as net.AddressInfo).port;

  const fromClient: Buffer[] = [];
  const fromServer: Buffer[] = [];
  let tapDone!: () => void;
  const tapClosed = new Promise<void>((resolve) => (tapDone = resolve));
  const tap = net.createServer((downstream) => {
    const upstream = net.connect(wsPort, '127.0.0.1');
    downstream.on('data', (chunk) => fromClient.push(chunk));
    upstream.on('data', (chunk) => fromServer.push(chunk));
    downstream.pipe(upstream);
    upstream.pipe(downstream);
    let open = 2;
    const onClose = () => --open === 0 && tapDone();
    downstream.on('close', onClose);
    upstream.on('close', onClose);
  });
  await new Promise<void>((resolve) => tap.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise<void>((resolve) => tap.close(() => resolve())));
  const tapPort = (tap.address() as net.AddressInfo).port;

  const expected = expectedMessages().length;
  const ws = new WebSocket(`ws://127.0.0.1:${tapPort}`, { perMessageDeflate });
  await new Promise<void>((resolve, reject) => {
    let echoes = 0;
    ws.on('error', reject);
    ws.on('open', () => {
      ws.ping(Buffer.from('are you there'));
      for (const { data, options } of script()) ws.send(data, options);
    });
    ws.on('message', () => {
      if (++echoes === expected) ws.close(1000, 'done');
    });
    ws.on('close', () => resolve());
  });
  await tapClosed;

  const client = splitHandshake(Buffer.concat(fromClient));
  const server = splitHandshake(Buffer.concat(fromServer));
  const match = /^sec-websocket-extensions:\s*(.*)$/im.exec(server.head);
  return { extensions: match?.[1]?.trim(), client: client.body, server: server.body };
}

function splitHandshake(bytes: Buffer): { head: string; body: Uint8Array } {
  const end = bytes.indexOf('\r\n\r\n');
  expect(end).toBeGreaterThan(0);
  return { head: bytes.subarray(0, end).toString('latin1'), body: Uint8Array.from(bytes.subarray(end + 4)) };
}

/** Observes one direction fed in `pieces`; returns its frames and any errors. */
function observe(sender: Sender, extensions: string | undefined, pieces: Uint8Array[]): { frames: ObservedFrame[]; errors: string[] } {
  const observer = new StreamObserver({ sender, deflate: negotiatedDeflate(extensions), maxPayload: 1 << 20 });
  const frames: ObservedFrame[] = [];
  const errors: string[] = [];
  for (const piece of pieces) {
    for (const event of observer.push(piece)) {
      if (event.type === 'frame') frames.push(event.frame);
      else errors.push(event.error.code);
    }
  }
  return { frames, errors };
}

/**
 * Messages from observed frames. Payloads of a message's frames are joined: that gives the
 * message for uncompressed fragments, and for compressed ones too (earlier fragments are empty,
 * the final frame carries the whole inflated message).
 */
function messagesOf(frames: ObservedFrame[]): Message[] {
  const messages: Message[] = [];
  let pending: Message | null = null;
  for (const frame of frames) {
    if (frame.type === 'text' || frame.type === 'binary') pending = { type: frame.type, data: frame.payload };
    else if (frame.type === 'continuation' && pending !== null) pending.data = join(pending.data, frame.payload);
    else continue;
    if (frame.fin) {
      messages.push(pending);
      pending = null;
    }
  }
  return messages;
}

function checkCapture(capture: Capture, compressed: boolean, split: (bytes: Uint8Array) => Uint8Array[][] = (b) => [[b]]): void {
  const expected = comparable(expectedMessages());
  for (const sender of ['client', 'server'] as const) {
    for (const pieces of split(capture[sender])) {
      const { frames, errors } = observe(sender, capture.extensions, pieces);
      expect(errors).toEqual([]);
      expect(frames.flatMap((f) => f.flags)).toEqual([]);
      expect(comparable(messagesOf(frames))).toEqual(expected);
      expect(frames.some((f) => f.compressed)).toBe(compressed);
      expect(frames.every((f) => f.truncated === false)).toBe(true);
      const close = frames.find((f) => f.type === 'close');
      expect(close).toMatchObject({ closeCode: 1000, closeReason: 'done' });
      expect(frames.filter((f) => f.type === 'text' || (f.type === 'continuation' && f.fin)).every((f) => f.isText)).toBe(true);
    }
  }
}

describe('interop with the ws library over loopback', () => {
  it('permessage-deflate with context takeover', async () => {
    const capture = await converse({ threshold: 0 });
    expect(capture.extensions).toMatch(/permessage-deflate/);
    checkCapture(capture, true);
    if (process.env['WSTAPE_WRITE_FIXTURES'] === '1') writeFixture(capture);
  });

  it('permessage-deflate without context takeover', async () => {
    const capture = await converse({ threshold: 0, serverNoContextTakeover: true, clientNoContextTakeover: true });
    expect(capture.extensions).toMatch(/server_no_context_takeover/);
    checkCapture(capture, true);
  });

  it('permessage-deflate with small windows', async () => {
    const capture = await converse({ threshold: 0, serverMaxWindowBits: 9, clientMaxWindowBits: 10 });
    expect(capture.extensions).toMatch(/server_max_window_bits=9/);
    checkCapture(capture, true);
  });

  it('no extension', async () => {
    const capture = await converse(false);
    expect(capture.extensions).toBeUndefined();
    checkCapture(capture, false);
  });
});

function writeFixture(capture: Capture): void {
  const json = {
    comment: 'Raw bytes of a ws 8 client/server conversation after the handshake (see test/wire/ws-interop.test.ts)',
    extensions: capture.extensions,
    client: Buffer.from(capture.client).toString('base64'),
    server: Buffer.from(capture.server).toString('base64'),
  };
  writeFileSync(FIXTURE, JSON.stringify(json, null, 2) + '\n');
}

describe('stored ws capture (fixtures/wire)', () => {
  it.runIf(existsSync(FIXTURE))('observes the same messages however the bytes are cut', () => {
    const json = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { extensions: string; client: string; server: string };
    const capture: Capture = {
      extensions: json.extensions,
      client: Uint8Array.from(Buffer.from(json.client, 'base64')),
      server: Uint8Array.from(Buffer.from(json.server, 'base64')),
    };
    const splits = (bytes: Uint8Array): Uint8Array[][] => [
      [bytes],
      bytewise(bytes),
      ...splitPoints(bytes.length, 40, 40).map((point) => cut(bytes, [point])),
      ...[1, 7, 1000, 4096, 65536].map((size) => Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size))),
    ];
    checkCapture(capture, true, splits);
  });
});

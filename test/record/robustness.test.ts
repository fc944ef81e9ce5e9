/**
 * What must never go wrong: SIGKILL loses nothing already delivered, a clean stop leaves valid
 * JSON, dropped connections are recorded as 1006 with the side that dropped, hostile bytes are
 * recorded and flagged without stopping the recorder, and --max-payload caps the archive but
 * never the forwarding.
 */
import net from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EndEntry, ErrorEntry, FrameEntry } from '../../src/format/schema.js';
import { archiveSchema } from '../../src/format/schema.js';
import { acceptKey } from '../../src/wire/handshake.js';
import { encodeFrame } from '../../src/wire/frame-encoder.js';
import { runCli, spawnRecorder } from '../helpers/cli.js';
import { openClient, readEntries, startRecorder, startWsServer, tempDir, waitFor } from '../helpers/peers.js';
import type { WebSocket } from 'ws';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('crash safety', () => {
  it('SIGKILL after N delivered frames: show lists all N and warns that the archive was not closed', async () => {
    const server = await startWsServer();
    let received = 0;
    server.wss.on('connection', (socket) => socket.on('message', () => received++));
    const dir = tempDir();
    const file = path.join(dir, 'killed.wstape.json');
    const recorder = await spawnRecorder(['--quiet', '--target', server.url, '--out', file]);
    cleanups.push(server.close, () => recorder.child.kill('SIGKILL'));

    const client = await openClient(`ws://127.0.0.1:${recorder.port}/feed`);
    const total = 200;
    for (let i = 0; i < total; i++) client.send(JSON.stringify({ seq: i }));
    await waitFor(() => received === total, 10_000, 'the server to receive every message');
    recorder.child.kill('SIGKILL');
    const exit = await recorder.exited;
    expect(exit.signal).toBe('SIGKILL');
    client.terminate();

    const shown = await runCli(['show', file, '--json', '--dir', 'out']);
    expect(shown.code).toBe(0);
    const frames = shown.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as FrameEntry);
    expect(frames.map((frame) => frame.text)).toEqual(Array.from({ length: total }, (_, i) => JSON.stringify({ seq: i })));
    expect(shown.stderr).toMatch(/warning/i);
    expect(shown.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('20 random SIGKILLs during two-way traffic: every frame a peer received is in the archive', { timeout: 90_000 }, async () => {
    const seed = Date.now() >>> 0;
    const random = mulberry32(seed);
    const server = await startWsServer({ perMessageDeflate: false });
    cleanups.push(server.close);
    const dir = tempDir();
    let delivered = 0;
    let recordedBeyond = 0;
    const kills = 20;
    const archive = (kill: number): string => path.join(dir, `kill-${kill}.wstape.json`);
    const start = (kill: number): ReturnType<typeof spawnRecorder> => {
      const started = spawnRecorder(['--quiet', '--target', server.url, '--out', archive(kill)]);
      cleanups.push(async () => (await started).child.kill('SIGKILL'));
      return started;
    };
    // The next recorder starts up while this one carries traffic: the test takes half the time.
    let next = start(0);
    for (let kill = 0; kill < kills; kill++) {
      const file = archive(kill);
      const recorder = await next;
      if (kill + 1 < kills) next = start(kill + 1);
      const serverSide = new Promise<WebSocket>((resolve) => server.wss.once('connection', resolve));
      const client = await openClient(`ws://127.0.0.1:${recorder.port}/kill-${kill}`, { perMessageDeflate: false });
      const upstream = await serverSide;
      // Each side keeps a window of messages in flight and sends one more for each it receives.
      const gotByServer = converse(upstream, 'server', random);
      const gotByClient = converse(client, 'client', random);
      const closed = Promise.all([once(client, 'close'), once(upstream, 'close')]);
      const afterMs = 20 + Math.floor(random() * 131);
      setTimeout(() => recorder.child.kill('SIGKILL'), afterMs);
      expect((await recorder.exited).signal).toBe('SIGKILL');
      await closed;

      const frames = (await readEntries(file)).filter((entry): entry is FrameEntry => entry.kind === 'frame');
      const recorded = (dir: 'out' | 'in'): string[] =>
        frames.filter((frame) => frame.dir === dir).map((frame) => (frame.text !== undefined ? `t:${frame.text}` : `b:${frame.data ?? ''}`));
      const context = `seed ${seed}, kill ${kill} after ${afterMs} ms`;
      // TCP keeps order and the recorder records in order: what a peer got is a prefix of the archive.
      for (const [got, archived] of [
        [gotByServer, recorded('out')],
        [gotByClient, recorded('in')],
      ] as const) {
        expect(archived.length, context).toBeGreaterThanOrEqual(got.length);
        expect(archived.slice(0, got.length), context).toEqual(got);
        delivered += got.length;
        recordedBeyond += archived.length - got.length;
      }
    }
    // Not vacuous: traffic did flow before the kills (typically thousands of messages).
    expect(delivered).toBeGreaterThan(100);
    console.log(`random kills (seed ${seed}): ${delivered} delivered messages all archived; ${recordedBeyond} more archived but not delivered`);
  });

  it('SIGINT closes the archive as one valid JSON document and prints a summary', async () => {
    const server = await startWsServer();
    server.wss.on('connection', (socket) => socket.on('message', (data, binary) => socket.send(data, { binary })));
    const dir = tempDir();
    const file = path.join(dir, 'clean.wstape.json');
    const recorder = await spawnRecorder(['--target', server.url, '--out', file]);
    cleanups.push(server.close);
    const client = await openClient(`ws://127.0.0.1:${recorder.port}/`);
    client.send('one');
    await new Promise((resolve) => client.once('message', resolve));
    client.close(1000, 'bye');
    await new Promise((resolve) => client.once('close', resolve));
    await waitFor(() => recorder.stdout().includes('closed 1000'), 5000, 'the live view of the close');
    recorder.child.kill('SIGINT');
    const exit = await recorder.exited;
    expect(exit.code).toBe(0);
    expect(recorder.stderr()).toContain(`recorded 1 connection`);
    expect(recorder.stderr()).toContain(file);
    // The live view printed the frames as they passed.
    expect(recorder.stdout()).toMatch(/c1 --> one/);
    expect(recorder.stdout()).toMatch(/c1 <-- one/);
    const document = archiveSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
    expect(document.entries.filter((entry) => entry.kind === 'frame')).toHaveLength(4);
    expect(document.summary.frames).toBe(4);
  });
});

/** A small seeded PRNG, so a failing run can be told apart by its seed. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function once(socket: WebSocket, event: 'close'): Promise<void> {
  return new Promise((resolve) => socket.once(event, () => resolve()));
}

/**
 * Two-way traffic on one `ws` socket until it closes: 8 messages in flight, then one more for each
 * message received. Text and binary, 1 B to 48 KiB (so frames span chunks), each unique. Returns
 * the list of what this peer received, as `t:TEXT` or `b:BASE64`, filled as messages arrive.
 */
function converse(socket: WebSocket, name: string, random: () => number): string[] {
  const received: string[] = [];
  let seq = 0;
  const sendOne = (): void => {
    if (socket.readyState !== socket.OPEN) return;
    const size = random() < 0.8 ? 1 + Math.floor(random() * 512) : 1 + Math.floor(random() * 48 * 1024);
    const head = `${name}-${seq++}-`;
    const body = head + 'x'.repeat(Math.max(0, size - head.length));
    if (random() < 0.3) socket.send(Buffer.from(body), { binary: true }, () => {});
    else socket.send(body, () => {});
  };
  socket.on('message', (data, binary) => {
    received.push(binary ? `b:${Buffer.from(data as Buffer).toString('base64')}` : `t:${String(data)}`);
    sendOne();
  });
  socket.on('error', () => {});
  for (let i = 0; i < 8; i++) sendOne();
  return received;
}

describe('abnormal ends', () => {
  it.each([{ dropper: 'server' as const }, { dropper: 'client' as const }])(
    'records 1006 and the side that dropped the TCP connection ($dropper)',
    async ({ dropper }) => {
      const server = await startWsServer();
      const recorder = await startRecorder({ target: server.url });
      cleanups.push(server.close, () => recorder.stop());
      server.wss.on('connection', (socket) => {
        socket.on('message', (data) => {
          if (String(data) === 'hi') socket.send('hello');
          else if (dropper === 'server') socket.terminate();
        });
      });
      const client = await openClient(`ws://127.0.0.1:${recorder.port}/`);
      const hello = new Promise((resolve) => client.once('message', resolve));
      client.send('hi');
      await hello;
      if (dropper === 'client') client.terminate();
      else client.send('now drop me');
      await waitFor(() => recorder.recorder.totals.bytes > 0, 5000, 'the end entry');
      await recorder.stop();
      const end = (await readEntries(recorder.path)).find((entry): entry is EndEntry => entry.kind === 'end')!;
      expect(end).toMatchObject({ closeCode: 1006, closedBy: dropper, droppedBy: dropper, clean: false });
    },
  );
});

/** A raw upstream that completes any WebSocket handshake and keeps every byte it receives. */
async function startRawUpstream(): Promise<{ port: number; received: () => Buffer; close: () => Promise<void> }> {
  const chunks: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let head = Buffer.alloc(0);
    let upgraded = false;
    socket.on('data', (chunk: Buffer) => {
      if (upgraded) {
        chunks.push(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      const key = /sec-websocket-key: *(\S+)/i.exec(head.subarray(0, end).toString('latin1'))?.[1] ?? '';
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`);
      upgraded = true;
      if (head.length > end + 4) chunks.push(head.subarray(end + 4));
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    received: () => Buffer.concat(chunks),
    close: () => new Promise<void>((resolve) => (sockets.forEach((s) => s.destroy()), server.close(() => resolve()))),
  };
}

async function rawClient(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.write(
    'GET /raw HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  await new Promise<void>((resolve) => socket.once('data', () => resolve()));
  return socket;
}

describe('hostile bytes', () => {
  it('are forwarded unchanged, recorded with flags, and never stop the recorder serving others', async () => {
    const upstream = await startRawUpstream();
    const recorder = await startRecorder({ target: `ws://127.0.0.1:${upstream.port}` });
    cleanups.push(upstream.close, () => recorder.stop());

    const hostile = await rawClient(recorder.port);
    const key = new Uint8Array([1, 2, 3, 4]);
    const bytes = Buffer.concat([
      encodeFrame({ opcode: 0x3, payload: Buffer.from('reserved'), mask: key }),
      encodeFrame({ opcode: 0x1, payload: Buffer.from('rsv'), rsv2: true, mask: key }),
      encodeFrame({ opcode: 0x1, payload: Buffer.from('naked') }),
      encodeFrame({ opcode: 0x0, payload: Buffer.from('orphan'), mask: key }),
      encodeFrame({ opcode: 0x9, payload: Buffer.alloc(126, 0x61), mask: key }),
      encodeFrame({ opcode: 0x1, payload: Buffer.from([0xc3, 0x28]), mask: key }),
      encodeFrame({ opcode: 0x8, payload: Buffer.from([0x03, 0xed]), mask: key }),
      // Finally a frame claiming 2^63 + 1 bytes: nothing after it can be parsed.
      encodeFrame({ opcode: 0x2, payload: Buffer.from('0123456789'), declaredLength: (1n << 63n) + 1n, mask: key }),
      Buffer.from('trailing bytes after the unparseable frame'),
    ]);
    hostile.write(bytes);
    await waitFor(() => upstream.received().length === bytes.length, 5000, 'the hostile bytes upstream');
    expect(upstream.received().equals(bytes)).toBe(true);

    // The same recorder still serves a well-behaved client.
    const server = await startWsServer();
    server.wss.on('connection', (socket) => socket.on('message', (data) => socket.send(data)));
    const other = await startRecorder({ target: server.url });
    cleanups.push(server.close, () => other.stop());
    const second = await rawClient(recorder.port);
    second.write(encodeFrame({ opcode: 0x1, payload: Buffer.from('still fine'), mask: key }));
    await waitFor(
      () => upstream.received().includes(Buffer.from(encodeFrame({ opcode: 0x1, payload: Buffer.from('still fine'), mask: key }))),
      5000,
      'the second client',
    );
    hostile.destroy();
    second.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await recorder.stop();

    const entries = await readEntries(recorder.path);
    const frames = entries.filter((entry): entry is FrameEntry => entry.kind === 'frame' && entry.conn === 'c1');
    expect(frames.map((frame) => [frame.type, frame.flags ?? []])).toEqual([
      ['reserved', ['reserved-opcode']],
      ['text', ['reserved-bits']],
      ['text', ['unmasked-client-frame']],
      ['continuation', ['unexpected-continuation']],
      ['ping', ['control-frame-too-long']],
      ['text', ['invalid-utf8']],
      ['close', ['invalid-close-code']],
    ]);
    const errors = entries.filter((entry): entry is ErrorEntry => entry.kind === 'error');
    expect(errors.map((error) => [error.conn, error.code])).toContainEqual(['c1', 'WS_STREAM_UNPARSEABLE']);
    const second2 = entries.filter((entry): entry is FrameEntry => entry.kind === 'frame' && entry.conn === 'c2');
    expect(second2.map((frame) => frame.text)).toEqual(['still fine']);
  });
});

describe('backpressure', () => {
  it('a server that stops reading stops the recorder reading from the client', async () => {
    // An upstream that completes the handshake and then reads nothing more.
    const sockets = new Set<net.Socket>();
    const upstream = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.once('data', (head: Buffer) => {
        const key = /sec-websocket-key: *(\S+)/i.exec(head.toString('latin1'))?.[1] ?? '';
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`);
        socket.pause();
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const port = (upstream.address() as net.AddressInfo).port;
    const recorder = await startRecorder({ target: `ws://127.0.0.1:${port}` });
    cleanups.push(
      () => new Promise((resolve) => (sockets.forEach((s) => s.destroy()), upstream.close(resolve))),
      () => recorder.stop(),
    );

    const client = await rawClient(recorder.port);
    const frame = Buffer.from(encodeFrame({ opcode: 0x2, payload: Buffer.alloc(1024 * 1024, 7), mask: new Uint8Array([1, 2, 3, 4]) }));
    for (let i = 0; i < 64; i++) client.write(frame);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    // Kernel buffers take a few MiB; the rest must still wait in the client, not in the recorder.
    expect(client.writableLength).toBeGreaterThan(32 * 1024 * 1024);
    client.destroy();
  });
});

describe('--max-payload', () => {
  it('caps what the archive keeps, never what is forwarded', async () => {
    const server = await startWsServer({ maxPayload: 64 * 1024 * 1024 });
    let got = 0;
    server.wss.on('connection', (socket) => socket.on('message', (data) => (got = (data as Buffer).length)));
    const recorder = await startRecorder({ target: server.url, maxPayload: '1k' });
    cleanups.push(server.close, () => recorder.stop());
    const client = await openClient(`ws://127.0.0.1:${recorder.port}/`);
    const big = Buffer.alloc(3 * 1024 * 1024, 0x5a);
    client.send(big);
    await waitFor(() => got === big.length, 10_000, 'the big message');
    client.close();
    await waitFor(() => recorder.recorder.totals.bytes > 0, 5000, 'the end');
    await recorder.stop();
    const frame = (await readEntries(recorder.path)).find((entry): entry is FrameEntry => entry.kind === 'frame')!;
    expect(frame).toMatchObject({ type: 'binary', size: big.length, truncated: true });
    expect(Buffer.from(frame.data!, 'base64').equals(big.subarray(0, 1024))).toBe(true);
  });
});

/**
 * The proxy's HTTP/1.1 rules through real sockets on loopback: smuggling shapes against a backend
 * that frames by Content-Length only (as the attack needs), head limits, slowloris clients, idle
 * connections, 40 MiB pushed behind a stalled response (recorder RSS measured from /proc), and
 * loops to the recorder's own address. The same rules are tested byte by byte against the core
 * in http-core.test.ts.
 */
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnRecorder, type SpawnedRecorder } from '../helpers/cli.js';
import { readEntries, startRecorder, tempDir, waitFor } from '../helpers/peers.js';
import type { RecordingSession } from '../../src/record/recording.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A backend that reads requests framed by Content-Length alone (it ignores Transfer-Encoding). */
async function contentLengthBackend(
  options: { stall?: (target: string) => boolean; response?: string } = {},
): Promise<{ port: number; requests: string[]; bytes: () => number }> {
  const requests: string[] = [];
  let received = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let buffer = Buffer.alloc(0);
    let stalled = false;
    socket.on('data', (chunk) => {
      received += chunk.length;
      if (stalled) return;
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = buffer.subarray(0, end).toString('latin1');
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffer.length < end + 4 + length) return;
        requests.push(head.split('\r\n')[0]!);
        buffer = buffer.subarray(end + 4 + length);
        const target = head.split(' ')[1]!;
        if (options.stall?.(target)) {
          stalled = true;
          socket.pause();
          return;
        }
        socket.write(options.response ?? 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  return { port: (server.address() as net.AddressInfo).port, requests, bytes: () => received };
}

/** Send raw bytes to the recorder; resolve with everything it answered once it closes. */
function exchange(port: number, bytes: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

async function recorder(options: Parameters<typeof startRecorder>[0]): Promise<RecordingSession> {
  const session = await startRecorder(options);
  cleanups.push(() => session.stop());
  return session;
}

async function errorCodes(session: RecordingSession): Promise<string[]> {
  await session.stop();
  return (await readEntries(session.path)).flatMap((entry) => (entry.kind === 'error' ? [entry.code] : []));
}

describe('request smuggling through real sockets', () => {
  it('refuses CL.TE with 400: the Content-Length backend never sees the request', async () => {
    const backend = await contentLengthBackend();
    const session = await recorder({ target: `http://127.0.0.1:${backend.port}` });
    const answer = await exchange(
      session.port,
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGPOST /admin HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n[^]*both Content-Length and Transfer-Encoding/);
    expect(backend.requests).toEqual([]);
    expect(await errorCodes(session)).toEqual(['HTTP_FRAMING']);
  });

  it('refuses two Content-Lengths and a Transfer-Encoding that is not a final chunked', async () => {
    const backend = await contentLengthBackend();
    const session = await recorder({ target: `http://127.0.0.1:${backend.port}` });
    for (const request of [
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 40\r\n\r\nabc',
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\nContent-Length: 3\r\n\r\nabc',
    ]) {
      expect(await exchange(session.port, request)).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    }
    expect(backend.requests).toEqual([]);
    expect(await errorCodes(session)).toEqual(['HTTP_FRAMING', 'HTTP_FRAMING', 'HTTP_FRAMING']);
  });

  it('answers 502 when the backend frames its response ambiguously, and records it', async () => {
    const backend = await contentLengthBackend({ response: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\nok' });
    const session = await recorder({ target: `http://127.0.0.1:${backend.port}` });
    const answer = await exchange(session.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n/);
    expect(answer).not.toContain('200 OK');
    await session.stop();
    const entries = await readEntries(session.path);
    expect(entries.find((entry) => entry.kind === 'error')).toMatchObject({ code: 'HTTP_FRAMING' });
    expect(entries.find((entry) => entry.kind === 'http')).toMatchObject({ response: null, error: expect.stringContaining('both Content-Length') });
  });
});

describe('head limits and timeouts', () => {
  it('answers a 100 KiB request head with 431', async () => {
    const backend = await contentLengthBackend();
    const session = await recorder({ target: `http://127.0.0.1:${backend.port}` });
    const answer = await exchange(session.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100 * 1024)}\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    expect(backend.requests).toEqual([]);
    expect(await errorCodes(session)).toEqual(['HTTP_HEAD_TOO_LARGE']);
  });

  it('answers 100 slowloris connections with 408 after --header-timeout, and records each', async () => {
    const backend = await contentLengthBackend();
    const session = await recorder({ target: `http://127.0.0.1:${backend.port}`, headerTimeout: 0.3 });
    const answers = await Promise.all(Array.from({ length: 100 }, () => exchange(session.port, 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ')));
    for (const answer of answers) expect(answer).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n[^]*--header-timeout/);
    const codes = await errorCodes(session);
    expect(codes).toHaveLength(100);
    expect(new Set(codes)).toEqual(new Set(['HTTP_TIMEOUT']));
  });

  it('closes a keep-alive connection idle for --idle-timeout, and one that never sent a byte', async () => {
    const backend = await contentLengthBackend();
    const session = await recorder({ target: `http://127.0.0.1:${backend.port}`, idleTimeout: 0.3 });
    const started = Date.now();
    const [kept, silent] = await Promise.all([exchange(session.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'), exchange(session.port, '')]);
    expect(kept).toBe('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    expect(silent).toBe('');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(await errorCodes(session)).toEqual([]);
  });
});

/** The resident set of a process, in bytes (Linux). */
function rss(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match![1]) * 1024;
}

/**
 * Write `bytes` and resolve, with how many the kernel took, once it stops taking more (the
 * receiver stopped reading: what is left stays in this socket's buffer for 300 ms) or took all.
 */
async function pushUntilBlocked(socket: net.Socket, bytes: Buffer): Promise<number> {
  socket.write(bytes);
  let last = -1;
  let steady = 0;
  await waitFor(
    () => {
      const left = socket.writableLength;
      if (left === 0) return true;
      steady = left === last ? steady + 1 : 0;
      last = left;
      return steady >= 60;
    },
    30_000,
    'the push to block',
  );
  return bytes.length - socket.writableLength;
}

describe('backpressure', () => {
  let spawned: SpawnedRecorder | null = null;
  afterEach(() => {
    spawned?.child.kill('SIGKILL');
    spawned = null;
  });

  it('stops reading a client that pipelines 40 MiB behind a stalled response; other clients are served as before', async () => {
    const backend = await contentLengthBackend({ stall: (target) => target === '/stall' });
    spawned = await spawnRecorder(['--quiet', '--target', `http://127.0.0.1:${backend.port}`, '-o', `${tempDir()}/a.wstape.json`]);
    const port = spawned.port;
    const pid = spawned.child.pid!;

    const latencies = async (): Promise<number> => {
      const times: number[] = [];
      for (let i = 0; i < 15; i++) {
        const started = process.hrtime.bigint();
        expect(await exchange(port, 'GET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toContain('200 OK');
        times.push(Number(process.hrtime.bigint() - started) / 1e6);
      }
      return times.sort((a, b) => a - b)[7]!;
    };
    const before = await latencies();
    const rssBefore = rss(pid);

    const pipeliner = net.connect(port, '127.0.0.1');
    pipeliner.on('error', () => {});
    await new Promise((resolve) => pipeliner.once('connect', resolve));
    const one = Buffer.from(`POST /more HTTP/1.1\r\nHost: x\r\nContent-Length: 4000\r\n\r\n${'x'.repeat(4000)}`);
    const flood = Buffer.concat([
      Buffer.from('GET /stall HTTP/1.1\r\nHost: x\r\n\r\n'),
      ...Array.from({ length: Math.ceil((40 * 1024 * 1024) / one.length) }, () => one),
    ]);
    const accepted = await pushUntilBlocked(pipeliner, flood);
    const during = await latencies();
    const grown = rss(pid) - rssBefore;
    pipeliner.destroy();

    // Before the fix the recorder read all 40 MiB into memory (RSS +159 MiB) and every other
    // client waited behind the copying (4 ms → 344 ms p50).
    expect(accepted).toBeLessThan(flood.length / 2);
    expect(grown).toBeLessThan(8 * 1024 * 1024);
    expect(during).toBeLessThan(Math.max(100, before * 5));
    // Only the stalled request reached the backend from that client.
    expect(backend.requests.filter((line) => line.includes('/more'))).toEqual([]);
  }, 60_000);

  it('holds WebSocket frames sent before the 101 with the same bound, then delivers every byte', async () => {
    // A backend that answers the upgrade only when told, then counts what follows it.
    let answer: (() => void) | null = null;
    let after = 0;
    const server = net.createServer((socket) => {
      let head = Buffer.alloc(0);
      const onData = (chunk: Buffer): void => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        socket.removeListener('data', onData);
        socket.pause();
        const early = head.length - end - 4;
        answer = () => {
          after = early;
          socket.on('data', (more: Buffer) => (after += more.length));
          socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
          socket.resume();
        };
      };
      socket.on('data', onData);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const backendPort = (server.address() as net.AddressInfo).port;
    spawned = await spawnRecorder(['--quiet', '--max-payload', '0', '--target', `http://127.0.0.1:${backendPort}`, '-o', `${tempDir()}/b.wstape.json`]);
    const pid = spawned.child.pid!;
    const rssBefore = rss(pid);

    const client = net.connect(spawned.port, '127.0.0.1');
    client.on('error', () => {});
    await new Promise((resolve) => client.once('connect', resolve));
    client.write(
      'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    // 40 MiB of masked binary frames of 64 KiB each, sent before any 101.
    const payload = Buffer.alloc(65536, 7);
    const frame = Buffer.concat([Buffer.from([0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4]), payload]);
    const frames = Buffer.concat(Array.from({ length: 640 }, () => frame));
    await waitFor(() => answer !== null, 10_000, 'the upgrade request');
    expect(await pushUntilBlocked(client, frames)).toBeLessThan(frames.length / 2);
    expect(rss(pid) - rssBefore).toBeLessThan(8 * 1024 * 1024);

    answer!();
    await waitFor(() => after === frames.length, 30_000, 'every early byte at the backend');
    client.destroy();
  }, 60_000);
});

describe('loops to the recorder itself', () => {
  it('refuses a reverse --target that is the recorder with 508 and one error entry', async () => {
    // The recorder's own port, known before it listens: a port just freed by a probe.
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const session = await recorder({ target: `http://localhost:${port}`, port });
    const answer = await exchange(session.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 508 Loop Detected\r\n/);
    await session.stop();
    const entries = await readEntries(session.path);
    expect(entries.filter((entry) => entry.kind !== 'error')).toEqual([]);
    expect(entries).toEqual([expect.objectContaining({ kind: 'error', code: 'PROXY_LOOP' })]);
  });

  it('refuses CONNECT and absolute-URI requests that name it, by address or by a host name', async () => {
    const session = await recorder({});
    const port = session.port;
    const answers = [
      await exchange(port, `CONNECT localhost:${port} HTTP/1.1\r\nHost: localhost:${port}\r\n\r\n`),
      await exchange(port, `GET http://127.0.0.1:${port}/ HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`),
      await exchange(port, `GET http://localhost:${port}/x HTTP/1.1\r\nHost: localhost:${port}\r\n\r\n`),
    ];
    for (const answer of answers) expect(answer).toMatch(/^HTTP\/1\.1 508 Loop Detected\r\n/);
    expect(await errorCodes(session)).toEqual(['PROXY_LOOP', 'PROXY_LOOP', 'PROXY_LOOP']);
  });
});

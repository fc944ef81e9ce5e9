/**
 * Plain HTTP through the recorder: absolute-URI requests on a keep-alive connection, chunked and
 * fixed-length bodies, request bodies, an upstream that refuses connections (502 + error entry),
 * and an absolute-URI WebSocket upgrade.
 */
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConnectionEntry, ErrorEntry, HttpEntry } from '../../src/format/schema.js';
import { readEntries, startRecorder, startWsServer } from '../helpers/peers.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startHttpServer(handler: http.RequestListener): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

/** Send raw bytes to the proxy and collect everything until the proxy closes. */
async function rawExchange(port: number, request: string): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  socket.write(request);
  const chunks: Buffer[] = [];
  for await (const chunk of socket) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('latin1');
}

describe('HTTP through the forward proxy', () => {
  it('records keep-alive exchanges with chunked and fixed-length bodies', async () => {
    const sockets = new Set<net.Socket>();
    const upstream = await startHttpServer((request, response) => {
      sockets.add(request.socket);
      let body = '';
      request.on('data', (chunk) => (body += String(chunk)));
      request.on('end', () => {
        if (request.url === '/chunked') {
          response.write('part one, ');
          response.end('part two');
        } else {
          response.setHeader('content-length', Buffer.byteLength(`echo:${body}`));
          response.end(`echo:${body}`);
        }
      });
    });
    const recorder = await startRecorder();
    cleanups.push(upstream.close, () => recorder.stop());

    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = (path: string, body?: string): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        const request = http.request(
          { host: '127.0.0.1', port: recorder.port, agent, method: body ? 'POST' : 'GET', path: `http://127.0.0.1:${upstream.port}${path}` },
          (response) => {
            let text = '';
            response.on('data', (chunk) => (text += String(chunk)));
            response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
          },
        );
        request.on('error', reject);
        request.end(body);
      });
    expect(await get('/chunked')).toEqual({ status: 200, body: 'part one, part two' });
    expect(await get('/echo?x=1', 'ping-body')).toEqual({ status: 200, body: 'echo:ping-body' });
    expect(await get('/chunked')).toEqual({ status: 200, body: 'part one, part two' });
    agent.destroy();
    // All three requests shared one upstream connection (keep-alive relayed).
    expect(sockets.size).toBe(1);

    await recorder.stop();
    const exchanges = (await readEntries(recorder.path)).filter((entry): entry is HttpEntry => entry.kind === 'http');
    expect(exchanges.map((entry) => entry.id)).toEqual(['h1', 'h2', 'h3']);
    expect(exchanges[0]).toMatchObject({
      url: `http://127.0.0.1:${upstream.port}/chunked`,
      mode: 'forward',
      request: { method: 'GET', target: `http://127.0.0.1:${upstream.port}/chunked` },
      response: { status: 200, body: { size: 18, text: 'part one, part two' } },
    });
    expect(exchanges[1]).toMatchObject({
      url: `http://127.0.0.1:${upstream.port}/echo?x=1`,
      request: { method: 'POST', body: { size: 9, text: 'ping-body' } },
      response: { status: 200, body: { text: 'echo:ping-body' } },
    });
    expect(exchanges[1]!.response!.headers).toContainEqual(['content-length', '14']);
  });

  it('relays an interim 100 Continue and records the final response', async () => {
    const upstream = await startHttpServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += String(chunk)));
      request.on('end', () => response.end(`got ${body}`));
    });
    const recorder = await startRecorder();
    cleanups.push(upstream.close, () => recorder.stop());
    const result = await new Promise<{ continued: boolean; body: string }>((resolve, reject) => {
      let continued = false;
      const request = http.request({
        host: '127.0.0.1',
        port: recorder.port,
        method: 'POST',
        path: `http://127.0.0.1:${upstream.port}/upload`,
        headers: { expect: '100-continue', 'content-length': '4' },
      });
      request.on('continue', () => {
        continued = true;
        request.end('data');
      });
      request.on('response', (response) => {
        let text = '';
        response.on('data', (chunk) => (text += String(chunk)));
        response.on('end', () => resolve({ continued, body: text }));
      });
      request.on('error', reject);
    });
    expect(result).toEqual({ continued: true, body: 'got data' });
    await recorder.stop();
    const exchanges = (await readEntries(recorder.path)).filter((entry): entry is HttpEntry => entry.kind === 'http');
    expect(exchanges).toHaveLength(1);
    expect(exchanges[0]).toMatchObject({ request: { method: 'POST', body: { text: 'data' } }, response: { status: 200, body: { text: 'got data' } } });
  });

  it('answers 502 with the reason when the upstream refuses, and records the error', async () => {
    // A port that was free a moment ago: nothing listens there now.
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const deadPort = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const recorder = await startRecorder();
    cleanups.push(() => recorder.stop());

    const response = await rawExchange(recorder.port, `GET http://127.0.0.1:${deadPort}/x HTTP/1.1\r\nHost: 127.0.0.1:${deadPort}\r\n\r\n`);
    expect(response).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n/);
    expect(response).toContain('connection refused');

    const ws = await rawExchange(
      recorder.port,
      `GET ws://127.0.0.1:${deadPort}/socket HTTP/1.1\r\nHost: 127.0.0.1:${deadPort}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    expect(ws).toMatch(/^HTTP\/1\.1 502 /);

    await recorder.stop();
    const entries = await readEntries(recorder.path);
    const errors = entries.filter((entry): entry is ErrorEntry => entry.kind === 'error');
    expect(errors.map((entry) => entry.code)).toEqual(['UPSTREAM_CONNECT', 'UPSTREAM_CONNECT']);
    const exchanges = entries.filter((entry): entry is HttpEntry => entry.kind === 'http');
    expect(exchanges).toHaveLength(2);
    expect(exchanges[1]).toMatchObject({ url: `ws://127.0.0.1:${deadPort}/socket`, response: null });
    expect(exchanges[1]!.error).toContain('refused');
  });

  it('records a WebSocket upgrade sent as an absolute-URI request', async () => {
    const server = await startWsServer();
    server.wss.on('connection', (socket) => socket.on('message', (data) => socket.send(`echo ${String(data)}`)));
    const recorder = await startRecorder();
    cleanups.push(server.close, () => recorder.stop());

    const socket = net.connect(recorder.port, '127.0.0.1');
    socket.write(
      `GET ws://127.0.0.1:${server.port}/abs HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nProxy-Connection: keep-alive\r\n\r\n`,
    );
    // A masked text frame "hi" (RFC 6455 §5.7 style), sent right behind the handshake.
    socket.write(Buffer.from([0x81, 0x82, 1, 2, 3, 4, 'h'.charCodeAt(0) ^ 1, 'i'.charCodeAt(0) ^ 2]));
    let received = Buffer.alloc(0);
    await new Promise<void>((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        if (received.includes('echo hi')) resolve();
      });
    });
    // RFC 6455 §1.3: the accept key for the RFC's sample nonce.
    expect(received.toString('latin1')).toContain('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await recorder.stop();
    const entries = await readEntries(recorder.path);
    const connection = entries.find((entry): entry is ConnectionEntry => entry.kind === 'connection')!;
    expect(connection).toMatchObject({ url: `ws://127.0.0.1:${server.port}/abs`, mode: 'forward' });
    expect(entries.filter((entry) => entry.kind === 'frame').map((entry) => (entry.kind === 'frame' ? entry.text : ''))).toEqual(['hi', 'echo hi']);
  });
});

/**
 * onConnection, onRequest and onResponse with real sockets: a node:http client through the
 * forward proxy gets the response a hook changed or made up, a node:http upstream sees the
 * request a hook changed (and, for a mock, no connection at all), a `ws` client sees the status
 * onConnection refused with, and a hook that throws lets the request through.
 */
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConnectionEntry, Entry, ErrorEntry } from '../../src/format/schema.js';
import { HookChain } from '../../src/intervene/chain.js';
import type { ConnectionInfo, Hooks } from '../../src/intervene/hooks.js';
import { ProxyServer } from '../../src/record/proxy-server.js';
import { Recorder } from '../../src/record/recorder.js';
import { WebSocket } from 'ws';
import { openClient, readEntries, startWsServer, tempDir } from '../helpers/peers.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An in-process recorder whose proxy runs `hooks` as one --script would. */
async function startHookedRecorder(hooks: Hooks, target?: { host: string; port: number }): Promise<{ port: number; stop: () => Promise<Entry[]> }> {
  const file = path.join(tempDir(), 'hooks.wstape.json');
  let recorder: Recorder | undefined;
  const server = new ProxyServer({
    recorder: (bound) =>
      (recorder = new Recorder({
        path: file,
        maxPayload: 16 * 1024 * 1024,
        recorderInfo: { mode: target ? 'reverse' : 'forward', listen: `127.0.0.1:${bound.port}`, maxPayload: 16 * 1024 * 1024 },
      })),
    host: '127.0.0.1',
    port: 0,
    ...(target ? { target } : {}),
    tls: { leaves: () => Promise.reject(new Error('no TLS in this test')), passThrough: () => false, insecure: false, extraCa: [] },
    hooks: new HookChain([{ hooks, name: 'test', by: 'script' }], 5000),
  });
  const address = await server.listen();
  let stopped: Promise<Entry[]> | null = null;
  const stop = (): Promise<Entry[]> =>
    (stopped ??= server.close().then(() => {
      recorder!.close();
      return readEntries(file);
    }));
  cleanups.push(stop);
  return { port: address.port, stop };
}

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A node:http upstream that answers `reply` and keeps what it saw: requests, and TCP connections. */
async function startUpstream(reply: (seen: Seen) => { status: number; body: string } = () => ({ status: 200, body: 'from upstream' })) {
  const seen: Seen[] = [];
  let connections = 0;
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += String(chunk)));
    request.on('end', () => {
      const entry = { method: request.method ?? '', url: request.url ?? '', headers: request.headers, body };
      seen.push(entry);
      const answer = reply(entry);
      response.writeHead(answer.status, { 'content-type': 'text/plain' });
      response.end(answer.body);
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))));
  return { port: (server.address() as net.AddressInfo).port, seen, connections: () => connections };
}

/** One request through the forward proxy; a body given is sent chunked (no Content-Length). */
function viaProxy(
  proxyPort: number,
  url: string,
  options: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: '127.0.0.1', port: proxyPort, method: options.method ?? 'GET', path: url, headers: options.headers ?? {}, agent: false },
      (response) => {
        let text = '';
        response.on('data', (chunk) => (text += String(chunk)));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }));
      },
    );
    request.on('error', reject);
    if (options.body !== undefined) request.write(options.body);
    request.end();
  });
}

const ofKind = <K extends Entry['kind']>(entries: Entry[], kind: K): Array<Extract<Entry, { kind: K }>> =>
  entries.filter((entry): entry is Extract<Entry, { kind: K }> => entry.kind === kind);

describe('onRequest and onResponse through the forward proxy', () => {
  it('the client gets the response onResponse changed; the archive holds both', async () => {
    const upstream = await startUpstream();
    const proxy = await startHookedRecorder({
      onResponse: (response) => ({
        status: 202,
        headers: [...response.headers, ['X-Hooked', 'yes']],
        body: `${Buffer.from(response.body).toString()} (changed)`,
      }),
    });
    const answer = await viaProxy(proxy.port, `http://127.0.0.1:${upstream.port}/r`);
    expect(answer).toMatchObject({ status: 202, body: 'from upstream (changed)', headers: { 'x-hooked': 'yes', 'content-length': '23' } });
    const [entry] = ofKind(await proxy.stop(), 'http');
    expect(entry).toMatchObject({
      action: 'modified',
      by: 'script',
      response: { status: 200, body: { text: 'from upstream' } },
      forwarded: { response: { status: 202, statusText: 'Accepted', body: { text: 'from upstream (changed)' } } },
    });
  });

  it('the upstream sees the request onRequest changed, its chunked body re-framed', async () => {
    const upstream = await startUpstream((seen) => ({ status: 200, body: `got ${seen.body}` }));
    const proxy = await startHookedRecorder({
      onRequest: (request) => ({
        url: request.url.replace('/old', '/new'),
        headers: [...request.headers, ['X-Hooked', 'yes']],
        body: Buffer.from(request.body).toString().toUpperCase(),
      }),
    });
    const answer = await viaProxy(proxy.port, `http://127.0.0.1:${upstream.port}/old?q=1`, { method: 'POST', body: 'hello hook' });
    expect(answer).toMatchObject({ status: 200, body: 'got HELLO HOOK' });
    expect(upstream.seen).toHaveLength(1);
    expect(upstream.seen[0]).toMatchObject({ method: 'POST', url: '/new?q=1', body: 'HELLO HOOK', headers: { 'x-hooked': 'yes', 'content-length': '10' } });
    expect(upstream.seen[0]!.headers).not.toHaveProperty('transfer-encoding');
    const [entry] = ofKind(await proxy.stop(), 'http');
    expect(entry!.request).toMatchObject({ target: `http://127.0.0.1:${upstream.port}/old?q=1`, body: { text: 'hello hook' } });
    expect(entry!.request.headers).toContainEqual(['Transfer-Encoding', 'chunked']);
    expect(entry!.forwarded?.request).toMatchObject({ target: '/new?q=1', body: { text: 'HELLO HOOK' } });
  });

  it('a mock answers the client and the upstream sees nothing at all', async () => {
    const upstream = await startUpstream();
    const proxy = await startHookedRecorder({
      onRequest: () => ({ response: { status: 418, headers: [['Content-Type', 'text/plain']], body: 'mocked' } }),
    });
    const answer = await viaProxy(proxy.port, `http://127.0.0.1:${upstream.port}/tea`);
    expect(answer).toMatchObject({ status: 418, body: 'mocked' });
    const [entry] = ofKind(await proxy.stop(), 'http');
    expect(upstream.connections()).toBe(0);
    expect(upstream.seen).toEqual([]);
    expect(entry).toMatchObject({ action: 'mocked', by: 'script', response: { status: 418, statusText: "I'm a Teapot", body: { text: 'mocked' } } });
  });

  it('a hook that throws lets the request through unchanged, with a HOOK_ERROR entry', async () => {
    const upstream = await startUpstream();
    const proxy = await startHookedRecorder({
      onRequest: () => {
        throw new Error('boom');
      },
    });
    const answer = await viaProxy(proxy.port, `http://127.0.0.1:${upstream.port}/thrown`, { method: 'POST', body: 'intact' });
    expect(answer).toMatchObject({ status: 200, body: 'from upstream' });
    expect(upstream.seen[0]).toMatchObject({ url: '/thrown', body: 'intact', headers: { 'transfer-encoding': 'chunked' } });
    const entries = await proxy.stop();
    const [entry] = ofKind(entries, 'http');
    expect(entry).not.toHaveProperty('action');
    const errors: ErrorEntry[] = ofKind(entries, 'error');
    expect(errors).toMatchObject([{ code: 'HOOK_ERROR', conn: entry!.id }]);
    expect(errors[0]!.message).toContain('boom');
  });
});

describe('onConnection in front of a WebSocket upstream', () => {
  it('a refusal reaches the ws client as its unexpected-response, and nothing reaches the upstream', async () => {
    let connections = 0;
    const target = net.createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => target.close(() => resolve())));
    const infos: ConnectionInfo[] = [];
    const proxy = await startHookedRecorder(
      {
        onConnection: (info) => {
          infos.push(info);
          return { refuse: { status: 403, headers: { 'X-Reason': 'hook' }, body: 'not today' } };
        },
      },
      { host: '127.0.0.1', port: (target.address() as net.AddressInfo).port },
    );
    const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/chat`, ['chat', 'v2']);
    const refused = await new Promise<{ status: number; reason: string | undefined; body: string }>((resolve, reject) => {
      ws.once('open', () => reject(new Error('the connection was let through')));
      ws.once('unexpected-response', (_request, response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += String(chunk)));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, reason: response.headers['x-reason'] as string | undefined, body }));
      });
    });
    expect(refused).toEqual({ status: 403, reason: 'hook', body: 'not today' });
    expect(infos).toMatchObject([
      { id: 'c1', url: `ws://127.0.0.1:${(target.address() as net.AddressInfo).port}/chat`, protocols: ['chat', 'v2'], subprotocol: null },
    ]);
    const entries = await proxy.stop();
    expect(connections).toBe(0);
    expect(ofKind(entries, 'http')).toMatchObject([{ action: 'refused', by: 'script', response: { status: 403 } }]);
    expect(ofKind(entries, 'connection')).toEqual([]);
  });

  it('a connection let through keeps the id onConnection was given', async () => {
    const upstream = await startWsServer();
    upstream.wss.on('connection', (socket) => socket.on('message', (data) => socket.send(`echo ${String(data)}`)));
    cleanups.push(() => upstream.close());
    const infos: ConnectionInfo[] = [];
    const proxy = await startHookedRecorder({ onConnection: (info) => void infos.push(info) }, { host: '127.0.0.1', port: upstream.port });
    const ws = await openClient(`ws://127.0.0.1:${proxy.port}/ok`);
    const echoed = new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))));
    ws.send('hi');
    expect(await echoed).toBe('echo hi');
    const closed = new Promise((resolve) => ws.once('close', resolve));
    ws.close();
    await closed;
    const entries = await proxy.stop();
    const connections: ConnectionEntry[] = ofKind(entries, 'connection');
    expect(connections.map((entry) => entry.id)).toEqual([infos[0]!.id]);
    expect(ofKind(entries, 'http')).toEqual([]);
  });
});

/**
 * --upstream-proxy end to end, both hops real: a `ws` client and node:http through the recorder,
 * which chains through Debian's mitmdump (regular mode, tunnels passed through untouched) to
 * 127.0.0.1 servers. Covers ws:// frames, plain HTTP, Proxy-Authorization (mitmdump --proxyauth:
 * right credentials pass, wrong ones give the client a 502 naming the 407 and an UPSTREAM_PROXY
 * entry, with no credential in the archive), a proxy that is down, --no-upstream-proxy globs and
 * --upstream-proxy-env.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { ErrorEntry, FrameEntry, HttpEntry } from '../../src/format/schema.js';
import type { RecordOptions } from '../../src/record/recording.js';
import { TlsInConnectAgent } from '../helpers/tls-agent.js';
import { freePort, startMitmdump as startMitmdumpProcess, type Mitmdump } from '../helpers/mitmdump.js';
import { ConnectAgent, openClient, readEntries, startRecorder, startWsServer, waitFor } from '../helpers/peers.js';
import { interceptionCasBeforeAll, startWssEcho } from '../helpers/tls-site.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** mitmdump (test/helpers/mitmdump.ts), killed after the test. */
async function startMitmdump(extra: string[] = []): Promise<Mitmdump> {
  const mitm = await startMitmdumpProcess(extra);
  cleanups.push(mitm.kill);
  return mitm;
}

async function record(options: Partial<RecordOptions>, env: Record<string, string> = {}) {
  const session = await startRecorder({ ...options, env });
  const stop = (): Promise<unknown> => session.stop();
  cleanups.push(stop);
  return { session, io: session.io, out: session.path, stop };
}

/** An http:// server on 127.0.0.1 that answers every request with its path. */
async function startHttpServer(): Promise<{ port: number; seen: string[] }> {
  const seen: string[] = [];
  const server = http.createServer((request, response) => {
    seen.push(request.url ?? '');
    response.end(`hello ${request.url}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))));
  return { port: (server.address() as net.AddressInfo).port, seen };
}

/** GET an absolute URL through the recorder as a forward proxy. */
function getThrough(proxyPort: number, url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port: proxyPort, path: url, headers: { host: new URL(url).host } }, (response) => {
      let body = '';
      response.on('data', (chunk) => (body += String(chunk)));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
    request.end();
  });
}

describe('--upstream-proxy through mitmdump', () => {
  it('records ws:// frames exactly through the chain, and mitmdump carried the tunnel', async () => {
    const mitm = await startMitmdump();
    const server = await startWsServer();
    cleanups.push(server.close);
    server.wss.on('connection', (socket) => socket.on('message', (data) => socket.send(`echo:${String(data)}`)));
    const { session, io, out, stop } = await record({ upstreamProxy: `http://127.0.0.1:${mitm.port}` });
    expect(session.upstreamProxy).toBe(`http://127.0.0.1:${mitm.port}`);
    const ws = await openClient(`${server.url}/chat`, { agent: new ConnectAgent(session.port) });
    const reply = new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))));
    ws.send('through two proxies');
    expect(await reply).toBe('echo:through two proxies');
    const closed = new Promise((resolve) => ws.once('close', resolve));
    ws.close(1000, 'done');
    await closed;
    await stop();
    const entries = await readEntries(out);
    const frames = entries.filter((entry): entry is FrameEntry => entry.kind === 'frame' && entry.opcode === 1);
    expect(frames.map((frame) => [frame.dir, frame.text])).toEqual([
      ['out', 'through two proxies'],
      ['in', 'echo:through two proxies'],
    ]);
    expect(entries.filter((entry) => entry.kind === 'error')).toEqual([]);
    // mitmdump logs each connection it passed through as its client goes away.
    await waitFor(() => mitm.output().includes('client disconnect'), 10_000, 'mitmdump to log the tunnel');
    expect(io.err()).not.toContain('Error');
  });

  it('sends plain HTTP through the chain', async () => {
    const mitm = await startMitmdump();
    const server = await startHttpServer();
    const { session, out, stop } = await record({ upstreamProxy: `http://127.0.0.1:${mitm.port}` });
    expect(await getThrough(session.port, `http://127.0.0.1:${server.port}/plain?q=1`)).toEqual({ status: 200, body: 'hello /plain?q=1' });
    await stop();
    const exchanges = (await readEntries(out)).filter((entry): entry is HttpEntry => entry.kind === 'http');
    expect(exchanges.map((entry) => [entry.url, entry.response?.status])).toEqual([[`http://127.0.0.1:${server.port}/plain?q=1`, 200]]);
    await waitFor(() => mitm.output().includes('client disconnect'), 10_000, 'mitmdump to log the tunnel');
  });

  it('sends Proxy-Authorization from the URL: right credentials pass, wrong ones give a 502 naming the 407', async () => {
    const mitm = await startMitmdump(['--proxyauth', 'alice:s3cr%t']);
    const server = await startHttpServer();
    const good = await record({ upstreamProxy: `http://alice:s3cr%25t@127.0.0.1:${mitm.port}` });
    expect(good.session.upstreamProxy).toBe(`http://alice:****@127.0.0.1:${mitm.port}`);
    expect(await getThrough(good.session.port, `http://127.0.0.1:${server.port}/ok`)).toEqual({ status: 200, body: 'hello /ok' });

    const bad = await record({ upstreamProxy: `http://alice:wrongpass@127.0.0.1:${mitm.port}` });
    const answer = await getThrough(bad.session.port, `http://127.0.0.1:${server.port}/denied`);
    expect(answer.status).toBe(502);
    expect(answer.body).toContain('407');
    expect(answer.body).not.toContain('wrongpass');
    await bad.stop();
    const errors = (await readEntries(bad.out)).filter((entry): entry is ErrorEntry => entry.kind === 'error');
    expect(errors.map((entry) => entry.code)).toEqual(['UPSTREAM_PROXY']);
    expect(errors[0]!.message).toContain('407');
    const archive = readFileSync(bad.out, 'utf8');
    expect(archive).not.toContain('wrongpass');
    expect(archive).not.toContain(Buffer.from('alice:wrongpass').toString('base64'));
    expect(bad.io.err()).not.toContain('wrongpass');
    expect(server.seen).toEqual(['/ok']);
  });
});

const cas = interceptionCasBeforeAll();

describe('--upstream-proxy with intercepted TLS', () => {
  it("records wss:// frames exactly: TLS to the client, the recorder's verified TLS through mitmdump to the server", async () => {
    const mitm = await startMitmdump();
    const site = await startWssEcho(cas.site);
    cleanups.push(site.close);
    const port = site.port;
    const { session, out, stop } = await record({ upstreamProxy: `http://127.0.0.1:${mitm.port}`, caDir: cas.recorderDir, upstreamCa: [cas.site.paths.cert] });
    // A CONNECT through the recorder, then TLS inside it that trusts only the recorder's root CA.
    const ws = new WebSocket(`wss://localhost:${port}/secure`, { agent: new TlsInConnectAgent(session.port, cas.recorder.certPem) });
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
    const reply = new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))));
    ws.send('secret over two hops');
    expect(await reply).toBe('echo:secret over two hops');
    const closed = new Promise((resolve) => ws.once('close', resolve));
    ws.close(1000, 'bye');
    await closed;
    // Stopped at once: by now the close handshake and a FIN each way went through both hops, so
    // the connection is over even though its tunnelled TLS socket has not reported 'close' yet.
    await stop();
    const entries = await readEntries(out);
    const frames = entries.filter((entry): entry is FrameEntry => entry.kind === 'frame' && entry.opcode === 1);
    expect(frames.map((frame) => [frame.dir, frame.text])).toEqual([
      ['out', 'secret over two hops'],
      ['in', 'echo:secret over two hops'],
    ]);
    expect(entries.filter((entry) => entry.kind === 'error')).toEqual([]);
    expect(entries.find((entry) => entry.kind === 'end')).toMatchObject({ closeCode: 1000, closeReason: 'bye', closedBy: 'client', clean: true });
    await waitFor(() => mitm.output().includes('client disconnect'), 10_000, 'mitmdump to log the tunnel');
  });
});

describe('--upstream-proxy failures and bypass', () => {
  it('a proxy that is down: the client gets a 502 and the archive an UPSTREAM_PROXY entry', async () => {
    const down = await freePort();
    const server = await startHttpServer();
    const { session, out, stop } = await record({ upstreamProxy: `http://127.0.0.1:${down}` });
    const answer = await getThrough(session.port, `http://127.0.0.1:${server.port}/x`);
    expect(answer.status).toBe(502);
    expect(answer.body).toContain(`upstream proxy 127.0.0.1:${down}`);
    expect(answer.body).toContain('connection refused');
    await stop();
    const errors = (await readEntries(out)).filter((entry): entry is ErrorEntry => entry.kind === 'error');
    expect(errors.map((entry) => entry.code)).toEqual(['UPSTREAM_PROXY']);
    expect(server.seen).toEqual([]);
  });

  it('a CONNECT from the client is answered with the 502', async () => {
    const down = await freePort();
    const server = await startWsServer();
    cleanups.push(server.close);
    const { session } = await record({ upstreamProxy: `http://127.0.0.1:${down}` });
    await expect(openClient(`${server.url}/`, { agent: new ConnectAgent(session.port) })).rejects.toThrow(/CONNECT refused: HTTP\/1\.1 502/);
  });

  it('--no-upstream-proxy globs reach their hosts directly (the proxy, down, is never asked)', async () => {
    const down = await freePort();
    const server = await startHttpServer();
    const { session } = await record({ upstreamProxy: `http://127.0.0.1:${down}`, noUpstreamProxy: ['*.internal', '127.0.0.*'] });
    expect(await getThrough(session.port, `http://127.0.0.1:${server.port}/direct`)).toEqual({ status: 200, body: 'hello /direct' });
  });

  it('--upstream-proxy-env reads HTTP_PROXY and NO_PROXY only with the flag', async () => {
    const down = await freePort();
    const server = await startHttpServer();
    const env = { HTTP_PROXY: `http://127.0.0.1:${down}` };
    const without = await record({}, env);
    expect(await getThrough(without.session.port, `http://127.0.0.1:${server.port}/a`)).toEqual({ status: 200, body: 'hello /a' });
    const withFlag = await record({ upstreamProxyEnv: true }, env);
    expect((await getThrough(withFlag.session.port, `http://127.0.0.1:${server.port}/b`)).status).toBe(502);
    const bypassed = await record({ upstreamProxyEnv: true }, { ...env, NO_PROXY: 'localhost,127.0.0.1' });
    expect(await getThrough(bypassed.session.port, `http://127.0.0.1:${server.port}/c`)).toEqual({ status: 200, body: 'hello /c' });
    expect(server.seen).toEqual(['/a', '/c']);
  });
});

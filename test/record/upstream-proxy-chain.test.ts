/**
 * --upstream-proxy paths beyond the basic chain (upstream-proxy-e2e.test.ts), both hops real:
 *   - an https:// upstream proxy: mitmdump cannot listen with TLS in regular mode, so a small TLS
 *     front (node:tls, a certificate from a private CA) terminates TLS and hands the bytes to a
 *     real mitmdump; the recorder must verify the front's certificate (--upstream-ca, --insecure);
 *   - reverse mode (--target ws:// and wss://) through the upstream proxy;
 *   - SOCKS5 clients' tunnels (curl --socks5-hostname) through the upstream proxy;
 *   - --upstream-proxy-env's rule: HTTPS_PROXY for TLS upstreams and CONNECT tunnels to port 443,
 *     HTTP_PROXY for the others, NO_PROXY to go direct.
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { ErrorEntry, FrameEntry } from '../../src/format/schema.js';
import type { RecordOptions } from '../../src/record/recording.js';
import { freePort, startMitmdump as startMitmdumpProcess, type Mitmdump } from '../helpers/mitmdump.js';
import { ConnectAgent, openClient, readEntries, startRecorder, startWsServer, waitFor } from '../helpers/peers.js';
import { TlsInConnectAgent } from '../helpers/tls-agent.js';
import { interceptionCasBeforeAll, localhostCertificate, startWssEcho } from '../helpers/tls-site.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// The private CA of the TLS servers here (the https:// proxy front, the wss:// site), and the
// recorder's own root that the clients trust.
const cas = interceptionCasBeforeAll();

/**
 * One mitmdump for the whole file, started on first use (each start is a second or more of
 * Python start-up); tests tell their tunnels apart by the target's port in its log.
 */
let shared: Promise<Mitmdump> | null = null;
function startMitmdump(): Promise<Mitmdump> {
  shared ??= startMitmdumpProcess();
  return shared;
}
afterAll(async () => {
  if (shared) (await shared).kill();
});

/** A second, separate mitmdump, killed after the test. */
async function anotherMitmdump(): Promise<Mitmdump> {
  const mitm = await startMitmdumpProcess();
  cleanups.push(mitm.kill);
  return mitm;
}

async function record(options: Partial<RecordOptions>, env: Record<string, string> = {}) {
  const session = await startRecorder({ caDir: cas.recorderDir, upstreamCa: [cas.site.paths.cert], ...options, env });
  const stop = (): Promise<unknown> => session.stop();
  cleanups.push(stop);
  return { session, out: session.path, stop };
}

/**
 * An https:// proxy: TLS on 127.0.0.1 with a certificate for localhost from cas.site, each
 * decrypted connection handed to mitmdump. `handshakes` counts the TLS sessions it served.
 */
async function startTlsFront(mitmPort: number): Promise<{ port: number; handshakes: () => number }> {
  let handshakes = 0;
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({ ...localhostCertificate(cas.site), allowHalfOpen: true }, (secure) => {
    handshakes += 1;
    const inner = net.connect({ port: mitmPort, host: '127.0.0.1', allowHalfOpen: true });
    sockets.add(secure).add(inner);
    secure.pipe(inner).pipe(secure);
    for (const socket of [secure, inner]) {
      socket.on('error', () => (secure.destroy(), inner.destroy()));
      socket.on('close', () => sockets.delete(socket));
    }
  });
  // A client that fails the handshake (an untrusted certificate) is not an error of the front;
  // its TCP connection, which never reaches the handler above, is closed at cleanup too.
  server.on('tlsClientError', () => {});
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => (sockets.forEach((socket) => socket.destroy()), server.close(resolve))));
  return { port: (server.address() as net.AddressInfo).port, handshakes: () => handshakes };
}

/** A ws:// echo server; `open` resolves once it is up. */
async function echoServer() {
  const server = await startWsServer();
  cleanups.push(server.close);
  server.wss.on('connection', (socket) => socket.on('message', (data) => socket.send(`echo:${String(data)}`)));
  return server;
}

/** A wss:// echo server with a certificate for localhost from cas.site. */
async function secureEchoServer(): Promise<number> {
  const site = await startWssEcho(cas.site);
  cleanups.push(site.close);
  return site.port;
}

async function echo(ws: WebSocket, text: string): Promise<string> {
  const reply = new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))));
  ws.send(text);
  return reply;
}

function open(ws: WebSocket): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_request, response) => reject(new Error(`status ${response.statusCode}`)));
  });
}

const textFrames = (entries: unknown[]): string[] =>
  (entries as FrameEntry[]).filter((entry) => entry.kind === 'frame' && entry.opcode === 1).map((frame) => `${frame.dir} ${frame.text}`);
const errorsOf = (entries: unknown[]): ErrorEntry[] => (entries as ErrorEntry[]).filter((entry) => entry.kind === 'error');

describe('an https:// upstream proxy', () => {
  it('carries ws:// through TLS to the proxy, its certificate verified with --upstream-ca', async () => {
    const mitm = await startMitmdump();
    const front = await startTlsFront(mitm.port);
    const server = await echoServer();
    const { session, out, stop } = await record({ upstreamProxy: `https://localhost:${front.port}` });
    expect(session.upstreamProxy).toBe(`https://localhost:${front.port}`);
    const ws = await openClient(`${server.url}/over-tls-proxy`, { agent: new ConnectAgent(session.port) });
    expect(await echo(ws, 'via https proxy')).toBe('echo:via https proxy');
    ws.close(1000);
    await new Promise((resolve) => ws.once('close', resolve));
    await stop();
    const entries = await readEntries(out);
    expect(textFrames(entries)).toEqual(['out via https proxy', 'in echo:via https proxy']);
    expect(errorsOf(entries)).toEqual([]);
    expect(front.handshakes()).toBe(1);
    expect(mitm.output()).toContain(`server connect 127.0.0.1:${server.port}`);
  });

  it('carries intercepted wss:// too: TLS to the site inside the tunnel, inside TLS to the proxy', async () => {
    const mitm = await startMitmdump();
    const front = await startTlsFront(mitm.port);
    const port = await secureEchoServer();
    const { session, out, stop } = await record({ upstreamProxy: `https://localhost:${front.port}` });
    const ws = await open(new WebSocket(`wss://localhost:${port}/double`, { agent: new TlsInConnectAgent(session.port, cas.recorder.certPem) }));
    expect(await echo(ws, 'tls in tls')).toBe('echo:tls in tls');
    ws.close(1000);
    await new Promise((resolve) => ws.once('close', resolve));
    await stop();
    const entries = await readEntries(out);
    expect(textFrames(entries)).toEqual(['out tls in tls', 'in echo:tls in tls']);
    expect(errorsOf(entries)).toEqual([]);
    expect(front.handshakes()).toBe(1);
  });

  it('a proxy certificate that does not verify: 502 and UPSTREAM_PROXY saying so; --insecure accepts it', async () => {
    const mitm = await startMitmdump();
    const front = await startTlsFront(mitm.port);
    const server = await echoServer();
    const strict = await record({ upstreamProxy: `https://localhost:${front.port}`, upstreamCa: [] });
    await expect(openClient(`${server.url}/`, { agent: new ConnectAgent(strict.session.port) })).rejects.toThrow(/CONNECT refused: HTTP\/1\.1 502/);
    await strict.stop();
    const errors = errorsOf(await readEntries(strict.out));
    expect(errors.map((error) => error.code)).toEqual(['UPSTREAM_PROXY']);
    expect(errors[0]!.message).toContain(`TLS with upstream proxy localhost:${front.port} failed`);

    const insecure = await record({ upstreamProxy: `https://localhost:${front.port}`, upstreamCa: [], insecure: true });
    const ws = await openClient(`${server.url}/`, { agent: new ConnectAgent(insecure.session.port) });
    expect(await echo(ws, 'trusting')).toBe('echo:trusting');
    ws.terminate();
  });
});

describe('reverse mode through the upstream proxy', () => {
  it('--target ws://: the recorder reaches the target through mitmdump', async () => {
    const mitm = await startMitmdump();
    const server = await echoServer();
    const { session, out, stop } = await record({ target: server.url, upstreamProxy: `http://127.0.0.1:${mitm.port}` });
    const ws = await openClient(`ws://127.0.0.1:${session.port}/rev`);
    expect(await echo(ws, 'reverse chained')).toBe('echo:reverse chained');
    ws.close(1000);
    await new Promise((resolve) => ws.once('close', resolve));
    await stop();
    const entries = await readEntries(out);
    expect(textFrames(entries)).toEqual(['out reverse chained', 'in echo:reverse chained']);
    expect(errorsOf(entries)).toEqual([]);
    expect(mitm.output()).toContain(`server connect 127.0.0.1:${server.port}`);
  });

  it('--target wss://: verified TLS to the target inside the tunnel', async () => {
    const mitm = await startMitmdump();
    const port = await secureEchoServer();
    const { session, out, stop } = await record({ target: `wss://localhost:${port}`, upstreamProxy: `http://127.0.0.1:${mitm.port}` });
    const ws = await openClient(`ws://127.0.0.1:${session.port}/rev-tls`);
    expect(await echo(ws, 'to wss')).toBe('echo:to wss');
    ws.close(1000);
    await new Promise((resolve) => ws.once('close', resolve));
    await stop();
    const entries = await readEntries(out);
    expect(textFrames(entries)).toEqual(['out to wss', 'in echo:to wss']);
    expect(errorsOf(entries)).toEqual([]);
    await waitFor(() => mitm.output().includes(`server connect localhost:${port}`), 10_000, 'mitmdump to log the tunnel');
  });

  it('the proxy is down: the client gets a 502 and the archive an UPSTREAM_PROXY entry', async () => {
    const down = await freePort();
    const server = await echoServer();
    const { session, out, stop } = await record({ target: server.url, upstreamProxy: `http://127.0.0.1:${down}` });
    await expect(openClient(`ws://127.0.0.1:${session.port}/rev`)).rejects.toThrow(/502/);
    await stop();
    const errors = errorsOf(await readEntries(out));
    expect(errors.map((error) => error.code)).toEqual(['UPSTREAM_PROXY']);
    expect(errors[0]!.message).toContain(`upstream proxy 127.0.0.1:${down}`);
  });
});

describe('SOCKS5 clients through the upstream proxy', () => {
  const run = promisify(execFile);
  /** curl through the recorder's SOCKS5 (names resolved by the proxy), without proxy variables. */
  async function curlSocks(proxyPort: number, url: string): Promise<{ code: number; stdout: string }> {
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    try {
      const { stdout } = await run('curl', ['--silent', '--max-time', '20', '--socks5-hostname', `127.0.0.1:${proxyPort}`, url], { env });
      return { code: 0, stdout };
    } catch (error) {
      const failure = error as { code?: number; stdout?: string };
      return { code: failure.code ?? -1, stdout: failure.stdout ?? '' };
    }
  }

  it("a SOCKS5 CONNECT's upstream is a tunnel through the proxy; a proxy that is down fails the request with UPSTREAM_PROXY", async () => {
    const mitm = await startMitmdump();
    const server = http.createServer((request, response) => response.end(`hello ${request.url}`));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))));
    const port = (server.address() as net.AddressInfo).port;
    const chained = await record({ upstreamProxy: `http://127.0.0.1:${mitm.port}` });
    expect(await curlSocks(chained.session.port, `http://127.0.0.1:${port}/socks`)).toEqual({ code: 0, stdout: 'hello /socks' });
    await waitFor(() => mitm.output().includes(`server connect 127.0.0.1:${port}`), 10_000, 'mitmdump to carry the SOCKS5 tunnel');

    const down = await freePort();
    const broken = await record({ upstreamProxy: `http://127.0.0.1:${down}` });
    expect((await curlSocks(broken.session.port, `http://127.0.0.1:${port}/never`)).code).not.toBe(0);
    await broken.stop();
    const errors = errorsOf(await readEntries(broken.out));
    expect(errors.map((error) => error.code)).toEqual(['UPSTREAM_PROXY']);
    expect(errors[0]!.message).toContain(`cannot connect to upstream proxy 127.0.0.1:${down}`);
  });
});

describe('--upstream-proxy-env: HTTPS_PROXY, HTTP_PROXY and NO_PROXY', () => {
  /** The status line the recorder answers a CONNECT with, and its body. */
  function connectAnswer(proxyPort: number, target: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(proxyPort, '127.0.0.1');
      socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
      let text = '';
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
        // A 200 keeps the tunnel open; anything else is answered and closed.
        if (text.startsWith('HTTP/1.1 200') && text.includes('\r\n\r\n')) socket.destroy();
      });
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
  }

  it('a CONNECT to port 443 goes through HTTPS_PROXY, one to another port through HTTP_PROXY; NO_PROXY goes direct', async () => {
    const mitm = await startMitmdump();
    const down = await freePort();
    const closedPort = await freePort();
    const env = { HTTPS_PROXY: `http://127.0.0.1:${mitm.port}`, HTTP_PROXY: `http://127.0.0.1:${down}` };
    const { session, out, stop } = await record({ upstreamProxyEnv: true }, env);
    // Nothing listens on localhost:443 here: mitmdump answers the recorder's CONNECT with 502.
    const tls443 = await connectAnswer(session.port, 'localhost:443');
    expect(tls443).toMatch(/^HTTP\/1\.1 502/);
    expect(tls443).toContain(`upstream proxy 127.0.0.1:${mitm.port} answered CONNECT localhost:443 with 502`);
    // Any other port: HTTP_PROXY, which is down.
    const other = await connectAnswer(session.port, `localhost:${closedPort}`);
    expect(other).toMatch(/^HTTP\/1\.1 502/);
    expect(other).toContain(`cannot connect to upstream proxy 127.0.0.1:${down}: connection refused`);
    await stop();
    expect(errorsOf(await readEntries(out)).map((error) => error.code)).toEqual(['UPSTREAM_PROXY', 'UPSTREAM_PROXY']);

    const bypass = await record({ upstreamProxyEnv: true }, { ...env, NO_PROXY: 'localhost' });
    const direct = await connectAnswer(bypass.session.port, 'localhost:443');
    expect(direct).toMatch(/^HTTP\/1\.1 502/);
    expect(direct).not.toContain('upstream proxy');
    await bypass.stop();
    expect(errorsOf(await readEntries(bypass.out)).map((error) => error.code)).toEqual(['UPSTREAM_CONNECT']);
  });

  it('intercepted wss:// on another port is a TLS upstream: the recorder reaches it through HTTPS_PROXY', async () => {
    const forTls = await startMitmdump();
    const forPlain = await anotherMitmdump();
    const port = await secureEchoServer();
    const env = { HTTPS_PROXY: `http://127.0.0.1:${forTls.port}`, HTTP_PROXY: `http://127.0.0.1:${forPlain.port}` };
    const { session, out, stop } = await record({ upstreamProxyEnv: true }, env);
    const ws = await open(new WebSocket(`wss://localhost:${port}/env`, { agent: new TlsInConnectAgent(session.port, cas.recorder.certPem) }));
    expect(await echo(ws, 'https proxy for tls')).toBe('echo:https proxy for tls');
    ws.close(1000);
    await new Promise((resolve) => ws.once('close', resolve));
    await stop();
    const entries = await readEntries(out);
    expect(textFrames(entries)).toEqual(['out https proxy for tls', 'in echo:https proxy for tls']);
    expect(errorsOf(entries)).toEqual([]);
    // The CONNECT's own upstream opened through HTTP_PROXY (not port 443, content unknown yet);
    // the recorder's TLS connection to the site went through HTTPS_PROXY.
    await waitFor(() => forTls.output().includes(`server connect localhost:${port}`), 10_000, 'HTTPS_PROXY to carry the TLS upstream');
  });
});

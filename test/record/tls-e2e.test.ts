/**
 * TLS interception end to end: `ws` as a client through the recorder's CONNECT to a `ws` wss://
 * server whose certificate comes from a private CA (passed with --upstream-ca), verification
 * failures (502 + archived reason), --insecure, --no-intercept, HTTPS exchanges, and reverse
 * mode to a wss:// target while serving TLS (--tls).
 */
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { ConnectionEntry, ErrorEntry, FrameEntry, HttpEntry, TunnelEntry } from '../../src/format/schema.js';
import { captureIo, readEntries, startRecorder, waitFor } from '../helpers/peers.js';
import { interceptionCasBeforeAll, startWssEcho, type WssEchoSite } from '../helpers/tls-site.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// The upstream's own private CA, and the recorder's root CA: two different installs.
const cas = interceptionCasBeforeAll();

/** A wss:// echo server (and plain https:// responder) on 127.0.0.1 with a certificate for localhost. */
function startWssServer(): Promise<WssEchoSite> {
  return startWssEcho(cas.site, (request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ secure: true, path: request.url }));
  });
}

/** An https.Agent that tunnels through the proxy's CONNECT, then speaks TLS inside, as browsers do. */
class TunnelingAgent extends https.Agent {
  constructor(private readonly proxyPort: number) {
    super({ keepAlive: false });
  }

  override createConnection(
    options: tls.ConnectionOptions & { host?: string; port?: number },
    callback?: (error: Error | null, socket: net.Socket) => void,
  ): net.Socket {
    const raw = net.connect(this.proxyPort, '127.0.0.1');
    raw.write(`CONNECT ${options.host}:${options.port} HTTP/1.1\r\nHost: ${options.host}:${options.port}\r\n\r\n`);
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1) return;
      raw.removeListener('data', onData);
      if (!buffered.toString('latin1').startsWith('HTTP/1.1 200')) {
        callback?.(new Error(`CONNECT refused: ${buffered.toString('latin1').split('\r\n')[0]}`), raw);
        return;
      }
      const secure = tls.connect({ ...options, socket: raw });
      secure.once('secureConnect', () => callback?.(null, secure));
      secure.once('error', (error) => callback?.(error, secure));
    };
    raw.on('data', onData);
    raw.once('error', (error) => callback?.(error, raw));
    return undefined as unknown as net.Socket;
  }
}

async function record(
  options: { insecure?: boolean; upstreamCa?: boolean; noIntercept?: string[]; target?: string; tls?: boolean; live?: ReturnType<typeof captureIo> } = {},
) {
  const session = await startRecorder({
    ...(options.live ? { io: options.live } : {}),
    quiet: !options.live,
    caDir: cas.recorderDir,
    insecure: options.insecure ?? false,
    upstreamCa: options.upstreamCa ? [cas.site.paths.cert] : [],
    noIntercept: options.noIntercept ?? [],
    tls: options.tls ?? false,
    target: options.target,
  });
  cleanups.push(() => session.stop());
  return session;
}

function connectThrough(proxyPort: number, url: string, ca: string[]): Promise<WebSocket> {
  const ws = new WebSocket(url, { agent: new TunnelingAgent(proxyPort), ca });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_request, response) => reject(Object.assign(new Error(`status ${response.statusCode}`), { status: response.statusCode })));
  });
}

async function echo(ws: WebSocket, text: string): Promise<string> {
  const reply = new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))));
  ws.send(text);
  return reply;
}

describe('intercepting wss:// through CONNECT', () => {
  it('records frames both ways and delivers them unchanged, with --upstream-ca', async () => {
    const server = await startWssServer();
    cleanups.push(server.close);
    const recorder = await record({ upstreamCa: true });
    const ws = await connectThrough(recorder.port, `wss://localhost:${server.port}/secure?x=1`, [cas.recorder.certPem]);
    expect(await echo(ws, 'over tls')).toBe('echo:over tls');
    expect(await echo(ws, '{"n":2}')).toBe('echo:{"n":2}');
    const closed = new Promise((resolve) => ws.once('close', resolve));
    ws.close(1000, 'done');
    await closed;
    expect(server.received).toEqual(['over tls', '{"n":2}']);
    await waitFor(() => recorder.recorder.totals.bytes > 0, 5000, 'the end');
    await recorder.stop();

    const entries = await readEntries(recorder.path);
    const connection = entries.find((entry): entry is ConnectionEntry => entry.kind === 'connection')!;
    expect(connection).toMatchObject({ url: `wss://localhost:${server.port}/secure?x=1`, mode: 'connect' });
    const frames = entries.filter((entry): entry is FrameEntry => entry.kind === 'frame' && entry.type === 'text');
    expect(frames.map((frame) => `${frame.dir} ${frame.text}`)).toEqual(['out over tls', 'in echo:over tls', 'out {"n":2}', 'in echo:{"n":2}']);
    expect(entries.find((entry) => entry.kind === 'end')).toMatchObject({ closeCode: 1000, clean: true });
  });

  it('answers 502 and archives the reason when the upstream certificate does not verify; --insecure works', async () => {
    const server = await startWssServer();
    cleanups.push(server.close);
    const strict = await record();
    const failure = await connectThrough(strict.port, `wss://localhost:${server.port}/`, [cas.recorder.certPem]).catch((error: { status?: number }) => error);
    expect((failure as { status?: number }).status).toBe(502);
    await strict.stop();
    const errors = (await readEntries(strict.path)).filter((entry): entry is ErrorEntry => entry.kind === 'error');
    expect(errors.map((error) => error.code)).toContain('UPSTREAM_TLS');
    expect(errors.find((error) => error.code === 'UPSTREAM_TLS')!.message).toMatch(/could not be verified/);

    const insecure = await record({ insecure: true });
    const ws = await connectThrough(insecure.port, `wss://localhost:${server.port}/`, [cas.recorder.certPem]);
    expect(await echo(ws, 'trust me')).toBe('echo:trust me');
    ws.terminate();
  });

  it('records HTTPS exchanges', async () => {
    const server = await startWssServer();
    cleanups.push(server.close);
    const recorder = await record({ upstreamCa: true });
    const body = await new Promise<string>((resolve, reject) => {
      https
        .get({ host: 'localhost', port: server.port, path: '/api?q=1', agent: new TunnelingAgent(recorder.port), ca: [cas.recorder.certPem] }, (response) => {
          let text = '';
          response.on('data', (chunk) => (text += String(chunk)));
          response.on('end', () => resolve(text));
        })
        .on('error', reject);
    });
    expect(JSON.parse(body)).toEqual({ secure: true, path: '/api?q=1' });
    await recorder.stop();
    const exchange = (await readEntries(recorder.path)).find((entry): entry is HttpEntry => entry.kind === 'http')!;
    expect(exchange).toMatchObject({ url: `https://localhost:${server.port}/api?q=1`, response: { status: 200, body: { text: body } } });
  });

  it('passes --no-intercept hosts through untouched, listed as tunnels', async () => {
    const server = await startWssServer();
    cleanups.push(server.close);
    const recorder = await record({ noIntercept: ['local*'] });
    // The client sees the real upstream certificate, so it must trust the upstream's CA.
    const ws = await connectThrough(recorder.port, `wss://localhost:${server.port}/`, [cas.site.certPem]);
    expect(await echo(ws, 'opaque')).toBe('echo:opaque');
    ws.terminate();
    await waitFor(() => recorder.recorder.totals.bytes > 0, 5000, 'the tunnel end');
    await recorder.stop();
    const entries = await readEntries(recorder.path);
    expect(entries.find((entry): entry is TunnelEntry => entry.kind === 'tunnel')).toMatchObject({
      reason: 'no-intercept',
      url: `https://localhost:${server.port}`,
    });
    expect(entries.some((entry) => entry.kind === 'frame')).toBe(false);
  });
});

/** A real ClientHello from Node's TLS client, for `servername`. */
function captureClientHello(servername: string): Promise<Buffer> {
  return new Promise<Buffer>((resolve) => {
    const sink = net.createServer((socket) => socket.once('data', (chunk: Buffer) => (resolve(chunk), socket.destroy(), sink.close())));
    sink.listen(0, '127.0.0.1', () => {
      tls.connect({ port: (sink.address() as net.AddressInfo).port, host: '127.0.0.1', servername }).on('error', () => {});
    });
  });
}

/** A ws client through the recorder's CONNECT that fails; resolves with its error. */
function failingClient(proxyPort: number, url: string, ca: string[] = []): Promise<Error> {
  const ws = new WebSocket(url, { agent: new TunnelingAgent(proxyPort), ...(ca.length > 0 ? { ca } : {}) });
  return new Promise((resolve, reject) => {
    ws.once('error', resolve);
    ws.once('open', () => reject(new Error('the client trusted the recorder')));
  });
}

const clientTlsErrors = async (file: string): Promise<ErrorEntry[]> =>
  (await readEntries(file)).filter((entry): entry is ErrorEntry => entry.kind === 'error' && entry.code === 'CLIENT_TLS');

describe('a client that does not trust the wstape root CA', () => {
  it("Node's ws verifies after the handshake and closes: a CLIENT_TLS entry names the host and the cause, in the live view too", async () => {
    const server = await startWssServer();
    cleanups.push(server.close);
    const live = captureIo();
    const recorder = await record({ upstreamCa: true, live });
    // No `ca`: Node's default roots do not include the recorder's CA.
    const failure = await failingClient(recorder.port, `wss://localhost:${server.port}/untrusted`);
    expect(failure.message).toMatch(/certificate/);
    // Written once the grace time passed without a finished handshake for the host (client-trust.ts).
    await waitFor(() => live.out().includes('CLIENT_TLS'), 15_000, 'the CLIENT_TLS line in the live view');
    await recorder.stop();
    const errors = await clientTlsErrors(recorder.path);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toContain(`localhost:${server.port}`);
    expect(errors[0]!.message).toContain('the client does not trust the wstape root CA: see wstape ca info');
    const line = live
      .out()
      .split('\n')
      .find((text) => text.includes('CLIENT_TLS'))!;
    expect(line).toContain(`localhost:${server.port}`);
    expect(line).toContain('wstape ca info');
    expect(server.received).toEqual([]);
  });

  it("the same in reverse mode with --tls, for ws and for Node's fetch (undici)", async () => {
    const server = await startWssServer();
    cleanups.push(server.close);
    const recorder = await record({ target: `wss://localhost:${server.port}`, upstreamCa: true, tls: true });
    const ws = new WebSocket(`wss://localhost:${recorder.port}/rev`);
    const failure = await new Promise<Error>((resolve, reject) => ws.once('error', resolve).once('open', () => reject(new Error('trusted'))));
    expect(failure.message).toMatch(/certificate/);
    // Node's global fetch is undici; its error's cause is the TLS client's verdict.
    const fetched = await fetch(`https://localhost:${recorder.port}/api`).then(
      () => null,
      (error: Error & { cause?: Error }) => error,
    );
    expect(fetched?.cause?.message).toMatch(/certificate/);
    await waitFor(() => recorder.recorder.totals.errors >= 2, 15_000, 'the error entries');
    await recorder.stop();
    const errors = await clientTlsErrors(recorder.path);
    expect(errors).toHaveLength(2);
    for (const error of errors) expect(error.message).toContain('the client does not trust the wstape root CA: see wstape ca info');
    expect(server.received).toEqual([]);
  });

  it('a client that trusts the CA and closes cleanly after its exchange leaves no CLIENT_TLS entry', async () => {
    const server = await startWssServer();
    cleanups.push(server.close);
    const recorder = await record({ upstreamCa: true });
    const ws = await connectThrough(recorder.port, `wss://localhost:${server.port}/fine`, [cas.recorder.certPem]);
    expect(await echo(ws, 'hello')).toBe('echo:hello');
    const closed = new Promise((resolve) => ws.once('close', resolve));
    ws.close(1000, 'done');
    await closed;
    // A trusting TLS client that finishes the handshake and leaves without a request (a pooled
    // connection never used) is no trust failure either.
    const idle = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const raw = net.connect(recorder.port, '127.0.0.1');
      raw.write(`CONNECT localhost:${server.port} HTTP/1.1\r\nHost: localhost:${server.port}\r\n\r\n`);
      raw.once('data', () => {
        const secure = tls.connect({ socket: raw, servername: 'localhost', ca: [cas.recorder.certPem] }, () => resolve(secure));
        secure.once('error', reject);
      });
    });
    const idleClosed = new Promise((resolve) => idle.once('close', resolve));
    idle.end();
    await idleClosed;
    await waitFor(() => recorder.recorder.totals.bytes > 0, 5000, 'the end');
    await recorder.stop();
    const entries = await readEntries(recorder.path);
    expect(entries.find((entry) => entry.kind === 'end')).toMatchObject({ closeCode: 1000, clean: true });
    expect(entries.filter((entry) => entry.kind === 'error')).toEqual([]);
  });
});

describe('a client that leaves mid-handshake', () => {
  it('before our certificate: closes the upstream connection the CONNECT opened, no error entry (browsers cancel speculative connections)', async () => {
    const hello = await captureClientHello('localhost');
    // An upstream that only counts its open connections.
    const open = new Set<net.Socket>();
    const upstream = net.createServer((socket) => {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => upstream.close(resolve)));
    const port = (upstream.address() as net.AddressInfo).port;
    const recorder = await record();

    const client = net.connect(recorder.port, '127.0.0.1');
    client.write(`CONNECT localhost:${port} HTTP/1.1\r\nHost: localhost:${port}\r\n\r\n`);
    await new Promise((resolve) => client.once('data', resolve)); // 200 Connection established
    // The record header and part of the ClientHello: enough to be taken for TLS, too little to answer.
    client.write(hello.subarray(0, 20));
    await waitFor(() => open.size === 1, 5000, 'the upstream connection');
    client.end();
    await waitFor(() => open.size === 0, 5000, 'the upstream connection to close');
    await recorder.stop();
    const entries = await readEntries(recorder.path);
    expect(entries.filter((entry) => entry.kind === 'error')).toEqual([]);
  });

  /** A raw client through CONNECT that sends `hello`, reads the recorder's answer, then leaves with `how`. */
  async function leaveAfterCertificate(proxyPort: number, target: string, hello: Buffer, how: 'end' | 'reset'): Promise<void> {
    const client = net.connect(proxyPort, '127.0.0.1');
    client.on('error', () => {});
    client.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
    await new Promise((resolve) => client.once('data', resolve)); // 200 Connection established
    client.write(hello);
    await new Promise((resolve) => client.once('data', resolve)); // the recorder's ServerHello
    const closed = new Promise((resolve) => client.once('close', resolve));
    if (how === 'end') client.end();
    else client.resetAndDestroy();
    await closed;
  }

  it('after our certificate, with a FIN or a reset and no alert: a CLIENT_TLS entry each (what a rejecting Node client looks like)', async () => {
    const server = await startWssServer();
    cleanups.push(server.close);
    const hello = await captureClientHello('localhost');
    const recorder = await record({ upstreamCa: true });
    await leaveAfterCertificate(recorder.port, `localhost:${server.port}`, hello, 'end');
    await leaveAfterCertificate(recorder.port, `localhost:${server.port}`, hello, 'reset');
    await waitFor(() => recorder.recorder.totals.errors >= 2, 15_000, 'the error entries');
    await recorder.stop();
    const errors = await clientTlsErrors(recorder.path);
    expect(errors).toHaveLength(2);
    for (const error of errors) expect(error.message).toContain('the client closed the connection after receiving the certificate');
  });

  it('a reset after our certificate, then a handshake for the same host that finishes: no entry (a browser abandoning a handshake)', async () => {
    const server = await startWssServer();
    cleanups.push(server.close);
    const hello = await captureClientHello('localhost');
    const recorder = await record({ upstreamCa: true });
    await leaveAfterCertificate(recorder.port, `localhost:${server.port}`, hello, 'reset');
    const ws = await connectThrough(recorder.port, `wss://localhost:${server.port}/after`, [cas.recorder.certPem]);
    expect(await echo(ws, 'second try')).toBe('echo:second try');
    ws.terminate();
    await recorder.stop();
    expect(await clientTlsErrors(recorder.path)).toEqual([]);
  });
});

describe('reverse mode with TLS', () => {
  it('reaches a wss:// target and serves TLS to the client (--tls)', async () => {
    const server = await startWssServer();
    cleanups.push(server.close);
    const recorder = await record({ target: `wss://localhost:${server.port}`, upstreamCa: true, tls: true });
    expect(recorder.url).toMatch(/^https:/);
    const ws = new WebSocket(`wss://localhost:${recorder.port}/rev`, { ca: [cas.recorder.certPem] });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    expect(await echo(ws, 'reverse tls')).toBe('echo:reverse tls');
    ws.close();
    await waitFor(() => recorder.recorder.totals.bytes > 0, 5000, 'the end');
    await recorder.stop();
    const connection = (await readEntries(recorder.path)).find((entry): entry is ConnectionEntry => entry.kind === 'connection')!;
    expect(connection).toMatchObject({ url: `wss://localhost:${server.port}/rev`, mode: 'reverse' });
  });
});

/**
 * Test peers and plumbing on loopback: a `ws` server, a TCP tap that keeps every byte it relays,
 * an http.Agent that tunnels through CONNECT, and an in-process recorder.
 */
import http from 'node:http';
import net from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WebSocket, WebSocketServer, type ServerOptions } from 'ws';
import { startRecording, type RecordOptions, type RecordingSession } from '../../src/record/recording.js';
import type { Io } from '../../src/io.js';
import { openArchive } from '../../src/format/archive-reader.js';
import type { Entry } from '../../src/format/schema.js';
import type { NamedHooks } from '../../src/intervene/hooks.js';

export function tempDir(prefix = 'wstape-test-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/** An Io that keeps what was printed. */
export function captureIo(cwd = tempDir()): Io & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (chunk) => ((out += String(chunk)), true), isTTY: false },
    stderr: { write: (chunk) => ((err += String(chunk)), true), isTTY: false },
    env: { NO_COLOR: '1' },
    cwd,
    out: () => out,
    err: () => err,
  };
}

export interface WsServer {
  wss: WebSocketServer;
  port: number;
  url: string;
  close(): Promise<void>;
}

export async function startWsServer(options: ServerOptions = {}): Promise<WsServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, ...options });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  const port = (wss.address() as net.AddressInfo).port;
  return {
    wss,
    port,
    url: `ws://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}

/** A TCP relay that keeps a copy of every byte, each way. */
export interface Tap {
  port: number;
  clientToServer(): Buffer;
  serverToClient(): Buffer;
  close(): Promise<void>;
}

export async function startTap(targetPort: number): Promise<Tap> {
  const up: Buffer[] = [];
  const down: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const upstream = net.connect({ port: targetPort, host: '127.0.0.1', allowHalfOpen: true });
    sockets.add(client).add(upstream);
    client.on('data', (chunk: Buffer) => {
      up.push(chunk);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      down.push(chunk);
      client.write(chunk);
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    clientToServer: () => Buffer.concat(up),
    serverToClient: () => Buffer.concat(down),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The bytes after the first blank line (the end of the HTTP handshake head). */
export function afterHead(bytes: Buffer): Buffer {
  const end = bytes.indexOf('\r\n\r\n');
  return end === -1 ? Buffer.alloc(0) : bytes.subarray(end + 4);
}

/** An http.Agent that reaches every host through an HTTP proxy's CONNECT, as browsers do. */
export class ConnectAgent extends http.Agent {
  constructor(private readonly proxyPort: number) {
    super({ keepAlive: false });
  }

  override createConnection(
    options: net.NetConnectOpts & { host?: string; port?: number },
    callback?: (error: Error | null, socket: net.Socket) => void,
  ): net.Socket {
    const socket = net.connect(this.proxyPort, '127.0.0.1');
    const target = `${options.host}:${options.port}`;
    socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.removeListener('data', onData);
      const status = buffered.subarray(0, end).toString('latin1').split('\r\n')[0] ?? '';
      if (!/^HTTP\/1\.1 200/.test(status)) {
        callback?.(new Error(`CONNECT refused: ${status}`), socket);
        return;
      }
      if (buffered.length > end + 4) socket.unshift(buffered.subarray(end + 4));
      callback?.(null, socket);
    };
    socket.on('data', onData);
    socket.once('error', (error) => callback?.(error, socket));
    return undefined as unknown as net.Socket;
  }
}

/** What startRecorder takes: any `wstape record` option, the hooks, and the Io. */
export type RecorderOptions = Partial<RecordOptions> & {
  hooks?: NamedHooks[];
  hookTimeoutMs?: number;
  /** The Io it runs with (its cwd holds the archive); a fresh captureIo() by default. */
  io?: ReturnType<typeof captureIo>;
  /** Variables added to the Io's environment (e.g. HTTPS_PROXY for --upstream-proxy-env). */
  env?: Record<string, string>;
};

/**
 * Start an in-process recorder writing to a temp archive: on 127.0.0.1, a free port, quiet,
 * --max-payload 16MiB unless `options` say otherwise. The caller stops it.
 */
export async function startRecorder(options: RecorderOptions = {}): Promise<RecordingSession & { io: ReturnType<typeof captureIo> }> {
  const { hooks, hookTimeoutMs, io = captureIo(), env, ...recording } = options;
  if (env) io.env = { ...io.env, ...env };
  const session = await startRecording(
    {
      ...recording,
      host: recording.host ?? '127.0.0.1',
      port: recording.port ?? 0,
      out: recording.out ?? path.join(io.cwd, 'test.wstape.json'),
      quiet: recording.quiet ?? true,
      maxPayload: recording.maxPayload ?? '16MiB',
    },
    io,
    { ...(hooks ? { hooks } : {}), ...(hookTimeoutMs !== undefined ? { hookTimeoutMs } : {}) },
  );
  return Object.assign(session, { io });
}

/**
 * `server` (an HTTP server) speaking WebSocket too (`ws`, with `wsOptions`), on 127.0.0.1, behind
 * an in-process recorder in reverse mode. `serverSide(path)` waits for the server's end of the
 * connection to `path`; `stop(ms)` stops the recorder (waiting up to `ms` for open connections),
 * then the servers.
 */
export async function recordInFrontOf(server: http.Server, wsOptions: ServerOptions = {}) {
  const wss = new WebSocketServer({ ...wsOptions, server });
  const serverSockets = new Map<string, { socket: WebSocket; inbox: Inbox }>();
  wss.on('connection', (socket, request) => serverSockets.set(request.url ?? '', { socket, inbox: new Inbox(socket) }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const recorder = await startRecorder({ target: `ws://127.0.0.1:${port}` });
  return {
    recorder,
    base: `127.0.0.1:${recorder.port}`,
    serverSide: async (path: string): Promise<{ socket: WebSocket; inbox: Inbox }> => {
      await waitFor(() => serverSockets.has(path), 5000, `the server side of ${path}`);
      return serverSockets.get(path)!;
    },
    stop: async (ms?: number): Promise<void> => {
      await recorder.stop(ms);
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export async function readEntries(file: string): Promise<Entry[]> {
  const reader = await openArchive(file);
  const entries: Entry[] = [];
  for await (const entry of reader.entries()) entries.push(entry);
  return entries;
}

export function openClient(url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}, protocols?: string | string[]): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols, options);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_request, response) => reject(new Error(`unexpected response ${response.statusCode}`)));
  });
}

/** Resolve when `predicate` is true, polling; reject after `ms`. */
export async function waitFor(predicate: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** What one `ws` peer received (text, binary as hex), its pings and pongs, for waiting on. */
export class Inbox {
  messages: string[] = [];
  pings = 0;
  pongs = 0;
  closed = false;
  constructor(socket: WebSocket) {
    socket.on('message', (data, binary) => this.messages.push(binary ? Buffer.from(data as Buffer).toString('hex') : String(data)));
    socket.on('ping', () => this.pings++);
    socket.on('pong', () => this.pongs++);
    socket.on('close', () => (this.closed = true));
  }

  async count(n: number, what: string): Promise<void> {
    await waitFor(() => this.messages.length >= n, 5000, what);
  }
}

/** Count the entries of one kind a recorder writes from now on (e.g. 'end' to wait for closes). */
export function countEntries(session: RecordingSession, kind: Entry['kind']): () => number {
  let count = 0;
  session.recorder.onEntry((entry) => {
    if (entry.kind === kind) count++;
  });
  return () => count;
}

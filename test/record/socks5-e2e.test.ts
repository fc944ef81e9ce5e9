/**
 * SOCKS5 on the recorder's proxy port with real clients: curl (--socks5-hostname and --socks5,
 * with --proxy-user against --socks-auth), Debian's python3 with a hand-written handshake and then
 * python3-websockets over that socket, and raw sockets for the replies RFC 1928 defines for
 * what is refused (BIND, a refused upstream, a loop, a stalled handshake). Each test checks the
 * archive: the exchange, the WebSocket connection and its frames, or the error entry.
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { ConnectionEntry, EndEntry, Entry, ErrorEntry, FrameEntry, HttpEntry } from '../../src/format/schema.js';
import type { RecordingSession } from '../../src/record/recording.js';
import { countEntries, readEntries, startRecorder, waitFor } from '../helpers/peers.js';

const run = promisify(execFile);
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function recorder(options: { socksAuth?: string; headerTimeout?: number } = {}): Promise<RecordingSession> {
  const session = await startRecorder(options);
  cleanups.push(() => session.stop());
  return session;
}

/** An HTTP server answering every request with its method and path. */
async function httpServer(): Promise<{ port: number }> {
  const server = http.createServer((request, response) => {
    const body = `you asked ${request.method} ${request.url}`;
    response.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))));
  return { port: (server.address() as net.AddressInfo).port };
}

/** A ws server that echoes each message as "echo:" + text (binary reversed). */
async function echoServer(): Promise<{ port: number }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  wss.on('connection', (socket) => {
    socket.on('message', (data, binary) => {
      const bytes = Buffer.from(data as Buffer);
      socket.send(binary ? Buffer.from([...bytes].reverse()) : `echo:${bytes.toString('utf8')}`, { binary });
    });
  });
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  );
  return { port: (wss.address() as net.AddressInfo).port };
}

async function curl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('curl', ['--silent', '--show-error', '--max-time', '20', ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failure.code ?? -1, stdout: failure.stdout ?? '', stderr: failure.stderr ?? '' };
  }
}

async function stoppedEntries(session: RecordingSession): Promise<Entry[]> {
  await session.stop();
  return readEntries(session.path);
}

const errors = (entries: Entry[]): Array<Pick<ErrorEntry, 'code' | 'message'>> =>
  entries.filter((entry): entry is ErrorEntry => entry.kind === 'error').map(({ code, message }) => ({ code, message }));

/** A raw client: write `bytes`, collect everything until the recorder closes. */
async function rawExchange(port: number, bytes: Buffer): Promise<Buffer> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  socket.write(bytes);
  const chunks: Buffer[] = [];
  for await (const chunk of socket) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const portBytes = (port: number): string => port.toString(16).padStart(4, '0');

describe('SOCKS5 with curl', () => {
  it('--socks5-hostname: the name is resolved by the recorder, and the exchange is recorded as through CONNECT', async () => {
    const upstream = await httpServer();
    const session = await recorder();
    const result = await curl(['--socks5-hostname', `127.0.0.1:${session.port}`, `http://localhost:${upstream.port}/hello?x=1`]);
    expect(result).toMatchObject({ code: 0, stdout: 'you asked GET /hello?x=1' });
    const entries = await stoppedEntries(session);
    expect(errors(entries)).toEqual([]);
    const exchanges = entries.filter((entry): entry is HttpEntry => entry.kind === 'http');
    expect(exchanges).toHaveLength(1);
    expect(exchanges[0]).toMatchObject({
      url: `http://localhost:${upstream.port}/hello?x=1`,
      mode: 'connect',
      server: { host: 'localhost', port: upstream.port },
      request: { method: 'GET', target: '/hello?x=1' },
      response: { status: 200, body: { text: 'you asked GET /hello?x=1' } },
    });
  });

  it('--socks5 with an IP address', async () => {
    const upstream = await httpServer();
    const session = await recorder();
    const result = await curl(['--socks5', `127.0.0.1:${session.port}`, `http://127.0.0.1:${upstream.port}/ip`]);
    expect(result).toMatchObject({ code: 0, stdout: 'you asked GET /ip' });
    const exchanges = (await stoppedEntries(session)).filter((entry): entry is HttpEntry => entry.kind === 'http');
    expect(exchanges.map((entry) => [entry.url, entry.mode, entry.response?.status])).toEqual([[`http://127.0.0.1:${upstream.port}/ip`, 'connect', 200]]);
  });

  it('--socks-auth: the right --proxy-user gets through, a wrong password is refused and recorded', async () => {
    const upstream = await httpServer();
    const session = await recorder({ socksAuth: 'alice:s3cret:with-colon' });
    const proxy = ['--socks5-hostname', `127.0.0.1:${session.port}`];
    const good = await curl([...proxy, '--proxy-user', 'alice:s3cret:with-colon', `http://localhost:${upstream.port}/in`]);
    expect(good).toMatchObject({ code: 0, stdout: 'you asked GET /in' });
    const bad = await curl([...proxy, '--proxy-user', 'alice:guess', `http://localhost:${upstream.port}/out`]);
    // curl 97: CURLE_PROXY (a SOCKS failure; older curls say 7).
    expect(bad.code).not.toBe(0);
    const none = await curl([...proxy, `http://localhost:${upstream.port}/none`]);
    expect(none.code).not.toBe(0);
    const entries = await stoppedEntries(session);
    expect(entries.filter((entry): entry is HttpEntry => entry.kind === 'http').map((entry) => entry.url)).toEqual([`http://localhost:${upstream.port}/in`]);
    expect(errors(entries).map((error) => error.code)).toEqual(['SOCKS_AUTH', 'SOCKS_AUTH']);
    expect(errors(entries)[0]!.message).toMatch(/username\/password refused for user "alice"/);
    expect(errors(entries)[1]!.message).toMatch(/offered methods .*, not username\/password/);
  });
});

describe('SOCKS5 with python3 (a hand-written handshake, then python3-websockets over the socket)', () => {
  it('records the WebSocket connection and every frame', async () => {
    const upstream = await echoServer();
    const session = await recorder();
    const ends = countEntries(session, 'end');
    const script = `
import asyncio, socket, struct, sys
import websockets
proxy, port = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", proxy))
def exactly(n):
    data = b""
    while len(data) < n:
        more = s.recv(n - len(data))
        if not more: raise SystemExit("proxy closed")
        data += more
    return data
s.sendall(b"\\x05\\x01\\x00")
assert exactly(2) == b"\\x05\\x00"
name = b"localhost"
s.sendall(b"\\x05\\x01\\x00\\x03" + bytes([len(name)]) + name + struct.pack(">H", port))
reply = exactly(4)
assert reply[:2] == b"\\x05\\x00", reply
exactly(4 + 2 if reply[3] == 1 else 16 + 2)
async def main():
    async with websockets.connect(f"ws://localhost:{port}/py", sock=s, compression=None) as ws:
        await ws.send("hello from python")
        print(await ws.recv())
        await ws.send(b"\\x00\\x01\\xff")
        print((await ws.recv()).hex())
asyncio.run(main())
`;
    const { stdout } = await run('/usr/bin/python3', ['-c', script, String(session.port), String(upstream.port)], { timeout: 20_000 });
    expect(stdout).toBe('echo:hello from python\nff0100\n');
    await waitFor(() => ends() > 0, 5000, "the connection's end entry");
    const entries = await stoppedEntries(session);
    expect(errors(entries)).toEqual([]);
    const connection = entries.find((entry): entry is ConnectionEntry => entry.kind === 'connection');
    expect(connection).toMatchObject({ url: `ws://localhost:${upstream.port}/py`, mode: 'connect', response: { status: 101 } });
    const frames = entries.filter((entry): entry is FrameEntry => entry.kind === 'frame' && entry.conn === connection!.id);
    const shown = frames.map(
      (frame) => `${frame.dir} ${frame.type} ${frame.type === 'binary' ? Buffer.from(frame.data ?? '', 'base64').toString('hex') : (frame.text ?? '')}`,
    );
    expect(shown.slice(0, 4)).toEqual(['out text hello from python', 'in text echo:hello from python', 'out binary 0001ff', 'in binary ff0100']);
    expect(frames.slice(4).map((frame) => `${frame.dir} ${frame.type}`)).toEqual(['out close', 'in close']);
    expect(entries.find((entry): entry is EndEntry => entry.kind === 'end')).toMatchObject({ conn: connection!.id, closeCode: 1000, closedBy: 'client' });
  });
});

describe('SOCKS5 refusals over a raw socket', () => {
  it('BIND gets reply 0x07 and is recorded', async () => {
    const session = await recorder();
    const answer = await rawExchange(session.port, hex('05 01 00   05 02 00 01 7f 00 00 01 00 50'));
    expect(answer.toString('hex')).toBe('0500' + '05070001000000000000');
    expect(errors(await stoppedEntries(session))).toEqual([
      { code: 'SOCKS_HANDSHAKE', message: expect.stringMatching(/BIND 127\.0\.0\.1:80 is not supported/) },
    ]);
  });

  it('a refused upstream gets reply 0x05 and an UPSTREAM_CONNECT entry', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const session = await recorder();
    const answer = await rawExchange(session.port, hex(`05 01 00   05 01 00 01 7f 00 00 01 ${portBytes(port)}`));
    expect(answer.toString('hex')).toBe('0500' + '05050001000000000000');
    expect(errors(await stoppedEntries(session))).toEqual([
      { code: 'UPSTREAM_CONNECT', message: `SOCKS5 CONNECT 127.0.0.1:${port}: cannot connect to 127.0.0.1:${port}: connection refused` },
    ]);
  });

  it('an unknown host name gets reply 0x04', async () => {
    const session = await recorder();
    const name = Buffer.from('no-such-host.invalid');
    const request = Buffer.concat([hex('05 01 00 05 01 00 03'), Uint8Array.of(name.length), name, hex('0050')]);
    const answer = await rawExchange(session.port, request);
    expect(answer.toString('hex')).toBe('0500' + '05040001000000000000');
    expect(errors(await stoppedEntries(session)).map((error) => error.code)).toEqual(['UPSTREAM_CONNECT']);
  });

  it('a CONNECT to the recorder itself gets reply 0x02 and a PROXY_LOOP entry, once', async () => {
    const session = await recorder();
    const answer = await rawExchange(session.port, hex(`05 01 00   05 01 00 01 7f 00 00 01 ${portBytes(session.port)}`));
    expect(answer.toString('hex')).toBe('0500' + '05020001000000000000');
    expect(errors(await stoppedEntries(session))).toEqual([
      { code: 'PROXY_LOOP', message: `SOCKS5 CONNECT 127.0.0.1:${session.port} would reach this recorder itself (127.0.0.1:${session.port}): a proxy loop` },
    ]);
  });

  it('a handshake that stalls is closed after the header timeout and recorded', async () => {
    const session = await recorder({ headerTimeout: 0.3 });
    // The greeting is answered; the request never completes.
    const answer = await rawExchange(session.port, hex('05 01 00   05 01 00'));
    expect(answer.toString('hex')).toBe('0500');
    expect(errors(await stoppedEntries(session))).toEqual([
      { code: 'SOCKS_HANDSHAKE', message: expect.stringMatching(/handshake not complete after 0\.3 s \(--header-timeout\), stalled in the request$/) },
    ]);
  });
});

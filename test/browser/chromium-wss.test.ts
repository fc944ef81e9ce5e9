/**
 * TLS interception with a real browser: Debian's Chromium, headless, pointed at the in-process
 * recorder with --proxy-server, loads https://localhost:PORT/page from an upstream whose
 * certificate comes from a second wstape CA, and the page's script talks wss:// to the same
 * origin. Chromium trusts the recorder's root through an NSS database in a throwaway $HOME (the
 * `chromium-linux` step of `wstape ca info`), so a CLIENT_TLS error in the archive means the
 * recorder's per-host certificate was not acceptable to a real browser.
 *
 * Chromium and certutil (libnss3-tools) are required: .ci/run installs them, and without them the
 * test fails (never skips) and says what to install.
 */
import { rmSync } from 'node:fs';
import https from 'node:https';
import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { ConnectionEntry, EndEntry, Entry, ErrorEntry, FrameEntry, HttpEntry } from '../../src/format/schema.js';
import type { RootCa } from '../../src/tls/ca.js';
import { cleanupsAfterEach, homeTrusting, launchChromium, requireTools, servePage } from '../helpers/chromium.js';
import { readEntries, startRecorder, waitFor } from '../helpers/peers.js';
import { interceptionCasBeforeAll, localhostCertificate } from '../helpers/tls-site.js';

/** What the page sends, in order, after the server's welcome. */
const PAGE_JSON = '{"hello":"from chromium","n":1}';
const PAGE_UNICODE = 'héllo ✓';
/** Not valid UTF-8 (0x80, 0xfe, 0xff), so it cannot pass for text anywhere. */
const PAGE_BINARY = Buffer.from([0x00, 0x01, 0x02, 0x7f, 0x80, 0xfe, 0xff, 0x77, 0x73, 0x74, 0x61, 0x70, 0x65, 0x0d, 0x0a, 0x00]);
const PAGE_DONE = 'done';
/** What the server sends: a welcome on connect, then one reply per message. */
const SERVER_WELCOME = '{"welcome":true}';
const serverReplyTo = (text: string): string => `echo:${text}`;
/** The server answers the binary message with its bytes reversed, so each direction is distinct. */
const SERVER_BINARY = Buffer.from([...PAGE_BINARY].reverse());

/** How long Chromium gets to start, load the page and finish the script. */
const BROWSER_BUDGET_MS = 25_000;

/** The page: one same-origin wss:// conversation; any surprise is reported to the server as "mismatch: ...". */
function pageHtml(): string {
  const script = `
const expectedBinary = ${JSON.stringify([...SERVER_BINARY])};
const ws = new WebSocket('wss://' + location.host + '/socket');
ws.binaryType = 'arraybuffer';
const queue = [];
let waiting = null;
ws.onmessage = (event) => { if (waiting) { const w = waiting; waiting = null; w(event.data); } else queue.push(event.data); };
ws.onerror = () => { document.title = 'ws error'; };
const next = () => new Promise((resolve) => { if (queue.length) resolve(queue.shift()); else waiting = resolve; });
const sameBytes = (data) => data instanceof ArrayBuffer && data.byteLength === expectedBinary.length && new Uint8Array(data).every((b, i) => b === expectedBinary[i]);
ws.onopen = async () => {
  const problems = [];
  const expectText = async (want) => { const got = await next(); if (got !== want) problems.push('wanted ' + JSON.stringify(want) + ' got ' + JSON.stringify(String(got))); };
  await expectText(${JSON.stringify(SERVER_WELCOME)});
  ws.send(${JSON.stringify(PAGE_JSON)});
  await expectText(${JSON.stringify(serverReplyTo(PAGE_JSON))});
  ws.send(${JSON.stringify(PAGE_UNICODE)});
  await expectText(${JSON.stringify(serverReplyTo(PAGE_UNICODE))});
  ws.send(new Uint8Array(${JSON.stringify([...PAGE_BINARY])}).buffer);
  const binary = await next();
  if (!sameBytes(binary)) problems.push('binary reply differs');
  ws.send(problems.length ? 'mismatch: ' + problems.join('; ') : ${JSON.stringify(PAGE_DONE)});
  ws.close(1000, 'bye');
  document.title = 'finished';
};`;
  return `<!doctype html><html><head><meta charset="utf-8"><title>wstape</title></head><body><script>${script}</script></body></html>`;
}

interface Upstream {
  port: number;
  /** Every message the server received: text as string, binary as Buffer. */
  received: Array<string | Buffer>;
  /** Resolves with the close code and reason the server saw. */
  closed: Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

/** The site: https://localhost:PORT/page and its wss:// endpoint /socket, certificate from `ca`. */
async function startUpstream(ca: RootCa): Promise<Upstream> {
  const server = https.createServer(localhostCertificate(ca), servePage(pageHtml()));
  const wss = new WebSocketServer({ server, path: '/socket' });
  const received: Array<string | Buffer> = [];
  let onClosed!: (value: { code: number; reason: string }) => void;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => (onClosed = resolve));
  wss.on('connection', (socket) => {
    socket.send(SERVER_WELCOME);
    socket.on('message', (data, isBinary) => {
      const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      if (isBinary) {
        received.push(bytes);
        socket.send(SERVER_BINARY, { binary: true });
      } else {
        const text = bytes.toString('utf8');
        received.push(text);
        if (text !== PAGE_DONE && !text.startsWith('mismatch:')) socket.send(serverReplyTo(text));
      }
    });
    socket.on('close', (code, reason) => onClosed({ code, reason: reason.toString('utf8') }));
  });
  // Every TCP connection, including ones that never got as far as TLS. Chromium sometimes cancels
  // its preconnect to the page's origin in the middle of the intercepted handshake (closing with a
  // FIN, no alert); when this was written the recorder then kept the upstream TCP socket it had
  // opened for that CONNECT, even after stop(), and server.close() alone would wait for it forever.
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    received,
    closed,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

const cleanups = cleanupsAfterEach();

// Two installs: the site's own private CA, and the recorder's root that Chromium trusts.
const cas = interceptionCasBeforeAll();

describe('Chromium through the recorder', () => {
  it('records a wss:// conversation and the https:// page, with the recorder root trusted through NSS', { timeout: 60_000 }, async () => {
    const tools = requireTools();
    const upstream = await startUpstream(cas.site);
    cleanups.push(upstream.close);

    const session = await startRecorder({ caDir: cas.recorderDir, upstreamCa: [cas.site.paths.cert], insecure: false, noIntercept: [], tls: false });
    cleanups.push(() => session.stop());
    const live: Entry[] = [];
    session.recorder.onEntry((entry) => live.push(entry));

    const home = homeTrusting(tools.certutil, cas.recorder.paths.cert);
    // Runs after the browser is killed (cleanups run in reverse): the profile is a few MB.
    cleanups.push(() => rmSync(home, { recursive: true, force: true }));
    const pageUrl = `https://localhost:${upstream.port}/page`;
    const browser = launchChromium(tools.chromium, home, `http://127.0.0.1:${session.port}`, pageUrl);
    cleanups.push(() => browser.kill());

    let budget: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      upstream.closed.then((close) => ({ close })),
      new Promise<{ close: null }>((resolve) => (budget = setTimeout(() => resolve({ close: null }), BROWSER_BUDGET_MS))),
    ]);
    clearTimeout(budget);
    // Chromium's own background requests (clients2.google.com...) fail with UPSTREAM_CONNECT on
    // this closed network; they are listed but are not what the test is about.
    const diagnosis = (): string =>
      `\nserver received: ${JSON.stringify(upstream.received.map(String))}` +
      `\nrecorder errors:\n${live
        .filter((entry): entry is ErrorEntry => entry.kind === 'error')
        .map((error) => `  ${error.code}: ${error.message.slice(0, 300)}`)
        .join('\n')}` +
      `\nchromium output (tail, without D-Bus noise):\n${browser
        .output()
        .split('\n')
        .filter((line) => !/dbus/i.test(line))
        .join('\n')}`;
    if (outcome.close === null) throw new Error(`Chromium did not finish the page's WebSocket conversation within ${BROWSER_BUDGET_MS} ms${diagnosis()}`);

    // The upstream got exactly what the page sent, through the interception, unchanged.
    expect(upstream.received, diagnosis()).toEqual([PAGE_JSON, PAGE_UNICODE, PAGE_BINARY, PAGE_DONE]);
    expect(outcome.close).toEqual({ code: 1000, reason: 'bye' });

    const socketUrl = `wss://localhost:${upstream.port}/socket`;
    const connectionId = (): string | undefined => live.find((entry): entry is ConnectionEntry => entry.kind === 'connection' && entry.url === socketUrl)?.id;
    await waitFor(() => live.some((entry) => entry.kind === 'end' && entry.conn === connectionId()), 5000, "the WebSocket connection's end entry");
    await browser.kill();
    await session.stop();

    const entries = await readEntries(session.path);
    const connection = entries.find((entry): entry is ConnectionEntry => entry.kind === 'connection' && entry.url === socketUrl);
    expect(connection, `no connection for ${socketUrl} in ${JSON.stringify(entries.map((entry) => entry.kind))}`).toMatchObject({
      url: socketUrl,
      mode: 'connect',
      response: { status: 101 },
    });
    const frames = entries.filter((entry): entry is FrameEntry => entry.kind === 'frame' && entry.conn === connection!.id);
    const payload = (frame: FrameEntry): string =>
      frame.type === 'text' ? `${frame.dir} text ${frame.text}` : `${frame.dir} binary ${Buffer.from(frame.data ?? '', 'base64').toString('hex')}`;
    expect(frames.filter((frame) => frame.type === 'text' || frame.type === 'binary').map(payload)).toEqual([
      `in text ${SERVER_WELCOME}`,
      `out text ${PAGE_JSON}`,
      `in text ${serverReplyTo(PAGE_JSON)}`,
      `out text ${PAGE_UNICODE}`,
      `in text ${serverReplyTo(PAGE_UNICODE)}`,
      `out binary ${PAGE_BINARY.toString('hex')}`,
      `in binary ${SERVER_BINARY.toString('hex')}`,
      `out text ${PAGE_DONE}`,
    ]);
    // Browsers mask every frame (RFC 6455 §5.3) and do not fragment these small messages.
    for (const frame of frames) expect(frame, `frame ${frame.index}`).toMatchObject({ masked: frame.dir === 'out', fin: true });
    const closes = frames.filter((frame) => frame.type === 'close');
    expect(closes[0]).toMatchObject({ dir: 'out', code: 1000, reason: 'bye' });
    expect(closes.map((frame) => frame.dir)).toEqual(['out', 'in']);
    expect(entries.find((entry): entry is EndEntry => entry.kind === 'end' && entry.conn === connection!.id)).toMatchObject({
      closeCode: 1000,
      closeReason: 'bye',
      closedBy: 'client',
      clean: true,
    });

    const page = entries.find((entry): entry is HttpEntry => entry.kind === 'http' && entry.url === pageUrl);
    expect(page, `no exchange for ${pageUrl}`).toMatchObject({ mode: 'connect', request: { method: 'GET' }, response: { status: 200 } });
    expect(page!.response!.body?.text).toBe(pageHtml());

    // Chromium accepted every certificate the recorder made for it.
    const errors = entries.filter((entry): entry is ErrorEntry => entry.kind === 'error');
    expect(errors.filter((error) => error.code === 'CLIENT_TLS')).toEqual([]);
  });
});

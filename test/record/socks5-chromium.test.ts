/**
 * A real browser through the recorder's SOCKS5: Debian's Chromium, headless, with
 * --proxy-server=socks5://127.0.0.1:PORT, loads http://localhost:PORT/page, whose script talks
 * ws:// to the same origin. Chromium sends the host name to the proxy (socks5h semantics), so the
 * recorder resolves it; the archive must hold the page's exchange, the WebSocket connection and
 * its frames. Chromium is required (.ci/run installs it); without it the test fails, never skips.
 */
import { rmSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { ConnectionEntry, EndEntry, ErrorEntry, FrameEntry, HttpEntry } from '../../src/format/schema.js';
import { cleanupsAfterEach, launchChromium, servePage, which } from '../helpers/chromium.js';
import { countEntries, readEntries, startRecorder, tempDir, waitFor } from '../helpers/peers.js';

const PAGE_TEXT = 'hello from chromium over socks5';
const PAGE_DONE = 'done';

function pageHtml(): string {
  const script = `
const ws = new WebSocket('ws://' + location.host + '/socket');
ws.onmessage = (event) => { ws.send(event.data === 'echo:${PAGE_TEXT}' ? '${PAGE_DONE}' : 'mismatch: ' + event.data); ws.close(1000, 'bye'); };
ws.onopen = () => ws.send('${PAGE_TEXT}');`;
  return `<!doctype html><html><head><meta charset="utf-8"><title>wstape</title></head><body><script>${script}</script></body></html>`;
}

const cleanups = cleanupsAfterEach();

describe('Chromium through SOCKS5', () => {
  it('records the page and a ws:// conversation', { timeout: 60_000 }, async () => {
    const chromium = which('chromium');
    if (!chromium) throw new Error('this test needs chromium: run `apt-get install -y chromium` (.ci/run does this as root)');
    const server = http.createServer(servePage(pageHtml()));
    const wss = new WebSocketServer({ server, path: '/socket' });
    const received: string[] = [];
    let onClosed!: (close: { code: number; reason: string }) => void;
    const closed = new Promise<{ code: number; reason: string }>((resolve) => (onClosed = resolve));
    wss.on('connection', (socket) => {
      socket.on('message', (data) => {
        const text = String(data);
        received.push(text);
        if (text === PAGE_TEXT) socket.send(`echo:${text}`);
      });
      socket.on('close', (code, reason) => onClosed({ code, reason: reason.toString('utf8') }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const client of wss.clients) client.terminate();
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );

    const session = await startRecorder();
    cleanups.push(() => session.stop());
    const ends = countEntries(session, 'end');
    const home = tempDir('wstape-chromium-home-');
    cleanups.push(() => rmSync(home, { recursive: true, force: true }));
    const browser = launchChromium(chromium, home, `socks5://127.0.0.1:${session.port}`, `http://localhost:${port}/page`);
    cleanups.push(() => browser.kill());

    let budget: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([closed, new Promise<null>((resolve) => (budget = setTimeout(() => resolve(null), 25_000)))]);
    clearTimeout(budget);
    if (outcome === null)
      throw new Error(`Chromium did not finish the page's WebSocket conversation; server received ${JSON.stringify(received)}\n${browser.output()}`);
    expect(received).toEqual([PAGE_TEXT, PAGE_DONE]);
    expect(outcome).toEqual({ code: 1000, reason: 'bye' });
    await waitFor(() => ends() > 0, 5000, "the WebSocket connection's end entry");
    await browser.kill();
    await session.stop();

    const entries = await readEntries(session.path);
    const socketUrl = `ws://localhost:${port}/socket`;
    const connection = entries.find((entry): entry is ConnectionEntry => entry.kind === 'connection' && entry.url === socketUrl);
    expect(connection, JSON.stringify(entries.map((entry) => entry.kind))).toMatchObject({ mode: 'connect', response: { status: 101 } });
    const frames = entries.filter((entry): entry is FrameEntry => entry.kind === 'frame' && entry.conn === connection!.id);
    expect(frames.map((frame) => `${frame.dir} ${frame.type}${frame.type === 'text' ? ` ${frame.text}` : ''}`)).toEqual([
      `out text ${PAGE_TEXT}`,
      `in text echo:${PAGE_TEXT}`,
      `out text ${PAGE_DONE}`,
      'out close',
      'in close',
    ]);
    for (const frame of frames) expect(frame.masked).toBe(frame.dir === 'out');
    expect(entries.find((entry): entry is EndEntry => entry.kind === 'end' && entry.conn === connection!.id)).toMatchObject({
      closeCode: 1000,
      closeReason: 'bye',
      clean: true,
    });
    const page = entries.find((entry): entry is HttpEntry => entry.kind === 'http' && entry.url === `http://localhost:${port}/page`);
    expect(page).toMatchObject({ mode: 'connect', response: { status: 200 } });
    expect(page!.response!.body?.text).toBe(pageHtml());
    // Chromium's own background requests may fail on this closed network; no SOCKS handshake may.
    const socksErrors = entries.filter((entry): entry is ErrorEntry => entry.kind === 'error' && entry.code.startsWith('SOCKS_'));
    expect(socksErrors).toEqual([]);
  });
});

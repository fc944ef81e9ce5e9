/**
 * `wstape view` on a recording in progress, in a real browser: the recorder (in-process, reverse
 * mode in front of a `ws` server) writes the archive, the built CLI's `wstape view` follows it,
 * headless Chromium shows it. Frames a real `ws` client sends appear, the list follows the newest,
 * Pause (or scrolling up) holds it, Resume follows again, and the page says when the recording ended.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { BIN } from '../helpers/cli.js';
import { openClient, startRecorder, startWsServer, waitFor, type WsServer } from '../helpers/peers.js';
import { launchBrowser, openLive, type OpenedPage } from '../helpers/viewer-browser.js';

let server: WsServer;
let recorder: Awaited<ReturnType<typeof startRecorder>>;
let view: ChildProcess;
let viewErr = '';
let browser: Browser;
let opened: OpenedPage;
let page: Page;
let client: WebSocket;
let received = 0;

const row = (text: string): ReturnType<Page['locator']> => page.locator('#frame-list .frame-row', { hasText: text });
const count = async (): Promise<number> => Number(/^(\d+) of/.exec((await page.locator('#frame-count').textContent()) ?? '')?.[1] ?? -1);
const scroll = (): Promise<{ top: number; height: number; client: number }> =>
  page.locator('#frame-list').evaluate((node) => {
    const viewport = node as unknown as { scrollTop: number; scrollHeight: number; clientHeight: number };
    return { top: viewport.scrollTop, height: viewport.scrollHeight, client: viewport.clientHeight };
  });
const atEnd = async (): Promise<boolean> => {
  const { top, height, client: visible } = await scroll();
  return top + visible >= height - 22;
};

/** Send `n` messages and wait until the server has them all. */
async function sendMany(prefix: string, n: number): Promise<void> {
  const before = received;
  for (let i = 0; i < n; i++) client.send(`${prefix}-${i}`);
  await waitFor(() => received === before + n, 5000, `${prefix} messages at the server`);
}

beforeAll(async () => {
  server = await startWsServer();
  server.wss.on('connection', (socket) => socket.on('message', () => received++));
  recorder = await startRecorder({ target: server.url });
  view = spawn(process.execPath, [BIN, 'view', recorder.path], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
  view.stderr!.on('data', (chunk) => (viewErr += String(chunk)));
  await waitFor(() => /at (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.test(viewErr), 10_000, 'wstape view to print its URL');
  const url = /at (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(viewErr)![1]!;
  browser = await launchBrowser();
  opened = await openLive(browser, url);
  page = opened.page;
  await page.locator('#live-status').waitFor();
}, 30_000);

afterAll(async () => {
  await browser?.close();
  if (view !== undefined && view.exitCode === null) {
    const exited = new Promise((resolve) => view.once('exit', resolve));
    view.kill('SIGINT');
    await exited;
  }
  await recorder?.stop();
  await server?.close();
});

describe('wstape view on a recording in progress', () => {
  it('shows a frame a real ws client sends through the recorder', async () => {
    expect(await page.locator('#live-status').textContent()).toBe('live');
    client = await openClient(`ws://127.0.0.1:${recorder.port}/live`);
    client.send('hello-from-ws');
    await row('hello-from-ws').waitFor({ timeout: 10_000 });
    expect(await page.locator('#traffic-list .traffic-row[data-id="c1"] .badge').textContent()).toBe('WS');
    expect(await row('hello-from-ws').locator('.arrow').textContent()).toBe('-->');
  });

  it('follows the newest frame as frames arrive', async () => {
    await sendMany('burst', 80);
    // Rows exist in the DOM only where the list is scrolled to: the last one is there, the first is not.
    await row('burst-79').waitFor({ timeout: 10_000 });
    expect(await atEnd()).toBe(true);
    expect(await row('hello-from-ws').count()).toBe(0);
    expect(await page.locator('#pause').getAttribute('data-state')).toBe('following');
  });

  it('holds still while paused, and follows again on Resume', async () => {
    await page.locator('#pause').click();
    expect(await page.locator('#pause').getAttribute('data-state')).toBe('paused');
    const before = await scroll();
    const shown = await count();
    await sendMany('paused', 40);
    await expect.poll(count, { timeout: 10_000 }).toBe(shown + 40);
    expect((await scroll()).top).toBe(before.top);
    expect(await row('paused-39').count()).toBe(0);
    expect(await row('burst-79').count()).toBe(1);
    await page.locator('#pause').click();
    expect(await page.locator('#pause').getAttribute('data-state')).toBe('following');
    await row('paused-39').waitFor({ timeout: 10_000 });
    expect(await atEnd()).toBe(true);
  });

  it('stops following when the user scrolls up, until they scroll back to the end', async () => {
    await page.locator('#frame-list').hover();
    await page.mouse.wheel(0, -2000);
    await expect.poll(() => page.locator('#pause').getAttribute('data-state')).toBe('paused');
    const top = (await scroll()).top;
    const shown = await count();
    await sendMany('scrolled', 20);
    await expect.poll(count, { timeout: 10_000 }).toBe(shown + 20);
    expect((await scroll()).top).toBe(top);
    expect(await row('scrolled-19').count()).toBe(0);
    await page.mouse.wheel(0, 100_000);
    await expect.poll(() => page.locator('#pause').getAttribute('data-state')).toBe('following');
    await sendMany('back', 5);
    await row('back-4').waitFor({ timeout: 10_000 });
  });

  it('applies the filters to frames as they arrive', async () => {
    await page.locator('#frame-search').fill('needle');
    await expect.poll(count).toBe(0);
    await sendMany('hay', 3);
    client.send('a needle');
    await row('a needle').waitFor({ timeout: 10_000 });
    expect(await count()).toBe(1);
    expect(await page.locator('#frame-list .frame-row', { hasText: 'hay-' }).count()).toBe(0);
    await page.locator('#frame-search').fill('');
    await expect.poll(count).toBeGreaterThan(1);
  });

  it('says when the recording ended, and fetched nothing but its own origin', async () => {
    client.close(1000, 'bye');
    await recorder.stop();
    await expect.poll(() => page.locator('#live-status').textContent(), { timeout: 10_000 }).toBe('recording ended');
    expect(await page.locator('#traffic-list .traffic-row[data-id="c1"] .close').textContent()).toBe('1000 client');
    expect(opened.blocked).toEqual([]);
    expect(opened.errors).toEqual([]);
  });
});

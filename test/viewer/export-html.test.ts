/**
 * `wstape export --format html` in a real browser: Debian's Chromium, headless, driven by
 * playwright-core, opening the exported file from disk with every network request aborted. The
 * archive is a real session (viewer-session.ts); expected figures come from its entries, the hex
 * view is compared with the real `hexdump -C`. `npm test` builds the viewer bundle first.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FrameEntry } from '../../src/format/schema.js';
import { ArchiveWriter } from '../../src/format/archive-writer.js';
import { statsOf } from '../../src/inspect/stats.js';
import { runExport, type ExportOptions } from '../../src/share/export-archive.js';
import { captureIo, readEntries, tempDir } from '../helpers/peers.js';
import { attributes, launchBrowser, openOffline, type OpenedPage } from '../helpers/viewer-browser.js';
import { realHexdump } from '../output/real-hexdump.js';
import { connection, frame as frameEntry, header, isoAt } from '../output/test-archives.js';
import { HOSTILE_IMG, HOSTILE_SCRIPT, PNG, recordViewerSession } from './viewer-session.js';

let browser: Browser;
let opened: OpenedPage;
let page: Page;
let archive: string;
let html: string;
let frames: FrameEntry[];

const c1 = (): FrameEntry[] => frames.filter((frame) => frame.conn === 'c1');
const frameRows = (): ReturnType<Page['locator']> => page.locator('#frame-list .frame-row');
/** The number the frame list says it shows ("12 of 14 frames"). */
const shown = async (): Promise<number> => Number(/^(\d+) of/.exec((await page.locator('#frame-count').textContent()) ?? '')?.[1]);

async function exportHtml(options: Partial<ExportOptions> = {}): Promise<string> {
  const out = join(tempDir('wstape-viewer-'), 'report.html');
  const io = captureIo();
  expect(await runExport({ file: archive, out, format: 'html', ...options }, io)).toBe(0);
  return out;
}

async function openConn(id: string): Promise<void> {
  await page.locator(`#traffic-list .traffic-row[data-id="${id}"]`).click();
  await page.locator(`#conn-summary .summary[data-id="${id}"]`).waitFor();
}

async function resetFilters(): Promise<void> {
  await page.selectOption('#dir-filter', 'all');
  for (const id of ['type-text', 'type-binary', 'type-control']) await page.locator(`#${id}`).check();
  for (const id of ['hide-heartbeats', 'messages', 'regex']) await page.locator(`#${id}`).uncheck();
  for (const id of ['frame-search', 'since', 'until']) await page.locator(`#${id}`).fill('');
}

beforeAll(async () => {
  archive = await recordViewerSession();
  frames = (await readEntries(archive)).filter((entry): entry is FrameEntry => entry.kind === 'frame');
  html = await exportHtml();
  browser = await launchBrowser();
  opened = await openOffline(browser, pathToFileURL(html).href);
  page = opened.page;
  // A page whose data broke out of its script element never draws a row.
  await frameRows().first().waitFor({ timeout: 10_000 });
}, 30_000);

afterAll(async () => {
  await browser?.close();
});

describe('the exported page', () => {
  it('opens from disk and fetches nothing: no request left the page', () => {
    expect(opened.blocked).toEqual([]);
    expect(opened.errors).toEqual([]);
  });

  it('holds the data as inert JSON: exactly two script elements, whatever the payloads hold', async () => {
    const source = readFileSync(html, 'utf8');
    // The breakout payload is in the data, but never as markup.
    expect(source).not.toContain(HOSTILE_SCRIPT);
    expect(source).toContain('\\u003c/script>\\u003cscript>window.__pwned=1');
    expect(await page.locator('script').count()).toBe(2);
    expect(await page.locator('script#wstape-data').getAttribute('type')).toBe('application/json');
    expect(await page.evaluate('typeof JSON.parse(document.getElementById("wstape-data").textContent).data.frames')).toBe('object');
  });

  it('shows hostile payloads as text and never runs them', async () => {
    await openConn('c1');
    await page.locator('#frame-search').fill('__pwned=1');
    await expect.poll(shown).toBe(1);
    await frameRows().first().click();
    expect(await page.locator('#detail pre.payload-text').textContent()).toBe(HOSTILE_SCRIPT);
    expect(await frameRows().first().locator('.preview').textContent()).toBe(HOSTILE_SCRIPT);
    await page.locator('#frame-search').fill('onerror');
    await expect.poll(shown).toBe(1);
    await frameRows().first().click();
    expect(await page.locator('#detail pre.payload-text').textContent()).toBe(HOSTILE_IMG);
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    expect(opened.dialogs).toEqual([]);
    expect(opened.errors).toEqual([]);
    await resetFilters();
  });
});

describe('the traffic list', () => {
  it('lists every connection and exchange with badge, status, frames each way and close', async () => {
    const rows = page.locator('#traffic-list .traffic-row');
    expect(await attributes(rows, 'data-id')).toEqual(['h1', 'h2', 'c1', 'c2']);
    const row = page.locator('#traffic-list .traffic-row[data-id="c1"]');
    const out = c1().filter((frame) => frame.dir === 'out').length;
    const inbound = c1().length - out;
    expect(await row.locator('.badge').textContent()).toBe('WS');
    expect(await row.textContent()).toContain('101');
    expect(await row.textContent()).toContain(`${out}/${inbound}`);
    expect(await row.locator('.close').textContent()).toBe('4001 client');
    expect(await page.locator('#traffic-list .traffic-row[data-id="c2"] .close').textContent()).toBe('1000 server');
    expect(await page.locator('#traffic-list .traffic-row[data-id="h2"] .badge').textContent()).toBe('HTTP');
  });

  it('filters by kind, host, status and text', async () => {
    const ids = (): Promise<(string | null)[]> => attributes(page.locator('#traffic-list .traffic-row'), 'data-id');
    await page.selectOption('#kind-filter', 'websocket');
    expect(await ids()).toEqual(['c1', 'c2']);
    await page.selectOption('#kind-filter', 'http');
    expect(await ids()).toEqual(['h1', 'h2']);
    await page.locator('#status-filter').fill('4xx');
    expect(await ids()).toEqual(['h2']);
    await page.selectOption('#kind-filter', 'all');
    await page.locator('#status-filter').fill('101');
    expect(await ids()).toEqual(['c1', 'c2']);
    await page.locator('#status-filter').fill('');
    await page.locator('#host-filter').fill('127.0.0.1');
    expect(await ids()).toEqual(['h1', 'h2', 'c1', 'c2']);
    await page.locator('#host-filter').fill('example.com');
    expect(await ids()).toEqual([]);
    await page.locator('#host-filter').fill('');
    await page.locator('#traffic-search').fill('/OTHER');
    expect(await ids()).toEqual(['c2']);
    await page.locator('#traffic-search').fill('');
  });
});

describe("a connection's frames", () => {
  beforeAll(async () => {
    await openConn('c1');
    await resetFilters();
  });

  it('lists every frame with time, arrow, type, sizes and markers', async () => {
    expect(await shown()).toBe(c1().length);
    const first = frameRows().first();
    const frame = c1()[0]!;
    expect(await first.locator('.arrow').textContent()).toBe('-->');
    expect(await first.locator('.ftype').textContent()).toBe('TEXT');
    expect(await first.locator('.ftype').getAttribute('title')).toBe('opcode 0x1');
    expect(await first.locator('.fsize').textContent()).toBe(`${frame.size} B / ${frame.wireSize} B`);
    const fragment = frameRows().filter({ hasText: 'part-one' });
    expect(await fragment.locator('.marker').textContent()).toBe('[frag]');
    const close = frameRows().filter({ has: page.locator('.ftype', { hasText: 'CLOSE' }) });
    // The client's close and the server's echo.
    expect(await close.locator('.preview').allTextContents()).toEqual(['4001 Private use "done"', '4001 Private use "done"']);
  });

  it('first shows times as export --time asked', async () => {
    const rel = await openOffline(browser, pathToFileURL(await exportHtml({ time: 'rel' })).href);
    try {
      await rel.page.locator('#frame-list .frame-row').first().waitFor();
      expect(await rel.page.locator('#frame-list .frame-row .ftime').first().textContent()).toBe(`+${frames[0]!.elapsed.toFixed(6)}s`);
      expect(await rel.page.locator('#time-format').inputValue()).toBe('rel');
    } finally {
      await rel.context.close();
    }
  });

  it('shows times as clock, UTC or relative', async () => {
    const frame = c1()[0]!;
    await page.selectOption('#time-format', 'utc');
    expect(await frameRows().first().locator('.ftime').textContent()).toBe(frame.time);
    await page.selectOption('#time-format', 'rel');
    expect(await frameRows().first().locator('.ftime').textContent()).toBe(`+${frame.elapsed.toFixed(6)}s`);
    await page.selectOption('#time-format', 'clock');
    expect(await frameRows().first().locator('.ftime').textContent()).toMatch(/^\d\d:\d\d:\d\d\.\d{3}$/);
  });

  it.each<[string, (p: Page) => Promise<void>, (frame: FrameEntry) => boolean]>([
    ['direction out', (p) => p.selectOption('#dir-filter', 'out').then(() => undefined), (f) => f.dir === 'out'],
    ['direction in', (p) => p.selectOption('#dir-filter', 'in').then(() => undefined), (f) => f.dir === 'in'],
    [
      'binary only',
      (p) =>
        p
          .locator('#type-text')
          .uncheck()
          .then(() => p.locator('#type-control').uncheck()),
      (f) => f.type === 'binary',
    ],
    [
      'control only',
      (p) =>
        p
          .locator('#type-text')
          .uncheck()
          .then(() => p.locator('#type-binary').uncheck()),
      (f) => ['close', 'ping', 'pong'].includes(f.type),
    ],
    [
      'text only (a continuation is its message)',
      (p) =>
        p
          .locator('#type-binary')
          .uncheck()
          .then(() => p.locator('#type-control').uncheck()),
      (f) => f.text !== undefined && ['text', 'continuation'].includes(f.type),
    ],
    ['plain search, case-insensitive', (p) => p.locator('#frame-search').fill('WELCOME'), (f) => /welcome/i.test(f.text ?? '')],
    [
      'regex search',
      (p) =>
        p
          .locator('#regex')
          .check()
          .then(() => p.locator('#frame-search').fill('^part-(one|TWO)')),
      (f) => /^part-(one|two)/.test(f.text ?? ''),
    ],
    [
      'hide heartbeats (pings, pongs and the Engine.IO "2" and "3")',
      (p) => p.locator('#hide-heartbeats').check(),
      (f) => f.type !== 'ping' && f.type !== 'pong' && f.text !== '2' && f.text !== '3',
    ],
    [
      'direction and search together',
      (p) => p.selectOption('#dir-filter', 'in').then(() => p.locator('#frame-search').fill('type')),
      (f) => f.dir === 'in' && /type/i.test(f.text ?? ''),
    ],
  ])('filters: %s', async (_name, apply, expected) => {
    await resetFilters();
    await apply(page);
    const want = c1().filter(expected);
    expect(want.length).toBeGreaterThan(0);
    await expect.poll(shown).toBe(want.length);
    const indexes = (await attributes(frameRows(), 'data-index')).map(Number);
    expect(indexes).toEqual(want.map((frame) => frame.index).slice(0, indexes.length));
    await resetFilters();
  });

  it('filters a time range, in seconds since the start', async () => {
    const middle = c1().slice(2, 6);
    await page.locator('#since').fill(String(middle[0]!.elapsed));
    await page.locator('#until').fill(String(middle.at(-1)!.elapsed));
    const want = c1().filter((frame) => frame.elapsed >= middle[0]!.elapsed && frame.elapsed <= middle.at(-1)!.elapsed);
    await expect.poll(shown).toBe(want.length);
    await page.locator('#until').fill('soon');
    await expect.poll(() => page.locator('#query-error').textContent()).toContain('to:');
    await resetFilters();
  });

  it('shows messages instead of frames: the fragments joined into one row', async () => {
    await page.locator('#messages').check();
    await expect.poll(shown).toBe(c1().length - 1);
    const joined = frameRows().filter({ hasText: 'part-one part-two' });
    expect(await joined.locator('.marker').textContent()).toBe('[2 frags]');
    await resetFilters();
  });

  it('highlights JSON and folds it', async () => {
    await frameRows().filter({ hasText: 'welcome' }).click();
    const tree = page.locator('#detail .json-tree');
    expect(await tree.locator('.j-key').allTextContents()).toEqual(['"type"', '"users"', '"count"', '"ok"', '"motd"']);
    expect(await tree.locator('.j-str').allTextContents()).toEqual(['"welcome"', '"ada"']);
    expect(await tree.locator('.j-num').allTextContents()).toEqual(['1']);
    expect(await tree.locator('.j-lit').allTextContents()).toEqual(['true', 'null']);
    const inner = tree.locator('details.j-fold details.j-fold').first();
    expect(await inner.locator('.j-str').isVisible()).toBe(true);
    await inner.locator('summary').first().click();
    expect(await inner.evaluate((node) => (node as unknown as { open: boolean }).open)).toBe(false);
    expect(await inner.locator('.j-str').isVisible()).toBe(false);
  });

  it('dumps binary as hexdump -C does, names the format and shows a PNG as an image', async () => {
    await frameRows().filter({ hasText: 'PNG image' }).click();
    expect(await page.locator('#detail pre.hexdump').textContent()).toBe(realHexdump(PNG));
    expect(await page.locator('#detail .detected .det-id').textContent()).toBe('png');
    const image = page.locator('#detail img.payload-image');
    await expect.poll(() => image.evaluate((node) => (node as unknown as { naturalWidth: number }).naturalWidth)).toBe(3);
    expect(await image.evaluate((node) => (node as unknown as { naturalHeight: number }).naturalHeight)).toBe(2);
  });

  it('says so when a payload with the PNG magic number does not decode as an image', async () => {
    const dir = tempDir('wstape-viewer-');
    const file = join(dir, 'cut.wstape.json');
    const cut = PNG.subarray(0, 33);
    const writer = ArchiveWriter.open(file, header());
    writer.append(connection('c1'));
    writer.append(frameEntry({ type: 'binary', opcode: 2, text: undefined, data: cut.toString('base64'), size: cut.length, wireSize: cut.length + 6 }));
    writer.close({ stoppedAt: isoAt(9), summary: { connections: 1, exchanges: 0, tunnels: 0, frames: 1, bytes: 0, errors: 0 } });
    const out = join(dir, 'cut.html');
    expect(await runExport({ file, out, format: 'html' }, captureIo())).toBe(0);
    const cutPage = await openOffline(browser, pathToFileURL(out).href);
    try {
      await cutPage.page.locator('#frame-list .frame-row').first().click();
      await expect.poll(() => cutPage.page.locator('#detail .note').textContent()).toBe('the png payload does not decode as an image');
      expect(await cutPage.page.locator('#detail img').count()).toBe(0);
      expect(await cutPage.page.locator('#detail pre.hexdump').textContent()).toBe(realHexdump(cut));
    } finally {
      await cutPage.context.close();
    }
  });

  it('decodes MessagePack into a tree', async () => {
    await frameRows().filter({ hasText: 'MessagePack' }).click();
    expect(await page.locator('#detail .detected .det-id').textContent()).toBe('msgpack');
    expect(await page.locator('#detail .decoded .j-key').first().textContent()).toBe('"type"');
    expect(await page.locator('#detail .decoded .j-str').first().textContent()).toBe('"chat"');
  });

  it("shows the connection's stats and close diagnosis", async () => {
    const stats = statsOf(await readEntries(archive)).find((report) => report.conn === 'c1')!;
    expect(await page.locator('#conn-summary .diagnosis').textContent()).toBe(`diagnosis: ${stats.diagnosis}`);
    expect(await page.locator('#conn-summary .stats').textContent()).toContain(`${stats.framesOut} / ${stats.framesIn}`);
  });

  it('moves with j/k and the arrow keys, switches lists with h/l, focuses the search with /', async () => {
    await page.locator('#detail').click();
    await page.keyboard.press('l');
    await page.keyboard.press('k');
    await page.keyboard.press('k');
    const selected = (): Promise<string | null> => page.locator('#detail .frame-detail').getAttribute('data-index');
    const start = Number(await selected());
    await page.keyboard.press('j');
    expect(Number(await selected())).toBe(start + 1);
    await page.keyboard.press('ArrowDown');
    expect(Number(await selected())).toBe(start + 2);
    await page.keyboard.press('ArrowUp');
    expect(Number(await selected())).toBe(start + 1);
    await page.keyboard.press('h');
    await page.keyboard.press('j');
    await page.locator('#conn-summary .summary[data-id="c2"]').waitFor();
    await page.keyboard.press('/');
    expect(await page.evaluate('document.activeElement.id')).toBe('frame-search');
    await page.keyboard.press('Escape');
  });
});

describe('an export with show filters', () => {
  it('holds only what they select, and says which filters made it', async () => {
    const filtered = await openOffline(browser, pathToFileURL(await exportHtml({ conn: ['c1'], dir: 'in' })).href);
    try {
      const rows = filtered.page.locator('#traffic-list .traffic-row');
      expect(await attributes(rows, 'data-id')).toEqual(['c1']);
      const want = c1().filter((frame) => frame.dir === 'in').length;
      expect(await filtered.page.locator('#frame-count').textContent()).toBe(`${want} of ${want} frames`);
      expect(await filtered.page.locator('#export-filters').textContent()).toBe('filtered: --conn c1 --dir in');
      expect(filtered.blocked).toEqual([]);
    } finally {
      await filtered.context.close();
    }
  });
});

describe('redaction', () => {
  it('says on the page that the export was redacted, and only then', async () => {
    expect(await page.locator('#redacted').count()).toBe(0);
    const redacted = await openOffline(browser, pathToFileURL(await exportHtml({ redact: true })).href);
    try {
      expect(await redacted.page.locator('#redacted').textContent()).toBe('redacted');
      expect(redacted.blocked).toEqual([]);
    } finally {
      await redacted.context.close();
    }
  });
});

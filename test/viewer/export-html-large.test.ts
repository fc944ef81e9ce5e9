/**
 * A large export in a real browser: 100,000 frames on one connection, written with the archive
 * writer, exported to HTML and opened from disk in headless Chromium. The frame list is
 * virtualised: it opens, scrolls to the end and filters, and the DOM never holds more than a
 * window of rows.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveWriter } from '../../src/format/archive-writer.js';
import { runExport } from '../../src/share/export-archive.js';
import { captureIo, tempDir } from '../helpers/peers.js';
import { attributes, domRows, launchBrowser, openOffline, type OpenedPage } from '../helpers/viewer-browser.js';
import { connection, end, frame, header, isoAt } from '../output/test-archives.js';

const FRAMES = 100_000;
/** A window of rows: what fits in the list's height plus the overscan, far below FRAMES. */
const MAX_DOM_ROWS = 200;

let browser: Browser;
let opened: OpenedPage;
let page: Page;

beforeAll(async () => {
  const dir = tempDir('wstape-viewer-large-');
  const archive = join(dir, 'large.wstape.json');
  const writer = ArchiveWriter.open(archive, header());
  writer.append(connection('c1'));
  for (let i = 0; i < FRAMES; i++) {
    const text = JSON.stringify({ type: 'tick', n: i });
    const elapsed = 1 + i / 1000;
    writer.append(frame({ index: i, dir: i % 2 === 0 ? 'out' : 'in', elapsed, time: isoAt(elapsed), text, size: text.length, wireSize: text.length + 6 }));
  }
  writer.append(end('c1', { elapsed: 2 + FRAMES / 1000 }));
  writer.close({ stoppedAt: isoAt(3 + FRAMES / 1000), summary: { connections: 1, exchanges: 0, tunnels: 0, frames: FRAMES, bytes: 0, errors: 0 } });
  const out = join(dir, 'large.html');
  expect(await runExport({ file: archive, out, format: 'html' }, captureIo())).toBe(0);
  browser = await launchBrowser();
  opened = await openOffline(browser, pathToFileURL(out).href);
  page = opened.page;
  await page.locator('#frame-list .frame-row').first().waitFor({ timeout: 20_000 });
}, 40_000);

afterAll(async () => {
  await browser?.close();
});

describe(`an export of ${FRAMES} frames`, () => {
  it('opens with every frame counted and only a window of rows in the DOM', async () => {
    expect(await page.locator('#frame-count').textContent()).toBe(`${FRAMES} of ${FRAMES} frames`);
    const rows = await domRows(page, 'frame-list');
    expect(rows).toBeGreaterThan(0);
    expect(rows).toBeLessThan(MAX_DOM_ROWS);
    expect(opened.blocked).toEqual([]);
    expect(opened.errors).toEqual([]);
  });

  it('scrolls to the last frame and to the middle, keeping the DOM small', async () => {
    await page.locator('#frame-list').evaluate((node) => {
      const viewport = node as unknown as { scrollTop: number; scrollHeight: number };
      viewport.scrollTop = viewport.scrollHeight;
    });
    await page.locator(`#frame-list .frame-row[data-index="${FRAMES - 1}"]`).waitFor();
    expect(await domRows(page, 'frame-list')).toBeLessThan(MAX_DOM_ROWS);
    await page.locator('#frame-list').evaluate((node) => {
      const viewport = node as unknown as { scrollTop: number; scrollHeight: number };
      viewport.scrollTop = viewport.scrollHeight / 2;
    });
    await page.locator(`#frame-list .frame-row[data-index="${FRAMES / 2}"]`).waitFor();
    expect(await domRows(page, 'frame-list')).toBeLessThan(MAX_DOM_ROWS);
  });

  it('moves with the keyboard past the end of the rendered window', async () => {
    await page.locator('#frame-list .frame-row').first().click();
    const start = Number(await page.locator('#detail .frame-detail').getAttribute('data-index'));
    for (let i = 0; i < 60; i++) await page.keyboard.press('j');
    expect(Number(await page.locator('#detail .frame-detail').getAttribute('data-index'))).toBe(start + 60);
    expect(await page.locator(`#frame-list .frame-row[data-index="${start + 60}"]`).getAttribute('class')).toContain('selected');
  });

  it('filters all of them: a regex finds one frame, a direction half', async () => {
    await page.locator('#regex').check();
    await page.locator('#frame-search').fill('"n":7777[7]\\b');
    await expect.poll(() => page.locator('#frame-count').textContent()).toBe(`1 of ${FRAMES} frames`);
    expect(await attributes(page.locator('#frame-list .frame-row'), 'data-index')).toEqual(['77777']);
    await page.locator('#frame-search').fill('');
    await page.selectOption('#dir-filter', 'in');
    await expect.poll(() => page.locator('#frame-count').textContent()).toBe(`${FRAMES / 2} of ${FRAMES} frames`);
    expect(await domRows(page, 'frame-list')).toBeLessThan(MAX_DOM_ROWS);
  });
});

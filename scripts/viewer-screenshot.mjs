/**
 * docs/viewer.png, the README's picture of the viewer: records `wstape demo` (a real session
 * against the built-in chat server) in a temporary folder, exports it with `--format html`, opens
 * the page from disk in headless Debian Chromium through playwright-core (as the tests do:
 * /usr/bin/chromium, nothing downloaded, every network request aborted) and selects a JSON frame.
 * Run after `npm run build`: `node scripts/viewer-screenshot.mjs [OUT.png]`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.resolve(process.argv[2] ?? path.join(root, 'docs', 'viewer.png'));
const bin = path.join(root, 'bin', 'wstape.js');
const dir = mkdtempSync(path.join(tmpdir(), 'wstape-screenshot-'));
try {
  const archive = path.join(dir, 'demo.wstape.json');
  const html = path.join(dir, 'demo.html');
  execFileSync(process.execPath, [bin, 'demo', '--out', archive], { stdio: 'ignore', timeout: 60_000 });
  execFileSync(process.execPath, [bin, 'export', archive, '--format', 'html', '-o', html], { stdio: 'ignore', timeout: 60_000 });
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  try {
    const context = await browser.newContext({ viewport: { width: 1360, height: 820 }, colorScheme: 'light', deviceScaleFactor: 1 });
    await context.route('**/*', (route) => (route.request().url().startsWith('file:') ? route.continue() : route.abort()));
    const page = await context.newPage();
    await page.goto(pathToFileURL(html).href);
    await page.locator('#frame-list .frame-row', { hasText: '"welcome"' }).click();
    await page.screenshot({ path: out });
  } finally {
    await browser.close();
  }
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

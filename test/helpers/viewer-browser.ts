/**
 * Headless Debian Chromium driven by playwright-core (which downloads nothing: it is given the
 * installed /usr/bin/chromium), for the viewer's tests. `openOffline` opens a page with every
 * request that is not a file:// or data: URL aborted and recorded, so a test can assert that an
 * exported page fetched nothing; `openLive` allows only the live viewer's own origin.
 */
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { which } from './chromium.js';

/** Fail (not skip) without Chromium: CI installs it (.ci/run), a developer should too. */
export async function launchBrowser(): Promise<Browser> {
  const executablePath = which('chromium');
  if (executablePath === null) throw new Error('the viewer tests need chromium (Debian package "chromium"): run `apt-get install -y chromium`');
  return chromium.launch({
    executablePath,
    // --no-sandbox: CI containers run as root. --disable-smooth-scrolling: a wheel scroll lands at
    // once, so a test reads where it ended, not a point of an animation. The rest keeps a shared
    // 2-core machine quiet.
    args: [
      '--no-sandbox',
      '--disable-smooth-scrolling',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
}

export interface OpenedPage {
  context: BrowserContext;
  page: Page;
  /** URLs the page tried to fetch that were not allowed (and were aborted). */
  blocked: string[];
  /** Uncaught exceptions and console errors of the page. */
  errors: string[];
  /** Dialogs (alert, confirm, prompt) a script tried to open. */
  dialogs: string[];
}

async function open(browser: Browser, url: string, allowed: (url: string) => boolean): Promise<OpenedPage> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const blocked: string[] = [];
  const errors: string[] = [];
  const dialogs: string[] = [];
  await context.route('**/*', async (route) => {
    const requested = route.request().url();
    if (allowed(requested)) return route.continue();
    blocked.push(requested);
    return route.abort();
  });
  const page = await context.newPage();
  // Requests the router never sees (none should exist, but a test must not trust that).
  page.on('request', (request) => {
    if (!allowed(request.url()) && !blocked.includes(request.url())) blocked.push(request.url());
  });
  page.on('pageerror', (error) => errors.push(String(error)));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('dialog', (dialog) => {
    dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss();
  });
  await page.goto(url);
  return { context, page, blocked, errors, dialogs };
}

/** Open an exported file with the network cut off: only file:// and data: URLs load. */
export function openOffline(browser: Browser, fileUrl: string): Promise<OpenedPage> {
  return open(browser, fileUrl, (url) => url.startsWith('file:') || url.startsWith('data:'));
}

/** Open the live viewer: only its own origin (and data: URLs) load. */
export function openLive(browser: Browser, url: string): Promise<OpenedPage> {
  const origin = new URL(url).origin;
  return open(browser, url, (requested) => requested.startsWith(`${origin}/`) || requested.startsWith('data:'));
}

/** How many rows a virtualised list has in the DOM. */
export function domRows(page: Page, listId: string): Promise<number> {
  return page.locator(`#${listId} .vrow`).count();
}

/** The elements' values of attribute `name` (the tests' tsconfig has no DOM types, so the element is typed by hand). */
export function attributes(locator: Locator, name: string): Promise<(string | null)[]> {
  return locator.evaluateAll(
    (nodes, attribute) => nodes.map((node) => (node as unknown as { getAttribute(n: string): string | null }).getAttribute(attribute)),
    name,
  );
}

#!/usr/bin/env node
/**
 * The viewer's figures (README, "Browsing an archive"), in headless Debian Chromium through
 * playwright-core, as the tests drive it:
 *
 * - live latency: `wstape record --view` in front of a `ws` server; a `ws` client sends a message,
 *   and the time from the send to the row appearing in the page (a MutationObserver in the page
 *   timestamps it; both clocks are the page's, read around the send) is taken over `--samples`
 *   messages. The target is 100 ms (issue 14).
 * - a large export: an archive of `--frames` JSON frames written with the archive writer, then
 *   `wstape export --format html`: the export's wall time and page size, the time from
 *   navigation to the first row, and a search over every frame.
 *
 *   node bench/viewer.mjs [--samples 50] [--frames 100000]      (after npm run build)
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { WebSocket, WebSocketServer } from 'ws';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WSTAPE = path.join(ROOT, 'bin', 'wstape.js');
const arg = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
};
const SAMPLES = arg('--samples', 50);
const FRAMES = arg('--frames', 100_000);
const dir = mkdtempSync(path.join(os.tmpdir(), 'wstape-bench-viewer-'));
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

async function liveLatency() {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => wss.once('listening', resolve));
  const args = [
    WSTAPE,
    'record',
    '--view',
    '--quiet',
    '--port',
    '0',
    '-o',
    path.join(dir, 'live.wstape.json'),
    '--target',
    `ws://127.0.0.1:${wss.address().port}`,
  ];
  const recorder = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  recorder.stderr.on('data', (chunk) => (stderr += chunk));
  const deadline = Date.now() + 10_000;
  while (!/viewer at/.test(stderr)) {
    if (Date.now() > deadline) throw new Error(`record --view did not start: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const port = /recording on http:\/\/[^:]+:(\d+)/.exec(stderr)[1];
  const page = await browser.newPage();
  await page.goto(/viewer at (\S+)/.exec(stderr)[1]);
  const client = new WebSocket(`ws://127.0.0.1:${port}/bench`);
  await new Promise((resolve) => client.once('open', resolve));
  client.send('warm-up');
  await page.locator('.frame-row', { hasText: 'warm-up' }).waitFor();
  const times = [];
  for (let i = 0; i < SAMPLES; i++) {
    const text = `sample-${i}-end`;
    await page.evaluate((wanted) => {
      window.__seen = new Promise((resolve) => {
        const observer = new MutationObserver(() => {
          if ([...document.querySelectorAll('.frame-row')].some((row) => row.textContent.includes(wanted))) {
            observer.disconnect();
            resolve(performance.now());
          }
        });
        observer.observe(document.body, { subtree: true, childList: true });
      });
    }, text);
    const sent = await page.evaluate(() => performance.now());
    client.send(text);
    times.push((await page.evaluate(() => window.__seen)) - sent);
  }
  client.close();
  await page.close();
  const exited = new Promise((resolve) => recorder.once('exit', resolve));
  recorder.kill('SIGINT');
  await exited;
  wss.close();
  times.sort((a, b) => a - b);
  return { median: quantile(times, 0.5), p95: quantile(times, 0.95), max: times.at(-1) };
}

async function largeExport() {
  const { ArchiveWriter } = await import(pathToFileURL(path.join(ROOT, 'dist', 'format', 'archive-writer.js')).href);
  const iso = (seconds) => new Date(Date.parse('2026-11-25T10:30:00Z') + seconds * 1000).toISOString();
  const archive = path.join(dir, 'large.wstape.json');
  const writer = ArchiveWriter.open(archive, { format: 'wstape', version: 2, creator: { name: 'wstape', version: 'bench' }, startedAt: iso(0) });
  const request = { method: 'GET', target: '/feed', httpVersion: '1.1', headers: [] };
  const response = { status: 101, statusText: 'Switching Protocols', httpVersion: '1.1', headers: [] };
  writer.append({
    kind: 'connection',
    id: 'c1',
    time: iso(0.1),
    elapsed: 0.1,
    url: 'ws://127.0.0.1:9000/feed',
    mode: 'reverse',
    client: { address: '127.0.0.1', port: 50000 },
    server: { host: '127.0.0.1', port: 9000 },
    request,
    response,
    subprotocol: null,
    extensions: null,
    permessageDeflate: null,
  });
  for (let i = 0; i < FRAMES; i++) {
    const text = JSON.stringify({ type: 'tick', n: i, price: 100 + (i % 37) / 10, sym: 'ABC' });
    const elapsed = 1 + i / 1000;
    writer.append({
      kind: 'frame',
      conn: 'c1',
      index: i,
      time: iso(elapsed),
      elapsed,
      dir: i % 2 ? 'in' : 'out',
      type: 'text',
      opcode: 1,
      fin: true,
      rsv1: false,
      rsv2: false,
      rsv3: false,
      masked: i % 2 === 0,
      size: text.length,
      wireSize: text.length + 6,
      text,
    });
  }
  const endAt = 2 + FRAMES / 1000;
  writer.append({
    kind: 'end',
    conn: 'c1',
    time: iso(endAt),
    elapsed: endAt,
    closeCode: 1000,
    closeReason: '',
    closedBy: 'client',
    droppedBy: 'server',
    clean: true,
    bytesOut: 0,
    bytesIn: 0,
  });
  writer.close({ stoppedAt: iso(endAt + 1), summary: { connections: 1, exchanges: 0, tunnels: 0, frames: FRAMES, bytes: 0, errors: 0 } });
  const html = path.join(dir, 'large.html');
  const started = performance.now();
  execFileSync(process.execPath, [WSTAPE, 'export', archive, '--format', 'html', '-o', html], { stdio: 'ignore' });
  const exportMs = performance.now() - started;
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const opening = performance.now();
  await page.goto(pathToFileURL(html).href);
  await page.locator('#frame-list .frame-row').first().waitFor({ timeout: 120_000 });
  const openMs = performance.now() - opening;
  const searching = performance.now();
  await page.locator('#frame-search').fill(`"n":${FRAMES - 1}`);
  await page.waitForFunction(() => document.querySelector('#frame-count').textContent.startsWith('1 of'));
  const searchMs = performance.now() - searching;
  await page.close();
  return { archiveMiB: statSync(archive).size / 2 ** 20, pageMiB: statSync(html).size / 2 ** 20, exportMs, openMs, searchMs };
}

try {
  const live = await liveLatency();
  console.log(
    `live: frame sent to row shown, ${SAMPLES} samples: median ${live.median.toFixed(1)} ms, p95 ${live.p95.toFixed(1)} ms, max ${live.max.toFixed(1)} ms (target 100 ms)`,
  );
  const large = await largeExport();
  console.log(
    `export --format html of ${FRAMES} frames (${large.archiveMiB.toFixed(1)} MiB archive): ${(large.exportMs / 1000).toFixed(1)} s, page ${large.pageMiB.toFixed(1)} MiB; ` +
      `opened to first row ${(large.openMs / 1000).toFixed(2)} s; search over every frame ${large.searchMs.toFixed(0)} ms`,
  );
} finally {
  await browser.close();
  rmSync(dir, { recursive: true, force: true });
}

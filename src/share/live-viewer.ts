/**
 * `wstape view FILE` and `wstape record --view`: the viewer page served on loopback, reading the
 * archive as it grows (format/archive-follow.ts, what `show -f` reads with) and pushing what is
 * new to the page as Server-Sent Events: a `snapshot` when a page connects, then `update`s (new
 * frames, changed connections) at most POLL_MS after the recorder wrote them, and `end` once the
 * recorder closed the archive.
 *
 * Who may read: the traffic is as private as the archive (cookies, tokens), so
 * - the server listens on 127.0.0.1 only, on a free port;
 * - every request needs the random token of the printed URL (other local users and web pages do
 *   not know it), compared in constant time, else 403;
 * - the Host header must be 127.0.0.1:PORT or localhost:PORT, else 403: a page on another site
 *   that re-points its own name at 127.0.0.1 (DNS rebinding) sends its own name as Host, and
 *   gets nothing even if it guessed the token;
 * - responses are no-store, nosniff, with the page's CSP (connect-src 'self').
 *
 * Memory: every frame followed so far (pages that connect later get them all in their snapshot).
 */
import { spawn } from 'node:child_process';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename } from 'node:path';
import { cliError, isCliError } from '../errors.js';
import { followArchive } from '../format/archive-follow.js';
import type { ArchiveHeader, ArchiveTrailer } from '../format/schema.js';
import { untilSignal, type Io } from '../io.js';
import { PACKAGE_VERSION } from '../version.js';
import type { ViewerUpdate } from '../viewer/model.js';
import { ViewerDataBuilder } from './viewer-data.js';
import { pageParts, scriptSafeJson } from './viewer-html.js';

/** How often the archive is read for new lines: the page sees a frame at most this long after it was written. */
const POLL_MS = 20;
/** Stats cost a pass over every connection: recomputed at most this often while frames flow. */
const STATS_EVERY_MS = 1000;
/** Bytes queued for one page before it is dropped (it reconnects and starts from a snapshot). */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;
/** How long `close({ drain: true })` waits for the follower to read the archive's end. */
const DRAIN_MS = 2000;
/** A comment line on idle streams, so proxies and browsers keep them open. */
const KEEPALIVE_MS = 15_000;

export interface LiveViewerOptions {
  file: string;
  /** 0 (default): a free port. */
  port?: number;
  /** Open the URL with the system's opener (xdg-open, open) when there is one. */
  open?: boolean;
}

export interface LiveViewer {
  /** The page's URL, token included. */
  readonly url: string;
  readonly port: number;
  /**
   * Settles with the error when the file turned out not to be a readable archive before its
   * header was read (nothing to show); never settles otherwise. Damage later on is a warning.
   */
  readonly failed: Promise<Error>;
  /**
   * Stop following, end every stream, close the server. `drain`: the archive was just closed
   * (record --view stopping), so first let the pages get its last entries and its end, waiting
   * at most DRAIN_MS for the follower to read them.
   */
  close(options?: { drain?: boolean }): Promise<void>;
}

function sameToken(given: string | null, token: string): boolean {
  if (given === null) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function refuse(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
  response.end(`${text}\n`);
}

/** The system's URL opener, if one is installed: xdg-open (Linux, BSD) or open (macOS). */
function openInBrowser(url: string, io: Io): void {
  const command = process.platform === 'darwin' ? 'open' : 'xdg-open';
  const child = spawn(command, [url], { detached: true, stdio: 'ignore' });
  child.on('error', () => io.stderr.write(`wstape: no ${command} to open a browser with: open the URL above yourself\n`));
  child.unref();
}

const PLACEHOLDER_HEADER: ArchiveHeader = { format: 'wstape', version: 2, creator: { name: 'wstape', version: '' }, startedAt: '' };

/** Start serving the viewer for `file` (which may not exist yet: it is waited for). */
export async function startLiveViewer(options: LiveViewerOptions, io: Io): Promise<LiveViewer> {
  const token = randomBytes(24).toString('base64url');
  const source = basename(options.file);
  const builder = new ViewerDataBuilder();
  const streams = new Set<ServerResponse>();
  const abort = new AbortController();
  let header: ArchiveHeader | null = null;
  let trailer: ArchiveTrailer | null | undefined;
  let lastStats = 0;
  let statsDue = false;
  let port = 0;

  const send = (response: ServerResponse, event: string, data: unknown): void => {
    // A page that stopped reading (a frozen tab) is dropped rather than buffered without bound;
    // its EventSource reconnects and gets a fresh snapshot.
    if (response.writableLength > MAX_BUFFERED_BYTES) {
      streams.delete(response);
      response.destroy();
      return;
    }
    response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  /** Push what changed to every page. */
  const flush = (): void => {
    const now = Date.now();
    const withStats = statsDue || now - lastStats >= STATS_EVERY_MS;
    const update: ViewerUpdate | null = builder.takeUpdate(withStats);
    if (update === null) return;
    if (withStats) {
      lastStats = now;
      statsDue = false;
    }
    for (const response of streams) send(response, 'update', update);
  };
  const meta = (): Parameters<ViewerDataBuilder['snapshot']>[0] => ({
    source,
    header: header ?? PLACEHOLDER_HEADER,
    trailer: trailer ?? null,
    wstape: PACKAGE_VERSION,
    redacted: false,
    filters: '',
  });

  const parts = pageParts({ title: `wstape view: ${source}`, live: true });
  const page = parts.head + scriptSafeJson({ mode: 'live', token, source }) + parts.tail;
  // The page's own policy, and (only a header can say it) that no other page may frame it.
  const csp = `${/content="([^"]*)"/.exec(parts.head)?.[1] ?? "default-src 'none'"}; frame-ancestors 'none'`;

  const server = http.createServer((request: IncomingMessage, response: ServerResponse) => {
    // DNS rebinding: a page of another site reaches us under its own name; only ours is served.
    const host = request.headers.host ?? '';
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) return refuse(response, 403, 'forbidden: unknown Host');
    const url = new URL(request.url ?? '/', `http://${host}`);
    if (!sameToken(url.searchParams.get('token'), token)) return refuse(response, 403, 'forbidden: the URL needs the token wstape view printed');
    if (request.method !== 'GET') return refuse(response, 405, 'method not allowed');
    const common = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer', 'X-Frame-Options': 'DENY' };
    if (url.pathname === '/') {
      response.writeHead(200, { ...common, 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': csp });
      response.end(page);
      return;
    }
    if (url.pathname === '/events') {
      response.writeHead(200, { ...common, 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive' });
      // What the other pages have not been sent yet goes to them first, so the snapshot starts
      // exactly where the next update will.
      flush();
      send(response, 'snapshot', builder.snapshot(meta()));
      if (trailer !== undefined) {
        send(response, 'end', {});
        response.end();
        return;
      }
      streams.add(response);
      request.on('close', () => streams.delete(response));
      return;
    }
    refuse(response, 404, 'not found');
  });
  const keepalive = setInterval(() => {
    for (const response of streams) response.write(': keep-alive\n\n');
  }, KEEPALIVE_MS);
  keepalive.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(cliError('ERR_LISTEN', `cannot listen for the viewer: ${error.code ?? error.message}`)));
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;

  let fail: (error: Error) => void = () => {};
  const failed = new Promise<Error>((resolve) => (fail = resolve));
  const following = (async () => {
    try {
      let lastFlush = Date.now();
      for await (const event of followArchive(options.file, {
        pollMs: POLL_MS,
        signal: abort.signal,
        onWarning: (message) => io.stderr.write(`wstape: warning: ${message}\n`),
      })) {
        if (event.type === 'header') header = event.header;
        else if (event.type === 'entry') {
          builder.add(event.entry);
          if (event.entry.kind === 'end') statsDue = true;
          // A long catch-up read still shows progress on the pages.
          if (Date.now() - lastFlush >= POLL_MS * 5) {
            flush();
            lastFlush = Date.now();
          }
        } else if (event.type === 'caught-up') {
          flush();
          lastFlush = Date.now();
        } else {
          builder.finish();
          statsDue = true;
          flush();
          trailer = event.trailer;
          for (const response of streams) {
            send(response, 'update', { items: [], frames: [], messages: [], errors: [], trailer: event.trailer } satisfies ViewerUpdate);
            send(response, 'end', {});
            response.end();
          }
          streams.clear();
        }
      }
    } catch (error) {
      if (header === null) fail(error instanceof Error ? error : new Error(String(error)));
      else io.stderr.write(`wstape: ${isCliError(error) ? error.message : String(error)}; the viewer shows what was read\n`);
    }
  })();

  const url = `http://127.0.0.1:${port}/?token=${token}`;
  if (options.open === true) openInBrowser(url, io);
  let closing: Promise<void> | null = null;
  return {
    url,
    port,
    failed,
    close: (closeOptions = {}) => {
      closing ??= (async () => {
        if (closeOptions.drain === true) {
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([following, new Promise((resolve) => (timer = setTimeout(resolve, DRAIN_MS)))]);
          clearTimeout(timer);
        }
        abort.abort();
        await following;
        clearInterval(keepalive);
        for (const response of streams) response.end();
        streams.clear();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })();
      return closing;
    },
  };
}

/** `record --view`: the viewer of the archive being recorded, its URL printed. */
export async function startRecordingViewer(file: string, io: Io): Promise<LiveViewer> {
  const viewer = await startLiveViewer({ file }, io);
  io.stderr.write(`wstape: viewer at ${viewer.url}\n`);
  return viewer;
}

export interface ViewOptions {
  file: string;
  port?: number | undefined;
  open?: boolean | undefined;
}

/** Run `wstape view` until SIGINT or SIGTERM; returns the exit code. */
export async function runView(options: ViewOptions, io: Io): Promise<number> {
  if (options.file === '-') throw cliError('ERR_USAGE', 'wstape view follows a file as it grows: give its path, not - (standard input)');
  if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)) {
    throw cliError('ERR_USAGE', `invalid --port ${String(options.port)}: give a port from 0 to 65535 (0 picks a free one)`);
  }
  const stop = untilSignal().signalled;
  const viewer = await startLiveViewer({ file: options.file, ...(options.port !== undefined ? { port: options.port } : {}), open: options.open === true }, io);
  io.stderr.write(`wstape: viewing ${options.file} at ${viewer.url}\n`);
  io.stderr.write('wstape: the URL holds a token: share it only with who may read the traffic; Ctrl-C stops\n');
  const failure = await Promise.race([stop.then(() => null), viewer.failed]);
  await viewer.close();
  // Not an archive (or not readable): one line and its exit code, from the entry point.
  if (failure !== null) throw failure;
  return 0;
}

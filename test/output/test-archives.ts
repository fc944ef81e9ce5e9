/**
 * Test helpers: entry builders with sensible defaults, a hand-written archive on disk (in the
 * line layout of archive-lines.ts), and a fake Io that captures what a command prints.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { entryLine, headerLine, trailerLine } from '../../src/format/archive-lines.js';
import type { ArchiveHeader, ConnectionEntry, EndEntry, Entry, ErrorEntry, FrameEntry, HttpEntry, TunnelEntry } from '../../src/format/schema.js';
import type { Io } from '../../src/io.js';

export const BASE_TIME = Date.parse('2026-11-25T10:30:00.000Z');

/** ISO time `seconds` after BASE_TIME. */
export function isoAt(seconds: number): string {
  return new Date(BASE_TIME + Math.round(seconds * 1000)).toISOString();
}

export function header(): ArchiveHeader {
  return { format: 'wstape', version: 2, creator: { name: 'wstape', version: '0.1.0' }, startedAt: isoAt(0) };
}

export function connection(id: string, overrides: Partial<ConnectionEntry> = {}): ConnectionEntry {
  const elapsed = overrides.elapsed ?? 0.1;
  return {
    kind: 'connection',
    id,
    time: isoAt(elapsed),
    elapsed,
    url: 'ws://127.0.0.1:9000/chat',
    mode: 'reverse',
    client: { address: '127.0.0.1', port: 50000 },
    server: { host: '127.0.0.1', port: 9000 },
    request: { method: 'GET', target: '/chat', httpVersion: '1.1', headers: [['Host', '127.0.0.1:9000']] },
    response: { status: 101, statusText: 'Switching Protocols', httpVersion: '1.1', headers: [] },
    subprotocol: null,
    extensions: null,
    permessageDeflate: null,
    ...overrides,
  };
}

let frameCounter = 0;

export function frame(overrides: Partial<FrameEntry> = {}): FrameEntry {
  const elapsed = overrides.elapsed ?? 1 + frameCounter++ * 0.001;
  const base: FrameEntry = {
    kind: 'frame',
    conn: 'c1',
    index: 0,
    time: isoAt(elapsed),
    elapsed,
    dir: 'out',
    type: 'text',
    opcode: 1,
    fin: true,
    rsv1: false,
    rsv2: false,
    rsv3: false,
    masked: true,
    mask: '0a0b0c0d',
    size: 2,
    wireSize: 8,
    text: 'hi',
  };
  const entry = { ...base, ...overrides };
  // Drop keys a test set to undefined, as the archive would not hold them.
  for (const key of Object.keys(entry) as (keyof FrameEntry)[]) if (entry[key] === undefined) delete entry[key];
  return entry;
}

export function end(conn: string, overrides: Partial<EndEntry> = {}): EndEntry {
  const elapsed = overrides.elapsed ?? 5;
  return {
    kind: 'end',
    conn,
    time: isoAt(elapsed),
    elapsed,
    closeCode: 1000,
    closeReason: '',
    closedBy: 'client',
    droppedBy: 'server',
    clean: true,
    bytesOut: 100,
    bytesIn: 200,
    ...overrides,
  };
}

export function httpExchange(id: string, overrides: Partial<HttpEntry> = {}): HttpEntry {
  const elapsed = overrides.elapsed ?? 0.5;
  return {
    kind: 'http',
    id,
    time: isoAt(elapsed),
    elapsed,
    url: 'http://127.0.0.1:9000/api/items',
    mode: 'forward',
    client: { address: '127.0.0.1', port: 50001 },
    server: { host: '127.0.0.1', port: 9000 },
    request: { method: 'POST', target: '/api/items', httpVersion: '1.1', headers: [], body: { size: 12, text: '{"name":"x"}' } },
    response: { status: 201, statusText: 'Created', httpVersion: '1.1', headers: [], body: { size: 1234, text: 'x'.repeat(1234) } },
    duration: 3,
    ...overrides,
  };
}

export function tunnel(id: string, overrides: Partial<TunnelEntry> = {}): TunnelEntry {
  const elapsed = overrides.elapsed ?? 0.7;
  return {
    kind: 'tunnel',
    id,
    time: isoAt(elapsed),
    elapsed,
    url: 'https://example.com:443',
    client: { address: '127.0.0.1', port: 50002 },
    server: { host: 'example.com', port: 443 },
    reason: 'tls',
    ...overrides,
  };
}

export function errorEntry(overrides: Partial<ErrorEntry> = {}): ErrorEntry {
  const elapsed = overrides.elapsed ?? 2;
  return { kind: 'error', time: isoAt(elapsed), elapsed, code: 'UPSTREAM_CONNECT', message: 'connect ECONNREFUSED 127.0.0.1:9000', ...overrides };
}

/** A temporary directory, removed by the returned cleanup function. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'wstape-output-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Write an archive in the on-disk line layout; `closed: false` leaves out the trailer line. */
export async function writeArchive(path: string, entries: Entry[], options: { closed?: boolean } = {}): Promise<string> {
  let text = headerLine(header());
  entries.forEach((entry, index) => {
    text += entryLine(entry, index === 0);
  });
  if (options.closed ?? true) {
    const frames = entries.filter((entry) => entry.kind === 'frame').length;
    text += trailerLine({
      stoppedAt: isoAt(60),
      summary: { connections: 0, exchanges: 0, tunnels: 0, frames, bytes: 0, errors: 0 },
    });
  }
  await writeFile(path, text);
  return path;
}

export interface FakeIo extends Io {
  out(): string;
  err(): string;
}

/** An Io whose streams capture what is written; `tty` makes stdout claim to be a terminal. */
export function fakeIo(options: { tty?: boolean; env?: Record<string, string | undefined>; columns?: number } = {}): FakeIo {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const toText = (chunk: string | Uint8Array): string => (typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
  return {
    stdout: {
      write: (chunk) => {
        stdout.push(toText(chunk));
        return true;
      },
      isTTY: options.tty ?? false,
      ...(options.columns !== undefined ? { columns: options.columns } : {}),
    },
    stderr: {
      write: (chunk) => {
        stderr.push(toText(chunk));
        return true;
      },
      isTTY: false,
    },
    env: options.env ?? {},
    cwd: '/',
    out: () => stdout.join(''),
    err: () => stderr.join(''),
  };
}

/** Matches any ANSI escape sequence. */
// eslint-disable-next-line no-control-regex
export const ANSI = /\u001b\[/;

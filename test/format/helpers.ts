/** Shared fixtures and helpers for the archive format tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { ArchiveReader } from '../../src/format/archive-reader.js';
import type { ArchiveHeader, ArchiveTrailer, ConnectionEntry, EndEntry, Entry, FrameEntry } from '../../src/format/schema.js';

export const FIXTURES = new URL('../../fixtures/archives/', import.meta.url).pathname;

/** A fresh temporary directory, removed after the test. */
export function useTmpDir(): () => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(join(tmpdir(), 'wstape-format-'));
    dirs.push(dir);
    return dir;
  };
}

export const header: ArchiveHeader = {
  format: 'wstape',
  version: 2,
  creator: { name: 'wstape', version: '0.1.0' },
  startedAt: '2026-11-25T10:30:00.123Z',
  recorder: { mode: 'reverse', listen: '127.0.0.1:9000', target: 'ws://upstream.test:8080', maxPayload: 1048576 },
};

export const trailer: ArchiveTrailer = {
  stoppedAt: '2026-11-25T10:31:00.000Z',
  summary: { connections: 1, exchanges: 0, tunnels: 0, frames: 3, bytes: 120, errors: 1 },
};

export function frame(index: number, text: string, dir: 'out' | 'in' = index % 2 === 0 ? 'out' : 'in'): FrameEntry {
  const size = Buffer.byteLength(text);
  return {
    kind: 'frame',
    conn: 'c1',
    index,
    time: '2026-11-25T10:30:01.000Z',
    elapsed: 1 + index / 1000,
    dir,
    type: 'text',
    opcode: 1,
    fin: true,
    rsv1: false,
    rsv2: false,
    rsv3: false,
    masked: dir === 'out',
    ...(dir === 'out' ? { mask: '0a0b0c0d' } : {}),
    size,
    wireSize: size + (dir === 'out' ? 6 : 2),
    text,
  };
}

export function binaryFrame(index: number, base64: string): FrameEntry {
  const { text: _text, ...rest } = frame(index, '');
  const size = Buffer.from(base64, 'base64').length;
  return { ...rest, type: 'binary', opcode: 2, size, wireSize: size + 6, data: base64 };
}

/** A handful of entries of every common kind, with multi-byte UTF-8 and characters JSON escapes. */
export function sampleEntries(): Entry[] {
  return [
    {
      kind: 'connection',
      id: 'c1',
      time: '2026-11-25T10:30:00.500Z',
      elapsed: 0.377,
      url: 'ws://upstream.test:8080/feed',
      mode: 'reverse',
      client: { address: '127.0.0.1', port: 50000 },
      server: { host: 'upstream.test', port: 8080 },
      request: {
        method: 'GET',
        target: '/feed',
        httpVersion: '1.1',
        headers: [
          ['Host', 'upstream.test:8080'],
          ['Upgrade', 'websocket'],
        ],
      },
      response: { status: 101, statusText: 'Switching Protocols', httpVersion: '1.1', headers: [['Upgrade', 'websocket']] },
      subprotocol: null,
      extensions: null,
      permessageDeflate: null,
    },
    frame(0, 'héllo ✓ 😀'),
    frame(1, 'line one\nline two\t"quoted" \\ \u2028 end'),
    binaryFrame(2, 'AAEC/w=='),
    {
      kind: 'error',
      time: '2026-11-25T10:30:02.000Z',
      elapsed: 1.877,
      conn: 'c1',
      dir: 'in',
      code: 'WS_STREAM_UNPARSEABLE',
      message: 'a 64-bit payload length has its most significant bit set',
    },
    {
      kind: 'end',
      conn: 'c1',
      time: '2026-11-25T10:30:03.000Z',
      elapsed: 2.877,
      closeCode: 1006,
      closeReason: '',
      closedBy: 'server',
      droppedBy: 'server',
      clean: false,
      bytesOut: 40,
      bytesIn: 80,
    },
  ];
}

/** Drain a reader's entries. */
export async function readAll(reader: ArchiveReader): Promise<Entry[]> {
  const entries: Entry[] = [];
  for await (const entry of reader.entries()) entries.push(entry);
  return entries;
}

/** Run fn and return the error it throws (or rejects with); fails when it does not throw. */
export async function thrown(fn: () => unknown): Promise<{ code?: unknown; message: string }> {
  try {
    await fn();
  } catch (error) {
    return error as { code?: unknown; message: string };
  }
  throw new Error('expected an error, got none');
}

/** A WebSocket connection entry at `elapsed` seconds, to ws://example.test/ID (no extensions). */
export function wsConnection(id: string, elapsed: number): ConnectionEntry {
  return {
    kind: 'connection',
    id,
    time: '2026-11-25T10:30:02.000Z',
    elapsed,
    url: `ws://example.test/${id}`,
    mode: 'forward',
    client: { address: '127.0.0.1', port: 52101 },
    server: { host: 'example.test', port: 80 },
    request: { method: 'GET', target: `/${id}`, httpVersion: '1.1', headers: [['Host', 'example.test']] },
    response: { status: 101, statusText: 'Switching Protocols', httpVersion: '1.1', headers: [['Upgrade', 'websocket']] },
    subprotocol: null,
    extensions: null,
    permessageDeflate: null,
  };
}

/** The end of `conn` after a clean close that the client began. */
export function wsEnd(conn: string, elapsed: number, time = '2026-11-25T10:30:04.000Z'): EndEntry {
  return {
    kind: 'end',
    conn,
    time,
    elapsed,
    closeCode: 1000,
    closeReason: 'bye',
    closedBy: 'client',
    droppedBy: 'server',
    clean: true,
    bytesOut: 0,
    bytesIn: 0,
  };
}

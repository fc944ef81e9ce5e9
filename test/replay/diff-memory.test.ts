/**
 * `wstape diff` does not hold the archives' frames: the built CLI with a V8 heap of 40 MiB
 * compares two archives of about 45 MiB each (4 connections open across the whole file, frames
 * interleaved), the second with a few frames' text changed. The whole-archive diff held every
 * frame of both, payloads included: far more than the heap.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveWriter } from '../../src/format/archive-writer.js';
import type { ConnectionEntry, EndEntry } from '../../src/format/schema.js';
import { frame, header, trailer } from '../format/helpers.js';
import { runCapped } from '../helpers/capped-cli.js';

const MiB = 1024 * 1024;
const HEAP_MIB = 40;
const FRAMES = 45_000;
/** Frames of `changed` whose text differs from `original`. */
const CHANGES = 7;
const PAYLOAD = 'p'.repeat(1000);
let dir = '';
let original = '';
let changed = '';

function connection(id: string, elapsed: number): ConnectionEntry {
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

function end(conn: string): EndEntry {
  return {
    kind: 'end',
    conn,
    time: '2026-11-25T10:30:04.000Z',
    elapsed: 1e4,
    closeCode: 1000,
    closeReason: 'bye',
    closedBy: 'client',
    droppedBy: 'server',
    clean: true,
    bytesOut: 0,
    bytesIn: 0,
  };
}

/** Four connections open across the file; frame i's text from `text(i)`. */
function write(path: string, text: (i: number) => string): void {
  const writer = ArchiveWriter.open(path, header);
  for (let c = 1; c <= 4; c++) writer.append(connection(`c${c}`, c / 10));
  for (let i = 0; i < FRAMES; i++) writer.append({ ...frame(Math.floor(i / 4), text(i)), conn: `c${(i % 4) + 1}`, elapsed: 1 + i / 1e4 });
  for (let c = 1; c <= 4; c++) writer.append(end(`c${c}`));
  writer.close(trailer);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wstape-diff-memory-'));
  original = join(dir, 'a.wstape.json');
  changed = join(dir, 'b.wstape.json');
  const every = Math.floor(FRAMES / CHANGES);
  write(original, (i) => `${i} ${PAYLOAD}`);
  write(changed, (i) => (i % every === every - 1 ? `${i} changed` : `${i} ${PAYLOAD}`));
  expect(statSync(original).size).toBeGreaterThan(HEAP_MIB * MiB);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe(`diff of archives larger than its heap (${HEAP_MIB} MiB)`, () => {
  it('reports exactly the changed frames', async () => {
    const result = await runCapped(HEAP_MIB, ['diff', original, changed, '--json']);
    expect(result.stderr).toBe('');
    expect([result.code, result.lines]).toEqual([1, CHANGES]);
  });

  it('finds no difference between an archive and itself', async () => {
    const result = await runCapped(HEAP_MIB, ['diff', original, original, '--timing-tolerance', '0']);
    expect(result.stderr).toBe('');
    expect([result.code, result.lines]).toEqual([0, 1]);
  });
});

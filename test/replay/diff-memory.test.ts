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
import { frame, header, trailer, wsConnection, wsEnd } from '../format/helpers.js';
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

/** Four connections open across the file; frame i's text from `text(i)`. */
function write(path: string, text: (i: number) => string): void {
  const writer = ArchiveWriter.open(path, header);
  for (let c = 1; c <= 4; c++) writer.append(wsConnection(`c${c}`, c / 10));
  for (let i = 0; i < FRAMES; i++) writer.append({ ...frame(Math.floor(i / 4), text(i)), conn: `c${(i % 4) + 1}`, elapsed: 1 + i / 1e4 });
  for (let c = 1; c <= 4; c++) writer.append(wsEnd(`c${c}`, 1e4));
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

/**
 * Bounded memory of the commands that stream, without timing: the built CLI in a child process
 * whose V8 heap is capped (--max-old-space-size=40, in MiB) reads an archive of about 45 MiB,
 * several times that cap once parsed, and must succeed with the right output. An archive of many
 * connections that each end: `stats --json` keeps a little per connection, `export --format har`
 * writes each connection's entry at its end, `redact` writes entry by entry; and an archive of 4
 * connections open across the whole file, which `export` holds in temporary files until each
 * ends (src/har/message-spill.ts).
 *
 * `import` and `diff`, the same way: test/har/import-memory.test.ts, test/replay/diff-memory.test.ts.
 */
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveWriter } from '../../src/format/archive-writer.js';
import { runCapped } from '../helpers/capped-cli.js';
import { frame, header, trailer, wsConnection, wsEnd } from './helpers.js';

const MiB = 1024 * 1024;
const HEAP_MIB = 40;
const CONNECTIONS = 300;
const FRAMES = 150;
let dir = '';
let archive = '';
let interleaved = '';

/** How often `needle` occurs in a file, read in chunks (a needle never spans two: it is one line's start). */
async function countIn(path: string, needle: string): Promise<number> {
  let count = 0;
  let carry = '';
  for await (const chunk of createReadStream(path, { encoding: 'utf8', highWaterMark: MiB })) {
    const text = carry + String(chunk);
    let at = text.indexOf(needle);
    while (at !== -1) {
      count++;
      at = text.indexOf(needle, at + needle.length);
    }
    carry = text.slice(-needle.length + 1);
  }
  return count;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wstape-memory-'));
  archive = join(dir, 'many.wstape.json');
  const writer = ArchiveWriter.open(archive, header);
  const payload = 'p'.repeat(1000);
  for (let c = 1; c <= CONNECTIONS; c++) {
    const id = `c${c}`;
    writer.append(wsConnection(id, c));
    for (let i = 0; i < FRAMES; i++) writer.append({ ...frame(i, `${i} ${payload}`), conn: id, elapsed: c + i / 1e4 });
    writer.append(wsEnd(id, c + 0.5));
  }
  writer.close(trailer);
  expect(statSync(archive).size).toBeGreaterThan(HEAP_MIB * MiB);

  interleaved = join(dir, 'long.wstape.json');
  const long = ArchiveWriter.open(interleaved, header);
  for (let c = 1; c <= 4; c++) long.append(wsConnection(`c${c}`, c / 10));
  for (let i = 0; i < CONNECTIONS * FRAMES; i++) long.append({ ...frame(Math.floor(i / 4), `${i} ${payload}`), conn: `c${(i % 4) + 1}`, elapsed: 1 + i / 1e4 });
  for (let c = 1; c <= 4; c++) long.append(wsEnd(`c${c}`, 1e4));
  long.close(trailer);
  expect(statSync(interleaved).size).toBeGreaterThan(HEAP_MIB * MiB);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe(`commands over an archive larger than their heap (${HEAP_MIB} MiB)`, () => {
  it('stats --json: one line per connection', async () => {
    const result = await runCapped(HEAP_MIB, ['stats', archive, '--json']);
    expect(result.stderr).toBe('');
    expect([result.code, result.lines]).toEqual([0, CONNECTIONS]);
  });

  it('export --format har: every connection and every message in the HAR', async () => {
    const out = join(dir, 'many.har');
    const result = await runCapped(HEAP_MIB, ['export', archive, '-o', out]);
    expect(result.code).toBe(0);
    expect(await countIn(out, '"_resourceType": "websocket"')).toBe(CONNECTIONS);
    expect(await countIn(out, '"type": "send"')).toBe((CONNECTIONS * FRAMES) / 2);
    rmSync(out);
  });

  it('export --format har of connections open across the whole archive: every message', async () => {
    const out = join(dir, 'long.har');
    const result = await runCapped(HEAP_MIB, ['export', interleaved, '-o', out]);
    expect(result.code).toBe(0);
    expect(await countIn(out, '"_resourceType": "websocket"')).toBe(4);
    expect(await countIn(out, '"type": "send"')).toBe((CONNECTIONS * FRAMES) / 2);
    rmSync(out);
  });

  it('redact: every entry written', async () => {
    const out = join(dir, 'many.redacted.wstape.json');
    const result = await runCapped(HEAP_MIB, ['redact', archive, '-o', out]);
    expect(result.code).toBe(0);
    expect(await countIn(out, '"kind":"frame"')).toBe(CONNECTIONS * FRAMES);
    rmSync(out);
  });
});

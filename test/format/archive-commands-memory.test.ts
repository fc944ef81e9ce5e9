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
import { spawn } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveWriter } from '../../src/format/archive-writer.js';
import type { ConnectionEntry, EndEntry } from '../../src/format/schema.js';
import { BIN } from '../helpers/cli.js';
import { frame, header, trailer } from './helpers.js';

const MiB = 1024 * 1024;
const HEAP_MIB = 40;
const CONNECTIONS = 300;
const FRAMES = 150;
let dir = '';
let archive = '';
let interleaved = '';

function connection(id: string, elapsed: number): ConnectionEntry {
  return {
    kind: 'connection',
    id,
    time: '2026-11-25T10:30:02.000Z',
    elapsed,
    url: 'ws://example.test/chat',
    mode: 'forward',
    client: { address: '127.0.0.1', port: 52101 },
    server: { host: 'example.test', port: 80 },
    request: { method: 'GET', target: '/chat', httpVersion: '1.1', headers: [['Host', 'example.test']] },
    response: { status: 101, statusText: 'Switching Protocols', httpVersion: '1.1', headers: [['Upgrade', 'websocket']] },
    subprotocol: null,
    extensions: null,
    permessageDeflate: null,
  };
}

function end(conn: string, elapsed: number): EndEntry {
  return {
    kind: 'end',
    conn,
    time: '2026-11-25T10:30:04.000Z',
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

/** Run the CLI with a capped heap; stdout is counted by lines, not kept. */
function capped(args: string[]): Promise<{ code: number | null; lines: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`--max-old-space-size=${HEAP_MIB}`, BIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    let lines = 0;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      for (const byte of chunk) if (byte === 0x0a) lines++;
    });
    child.stderr.on('data', (chunk) => (stderr += String(chunk)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, lines, stderr });
    });
  });
}

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
    writer.append(connection(id, c));
    for (let i = 0; i < FRAMES; i++) writer.append({ ...frame(i, `${i} ${payload}`), conn: id, elapsed: c + i / 1e4 });
    writer.append(end(id, c + 0.5));
  }
  writer.close(trailer);
  expect(statSync(archive).size).toBeGreaterThan(HEAP_MIB * MiB);

  interleaved = join(dir, 'long.wstape.json');
  const long = ArchiveWriter.open(interleaved, header);
  for (let c = 1; c <= 4; c++) long.append(connection(`c${c}`, c / 10));
  for (let i = 0; i < CONNECTIONS * FRAMES; i++) long.append({ ...frame(Math.floor(i / 4), `${i} ${payload}`), conn: `c${(i % 4) + 1}`, elapsed: 1 + i / 1e4 });
  for (let c = 1; c <= 4; c++) long.append(end(`c${c}`, 1e4));
  long.close(trailer);
  expect(statSync(interleaved).size).toBeGreaterThan(HEAP_MIB * MiB);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe(`commands over an archive larger than their heap (${HEAP_MIB} MiB)`, () => {
  it('stats --json: one line per connection', async () => {
    const result = await capped(['stats', archive, '--json']);
    expect(result.stderr).toBe('');
    expect([result.code, result.lines]).toEqual([0, CONNECTIONS]);
  });

  it('export --format har: every connection and every message in the HAR', async () => {
    const out = join(dir, 'many.har');
    const result = await capped(['export', archive, '-o', out]);
    expect(result.code).toBe(0);
    expect(await countIn(out, '"_resourceType": "websocket"')).toBe(CONNECTIONS);
    expect(await countIn(out, '"type": "send"')).toBe((CONNECTIONS * FRAMES) / 2);
    rmSync(out);
  });

  it('export --format har of connections open across the whole archive: every message', async () => {
    const out = join(dir, 'long.har');
    const result = await capped(['export', interleaved, '-o', out]);
    expect(result.code).toBe(0);
    expect(await countIn(out, '"_resourceType": "websocket"')).toBe(4);
    expect(await countIn(out, '"type": "send"')).toBe((CONNECTIONS * FRAMES) / 2);
    rmSync(out);
  });

  it('redact: every entry written', async () => {
    const out = join(dir, 'many.redacted.wstape.json');
    const result = await capped(['redact', archive, '-o', out]);
    expect(result.code).toBe(0);
    expect(await countIn(out, '"kind":"frame"')).toBe(CONNECTIONS * FRAMES);
    rmSync(out);
  });
});

/**
 * `wstape import` does not hold the HAR: the built CLI with a V8 heap of 40 MiB imports a HAR of
 * about 45 MB (the whole-document import needed the text, the parsed document and the archive
 * at once: several times that). The HAR has Chrome's shape (`_webSocketMessages` in epoch
 * seconds, no frame details, no close information) and lists each connection's messages whole,
 * one connection after the other, while their times interleave: the import must put them in time
 * order across connections (src/har/entry-sorter.ts, which here writes sorted runs to disk) and
 * number each connection's frames in its own order.
 */
import { closeSync, createReadStream, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCapped } from '../helpers/capped-cli.js';

const MiB = 1024 * 1024;
const HEAP_MIB = 40;
const CONNECTIONS = 4;
const MESSAGES = 10_500;
const PAYLOAD = 'p'.repeat(1000);
let dir = '';
let har = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wstape-import-memory-'));
  har = join(dir, 'chrome-like.har');
  const fd = openSync(har, 'w');
  writeSync(fd, '{"log":{"version":"1.2","creator":{"name":"WebInspector","version":"537.36"},"pages":[],"entries":[');
  for (let c = 0; c < CONNECTIONS; c++) {
    const entry = {
      startedDateTime: new Date(Date.UTC(2026, 10, 25, 10, 30, 0, c)).toISOString(),
      time: 0,
      request: { method: 'GET', url: `wss://example.test/feed/${c}`, httpVersion: 'HTTP/1.1', headers: [{ name: 'Host', value: 'example.test' }] },
      response: { status: 101, statusText: 'Switching Protocols', httpVersion: 'HTTP/1.1', headers: [] },
      _resourceType: 'websocket',
    };
    writeSync(fd, `${c === 0 ? '' : ','}${JSON.stringify(entry).slice(0, -1)},"_webSocketMessages":[`);
    let text = '';
    for (let m = 0; m < MESSAGES; m++) {
      // Connection c's message m at m*4+c milliseconds: the four interleave.
      const time = Date.UTC(2026, 10, 25, 10, 30, 1) / 1000 + (m * CONNECTIONS + c) / 1000;
      text += `${m === 0 ? '' : ','}${JSON.stringify({ type: m % 2 === 0 ? 'send' : 'receive', time, opcode: 1, data: `${c}:${m} ${PAYLOAD}` })}`;
      if (text.length > MiB) {
        writeSync(fd, text);
        text = '';
      }
    }
    writeSync(fd, `${text}]}`);
  }
  writeSync(fd, ']}}');
  closeSync(fd);
  expect(statSync(har).size).toBeGreaterThan(HEAP_MIB * MiB);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe(`import of a HAR larger than its heap (${HEAP_MIB} MiB)`, () => {
  it('imports every message, in time order across connections, numbered per connection', async () => {
    const out = join(dir, 'chrome-like.wstape.json');
    const result = await runCapped(HEAP_MIB, ['import', har, '-o', out]);
    expect(result.stderr).toContain(`imported ${CONNECTIONS} WebSocket connections (${CONNECTIONS * MESSAGES} frames)`);
    expect(result.code).toBe(0);
    // Read back here (no cap): elapsed never goes back; each connection's frames are 0, 1, 2...
    // and frame n of connection c is message n of HAR entry c.
    let last = -1;
    let frames = 0;
    let wrong = 0;
    const next = new Map<string, number>();
    for await (const line of createInterface({ input: createReadStream(out) })) {
      const json = line.replace(/^,/, '');
      if (!json.startsWith('{"kind"')) continue;
      const entry = JSON.parse(json) as { kind: string; conn?: string; index?: number; elapsed: number; text?: string; url?: string };
      if (entry.elapsed < last) wrong++;
      last = entry.elapsed;
      if (entry.kind !== 'frame' || entry.conn === undefined) continue;
      frames++;
      const index = next.get(entry.conn) ?? 0;
      const c = Number(entry.conn.slice(1)) - 1;
      if (entry.index !== index || entry.text !== `${c}:${index} ${PAYLOAD}`) wrong++;
      next.set(entry.conn, index + 1);
    }
    expect([frames, wrong]).toEqual([CONNECTIONS * MESSAGES, 0]);
  });
});

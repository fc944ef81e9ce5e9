/**
 * The export's message spill (src/har/message-spill.ts): a HAR written with each open
 * connection's messages in a temporary file is byte for byte the HAR written from memory, for
 * connections interleaved over the archive, with multi-byte text that falls across the file's
 * read boundaries, and pings and pongs (the control frames, spilled too); the files are gone once
 * their entries are written.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../src/format/schema.js';
import { HarExporter, HarTextWriter } from '../../src/har/to-har.js';
import { buildFrameFilter } from '../../src/inspect/frame-filter.js';
import { frame, header, wsConnection, wsEnd } from '../format/helpers.js';

const SPILL_END_TIME = '2026-11-25T10:30:09.000Z';

/** Three connections open across the archive, their frames interleaved; c3 never ends. */
function archive(): Entry[] {
  const entries: Entry[] = [wsConnection('c1', 1), wsConnection('c2', 1.1), wsConnection('c3', 1.2)];
  for (let i = 0; i < 9000; i++) {
    const conn = `c${(i % 3) + 1}`;
    // 3-byte and 4-byte UTF-8 characters at varying offsets, so some straddle a 1 MiB read.
    entries.push({ ...frame(Math.floor(i / 3), `${'é'.repeat(i % 7)} 東京 🙂 ${i} ${'x'.repeat(300 + (i % 13))}`), conn, elapsed: 2 + i / 1000 });
    if (i % 10 === 0) {
      const { text: _text, ...control } = frame(Math.floor(i / 3), '');
      const type = i % 20 === 0 ? 'ping' : 'pong';
      entries.push({
        ...control,
        type,
        opcode: type === 'ping' ? 9 : 10,
        data: Buffer.from(`${type} ${i}`).toString('base64'),
        size: 7,
        conn,
        elapsed: 2 + i / 1000,
      });
    }
  }
  entries.push(wsEnd('c1', 9, SPILL_END_TIME), wsEnd('c2', 9.5, SPILL_END_TIME));
  return entries;
}

function exportText(spillDir?: string): string {
  const exporter = new HarExporter({ scope: { filter: buildFrameFilter({}) }, header, version: '0.0.0', source: 'a.wstape.json', filters: '', spillDir });
  const writer = new HarTextWriter();
  let text = writer.head(exporter.logHead());
  for (const entry of archive()) for (const har of exporter.add(entry)) for (const chunk of writer.entry(har)) text += chunk;
  for (const har of exporter.finish()) for (const chunk of writer.entry(har)) text += chunk;
  return text + writer.tail(exporter.logTail(null));
}

describe('the export message spill', () => {
  it('writes the same HAR as from memory, and leaves no file behind', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wstape-spill-'));
    try {
      const spilled = exportText(dir);
      const inMemory = exportText();
      expect(spilled.length).toBeGreaterThan(3 * 1024 * 1024); // over a MiB per connection
      expect(spilled).toBe(inMemory);
      const har = JSON.parse(spilled) as { log: { entries: Array<{ _wstapeControlFrames?: unknown[] }> } };
      expect(har.log.entries.map((entry) => entry._wstapeControlFrames?.length)).toEqual([300, 300, 300]);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * `wstape export --format md`: the transcript of a recorded session holds the connections table,
 * each handshake in a code block, the frames in the arrow view without colour, and the close
 * diagnosis of `wstape stats`; it stays bounded, and recorded content cannot break its blocks.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runExport, type ExportOptions } from '../../src/share/export-archive.js';
import type { Entry } from '../../src/format/schema.js';
import { statsOf } from '../../src/inspect/stats.js';
import { readEntries } from '../helpers/peers.js';
import { ANSI, connection, end, fakeIo, frame, tempDir, writeArchive } from '../output/test-archives.js';
import { recordHarSession } from './har-session.js';

beforeAll(() => {
  process.env.TZ = 'UTC';
});

async function markdown(file: string, options: Partial<ExportOptions> = {}): Promise<string> {
  const io = fakeIo();
  expect(await runExport({ file, format: 'md', ...options }, io)).toBe(0);
  return io.out();
}

describe('export --format md of a recorded session', () => {
  let archive: string;
  let entries: Entry[];
  let text: string;
  beforeAll(async () => {
    archive = await recordHarSession();
    entries = await readEntries(archive);
    text = await markdown(archive);
  });

  it('starts with what was recorded, and a table of the connections and exchanges', () => {
    expect(text).toMatch(/^# wstape transcript: test\.wstape\.json\n/);
    expect(text).toContain('- Exported: 3 WebSocket connections, 3 HTTP exchanges');
    expect(text).toContain('- Not redacted: check headers and payloads for secrets before posting');
    expect(text).toContain('| ID | Kind | URL | Status | Frames out/in | Close | Duration |');
    expect(text).toMatch(/\n\| c1 \| WebSocket \| ws:\/\/127\.0\.0\.1:\d+\/chat\?room=general \| 101 \| 8\/7 \| 4001 by client \| \d+ ms \|\n/);
    expect(text).toMatch(/\n\| c3 \| WebSocket \| .*\/drop \| 101 \| 1\/0 \| 1006 by server \|/);
    expect(text).toMatch(/\n\| h1 \| HTTP \| GET http:\/\/127\.0\.0\.1:\d+\/api\/items\?x=1&y=two%20words \| 200 \|/);
  });

  it('shows each handshake: request line and headers, status line and headers, in a code block', () => {
    expect(text).toMatch(
      /Handshake:\n\n```http\nGET \/chat\?room=general HTTP\/1\.1\nSec-WebSocket-Version: 13\n[^`]*\n\nHTTP\/1\.1 101 Switching Protocols\nUpgrade: websocket\n/,
    );
  });

  it('shows the frames in the arrow view, without colour, in a fenced block', () => {
    expect(text).not.toMatch(ANSI);
    const block = /Frames \(15\):\n\n```\n([^`]*)\n```/.exec(text)?.[1] ?? '';
    const lines = block.split('\n').map((line) => line.replace(/^\[[^\]]+\] /, ''));
    expect(lines).toEqual([
      'c1 --> {"type":"join","room":"general"}',
      'c1 --> BINARY 7 B 00 01 02 fe ff 80 7f',
      'c1 <-- {"type":"welcome","error":null}',
      'c1 --> frag-one  [frag]',
      'c1 --> PING "between"',
      'c1 <-- PONG "between"',
      'c1 --> CONT frag-two',
      'c1 <-- BINARY 2 B 00 01 [frag]',
      'c1 <-- CONT 3 B 02 fe ff [frag]',
      'c1 <-- CONT 2 B 80 7f',
      'c1 <-- PING "srv"',
      'c1 --> PONG "srv"',
      'c1 --> (empty)',
      'c1 --> CLOSE 4001 Private use "done"',
      'c1 <-- CLOSE 4001 Private use "done"',
      'c1 === closed 4001 Private use "done" by client (clean) (120 B out, 68 B in)',
    ]);
    // UTC times as the archive has them.
    expect(block).toMatch(/^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] c1 --> /);
  });

  it('ends each connection with its close and the diagnosis from stats', () => {
    const stats = statsOf(entries);
    for (const report of stats) expect(text).toContain(`- **Diagnosis:** ${report.diagnosis}`);
    expect(text).toContain('- **Close:** 4001 Private use "done" by client (clean)');
    expect(text).toContain('- **Close:** 1006 Abnormal closure by server (not clean, server dropped the TCP connection)');
  });

  it('shows HTTP exchanges with their bodies: text, binary noted, gzip decoded', () => {
    expect(text).toContain('{"items":[{"id":1,"name":"ünïcode"}]}');
    expect(text).toContain('(binary body, 10 B)');
    expect(text).toMatch(/\{"zipped":true,"items":\[1,2,3\]\}\n\(gzip, \d+ B as sent\)/);
  });

  it('keeps the first and last halves of a long conversation, saying how many frames were left out', async () => {
    const cut = await markdown(archive, { maxFrames: 4, conn: ['c1'] });
    expect(cut).toContain('Frames: the first 2 and the last 2 of 15, 11 left out between them (`--max-frames N` shows more):');
    const block = /left out between them[^\n]*\n\n```\n([^`]*)\n```/.exec(cut)?.[1] ?? '';
    expect(block.split('\n').map((line) => line.replace(/^\[[^\]]+\] /, ''))).toEqual([
      'c1 --> {"type":"join","room":"general"}',
      'c1 --> BINARY 7 B 00 01 02 fe ff 80 7f',
      '… 11 frames left out …',
      'c1 --> CLOSE 4001 Private use "done"',
      'c1 <-- CLOSE 4001 Private use "done"',
      'c1 === closed 4001 Private use "done" by client (clean) (120 B out, 68 B in)',
    ]);
  });

  it('applies the show filters', async () => {
    const filtered = await markdown(archive, { type: ['ping'], dir: 'in' });
    expect(filtered).toContain('- Exported: 1 WebSocket connection, 0 HTTP exchanges, filtered with `--dir in --type ping`');
    expect(filtered).toContain('Frames that matched the filters (1):');
    expect(filtered).toMatch(/c1 <-- PING "srv"/);
    expect(filtered).not.toMatch(/c1 --> PING/);
    expect(filtered).not.toContain('## c2');
  });

  it('says when nothing matched', async () => {
    const io = fakeIo();
    await runExport({ file: archive, format: 'md', grep: 'no such thing anywhere' }, io);
    expect(io.out()).toContain('Nothing in the archive matched the filters.');
    expect(io.err()).toMatch(/wstape: warning: nothing in .* matched the filters \(--grep "no such thing anywhere"\)/);
  });
});

describe('export --format md of hostile content', () => {
  it('makes fences longer than any run of backticks inside, and escapes table cells', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const file = await writeArchive(join(dir, 'a.wstape.json'), [
        connection('c1', { url: 'ws://x.test/a|b' }),
        frame({ conn: 'c1', index: 0, text: 'close the block ``` then ```` and \u001b[31mred', size: 40 }),
        end('c1'),
      ]);
      const text = await markdown(file);
      expect(text).toContain('| c1 | WebSocket | ws://x.test/a\\|b |');
      expect(text).toMatch(/\n`````\n\[[^\]]+\] c1 --> close the block ``` then ```` and \\x1b\[31mred\n/);
      expect(text).not.toMatch(ANSI);
    } finally {
      await cleanup();
    }
  });
});

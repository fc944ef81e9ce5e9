/**
 * `wstape list` on a terminal fits its width: the URL column is shortened in the middle so no
 * row wraps; --wide, a pipe or a file get full values. The terminal is a fake io with a width.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runList, type ListOptions } from '../../src/commands/list.js';
import { stripAnsi } from '../../src/output/colors.js';
import { shortenMiddle } from '../../src/output/list-table.js';
import { connection, end, fakeIo, httpExchange, tempDir, writeArchive } from '../output/test-archives.js';

const LONG = 'ws://chat.example.com:9443/api/v2/realtime/sessions/0123456789abcdef/stream';

describe('shortenMiddle', () => {
  it.each([
    ['ws://host/path', 20, 'ws://host/path'],
    ['ws://host/very/long/path', 14, 'ws://ho…g/path'],
    ['abcdefghij', 5, 'ab…ij'],
    ['abcdefghij', 1, '…'],
  ])('%s in %i', (text, width, expected) => {
    const short = shortenMiddle(text, width);
    expect(short).toBe(expected);
    expect([...short].length).toBeLessThanOrEqual(width);
  });
});

describe('list: fitting the terminal', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let archive: string;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    archive = await writeArchive(join(dir, 'wide.wstape'), [
      connection('c1', { url: LONG }),
      httpExchange('h1', { url: 'http://127.0.0.1:9000/health' }),
      end('c1'),
    ]);
  });
  afterAll(async () => cleanup());

  async function list(options: Partial<ListOptions>, io: ReturnType<typeof fakeIo>): Promise<string[]> {
    expect(await runList({ file: archive, json: false, ...options }, io)).toBe(0);
    return io.out().trimEnd().split('\n').map(stripAnsi);
  }

  it.each([
    ['plain (NO_COLOR)', 110, { NO_COLOR: '1' }],
    ['boxed (colour)', 130, { FORCE_COLOR: '1' }],
  ])('on a terminal, %s, of %i columns: no line is wider, and the URL keeps its host and end', async (_name, columns, env) => {
    const lines = await list({}, fakeIo({ tty: true, columns, env }));
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(columns);
    const row = lines.find((line) => line.includes('c1'))!;
    expect(row).toMatch(/ ws:\/\/chat\.example\.com:9443\/[^ ]*…[^ ]*\/stream /);
    expect(row).not.toContain(LONG);
    // A URL that fits stays whole.
    expect(lines.join('\n')).toContain('POST http://127.0.0.1:9000/health');
  });

  it('takes the width from $COLUMNS when the terminal does not say', async () => {
    const lines = await list({}, fakeIo({ tty: true, env: { NO_COLOR: '1', COLUMNS: '90' } }));
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(90);
    expect(lines.join('\n')).toContain('…');
  });

  it('--wide, a pipe, and a wide enough terminal get full values', async () => {
    expect((await list({ wide: true }, fakeIo({ tty: true, columns: 80, env: { NO_COLOR: '1' } }))).join('\n')).toContain(LONG);
    expect((await list({}, fakeIo({ columns: 80, env: { COLUMNS: '80' } }))).join('\n')).toContain(LONG);
    const roomy = await list({}, fakeIo({ tty: true, columns: 300, env: { NO_COLOR: '1' } }));
    expect(roomy.join('\n')).toContain(LONG);
    expect(roomy.join('\n')).not.toContain('…');
  });
});

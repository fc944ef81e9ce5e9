/**
 * `wstape import`: argv → options, where the archive goes, and that what it writes is a complete
 * archive the reader accepts. The conversion itself is tested in test/har/.
 */
import { copyFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importCommand } from '../../src/commands/import.js';
import { defaultArchivePath, runImport, type ImportOptions } from '../../src/har/import-har.js';
import { isCliError } from '../../src/errors.js';
import { openArchive } from '../../src/format/archive-reader.js';
import { PACKAGE_VERSION } from '../../src/version.js';
import { parseCommand } from '../helpers/argv.js';
import { fakeIo } from '../output/test-archives.js';
import { scratch } from '../har/helpers.js';

const CHROME = new URL('../../fixtures/har/chrome-websocket.har', import.meta.url);

const parseArgs = (argv: string[]): Promise<ImportOptions> => parseCommand(importCommand, argv);

describe('import: argv -> options', () => {
  it.each<[string[], Partial<ImportOptions>]>([
    [['import', 's.har'], { file: 's.har' }],
    [['import', 's.har', '-o', 'x.wstape.json'], { file: 's.har', out: 'x.wstape.json' }],
    [['import', 's.har', '--out', 'x.wstape.json', '--force'], { out: 'x.wstape.json', force: true }],
  ])('%j', async (argv, expected) => {
    expect(await parseArgs(argv)).toMatchObject(expected);
  });

  it.each([[['import']], [['import', 's.har', '--bogus']]])('rejects %j', async (argv) => {
    await expect(parseArgs(argv)).rejects.toThrow();
  });

  it.each([
    ['session.har', 'session.wstape.json'],
    ['dir/Session.HAR', 'dir/Session.wstape.json'],
    ['capture.json', 'capture.wstape.json'],
    ['capture', 'capture.wstape.json'],
    ['x.wstape.json', 'x.wstape.json.wstape.json'],
  ])('writes %s to %s by default', (file, out) => {
    expect(defaultArchivePath(file)).toBe(out);
  });
});

describe('import', () => {
  it('writes FILE.wstape.json next to the HAR: a complete archive, 0600, with a summary on stderr', async () => {
    const dir = scratch();
    const file = join(dir, 'chrome.har');
    copyFileSync(CHROME, file);
    const io = fakeIo();
    expect(await runImport({ file }, io)).toBe(0);
    const out = join(dir, 'chrome.wstape.json');
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(io.err()).toContain(`wstape: imported 1 WebSocket connection (6 frames) and 2 HTTP exchanges from chrome.har (written by WebInspector) into ${out}`);

    const reader = await openArchive(out);
    expect(reader.header).toEqual({
      format: 'wstape',
      version: 2,
      creator: { name: 'wstape', version: PACKAGE_VERSION },
      startedAt: '2024-11-25T10:30:01.900Z',
    });
    const kinds: string[] = [];
    for await (const entry of reader.entries()) kinds.push(entry.kind);
    expect(kinds).toEqual(['http', 'http', 'connection', 'frame', 'frame', 'frame', 'frame', 'frame', 'frame']);
    expect(reader.complete).toBe(true);
    expect(reader.trailer).toEqual({
      stoppedAt: '2024-11-25T10:30:03.251Z',
      summary: { connections: 1, exchanges: 2, tunnels: 0, frames: 6, bytes: 119, errors: 0 },
    });
  });

  it('refuses to replace an existing archive without --force, and replaces it with', async () => {
    const dir = scratch();
    const out = join(dir, 'a.wstape.json');
    writeFileSync(out, 'precious');
    const error = await runImport({ file: CHROME.pathname, out }, fakeIo()).catch((caught: unknown) => caught);
    expect(isCliError(error) && error.code).toBe('ERR_WRITE');
    // It says how to replace it, as `wstape export` does.
    expect(isCliError(error) && error.message).toContain('--force');
    expect(readFileSync(out, 'utf8')).toBe('precious');
    expect(await runImport({ file: CHROME.pathname, out, force: true }, fakeIo())).toBe(0);
    expect(readFileSync(out, 'utf8')).toMatch(/^\{"format":"wstape"/);
  });

  it('reports a missing file as ERR_FILE, exit code 2, and writes nothing', async () => {
    const dir = scratch();
    const error = await runImport({ file: join(dir, 'none.har') }, fakeIo()).catch((caught: unknown) => caught);
    expect(isCliError(error) && [error.code, error.exitCode]).toEqual(['ERR_FILE', 2]);
    expect(existsSync(join(dir, 'none.wstape.json'))).toBe(false);
  });

  it('reports a bad HAR as ERR_HAR with its JSON path, exit code 2', async () => {
    const dir = scratch();
    const file = join(dir, 'bad.har');
    writeFileSync(
      file,
      JSON.stringify({
        log: {
          entries: [
            {
              startedDateTime: '2024-11-25T10:30:00Z',
              request: { method: 'GET', url: 'http://x/', headers: 'Host: x' },
              response: { status: 200, headers: [] },
            },
          ],
        },
      }),
    );
    const error = await runImport({ file }, fakeIo()).catch((caught: unknown) => caught);
    expect(isCliError(error) && [error.code, error.exitCode]).toEqual(['ERR_HAR', 2]);
    expect(isCliError(error) && error.message).toBe(
      `${file} is not a HAR file wstape can import: log.entries[0].request.headers: expected an array, got a string`,
    );
    expect(existsSync(join(dir, 'bad.wstape.json'))).toBe(false);
  });
});

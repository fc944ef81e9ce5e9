/**
 * `wstape export`: argv → options, where the output goes (stdout, or a 0600 file that appears
 * whole or not at all), the show filters applied to a real recorded session, and --redact.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportCommand } from '../../src/commands/export.js';
import { resolveExportFormat, runExport, type ExportOptions } from '../../src/share/export-archive.js';
import { isCliError } from '../../src/errors.js';
import type { Har, HarEntry } from '../../src/har/har-types.js';
import { parseCommand } from '../helpers/argv.js';
import { fakeIo } from '../output/test-archives.js';
import { recordHarSession } from '../har/har-session.js';
import { expectValidHar, exportHar, scratch } from '../har/helpers.js';

const parseArgs = (argv: string[]): Promise<ExportOptions> => parseCommand(exportCommand, argv);

describe('export: argv -> options', () => {
  it.each<[string[], Partial<ExportOptions>]>([
    [['export', 'a.wstape.json'], { file: 'a.wstape.json' }],
    [['export', 'a.wstape.json', '--format', 'md', '-o', 'x.md'], { format: 'md', out: 'x.md' }],
    [['export', 'a.wstape.json', '-f', 'har', '--out', 'x.har', '--force'], { format: 'har', out: 'x.har', force: true }],
    [['export', 'a.wstape.json', '--conn', 'c1', '--conn', 'c2,h1'], { conn: ['c1', 'c2', 'h1'] }],
    [['export', 'a.wstape.json', '--dir', 'in', '--type', 'text,ping'], { dir: 'in', type: ['text', 'ping'] }],
    [
      ['export', 'a.wstape.json', '--grep', 'err', '-i', '--since', '12.5', '--until', '2026-11-25T10:30:05Z'],
      { grep: 'err', ignoreCase: true, since: '12.5', until: '2026-11-25T10:30:05Z' },
    ],
    [['export', 'a.wstape.json', '--redact', '--rule', 'header:X-Token', '--rule', 'regex:a,b'], { redact: true, rule: ['header:X-Token', 'regex:a,b'] }],
    [['export', 'a.wstape.json', '--max-frames', '20', '--time', 'rel'], { maxFrames: 20, time: 'rel' }],
  ])('%j', async (argv, expected) => {
    expect(await parseArgs(argv)).toMatchObject(expected);
  });

  it.each([[['export']], [['export', 'a', '--format', 'pdf']], [['export', 'a', '--dir', 'up']], [['export', 'a', '--bogus']]])('rejects %j', async (argv) => {
    await expect(parseArgs(argv)).rejects.toThrow();
  });

  it.each<[Partial<ExportOptions>, string]>([
    [{}, 'har'],
    [{ out: 'x.har' }, 'har'],
    [{ out: 'notes.MD' }, 'md'],
    [{ out: 'notes.markdown' }, 'md'],
    [{ out: 'x.md', format: 'har' }, 'har'],
    [{ out: 'report.html' }, 'html'],
    [{ out: 'report.HTM' }, 'html'],
    [{ out: 'report.html', format: 'md' }, 'md'],
  ])('picks the format from %j: %s', (options, format) => {
    expect(resolveExportFormat(options)).toBe(format);
  });
});

describe('export of a recorded session', () => {
  let archive: string;
  beforeAll(async () => {
    archive = await recordHarSession();
  });

  const ids = (har: Har): (string | undefined)[] => har.log.entries.map((entry) => entry._wstape?.id);
  const entry = (har: Har, id: string): HarEntry | undefined => har.log.entries.find((candidate) => candidate._wstape?.id === id);

  describe('output', () => {
    it('writes -o OUT readable by its owner only, says so on stderr, and leaves no partial file', async () => {
      const dir = scratch();
      const out = join(dir, 'session.har');
      const io = fakeIo();
      expect(await runExport({ file: archive, out }, io)).toBe(0);
      expect(io.out()).toBe('');
      expect(io.err()).toContain(`wstape: wrote ${out}`);
      expect(statSync(out).mode & 0o777).toBe(0o600);
      expectValidHar(JSON.parse(readFileSync(out, 'utf8')));
      expect(readdirSync(dir)).toEqual(['session.har']);
    });

    it('refuses to replace an existing OUT without --force (ERR_WRITE), and replaces it with', async () => {
      const dir = scratch();
      const out = join(dir, 'x.md');
      writeFileSync(out, 'keep me');
      const error = await runExport({ file: archive, out }, fakeIo()).catch((caught: unknown) => caught);
      expect(isCliError(error) && error.code).toBe('ERR_WRITE');
      expect(readFileSync(out, 'utf8')).toBe('keep me');
      expect(await runExport({ file: archive, out, force: true }, fakeIo())).toBe(0);
      expect(readFileSync(out, 'utf8')).toMatch(/^# wstape transcript/);
      expect(readdirSync(dir)).toEqual(['x.md']);
    });

    it('warns that the export holds credentials unless --redact', async () => {
      const { io } = await exportHar(archive);
      expect(io.err()).toMatch(/wstape: warning: the export holds credentials \(a Cookie header, at least\); --redact replaces them/);
    });

    it('refuses bad options before reading', async () => {
      for (const options of [{ type: ['texty'] }, { maxFrames: 0 }, { grep: '(' }, { since: 'soon' }, { rule: ['nope'] }]) {
        const error = await runExport({ file: '/nonexistent', ...options }, fakeIo()).catch((caught: unknown) => caught);
        expect(isCliError(error) && error.code).toBe('ERR_USAGE');
      }
    });

    it('reports a missing archive as ERR_FILE', async () => {
      const error = await runExport({ file: join(scratch(), 'nope.wstape.json') }, fakeIo()).catch((caught: unknown) => caught);
      expect(isCliError(error) && error.code).toBe('ERR_FILE');
    });
  });

  describe('filters', () => {
    it('--conn keeps those connections and exchanges', async () => {
      expect(ids((await exportHar(archive, { conn: ['c1'] })).har)).toEqual(['c1']);
      expect(ids((await exportHar(archive, { conn: ['h1', 'c3'] })).har)).toEqual(['h1', 'c3']);
    });

    it('--dir keeps one direction of messages and control frames, and leaves out HTTP exchanges', async () => {
      const { har } = await exportHar(archive, { dir: 'out' });
      expectValidHar(har);
      expect(ids(har)).toEqual(['c1', 'c2', 'c3']);
      for (const item of har.log.entries) {
        for (const message of [...(item._webSocketMessages ?? []), ...(item._wstapeControlFrames ?? [])]) expect(message.type).toBe('send');
      }
    });

    it('--type keeps frames of those types; a connection without one is left out', async () => {
      const { har } = await exportHar(archive, { type: ['ping'] });
      expect(ids(har)).toEqual(['c1']);
      expect(entry(har, 'c1')?._webSocketMessages).toEqual([]);
      expect(entry(har, 'c1')?._wstapeControlFrames?.map((item) => `${item.type} ${item.opcode}`)).toEqual(['send 9', 'receive 9']);
      // The handshake and the close come along.
      expect(entry(har, 'c1')?._webSocketClose).toMatchObject({ code: 4001 });
    });

    it('--grep (with -i) matches messages, also across their fragments', async () => {
      const welcome = (await exportHar(archive, { grep: 'WELCOME', ignoreCase: true })).har;
      expect(ids(welcome)).toEqual(['c1']);
      expect(entry(welcome, 'c1')?._webSocketMessages?.map((message) => message.data)).toEqual(['{"type":"welcome","error":null}']);
      expect((await exportHar(archive, { grep: 'WELCOME' })).har.log.entries).toEqual([]);
      const spanning = (await exportHar(archive, { grep: 'one frag-two' })).har;
      expect(entry(spanning, 'c1')?._webSocketMessages?.map((message) => message.data)).toEqual(['frag-one frag-two']);
    });

    it('--since and --until keep what happened in the range, HTTP exchanges by their start', async () => {
      const { har: all } = await exportHar(archive);
      const c2 = entry(all, 'c2');
      const from = c2?._wstape?.elapsed ?? 0;
      const to = c2?._wstape?.end?.elapsed ?? 0;
      const { har } = await exportHar(archive, { since: from, until: to });
      expect(ids(har)).toEqual(['c2']);
      expect(entry(har, 'c2')?._webSocketMessages).toHaveLength(2);
      const early = (await exportHar(archive, { until: from })).har;
      expect(ids(early)).toEqual(['h1', 'h2', 'h3', 'c1']);
    });

    it('keeps an HTTP exchange that --conn names even with frame filters', async () => {
      expect(ids((await exportHar(archive, { conn: ['h2', 'c1'], type: ['close'] })).har)).toEqual(['h2', 'c1']);
    });

    it('warns when nothing matched', async () => {
      const { har, io } = await exportHar(archive, { conn: ['c9'] });
      expect(har.log.entries).toEqual([]);
      expect(io.err()).toMatch(/wstape: warning: nothing in .* matched the filters \(--conn c9\)/);
    });
  });

  describe('--redact', () => {
    it('replaces credentials before converting, and reports what it replaced on stderr', async () => {
      const { har, io } = await exportHar(archive, { redact: true });
      expectValidHar(har);
      const h1 = entry(har, 'h1');
      expect(h1?.request.headers.find((header) => header.name === 'Cookie')?.value).not.toContain('dark');
      expect(JSON.stringify(har)).not.toContain('abc123');
      expect(io.err()).toMatch(/wstape: redacted \d+ values? in \d+ entr/);
      expect(io.err()).not.toMatch(/holds credentials/);
    });

    it('--rule adds rules (and implies --redact)', async () => {
      const { har } = await exportHar(archive, { rule: ['regex:general'] });
      expect(JSON.stringify(entry(har, 'c1')?._webSocketMessages?.[0])).not.toContain('general');
      expect(JSON.stringify(har)).not.toContain('abc123');
    });

    it('also redacts the Markdown transcript', async () => {
      const io = fakeIo();
      await runExport({ file: archive, format: 'md', redact: true }, io);
      expect(io.out()).toContain('- Redacted with `--redact`');
      expect(io.out()).not.toContain('abc123');
      expect(existsSync(archive)).toBe(true);
    });
  });
});

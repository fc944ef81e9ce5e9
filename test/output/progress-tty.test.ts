/**
 * The progress line end to end: the built CLI under a real pseudo-terminal (util-linux `script`,
 * which gives the command a pty for stdout and stderr) over an archive of about 10 MiB, and the
 * same commands with stderr piped. On the terminal the line appears (`wstape stats: ... of ...`,
 * drawn with erase-line) and is erased at the end; piped, or with --quiet, it never appears.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveWriter } from '../../src/format/archive-writer.js';
import { PROGRESS_MIN_BYTES } from '../../src/output/progress.js';
import { frame, header, trailer } from '../format/helpers.js';
import { runCli } from '../helpers/cli.js';
import { underPty } from '../helpers/pty.js';

let dir = '';
const tmp = (): string => dir;
const ERASE = '\r\u001b[2K';
let archive = '';

afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wstape-progress-'));
  archive = join(tmp(), 'ten.wstape.json');
  const writer = ArchiveWriter.open(archive, header);
  const payload = 'p'.repeat(600);
  for (let i = 0; i < 14_000; i++) writer.append(frame(i, payload));
  writer.close(trailer);
  expect(statSync(archive).size).toBeGreaterThan(PROGRESS_MIN_BYTES);
});

describe('the progress line of a real command', () => {
  it('shows on a terminal for stats, and is erased before the report', async () => {
    const { code, screen } = await underPty(['stats', archive]);
    expect(code).toBe(0);
    // eslint-disable-next-line no-control-regex -- the erase-line sequence is what is checked
    expect(screen).toMatch(/\r\u001b\[2Kwstape stats: [\d.]+ (KiB|MiB) of [\d.]+ MiB \(\d+%\)/);
    // Erased before the report is printed: the report follows an erase, not the line's text.
    const report = screen.indexOf('c1');
    expect(report).toBeGreaterThan(0);
    expect(screen.lastIndexOf(ERASE, report)).toBeGreaterThan(screen.lastIndexOf('wstape stats:', report));
  });

  it('shows with NO_COLOR (it is not colour), for export to a file and show --json redirected', async () => {
    const out = join(tmp(), 'ten.har');
    const exported = await underPty(['export', archive, '-o', out], { NO_COLOR: '1' });
    expect(exported.code).toBe(0);
    expect(exported.screen).toContain(`${ERASE}wstape export: `);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({ log: { version: '1.2' } });
    const json = join(tmp(), 'ten.jsonl');
    const shown = await underPty(['show', archive, '--json', '--grep', 'p{600}'], { NO_COLOR: '1' }, json);
    expect(shown.code).toBe(0);
    expect(shown.screen).toContain(`${ERASE}wstape show: `);
    expect(
      readFileSync(json, 'utf8')
        .split('\n')
        .filter((line) => line !== ''),
    ).toHaveLength(14_000);
  });

  it('does not show for show when its stdout is the terminal too (the two would mix)', async () => {
    const { code, screen } = await underPty(['show', archive, '--json', '--grep', 'nothing-matches']);
    expect(code).toBe(0);
    expect(screen).not.toContain('wstape show:');
  });

  it('never shows with --quiet, even on a terminal', async () => {
    const { code, screen } = await underPty(['stats', archive, '--quiet']);
    expect(code).toBe(0);
    expect(screen).not.toContain('wstape stats:');
    expect(screen).not.toContain(ERASE);
  });

  it('never shows when stderr is piped', async () => {
    for (const args of [
      ['stats', archive],
      ['list', archive],
      ['show', archive, '--json'],
    ]) {
      const result = await runCli(args, { timeoutMs: 60_000 });
      expect(result.code).toBe(0);
      expect(result.stderr).not.toMatch(/wstape (stats|list|show):/);
      expect(result.stderr).not.toContain('\u001b');
    }
  });
});

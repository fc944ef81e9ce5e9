/**
 * The progress line of the commands test/output/progress-tty.test.ts does not run (list, redact,
 * diff, import), under a real pseudo-terminal over inputs of about 10 MiB: drawn on stderr
 * (`wstape list: ... of ...`, with erase-line) and erased at the end; never with --quiet, and
 * never when stderr is piped. `import` reads its HAR twice: a line for each pass.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveWriter } from '../../src/format/archive-writer.js';
import { PROGRESS_MIN_BYTES } from '../../src/output/progress.js';
import { frame, header, trailer, wsConnection } from '../format/helpers.js';
import { runCli } from '../helpers/cli.js';
import { underPty } from '../helpers/pty.js';

const ERASE = '\r\u001b[2K';
let dir = '';
let archive = '';
let har = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wstape-progress-commands-'));
  archive = join(dir, 'ten.wstape.json');
  const writer = ArchiveWriter.open(archive, header);
  // A connection, so that the export has an entry to hold the frames.
  writer.append({ ...wsConnection('c1', 0.5), time: '2026-11-25T10:30:00.500Z' });
  const payload = 'p'.repeat(600);
  for (let i = 0; i < 14_000; i++) writer.append(frame(i, payload));
  writer.close(trailer);
  har = join(dir, 'ten.har');
  const exported = await runCli(['export', archive, '-o', har, '--quiet'], { timeoutMs: 60_000 });
  expect(exported.code).toBe(0);
  expect(Math.min(statSync(archive).size, statSync(har).size)).toBeGreaterThan(PROGRESS_MIN_BYTES);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What each command is run as, and the labels of its lines (`wstape LABEL: `): import has one per pass. */
const commands = (): Array<[string[], string[]]> => [
  [['list'], ['list', archive]],
  [['redact'], ['redact', archive, '-o', join(dir, 'r.wstape.json'), '--force']],
  [['diff ten.wstape.json'], ['diff', archive, archive]],
  [
    ['import (checking)', 'import (converting)'],
    ['import', har, '-o', join(dir, 'i.wstape.json'), '--force'],
  ],
];
const pattern = (label: string): string => label.replace(/[()]/g, '\\$&');

describe('the progress line of list, redact, diff and import', () => {
  it('shows on a terminal and is erased before the command ends', async () => {
    for (const [labels, args] of commands()) {
      const { code, screen } = await underPty(args);
      expect([labels, code]).toEqual([labels, 0]);
      for (const label of labels) {
        expect(screen).toMatch(new RegExp(`\\r\\u001b\\[2Kwstape ${pattern(label)}: [\\d.]+ (KiB|MiB) of [\\d.]+ MiB \\(\\d+%\\)`));
        expect(screen.lastIndexOf(ERASE)).toBeGreaterThan(screen.lastIndexOf(`wstape ${label}: `));
      }
    }
  });

  it('never shows with --quiet, even on a terminal', async () => {
    for (const [labels, args] of commands()) {
      const { code, screen } = await underPty([...args, '--quiet']);
      expect([labels, code]).toEqual([labels, 0]);
      for (const label of labels) expect(screen).not.toContain(`wstape ${label}: `);
      expect(screen).not.toContain(ERASE);
    }
  });

  it('never shows when stderr is piped', async () => {
    for (const [labels, args] of commands()) {
      const result = await runCli(args, { timeoutMs: 60_000 });
      expect([labels, result.code]).toEqual([labels, 0]);
      for (const label of labels) expect(result.stderr).not.toContain(`wstape ${label}: `);
      expect(result.stderr).not.toContain('\u001b');
    }
  });
});

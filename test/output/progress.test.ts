/**
 * The progress line (src/output/progress.ts) on a fake terminal with a fake clock: when it
 * draws, that it redraws in place no more often than REDRAW_MS, what the line says, and that it
 * is erased at the end; and when it never draws (not a TTY, --quiet, TERM=dumb, a small input,
 * stdout a terminal for a command that prints as it reads). NO_COLOR does not stop it.
 */
import { describe, expect, it } from 'vitest';
import { PROGRESS_MIN_BYTES, REDRAW_MS, progressText, startProgress } from '../../src/output/progress.js';

const MiB = 1024 * 1024;
const ERASE = '\r\u001b[2K';

function terminal(options: { stderrTty?: boolean; stdoutTty?: boolean; env?: Record<string, string> } = {}) {
  const writes: string[] = [];
  let now = 1_000_000;
  const io = {
    stderr: { write: (chunk: string | Uint8Array) => (writes.push(String(chunk)), true), isTTY: options.stderrTty ?? true },
    stdout: { write: () => true, isTTY: options.stdoutTty ?? false },
    env: options.env ?? {},
  };
  return { io, writes, clock: () => now, advance: (ms: number) => (now += ms) };
}

describe('the progress line on a terminal', () => {
  it('draws at the first update, redraws in place at most every REDRAW_MS, and is erased at the end', () => {
    const t = terminal();
    const progress = startProgress(t.io, { label: 'show', total: 100 * MiB, now: t.clock });
    t.advance(100);
    progress.update(10 * MiB);
    expect(t.writes).toHaveLength(1);
    for (let step = 0; step < 10; step++) {
      t.advance(REDRAW_MS / 10 - 1);
      progress.update(11 * MiB + step);
    }
    expect(t.writes).toHaveLength(1); // throttled
    t.advance(REDRAW_MS);
    progress.update(50 * MiB);
    expect(t.writes).toHaveLength(2);
    for (const write of t.writes) {
      expect(write.startsWith(ERASE)).toBe(true);
      expect(write).not.toContain('\n');
    }
    // eslint-disable-next-line no-control-regex -- the erase-line sequence is what is checked
    expect(t.writes[1]).toMatch(/^\r\u001b\[2Kwstape show: 50\.0 MiB of 100\.0 MiB \(50%\), [\d.]+ MiB\/s, \d+ s left$/);
    progress.done();
    expect(t.writes.at(-1)).toBe(ERASE);
    t.advance(REDRAW_MS);
    progress.update(90 * MiB);
    expect(t.writes.at(-1)).toBe(ERASE); // nothing after done
  });

  it('says bytes read of the total, the rate and the time left', () => {
    // 25 MiB of 100 MiB in 5 s: 5 MiB/s, 75 MiB to go, 15 s.
    expect(progressText('export', 25 * MiB, 100 * MiB, 5000)).toBe('wstape export: 25.0 MiB of 100.0 MiB (25%), 5.0 MiB/s, 15 s left');
    expect(progressText('diff a.wstape.json', 512 * MiB, 1024 * MiB, 2000)).toBe(
      'wstape diff a.wstape.json: 512.0 MiB of 1.0 GiB (50%), 256.0 MiB/s, 2 s left',
    );
  });

  it('erases the line before a warning, and draws it again at the next update', () => {
    const t = terminal();
    const progress = startProgress(t.io, { label: 'list', total: 64 * MiB, now: t.clock });
    t.advance(100);
    progress.update(MiB);
    progress.clear();
    expect(t.writes.at(-1)).toBe(ERASE);
    progress.update(2 * MiB);
    expect(t.writes.at(-1)).toContain('wstape list: 2.0 MiB');
    progress.done();
  });

  it('draws with NO_COLOR (it has no colour), and has no colour codes', () => {
    const t = terminal({ env: { NO_COLOR: '1' } });
    const progress = startProgress(t.io, { label: 'stats', total: 64 * MiB, now: t.clock });
    t.advance(100);
    progress.update(MiB);
    expect(t.writes).toHaveLength(1);
    expect(t.writes[0]?.replace(ERASE, '')).not.toContain('\u001b');
  });

  it.each([
    ['stderr is not a terminal', { stderrTty: false }, {}],
    ['--quiet', {}, { quiet: true }],
    ['TERM=dumb', { env: { TERM: 'dumb' } }, {}],
    ['the input is small', {}, { total: PROGRESS_MIN_BYTES - 1 }],
    ['the size is unknown (a pipe)', {}, { total: NaN }],
    ['stdout is a terminal and the command prints as it reads', { stdoutTty: true }, { liveStdout: true }],
  ])('never draws when %s', (_what, where, options) => {
    const t = terminal(where);
    const progress = startProgress(t.io, { label: 'show', total: 100 * MiB, now: t.clock, ...options });
    for (let step = 1; step <= 20; step++) {
      t.advance(REDRAW_MS);
      progress.update(step * MiB);
    }
    progress.done();
    expect(t.writes).toEqual([]);
  });
});

/** The arrived and delivered views of a changed session (src/inspect/views.ts), and `diff` on them. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FrameEntry } from '../../src/format/schema.js';
import { openArchive } from '../../src/format/archive-reader.js';
import { FrameViewFilter, type ArchiveView } from '../../src/inspect/views.js';
import { frame } from '../output/test-archives.js';
import { runCli } from '../helpers/cli.js';

const FIXTURE = path.join(new URL('../../fixtures/archives/', import.meta.url).pathname, 'v2-actions.wstape.json');

function view(frames: FrameEntry[], which: ArchiveView): FrameEntry[] {
  const filter = new FrameViewFilter(which);
  return frames.flatMap((entry) => filter.push(entry));
}

describe('FrameViewFilter', () => {
  // A fragmented message that was modified, one that was dropped, and a ping inside the first.
  const frames: FrameEntry[] = [
    frame({ index: 0, dir: 'in', fin: false, text: 'hel', size: 3 }),
    frame({ index: 1, dir: 'in', type: 'ping', opcode: 9, text: undefined, data: '', size: 0 }),
    frame({
      index: 2,
      dir: 'in',
      type: 'continuation',
      opcode: 0,
      text: 'lo',
      size: 2,
      action: 'modified',
      by: 'script',
      forwarded: { type: 'text', size: 3, text: 'bye' },
    }),
    frame({ index: 3, dir: 'out', text: 'secret', size: 6, action: 'dropped', by: 'flag' }),
    frame({ index: 4, dir: 'in', text: 'kick', size: 4, action: 'injected', by: 'control' }),
    frame({ index: 5, dir: 'out', text: 'plain', size: 5 }),
  ];

  it('arrived: every frame that came from a peer, as it came; nothing wstape sent', () => {
    expect(view(frames, 'arrived').map((entry) => entry.index)).toEqual([0, 1, 2, 3, 5]);
  });

  it('delivered: a modified message becomes one frame of what was forwarded; dropped ones are gone; injected ones are there', () => {
    const delivered = view(frames, 'delivered');
    expect(delivered.map((entry) => [entry.index, entry.type, entry.text ?? entry.data, entry.fin])).toEqual([
      [1, 'ping', '', true],
      [0, 'text', 'bye', true],
      [4, 'text', 'kick', true],
      [5, 'text', 'plain', true],
    ]);
  });

  it('an archive without actions is the same in both views', async () => {
    const reader = await openArchive(path.join(path.dirname(FIXTURE), 'v1-basic.wstape.json'));
    const entries: FrameEntry[] = [];
    for await (const entry of reader.entries()) if (entry.kind === 'frame') entries.push(entry);
    expect(view(entries, 'arrived')).toEqual(entries);
    expect(view(entries, 'delivered')).toEqual(entries);
  });
});

describe('diff --view-a arrived --view-b delivered', () => {
  it('shows what wstape changed in a session, from its one archive', async () => {
    const result = await runCli(['diff', FIXTURE, FIXTURE, '--view-a', 'arrived', '--view-b', 'delivered', '--json']);
    expect(result.code).toBe(1);
    const kinds = result.stdout
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { kind: string }).kind)
      .sort();
    expect(kinds).toEqual(['added', 'added', 'added', 'changed', 'removed']);
    const same = await runCli(['diff', FIXTURE, FIXTURE]);
    expect(same.code).toBe(0);
  });
});

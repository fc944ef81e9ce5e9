/** What `show`, `show --json` and `stats` say about frames wstape changed (the v2 fixture). */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { readEntries } from '../helpers/peers.js';

const FIXTURE = path.join(new URL('../../fixtures/archives/', import.meta.url).pathname, 'v2-actions.wstape.json');

describe('archives with actions', () => {
  it('show marks each changed frame, who did it, and what was forwarded instead', async () => {
    const result = await runCli(['show', FIXTURE, '--type', 'text,binary,pong']);
    expect(result.code).toBe(0);
    // The frames; the connection's === lines (tested in test/commands/show-connections.test.ts) left out.
    const lines = result.stdout.split('\n').filter((line) => line.startsWith('[') && !/^\[[^\]]*\] \S+ === /.test(line));
    expect(lines).toEqual([
      '[10:30:02.100] c1 --> hello',
      '[10:30:02.150] c1 <-- [modified by script] {"type":"welcome"} => {"type":"go-away"}',
      '[10:30:02.151] c1 <-- [injected by control] {"type":"kick"}',
      '[10:30:02.200] c1 --> [delayed 250 ms by flag] BINARY 4 B',
      '[10:30:03.010] c1 <-- [dropped by flag] PONG',
    ]);
  });

  it('show --json carries action, by, delay and forwarded', async () => {
    const result = await runCli(['show', FIXTURE, '--json']);
    const frames = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(frames.find((frame) => frame.index === 1)).toMatchObject({
      action: 'modified',
      by: 'script',
      forwarded: { type: 'text', text: '{"type":"go-away"}' },
    });
    expect(frames.find((frame) => frame.index === 3)).toMatchObject({ action: 'delayed', delay: 250, by: 'flag' });
  });

  it('stats counts what wstape did and says it closed the connection', async () => {
    const result = await runCli(['stats', FIXTURE, '--conn', 'c1', '--json']);
    const stats = JSON.parse(result.stdout.trim().split('\n')[0]!) as {
      actions: Record<string, number>;
      close: { closedBy: string; closedVia: string };
      diagnosis: string;
    };
    expect(stats.actions).toEqual({ modified: 1, injected: 3, delayed: 1, dropped: 1 });
    expect(stats.close).toMatchObject({ closedBy: 'wstape', closedVia: 'script' });
    expect(stats.diagnosis).toMatch(/^wstape closed the connection with 1011/);
  });

  it('list counts the changed frames per connection', async () => {
    const json = await runCli(['list', FIXTURE, '--json']);
    const rows = json.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: string; changed: number; closedBy: string | null });
    expect(rows.find((row) => row.id === 'c1')).toMatchObject({ changed: 6, closedBy: 'wstape' });
    expect(rows.find((row) => row.id === 'h1')).toMatchObject({ changed: 0 });
    const table = await runCli(['list', FIXTURE]);
    expect(table.stdout).toMatch(/5\/5 \(6 changed\)/);
  });

  it('export --format har writes what the receivers got, the originals aside, and import brings every field back', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wstape-har-actions-'));
    const har = path.join(dir, 'a.har');
    expect((await runCli(['export', FIXTURE, '--format', 'har', '-o', har])).code).toBe(0);
    const entry = (JSON.parse(readFileSync(har, 'utf8')) as { log: { entries: Array<Record<string, unknown>> } }).log.entries.find(
      (item) => item._resourceType === 'websocket',
    ) as { _webSocketMessages: Array<Record<string, unknown>> };
    const modified = entry._webSocketMessages.find((message) => message._wstapeAction === 'modified')!;
    expect(modified).toMatchObject({ type: 'receive', data: '{"type":"go-away"}', _wstapeBy: 'script' });
    expect(Buffer.from(modified._wstapeOriginal as string, 'base64').toString()).toBe('{"type":"welcome"}');
    const back = path.join(dir, 'back.wstape.json');
    expect((await runCli(['import', har, '-o', back])).code).toBe(0);
    const frames = async (file: string): Promise<unknown[]> => (await readEntries(file)).filter((item) => item.kind === 'frame');
    expect(await frames(back)).toEqual(await frames(FIXTURE));
  });
});

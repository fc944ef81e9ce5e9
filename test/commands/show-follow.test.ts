/**
 * `wstape show --follow` against a live in-process recorder relaying real `ws` peers: frames
 * appear, filtered, while the recording runs; show returns 0 when the recorder closes the
 * archive, when Ctrl-C aborts it, or when --limit is reached.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { runShow, type ShowOptions } from '../../src/commands/show.js';
import { headerLine } from '../../src/format/archive-lines.js';
import { openClient, startRecorder, startWsServer, tempDir, waitFor } from '../helpers/peers.js';
import { fakeIo, header } from '../output/test-archives.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An echo server behind a recorder, and a client connected through it. */
async function liveSession(): Promise<{ recorder: Awaited<ReturnType<typeof startRecorder>>; client: WebSocket }> {
  const server = await startWsServer();
  cleanups.push(() => server.close());
  server.wss.on('connection', (socket) => socket.on('message', (data, binary) => socket.send(binary ? data : `echo ${String(data)}`)));
  const recorder = await startRecorder({ target: server.url });
  cleanups.push(async () => {
    await recorder.stop();
    await rm(recorder.io.cwd, { recursive: true, force: true });
  });
  const client = await openClient(`ws://127.0.0.1:${recorder.port}/feed`, { perMessageDeflate: false });
  return { recorder, client };
}

/** Start `show --follow`; the output so far, and the exit code once it returns. */
function follow(options: Omit<ShowOptions, 'follow'>, signal?: AbortSignal) {
  const io = fakeIo();
  const result = runShow({ ...options, follow: true }, io, { pollMs: 20, ...(signal ? { signal } : {}) });
  result.catch(() => {});
  return {
    io,
    result,
    lines: (): string[] =>
      io
        .out()
        .split('\n')
        .filter((line) => line !== ''),
  };
}

describe('show --follow', () => {
  it('prints matching frames while the recording runs, in order, and exits 0 when it closes', async () => {
    const { recorder, client } = await liveSession();
    const shown = follow({ file: recorder.path, format: 'json', dir: 'in', type: ['text'] });
    const texts = (): string[] => shown.lines().map((line) => (JSON.parse(line) as { text: string }).text);
    for (let i = 1; i <= 4; i++) {
      client.send(`tick ${i}`);
      client.ping('hb');
      await waitFor(() => texts().length === i, 3000, `echo ${i}`);
    }
    expect(texts()).toEqual(['echo tick 1', 'echo tick 2', 'echo tick 3', 'echo tick 4']);

    const closed = new Promise((resolve) => client.once('close', resolve));
    client.close(1000);
    await closed;
    await recorder.stop();
    expect(await shown.result).toBe(0);
    expect(texts()).toHaveLength(4);
    expect(shown.io.err()).toBe('');
  });

  it('--tail N prints the last N of what was recorded, then follows', async () => {
    const { recorder, client } = await liveSession();
    for (let i = 1; i <= 5; i++) client.send(`early ${i}`);
    await waitFor(() => recorder.recorder.totals.frames >= 10, 3000, 'the early frames');
    // The recorder writes on the next turn; give the file a moment.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const shown = follow({ file: recorder.path, format: 'json', dir: 'out', tail: 2 });
    await waitFor(() => shown.lines().length === 2, 3000, 'the tail');
    client.send('late');
    await waitFor(() => shown.lines().length === 3, 3000, 'the late frame');
    expect(shown.lines().map((line) => (JSON.parse(line) as { text: string }).text)).toEqual(['early 4', 'early 5', 'late']);
    await recorder.stop();
    expect(await shown.result).toBe(0);
  });

  it('pretty form, --messages and --limit: stops after N rows with exit 0 while the recording goes on', async () => {
    const { recorder, client } = await liveSession();
    const shown = follow({ file: recorder.path, messages: true, conn: ['c1'], dir: 'out', limit: 2 });
    client.send('part one, ', { fin: false });
    client.send('part two', { fin: true });
    client.send('second');
    client.send('third');
    expect(await shown.result).toBe(0);
    // The pretty view of --follow says which URL the connection is, as show does.
    expect(shown.lines()).toEqual([
      expect.stringMatching(/ c1 === ws:\/\/127\.0\.0\.1:\d+\/feed 101$/),
      expect.stringMatching(/ c1 --> part one, part two \[2 frags\]$/),
      expect.stringMatching(/ c1 --> second$/),
    ]);
  });

  it('waits for a file that does not exist yet (one line on stderr), and Ctrl-C exits 0', async () => {
    const dir = tempDir();
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'later.wstape.json');
    const controller = new AbortController();
    const shown = follow({ file: path }, controller.signal);
    await waitFor(() => shown.io.err() !== '', 2000, 'the waiting line');
    expect(shown.io.err()).toMatch(/^wstape: waiting for \S+later\.wstape\.json to appear \(Ctrl-C stops\)\n$/);
    await writeFile(path, headerLine(header()));
    await new Promise((resolve) => setTimeout(resolve, 60));
    controller.abort();
    expect(await shown.result).toBe(0);
    expect(
      shown.io
        .err()
        .split('\n')
        .filter((line) => line !== ''),
    ).toHaveLength(1);
  });
});

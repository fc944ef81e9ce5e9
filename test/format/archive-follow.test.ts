/**
 * followArchive: a file appended to over time (by hand, cut at awkward places), and a live
 * in-process recorder relaying real `ws` peers.
 */
import { appendFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isCliError } from '../../src/errors.js';
import { followArchive, type FollowEvent } from '../../src/format/archive-follow.js';
import { entryLine, headerLine, trailerLine } from '../../src/format/archive-lines.js';
import type { Entry } from '../../src/format/schema.js';
import { openClient, startRecorder, startWsServer, waitFor } from '../helpers/peers.js';
import { connection, end, frame, header, isoAt, tempDir } from '../output/test-archives.js';

const POLL_MS = 20;

/** Collects a follow's events as they come, for a test to wait on. */
function collect(path: string, options: Parameters<typeof followArchive>[1] = {}) {
  const events: FollowEvent[] = [];
  const controller = new AbortController();
  let waiting = 0;
  const done = (async () => {
    for await (const event of followArchive(path, { pollMs: POLL_MS, signal: controller.signal, onWaiting: () => waiting++, ...options })) events.push(event);
  })();
  // Keep the rejection observed until a test awaits it.
  done.catch(() => {});
  return {
    events,
    entries: (): Entry[] => events.flatMap((event) => (event.type === 'entry' ? [event.entry] : [])),
    types: (): string[] => events.map((event) => (event.type === 'entry' ? `entry:${event.entry.kind}` : event.type)),
    waiting: () => waiting,
    abort: () => controller.abort(),
    done,
  };
}

const TRAILER = trailerLine({ stoppedAt: isoAt(60), summary: { connections: 1, exchanges: 0, tunnels: 0, frames: 2, bytes: 0, errors: 0 } });

describe('followArchive on a file written by hand', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let n = 0;
  const file = (): string => join(dir, `f${++n}.wstape.json`);
  beforeAll(async () => ({ dir, cleanup } = await tempDir()));
  afterAll(async () => cleanup());

  it('yields entries as lines complete (cut anywhere, even inside a UTF-8 character), and ends at the closing line', async () => {
    const path = file();
    const lines = [headerLine(header()), entryLine(connection('c1'), true), entryLine(frame({ index: 0, text: 'h\u00e9llo \u{1f600}', size: 11 }), false)];
    const bytes = Buffer.from(lines.join(''));
    const follow = collect(path);
    // Cut just after the é's first byte, inside the entry line.
    const cut = bytes.indexOf(Buffer.from('\u00e9')) + 1;
    await writeFile(path, bytes.subarray(0, cut));
    await waitFor(() => follow.events.some((event) => event.type === 'caught-up'), 2000, 'caught up on the header');
    expect(follow.types()).toEqual(['header', 'entry:connection', 'caught-up']);
    const caughtUp = (): number => follow.events.filter((event) => event.type === 'caught-up').length;
    await appendFile(path, bytes.subarray(cut));
    await waitFor(() => caughtUp() === 2, 2000, 'the frame');
    expect(follow.entries()[1]).toMatchObject({ kind: 'frame', text: 'h\u00e9llo \u{1f600}' });
    await appendFile(path, entryLine(end('c1'), false) + TRAILER.slice(0, 5));
    await waitFor(() => caughtUp() === 3, 2000, 'the end entry');
    await appendFile(path, TRAILER.slice(5));
    await follow.done;
    expect(follow.types()).toEqual(['header', 'entry:connection', 'caught-up', 'entry:frame', 'caught-up', 'entry:end', 'caught-up', 'end']);
    expect(follow.events.at(-1)).toMatchObject({ type: 'end', trailer: { summary: { frames: 2 } } });
  });

  it('waits for a file that does not exist yet, saying so once', async () => {
    const path = file();
    const follow = collect(path);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS * 5));
    expect(follow.waiting()).toBe(1);
    expect(follow.events).toEqual([]);
    // The recorder creates the file, then writes its header.
    await writeFile(path, '');
    await new Promise((resolve) => setTimeout(resolve, POLL_MS * 3));
    await appendFile(path, headerLine(header()) + entryLine(connection('c1'), true) + TRAILER);
    await follow.done;
    expect(follow.waiting()).toBe(1);
    expect(follow.types()).toEqual(['header', 'entry:connection', 'end']);
  });

  it('reads a closed archive to its end at once', async () => {
    const path = file();
    await writeFile(path, headerLine(header()) + entryLine(connection('c1'), true) + entryLine(frame(), false) + TRAILER);
    const follow = collect(path);
    await follow.done;
    expect(follow.types()).toEqual(['header', 'entry:connection', 'entry:frame', 'end']);
  });

  it('stops when aborted (Ctrl-C), while waiting for bytes or for the file', async () => {
    const path = file();
    await writeFile(path, headerLine(header()) + entryLine(connection('c1'), true));
    const follow = collect(path);
    await waitFor(() => follow.entries().length === 1, 2000, 'the entry');
    follow.abort();
    await follow.done;
    const missing = collect(file());
    await waitFor(() => missing.waiting() === 1, 2000, 'waiting');
    missing.abort();
    await missing.done;
    expect(missing.events).toEqual([]);
  });

  it('validates entries as the reader does: a damaged line followed by more is ERR_ARCHIVE_DAMAGED', async () => {
    const path = file();
    await writeFile(path, headerLine(header()) + entryLine(connection('c1'), true) + 'garbage\n');
    const follow = collect(path);
    await waitFor(() => follow.events.some((event) => event.type === 'caught-up'), 2000, 'caught up');
    // A complete bad line may still be what a crash left: only what follows it proves damage.
    await appendFile(path, entryLine(frame(), false));
    const error = await follow.done.catch((e: unknown) => e);
    expect(isCliError(error) && error.code).toBe('ERR_ARCHIVE_DAMAGED');
    expect(String(error)).toContain('line 3');
  });

  it('an invalid entry is ERR_ARCHIVE_DAMAGED at once', async () => {
    const path = file();
    await writeFile(path, headerLine(header()) + `${JSON.stringify({ ...frame(), opcode: 99 })}\n`);
    const error = await collect(path).done.catch((e: unknown) => e);
    expect(isCliError(error) && error.code).toBe('ERR_ARCHIVE_DAMAGED');
  });

  it('a file that shrinks while followed is ERR_ARCHIVE_DAMAGED', async () => {
    const path = file();
    await writeFile(path, headerLine(header()) + entryLine(connection('c1'), true));
    const follow = collect(path);
    await waitFor(() => follow.entries().length === 1, 2000, 'the entry');
    await truncate(path, 10);
    const error = await follow.done.catch((e: unknown) => e);
    expect(isCliError(error) && error.code).toBe('ERR_ARCHIVE_DAMAGED');
  });

  it.each<[string, string, string]>([
    ['not an archive', 'just some text, no newline', 'ERR_ARCHIVE_FORMAT'],
    ['another JSON format', '{"log":{"entries":[]}}\n', 'ERR_ARCHIVE_FORMAT'],
    ['a newer archive version', '{"format":"wstape","version":99,"entries":[\n', 'ERR_ARCHIVE_VERSION'],
  ])('%s: %s', async (_name, content, code) => {
    const path = file();
    await writeFile(path, content);
    const error = await collect(path).done.catch((e: unknown) => e);
    expect(isCliError(error) && error.code).toBe(code);
  });

  it('a reformatted (pretty-printed, so finished) archive is read whole', async () => {
    const path = file();
    const document = {
      ...header(),
      entries: [connection('c1'), frame()],
      stoppedAt: isoAt(60),
      summary: { connections: 1, exchanges: 0, tunnels: 0, frames: 1, bytes: 0, errors: 0 },
    };
    await writeFile(path, JSON.stringify(document, null, 2));
    const follow = collect(path);
    await follow.done;
    expect(follow.types()).toEqual(['header', 'entry:connection', 'entry:frame', 'caught-up', 'end']);
  });
});

describe('followArchive on a live recording', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('yields frames in order while they are recorded, and ends when the recorder stops', async () => {
    const server = await startWsServer();
    cleanups.push(() => server.close());
    server.wss.on('connection', (socket) => socket.on('message', (data) => socket.send(`echo ${String(data)}`)));
    const recorder = await startRecorder({ target: server.url });
    cleanups.push(async () => {
      await recorder.stop();
      await rm(recorder.io.cwd, { recursive: true, force: true });
    });
    const follow = collect(recorder.path);
    const client = await openClient(`ws://127.0.0.1:${recorder.port}/live`);
    const texts = (): string[] =>
      follow.entries().flatMap((entry) => (entry.kind === 'frame' && entry.text !== undefined ? [`${entry.dir} ${entry.text}`] : []));

    for (let i = 1; i <= 3; i++) {
      client.send(`msg ${i}`);
      // Each frame shows up while the recording is still running, before the next one is sent.
      await waitFor(() => texts().length === i * 2, 3000, `frame pair ${i}`);
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    expect(texts()).toEqual(['out msg 1', 'in echo msg 1', 'out msg 2', 'in echo msg 2', 'out msg 3', 'in echo msg 3']);
    expect(follow.events.some((event) => event.type === 'end')).toBe(false);

    client.close(1000, 'bye');
    await waitFor(() => follow.entries().some((entry) => entry.kind === 'end'), 3000, 'the end entry');
    await recorder.stop();
    await follow.done;
    expect(follow.events.at(-1)).toMatchObject({ type: 'end', trailer: { summary: { connections: 1 } } });
    const kinds = follow.entries().map((entry) => entry.kind);
    expect(kinds[0]).toBe('connection');
    expect(kinds.at(-1)).toBe('end');
  });
});

/**
 * `show`'s pretty view says which URL each connection is and how it ended (`===` lines, worded as
 * record's live view), honouring the filters; --json is unchanged; a --conn naming no connection
 * of the archive is warned about.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runShow, type ShowOptions } from '../../src/commands/show.js';
import { EXIT_NO_MATCH } from '../../src/errors.js';
import type { Entry } from '../../src/format/schema.js';
import { connection, end, fakeIo, frame, tempDir, writeArchive } from '../output/test-archives.js';

beforeAll(() => {
  process.env.TZ = 'UTC';
});

const ENTRIES: Entry[] = [
  connection('c1', {
    elapsed: 0.1,
    url: 'ws://127.0.0.1:9000/chat',
    permessageDeflate: { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 },
  }),
  frame({ conn: 'c1', index: 0, dir: 'out', text: 'hello', size: 5, elapsed: 1 }),
  connection('c2', { elapsed: 1.5, url: 'ws://127.0.0.1:9000/feed', subprotocol: 'graphql-transport-ws' }),
  frame({ conn: 'c2', index: 0, dir: 'in', text: 'tick', size: 4, elapsed: 2, masked: false, mask: undefined }),
  frame({ conn: 'c1', index: 1, dir: 'in', text: 'world', size: 5, elapsed: 3, masked: false, mask: undefined }),
  frame({
    conn: 'c1',
    index: 2,
    dir: 'in',
    type: 'close',
    opcode: 8,
    text: undefined,
    code: 1000,
    reason: 'bye',
    size: 5,
    elapsed: 4,
    masked: false,
    mask: undefined,
  }),
  end('c1', { elapsed: 12.4, closeCode: 1000, closeReason: 'bye', closedBy: 'server', droppedBy: 'client', clean: true }),
  connection('c3', { elapsed: 13, url: 'ws://127.0.0.1:9000/gone' }),
  end('c2', { elapsed: 14, closeCode: 1006, closedBy: 'wstape', closedVia: 'control', droppedBy: 'server', clean: false }),
  end('c3', { elapsed: 15, closeCode: 1006, closedBy: 'client', droppedBy: 'client', clean: false }),
];

describe('show: the === lines of the pretty view', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let archive: string;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    archive = await writeArchive(join(dir, 'conns.wstape'), ENTRIES);
  });
  afterAll(async () => cleanup());

  async function show(options: Partial<ShowOptions> = {}) {
    const io = fakeIo();
    const code = await runShow({ file: archive, json: false, ...options }, io);
    return { code, lines: io.out().trimEnd().split('\n'), err: io.err() };
  }

  it('says where each connection goes and when and how it ended, in time order with the frames', async () => {
    const { code, lines, err } = await show();
    expect(code).toBe(0);
    expect(err).toBe('');
    expect(lines).toEqual([
      '[10:30:00.100] c1 === ws://127.0.0.1:9000/chat 101 (permessage-deflate)',
      '[10:30:01.000] c1 --> hello',
      '[10:30:01.500] c2 === ws://127.0.0.1:9000/feed 101 (subprotocol graphql-transport-ws)',
      '[10:30:02.000] c2 <-- tick',
      '[10:30:03.000] c1 <-- world',
      '[10:30:04.000] c1 <-- CLOSE 1000 Normal closure "bye"',
      '[10:30:12.400] c1 === closed 1000 Normal closure "bye" by server (clean) (100 B out, 200 B in) after 12.3 s, 3 frames',
      '[10:30:13.000] c3 === ws://127.0.0.1:9000/gone 101',
      '[10:30:14.000] c2 === closed 1006 Abnormal closure: wstape aborted the connection (control) (100 B out, 200 B in) after 12.5 s, 1 frame',
      '[10:30:15.000] c3 === closed 1006 Abnormal closure: client dropped the connection (100 B out, 200 B in) after 2.0 s, 0 frames',
    ]);
  });

  it('--conn keeps the lines of the connections it names only', async () => {
    const { lines } = await show({ conn: ['c2'] });
    expect(lines.map((line) => line.slice(15, 24))).toEqual(['c2 === ws', 'c2 <-- ti', 'c2 === cl']);
  });

  it('with a filter on what frames hold, only connections with a printed row get lines, the start just before it', async () => {
    const { lines } = await show({ dir: 'in', grep: 'world' });
    expect(lines).toEqual([
      '[10:30:00.100] c1 === ws://127.0.0.1:9000/chat 101 (permessage-deflate)',
      '[10:30:03.000] c1 <-- world',
      // --dir lets show skip lines unparsed, so the frames are not counted.
      '[10:30:12.400] c1 === closed 1000 Normal closure "bye" by server (clean) (100 B out, 200 B in) after 12.3 s',
    ]);
  });

  it('--since: a connection that started earlier still gets its start line, before its first line in the window', async () => {
    const { lines } = await show({ since: '2.5', until: '13.5' });
    expect(lines).toEqual([
      '[10:30:00.100] c1 === ws://127.0.0.1:9000/chat 101 (permessage-deflate)',
      '[10:30:03.000] c1 <-- world',
      '[10:30:04.000] c1 <-- CLOSE 1000 Normal closure "bye"',
      '[10:30:12.400] c1 === closed 1000 Normal closure "bye" by server (clean) (100 B out, 200 B in) after 12.3 s, 3 frames',
      '[10:30:13.000] c3 === ws://127.0.0.1:9000/gone 101',
    ]);
  });

  it('--tail: the connection line comes with the rows kept', async () => {
    const { lines } = await show({ tail: 1 });
    expect(lines).toEqual(['[10:30:00.100] c1 === ws://127.0.0.1:9000/chat 101 (permessage-deflate)', '[10:30:04.000] c1 <-- CLOSE 1000 Normal closure "bye"']);
  });

  it('--json and --format raw are unchanged: frames only', async () => {
    const json = await show({ json: true });
    expect(json.lines.map((line) => (JSON.parse(line) as { conn: string; index: number }).index)).toEqual([0, 0, 1, 2]);
    const io = fakeIo();
    await runShow({ file: archive, format: 'raw', type: ['text'] }, io);
    expect(io.out()).toBe('hellotickworld');
  });
});

describe('show --conn naming no connection', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let archive: string;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    archive = await writeArchive(join(dir, 'conns.wstape'), ENTRIES);
  });
  afterAll(async () => cleanup());

  it('warns on stderr with the ids the archive has, and exits 1 (nothing matched) as stats does', async () => {
    const io = fakeIo();
    expect(await runShow({ file: archive, json: false, conn: ['c99'] }, io)).toBe(EXIT_NO_MATCH);
    expect(io.out()).toBe('');
    expect(io.err()).toBe(`wstape: warning: no connection c99 in ${archive} (it has c1-c3)\n`);
  });

  it('names only the missing ones, and says nothing when every id exists', async () => {
    const io = fakeIo();
    // One id of two is a typo: c2's rows are printed, and the exit code still says so.
    expect(await runShow({ file: archive, json: true, conn: ['c2,c7'] }, io)).toBe(EXIT_NO_MATCH);
    expect(io.out()).not.toBe('');
    expect(io.err()).toBe(`wstape: warning: no connection c7 in ${archive} (it has c1-c3)\n`);
    const quiet = fakeIo();
    // Every id exists; that no frame passes the other filters is an answer, not a typo.
    expect(await runShow({ file: archive, json: false, conn: ['c3'], type: ['binary'] }, quiet)).toBe(0);
    expect(quiet.err()).toBe('');
  });
});

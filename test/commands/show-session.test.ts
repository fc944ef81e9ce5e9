/**
 * `wstape show` over an archive recorded from real `ws` peers through the recorder (see
 * recorded-session.ts for the conversation and SESSION_FRAMES for the frames it holds): every
 * filter, alone and combined, in frame and message mode, heart-beat hiding, each --format, and
 * content detection in the JSON output.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runShow, type ShowOptions } from '../../src/commands/show.js';
import { openArchive } from '../../src/format/archive-reader.js';
import type { FrameEntry } from '../../src/format/schema.js';
import type { Io } from '../../src/io.js';
import { GRAPHQL_SUBSCRIBE, MSGPACK_TICK, PNG_1X1, recordSession, SESSION_FRAMES } from '../output/recorded-session.js';
import { ANSI, fakeIo } from '../output/test-archives.js';

let archive: string;
let frames: FrameEntry[];

beforeAll(async () => {
  process.env.TZ = 'UTC';
  archive = await recordSession();
  const reader = await openArchive(archive);
  frames = [];
  for await (const entry of reader.entries()) if (entry.kind === 'frame') frames.push(entry);
});
afterAll(() => {
  delete process.env.TZ;
});

interface JsonRow {
  conn: string;
  index: number;
  dir: string;
  type: string;
  fin: boolean;
  time: string;
  elapsed: number;
  text?: string;
  data?: string;
  code?: number;
  reason?: string;
  fragments?: number;
  lastIndex?: number;
  compressed?: boolean;
  detected?: string;
  decoded?: unknown;
}

/** `conn:index dir type payload`, as SESSION_FRAMES lists them. */
function describeRow(row: JsonRow): string {
  const bytes = Buffer.from(row.data ?? '', 'base64');
  const payload =
    row.type === 'close'
      ? `${row.code} ${row.reason ?? ''}`
      : (row.text ?? (row.type === 'ping' || row.type === 'pong' ? bytes.toString('utf8') : bytes.toString('hex')));
  return `${row.conn}:${row.index} ${row.dir} ${row.type}${row.fin ? '' : '+'} ${payload}`;
}

async function showJson(options: Partial<ShowOptions>): Promise<JsonRow[]> {
  const io = fakeIo();
  expect(await runShow({ file: archive, format: 'json', ...options }, io)).toBe(0);
  return io
    .out()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as JsonRow);
}

const ids = async (options: Partial<ShowOptions>): Promise<string[]> => (await showJson(options)).map((row) => `${row.conn}:${row.index}`);
const idsOf = (lines: readonly string[]): string[] => lines.map((line) => line.split(' ')[0]!);
const all = (): string[] => idsOf(SESSION_FRAMES);
const frameAt = (id: string): FrameEntry => frames.find((frame) => `${frame.conn}:${frame.index}` === id)!;

describe('show over a recorded session', () => {
  it('the archive holds the session exactly', async () => {
    expect((await showJson({})).map(describeRow)).toEqual(SESSION_FRAMES);
  });

  describe('filters, frame by frame', () => {
    it.each<[string, Partial<ShowOptions>, string[]]>([
      ['no filter', {}, idsOf(SESSION_FRAMES)],
      ['--conn', { conn: ['c2'] }, ['c2:0', 'c2:1', 'c2:2', 'c2:3', 'c2:4', 'c2:5', 'c2:6', 'c2:7']],
      ['--conn, comma list and repeated', { conn: ['c3,c3', 'c3'] }, ['c3:0', 'c3:1', 'c3:2', 'c3:3', 'c3:4']],
      ['--dir in', { dir: 'in', conn: ['c1'] }, ['c1:2', 'c1:5', 'c1:7', 'c1:9', 'c1:12']],
      ['--type data', { type: ['data'], conn: ['c1'] }, ['c1:0', 'c1:1', 'c1:2', 'c1:3', 'c1:6', 'c1:7', 'c1:8']],
      ['--type control', { type: ['control'], conn: ['c1'] }, ['c1:4', 'c1:5', 'c1:9', 'c1:10', 'c1:11', 'c1:12']],
      ['--type ping,pong', { type: ['ping,pong'] }, ['c1:4', 'c1:5', 'c1:9', 'c1:10']],
      ['--type continuation', { type: ['continuation'] }, ['c1:6', 'c3:1']],
      ['--type data,close', { type: ['data,close'], conn: ['c3'] }, ['c3:0', 'c3:1', 'c3:2', 'c3:3', 'c3:4']],
      ['--grep in text', { grep: 'frag-' }, ['c1:3', 'c1:6']],
      ['--grep is case-sensitive', { grep: 'FRAG-' }, []],
      ['--grep -i', { grep: 'FRAG-', ignoreCase: true }, ['c1:3', 'c1:6']],
      ['--grep in a binary payload (latin1)', { grep: 'IHDR' }, ['c1:2']],
      ['--grep in a compressed message', { grep: 'compressed-part-2' }, ['c3:1']],
      ['--grep on a close reason', { grep: '^done$' }, ['c1:11', 'c1:12']],
      ['--grep on a control payload', { grep: 'between' }, ['c1:4', 'c1:5']],
      ['--conn + --dir + --type', { conn: ['c2'], dir: 'out', type: ['text'] }, ['c2:0', 'c2:2', 'c2:4']],
      ['--dir + --grep -i', { dir: 'in', grep: 'TYPE', ignoreCase: true }, ['c2:1', 'c2:3', 'c2:5']],
      ['--limit', { limit: 3 }, ['c1:0', 'c1:1', 'c1:2']],
      ['--limit after filters', { type: ['close'], limit: 3 }, ['c1:11', 'c1:12', 'c2:6']],
      ['--limit larger than the matches', { conn: ['c3'], limit: 100 }, ['c3:0', 'c3:1', 'c3:2', 'c3:3', 'c3:4']],
      ['--tail', { tail: 2 }, ['c3:3', 'c3:4']],
      ['--tail after filters', { conn: ['c1'], type: ['text'], tail: 3 }, ['c1:3', 'c1:7', 'c1:8']],
      ['--tail larger than the matches', { type: ['continuation'], tail: 10 }, ['c1:6', 'c3:1']],
      ['nothing matches', { conn: ['c2'], type: ['binary'] }, []],
    ])('%s', async (_name, options, expected) => {
      expect(await ids(options)).toEqual(expected);
    });
  });

  it('a literal --grep with --type skips unparsed lines and finds what the regular expression path finds', async () => {
    // `(?:…)` is regex syntax, so it turns the raw-line pre-filter off: both paths must agree.
    const regexOf = (needle: string) => `(?:${needle.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')})`;
    let found = 0;
    for (const needle of ['frag-', '"join"', '{"type":"ping"}', '"room":"general"', 'compressed-part', 'done', 'x-none-x']) {
      for (const filters of [{ type: ['text'] }, { dir: 'in' as const, type: ['text'] }, { type: ['text', 'binary'] }]) {
        const fast = await ids({ ...filters, grep: needle });
        expect(fast, `${needle} ${JSON.stringify(filters)}`).toEqual(await ids({ ...filters, grep: regexOf(needle) }));
        found += fast.length;
      }
    }
    expect(found).toBeGreaterThan(5);
  });

  describe('--since / --until', () => {
    it('seconds from the recording start select by elapsed time', async () => {
      const c2Start = frameAt('c2:0').elapsed;
      const c1End = frameAt('c1:12').elapsed;
      expect(await ids({ since: String(c2Start) })).toEqual(all().filter((id) => !id.startsWith('c1:')));
      expect(await ids({ until: c1End.toFixed(6) })).toEqual(all().filter((id) => id.startsWith('c1:')));
      // The form `--time rel` prints is accepted too.
      expect(await ids({ since: `+${c2Start.toFixed(6)}s`, until: String(frameAt('c2:7').elapsed) })).toEqual(all().filter((id) => id.startsWith('c2:')));
    });

    it('ISO times select by wall-clock time, inclusive at both ends', async () => {
      const since = frameAt('c2:1').time;
      const until = frameAt('c3:2').time;
      const expected = frames
        .filter((f) => Date.parse(f.time) >= Date.parse(since) && Date.parse(f.time) <= Date.parse(until))
        .map((f) => `${f.conn}:${f.index}`);
      expect(expected).toContain('c2:1');
      expect(expected).toContain('c3:2');
      expect(await ids({ since, until })).toEqual(expected);
    });

    it('combines with the other filters', async () => {
      expect(await ids({ since: String(frameAt('c2:0').elapsed), type: ['close'], dir: 'in' })).toEqual(['c2:7', 'c3:4']);
    });

    it('an empty range prints nothing', async () => {
      expect(await ids({ since: '99999' })).toEqual([]);
      expect(await ids({ until: '2000-01-01T00:00:00Z' })).toEqual([]);
    });
  });

  describe('--messages', () => {
    it('one row per message, fragments joined and counted; control frames in capture order', async () => {
      const rows = await showJson({ messages: true, conn: ['c1'] });
      expect(rows.map(describeRow)).toEqual([
        'c1:0 out text {"type":"join","room":"general"}',
        `c1:1 out binary ${MSGPACK_TICK.toString('hex')}`,
        `c1:2 in binary ${PNG_1X1.toString('hex')}`,
        // The ping and its pong arrived between the message's fragments: they come first, the
        // message when its final fragment completed it.
        'c1:4 out ping between',
        'c1:5 in pong between',
        'c1:3 out text frag-one frag-two',
        'c1:7 in text 2',
        'c1:8 out text 3',
        'c1:9 in ping srv',
        'c1:10 out pong srv',
        'c1:11 out close 4001 done',
        'c1:12 in close 4001 done',
      ]);
      const message = rows[5]!;
      expect(message).toMatchObject({ fragments: 2, lastIndex: 6, fin: true, time: frameAt('c1:6').time });
      expect(rows[0]).toMatchObject({ fragments: 1, lastIndex: 0 });
      expect(rows[3]).not.toHaveProperty('fragments');
    });

    it('a compressed fragmented message is the inflated whole', async () => {
      const rows = await showJson({ messages: true, conn: ['c3'], dir: 'out', type: ['text'] });
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ index: 0, lastIndex: 1, fragments: 2, compressed: true, text: 'compressed-part-1 compressed-part-2', size: 35 });
    });

    it('filters apply to whole messages', async () => {
      // The pattern spans the two fragments: no single frame matches it, the message does.
      expect(await ids({ grep: 'one frag-two' })).toEqual([]);
      expect(await ids({ grep: 'one frag-two', messages: true })).toEqual(['c1:3']);
      expect(await ids({ messages: true, type: ['continuation'] })).toEqual([]);
      expect(await ids({ messages: true, type: ['data'], dir: 'out', conn: ['c1', 'c3'] })).toEqual(['c1:0', 'c1:1', 'c1:3', 'c1:8', 'c3:0']);
      expect(await ids({ messages: true, type: ['text'], tail: 2 })).toEqual(['c3:0', 'c3:2']);
    });

    it('the pretty form shows the fragment count', async () => {
      const io = fakeIo();
      await runShow({ file: archive, messages: true, conn: ['c1'], grep: 'frag' }, io);
      // With --grep, the connection's === lines come with its rows: start, row, end (no frame count).
      expect(io.out()).toMatch(
        /^\[[\d:.]+\] c1 === ws:\/\/127\.0\.0\.1:\d+\/chat 101\n\[[\d:.]+\] c1 --> frag-one frag-two \[2 frags\]\n\[[\d:.]+\] c1 === closed 4001 [^\n]* after \d+ ms, \d+ frames\n$/,
      );
    });
  });

  describe('--hide-heartbeats', () => {
    it('hides ping/pong frames, Engine.IO "2"/"3" and graphql-transport-ws ping/pong', async () => {
      expect(await ids({ hideHeartbeats: true })).toEqual(
        all().filter((id) => !['c1:4', 'c1:5', 'c1:7', 'c1:8', 'c1:9', 'c1:10', 'c2:2', 'c2:3'].includes(id)),
      );
    });

    it('works with --messages and the other filters', async () => {
      expect(await ids({ hideHeartbeats: true, messages: true, conn: ['c1'] })).toEqual(['c1:0', 'c1:1', 'c1:2', 'c1:3', 'c1:11', 'c1:12']);
      expect(await ids({ hideHeartbeats: true, conn: ['c2'], dir: 'out', limit: 2 })).toEqual(['c2:0', 'c2:4']);
    });
  });

  describe('--format json: detected and decoded', () => {
    it('a MessagePack binary frame is decoded', async () => {
      const [row] = await showJson({ conn: ['c1'], dir: 'out', type: ['binary'] });
      expect(row).toMatchObject({ detected: 'msgpack', decoded: { op: 'tick', n: 3 } });
    });

    it('a PNG is detected', async () => {
      const [row] = await showJson({ conn: ['c1'], dir: 'in', type: ['binary'] });
      expect(row?.detected).toBe('png');
    });

    it('graphql-transport-ws text frames are detected on the connection with that subprotocol', async () => {
      const rows = await showJson({ conn: ['c2'], type: ['text'] });
      expect(rows.map((row) => row.detected)).toEqual(Array(6).fill('graphql-transport-ws'));
      expect(rows.find((row) => row.text === GRAPHQL_SUBSCRIBE)?.decoded).toMatchObject({ id: '1', type: 'subscribe' });
    });

    it('control frames carry no detection', async () => {
      const rows = await showJson({ type: ['control'] });
      expect(rows.every((row) => row.detected === undefined && row.decoded === undefined)).toBe(true);
    });

    it('--json is --format json', async () => {
      const a = fakeIo();
      const b = fakeIo();
      await runShow({ file: archive, json: true }, a);
      await runShow({ file: archive, format: 'json' }, b);
      expect(a.out()).toBe(b.out());
    });
  });

  describe('--format raw', () => {
    /** An Io that keeps stdout's bytes as bytes. */
    function byteIo(): Io & { bytes: () => Buffer } {
      const chunks: Buffer[] = [];
      const io = fakeIo();
      io.stdout = { write: (chunk) => (chunks.push(Buffer.from(chunk)), true), isTTY: false };
      return Object.assign(io, { bytes: () => Buffer.concat(chunks) });
    }

    it.each<[string, Partial<ShowOptions>, Buffer]>([
      ['binary payloads back to back', { conn: ['c1'], type: ['binary'] }, Buffer.concat([MSGPACK_TICK, PNG_1X1])],
      [
        'text payloads, no separators',
        { conn: ['c2'], dir: 'in', type: ['text'] },
        Buffer.from('{"type":"connection_ack"}{"type":"pong"}{"id":"1","type":"next","payload":{"data":{"tick":1}}}'),
      ],
      ['frames of a fragmented message', { conn: ['c1'], grep: 'frag' }, Buffer.from('frag-one frag-two')],
      ['a reassembled compressed message', { conn: ['c3'], dir: 'out', type: ['data'], messages: true }, Buffer.from('compressed-part-1 compressed-part-2')],
      ['close payloads: code then reason', { conn: ['c1'], type: ['close'], dir: 'out' }, Buffer.concat([Buffer.from([0x0f, 0xa1]), Buffer.from('done')])],
    ])('%s', async (_name, options, expected) => {
      const io = byteIo();
      expect(await runShow({ file: archive, format: 'raw', ...options }, io)).toBe(0);
      expect(io.bytes().equals(expected)).toBe(true);
    });
  });

  describe('--format pretty', () => {
    async function pretty(options: Partial<ShowOptions>, ioOptions: Parameters<typeof fakeIo>[0] = {}): Promise<string> {
      const io = fakeIo(ioOptions);
      expect(await runShow({ file: archive, ...options }, io)).toBe(0);
      // The rows alone: the === lines are tested in show-connections.test.ts.
      return io
        .out()
        .split('\n')
        .filter((line) => !/^\[[^\]]*\] \S+ === /.test(line))
        .join('\n');
    }

    it('binary frames: size, detected label, decoded value, and the first lines of a hex dump', async () => {
      const out = await pretty({ conn: ['c1'], type: ['binary'] });
      const lines = out.trimEnd().split('\n');
      expect(lines[0]).toMatch(/ c1 --> BINARY 12 B \(MessagePack map \(2 keys\)\)$/);
      expect(lines[1]).toBe('  = {"op":"tick","n":3}');
      expect(lines[2]).toBe('  00000000  82 a2 6f 70 a4 74 69 63  6b a1 6e 03              |..op.tick.n.|');
      expect(lines[3]).toMatch(/ c1 <-- BINARY 70 B \(PNG image 1x1\)$/);
      // Four lines of the dump (64 of the 70 bytes), in hexdump -C layout.
      expect(lines.slice(4)).toEqual([
        '  00000000  89 50 4e 47 0d 0a 1a 0a  00 00 00 0d 49 48 44 52  |.PNG........IHDR|',
        '  00000010  00 00 00 01 00 00 00 01  08 06 00 00 00 1f 15 c4  |................|',
        '  00000020  89 00 00 00 0d 49 44 41  54 78 da 63 64 60 f8 5f  |.....IDATx.cd`._|',
        '  00000030  0f 00 02 87 01 80 eb 47  ba 92 00 00 00 00 49 45  |.......G......IE|',
      ]);
    });

    it('close frames: code, registry name and reason', async () => {
      const out = await pretty({ type: ['close'] });
      expect(out).toContain('c1 --> CLOSE 4001 Private use "done"');
      expect(out).toContain('c2 <-- CLOSE 1000 Normal closure\n');
    });

    it('--time utc and rel', async () => {
      expect(await pretty({ conn: ['c2'], limit: 1, time: 'utc' })).toContain(`[${frameAt('c2:0').time}] c2 -->`);
      expect(await pretty({ conn: ['c2'], limit: 1, time: 'rel' })).toContain(`[+${frameAt('c2:0').elapsed.toFixed(6)}s] c2 -->`);
    });

    it('--pretty-json indents JSON payloads under the line', async () => {
      const out = await pretty({ conn: ['c2'], dir: 'in', grep: 'next', prettyJson: true, time: 'rel' });
      const lines = out.trimEnd().split('\n');
      const column = lines[0]!.indexOf('{');
      expect(lines[0]).toMatch(/ c2 <-- \[graphql-transport-ws next id=1\] \{$/);
      expect(lines.slice(1).map((line) => line.slice(column))).toEqual([
        '  "id": "1",',
        '  "type": "next",',
        '  "payload": {',
        '    "data": {',
        '      "tick": 1',
        '    }',
        '  }',
        '}',
      ]);
      expect(lines.slice(1).every((line) => line.slice(0, column).trim() === '')).toBe(true);
    });

    it('JSON is coloured on a terminal (keys, strings, numbers in different colours), never when piped or with NO_COLOR', async () => {
      const coloured = await pretty({ conn: ['c2'], dir: 'in', grep: 'next' }, { tty: true });
      expect(coloured).toContain('\u001b[34m"tick"\u001b[39m');
      expect(coloured).toContain('\u001b[32m"next"\u001b[39m');
      expect(coloured).toContain('\u001b[33m1\u001b[39m');
      expect(await pretty({ conn: ['c2'], dir: 'in', grep: 'next' })).not.toMatch(ANSI);
      expect(await pretty({ conn: ['c2'], dir: 'in', grep: 'next' }, { tty: true, env: { NO_COLOR: '1' } })).not.toMatch(ANSI);
      expect(await pretty({ prettyJson: true, messages: true })).not.toMatch(ANSI);
    });
  });
});

/**
 * Message reassembly (src/inspect/messages.ts) on hand-made frames, and the edge cases of
 * `wstape show` that a live session does not produce: interrupted and unfinished messages,
 * UTF-8 split across fragments, continuation frames judged as their message, typed protobuf,
 * STOMP heart-beats, option validation, and reading that stops early.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runShow, type ShowOptions } from '../../src/commands/show.js';
import { isCliError } from '../../src/errors.js';
import { headerLine } from '../../src/format/archive-lines.js';
import type { Entry, FrameEntry } from '../../src/format/schema.js';
import { MessageAssembler, type InspectRow } from '../../src/inspect/messages.js';
import { connection, end, fakeIo, frame, header, tempDir, writeArchive } from '../output/test-archives.js';

const b64 = (bytes: number[] | string | Buffer): string => Buffer.from(bytes as string).toString('base64');

/** Feed frames (and `end:cN` markers) to an assembler; the rows as `index..lastIndex type payload`. */
function assemble(items: (FrameEntry | string)[], options: ConstructorParameters<typeof MessageAssembler>[0] = {}): InspectRow[] {
  const assembler = new MessageAssembler(options);
  const rows: InspectRow[] = [];
  for (const item of items) rows.push(...(typeof item === 'string' ? assembler.end(item.slice(4)) : assembler.push(item)));
  rows.push(...assembler.finish());
  return rows;
}

function brief({ row }: InspectRow): string {
  const payload = row.text ?? Buffer.from(row.data ?? '', 'base64').toString('hex');
  const span = row.lastIndex !== undefined && row.lastIndex !== row.index ? `${row.index}..${row.lastIndex}` : `${row.index}`;
  const marks = `${row.fragments !== undefined ? ` x${row.fragments}` : ''}${row.incomplete ? ' incomplete' : ''}${row.truncated ? ' truncated' : ''}`;
  return `${row.conn}/${row.dir} ${span} ${row.type} ${payload}${marks}`;
}

const text = (index: number, payload: string, more: Partial<FrameEntry> = {}): FrameEntry =>
  frame({ index, type: 'text', opcode: 1, text: payload, size: Buffer.byteLength(payload), ...more });
const cont = (index: number, payload: string, more: Partial<FrameEntry> = {}): FrameEntry =>
  frame({ index, type: 'continuation', opcode: 0, text: payload, size: Buffer.byteLength(payload), ...more });
const ping = (index: number, more: Partial<FrameEntry> = {}): FrameEntry =>
  frame({ index, type: 'ping', opcode: 9, text: undefined, data: b64('p'), size: 1, ...more });

describe('MessageAssembler', () => {
  it.each<[string, (FrameEntry | string)[], string[]]>([
    ['an unfragmented message is one row of one fragment', [text(0, 'hello')], ['c1/out 0 text hello x1']],
    ['fragments are joined', [text(0, 'a', { fin: false }), cont(1, 'b', { fin: false }), cont(2, 'c')], ['c1/out 0..2 text abc x3']],
    [
      'control frames inside a message come out when they arrive, before the message',
      [text(0, 'a', { fin: false }), ping(1), cont(2, 'b', { fin: false }), ping(3, { dir: 'in' }), cont(4, 'c')],
      ['c1/out 1 ping 70', 'c1/in 3 ping 70', 'c1/out 0..4 text abc x3'],
    ],
    [
      'directions are reassembled apart',
      [text(0, 'o1', { fin: false }), text(1, 'i1', { dir: 'in', fin: false }), cont(2, 'i2', { dir: 'in' }), cont(3, 'o2')],
      ['c1/in 1..2 text i1i2 x2', 'c1/out 0..3 text o1o2 x2'],
    ],
    [
      'connections are reassembled apart',
      [text(0, 'x', { fin: false }), text(0, 'y', { conn: 'c2', fin: false }), cont(1, 'Y', { conn: 'c2' }), cont(1, 'X')],
      ['c2/out 0..1 text yY x2', 'c1/out 0..1 text xX x2'],
    ],
    [
      'a new data frame interrupts an unfinished message: it ends incomplete',
      [text(0, 'a', { fin: false }), text(1, 'new', { flags: ['interrupted-message'] })],
      ['c1/out 0 text a x1 incomplete', 'c1/out 1 text new x1'],
    ],
    [
      'a continuation without a message is shown as the frame it is',
      [cont(0, 'stray', { flags: ['unexpected-continuation'] })],
      ['c1/out 0 continuation stray'],
    ],
    [
      'the connection ending finishes its messages incomplete',
      [text(0, 'a', { fin: false }), cont(1, 'b', { fin: false }), 'end:c1', text(0, 'z', { conn: 'c2' })],
      ['c1/out 0..1 text ab x2 incomplete', 'c2/out 0 text z x1'],
    ],
    ['the archive ending does too', [text(0, 'a', { fin: false })], ['c1/out 0 text a x1 incomplete']],
    [
      'binary messages are joined as bytes',
      [
        frame({ index: 0, type: 'binary', opcode: 2, fin: false, text: undefined, data: b64([1, 2]), size: 2 }),
        frame({ index: 1, type: 'continuation', opcode: 0, text: undefined, data: b64([3]), size: 1 }),
      ],
      ['c1/out 0..1 binary 010203 x2'],
    ],
    [
      'UTF-8 split between fragments (each archived as data) joins into text',
      [
        frame({ index: 0, fin: false, text: undefined, data: b64(Buffer.from('h\u00e9').subarray(0, 2)), size: 2 }),
        cont(1, '', { text: undefined, data: b64(Buffer.from('h\u00e9').subarray(2)), size: 1 }),
      ],
      ['c1/out 0..1 text h\u00e9 x2'],
    ],
    [
      'a truncated fragment makes the message truncated',
      [text(0, 'ab', { fin: false, truncated: true, size: 10 }), cont(1, 'c')],
      ['c1/out 0..1 text abc x2 truncated'],
    ],
  ])('%s', (_name, items, expected) => {
    expect(assemble(items).map(brief)).toEqual(expected);
  });

  it('keeps at most maxBytes of a message, counting the rest', () => {
    const [row] = assemble([text(0, 'abcd', { fin: false }), cont(1, 'efgh')], { maxBytes: 6 });
    expect(row?.row).toMatchObject({ text: 'abcdef', size: 8, truncated: true, fragments: 2 });
  });

  it('a message row sums sizes, joins flags, keeps the first frame header and the last frame time', () => {
    const first = text(4, 'a', { fin: false, rsv1: true, compressed: true, size: 0, wireSize: 9, elapsed: 1, flags: ['non-minimal-length'] });
    const last = cont(6, 'abc', { compressed: true, wireSize: 7, elapsed: 2, flags: ['non-minimal-length', 'invalid-utf8'], mask: 'ffffffff' });
    const [row] = assemble([first, last]);
    expect(row?.row).toMatchObject({
      index: 4,
      lastIndex: 6,
      opcode: 1,
      rsv1: true,
      mask: first.mask,
      compressed: true,
      size: 3,
      wireSize: 16,
      elapsed: 2,
      time: last.time,
      flags: ['non-minimal-length', 'invalid-utf8'],
    });
    expect(row?.messageType).toBe('text');
  });
});

describe('show: edge cases on hand-made archives', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    process.env.TZ = 'UTC';
    ({ dir, cleanup } = await tempDir());
  });
  afterAll(async () => cleanup());

  async function run(entries: Entry[], options: Partial<ShowOptions>, name = 'a.wstape.json') {
    const path = await writeArchive(join(dir, name), entries);
    const io = fakeIo();
    const code = await runShow({ file: path, ...options }, io);
    return {
      code,
      out: io.out(),
      err: io.err(),
      json: () =>
        io
          .out()
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => JSON.parse(l) as Record<string, unknown>),
    };
  }

  const MSGPACK = [0x81, 0xa1, 0x61, 0x01]; // {"a":1}

  it('a continuation frame is judged as its message: binary continuations are detected and dumped as binary', async () => {
    const entries: Entry[] = [
      connection('c1'),
      frame({ index: 0, type: 'binary', opcode: 2, fin: false, text: undefined, data: '', size: 0 }),
      frame({ index: 1, type: 'continuation', opcode: 0, text: undefined, data: b64(MSGPACK), size: 4 }),
    ];
    const { json } = await run(entries, { format: 'json', type: ['continuation'] });
    expect(json()[0]).toMatchObject({ detected: 'msgpack', decoded: { a: 1 } });
    const { out } = await run(entries, { type: ['continuation'] });
    expect(out.split('\n')[1]).toMatch(/ c1 --> CONT 4 B \(MessagePack/);
    expect(out).toContain('  00000000  81 a1 61 01  ');
  });

  it('--hide-heartbeats: STOMP heart-beats (EOL only) on a STOMP connection', async () => {
    const entries: Entry[] = [
      connection('c1', { subprotocol: 'v12.stomp' }),
      frame({ index: 0, text: '\n', size: 1 }),
      frame({ index: 1, text: 'SEND\ndestination:/queue/a\n\nhi\u0000', size: 27 }),
      frame({ index: 2, text: '\r\n', size: 2, dir: 'in' }),
    ];
    const { json } = await run(entries, { format: 'json', hideHeartbeats: true });
    expect(json().map((row) => row.index)).toEqual([1]);
    expect(json()[0]).toMatchObject({ detected: 'stomp' });
  });

  it('--hide-heartbeats keeps a "2" that is not Engine.IO (a declared subprotocol says what it is)', async () => {
    const entries: Entry[] = [
      connection('c1', { subprotocol: 'graphql-transport-ws' }),
      frame({ index: 0, text: '2', size: 1 }),
      frame({ index: 1, text: '{"type":"ping"}', size: 15 }),
    ];
    const { json } = await run(entries, { format: 'json', hideHeartbeats: true });
    expect(json().map((row) => row.text)).toEqual(['2']);
  });

  it('--proto and --message decode binary frames as the typed message', async () => {
    const proto = join(dir, 'tick.proto');
    await writeFile(proto, 'syntax = "proto3";\npackage demo;\nmessage Tick { string op = 1; int32 n = 2; int64 big = 3; }\n');
    // op = "tick", n = 3, big = 2^60
    const bytes = Buffer.from([0x0a, 0x04, ...Buffer.from('tick'), 0x10, 0x03, 0x18, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10]);
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
    const entries: Entry[] = [
      connection('c1'),
      frame({ index: 0, type: 'binary', opcode: 2, text: undefined, data: b64(bytes), size: bytes.length }),
      frame({ index: 1, type: 'binary', opcode: 2, text: undefined, data: b64(png), size: png.length }),
      frame({ index: 2, text: '{"a":1}', size: 7 }),
    ];
    const { json } = await run(entries, { format: 'json', proto, message: 'demo.Tick' });
    const rows = json();
    expect(rows[0]).toMatchObject({ detected: 'protobuf', decoded: { op: 'tick', n: 3, big: '1152921504606846976' } });
    // A PNG stays a PNG, text stays text.
    expect(rows[1]).toMatchObject({ detected: 'png' });
    expect(rows[2]).toMatchObject({ detected: 'json' });
    const { out } = await run(entries, { proto, message: 'demo.Tick', conn: ['c1'], limit: 1 });
    expect(out).toContain('BINARY 18 B (demo.Tick (protobuf))');
    expect(out).toContain('  = {"op":"tick","n":3,"big":"1152921504606846976"}');
  });

  it('--messages on an archive that stops inside a message shows it incomplete', async () => {
    const { out, json } = await run([connection('c1'), text(0, 'a', { fin: false }), cont(1, 'b', { fin: false })], { messages: true, format: 'json' });
    expect(json()).toEqual([expect.objectContaining({ text: 'ab', fragments: 2, incomplete: true, fin: false })]);
    const pretty = await run([connection('c1'), text(0, 'a', { fin: false }), cont(1, 'b', { fin: false })], { messages: true });
    expect(pretty.out).toMatch(/ c1 --> ab \[2 frags\] \[incomplete\]\n$/);
    expect(out).not.toContain('[frag]');
  });

  it('--limit stops reading: a damaged line after the limit is never reached', async () => {
    const path = join(dir, 'damaged.wstape.json');
    const lines = [headerLine(header()), `${JSON.stringify(connection('c1'))}\n`];
    for (let i = 0; i < 3; i++) lines.push(`,${JSON.stringify(frame({ index: i, elapsed: i + 1 }))}\n`);
    lines.push('this line is damaged\n', `,${JSON.stringify(frame({ index: 9 }))}\n`);
    await writeFile(path, lines.join(''));
    const io = fakeIo();
    expect(await runShow({ file: path, format: 'json', limit: 2 }, io)).toBe(0);
    expect(io.out().trim().split('\n')).toHaveLength(2);
    // Without the limit the damage is found.
    const error = await runShow({ file: path, format: 'json' }, fakeIo()).catch((e: unknown) => e);
    expect(isCliError(error) && error.code).toBe('ERR_ARCHIVE_DAMAGED');
    // An --until in seconds stops reading soon after it too.
    expect(await runShow({ file: path, format: 'json', until: '0.5' }, fakeIo())).toBe(0);
  });

  it.each<[string, Partial<ShowOptions>]>([
    ['--limit 0', { limit: 0 }],
    ['--limit 1.5', { limit: 1.5 }],
    ['--tail NaN', { tail: Number.NaN }],
    ['--limit with --tail', { limit: 1, tail: 1 }],
    ['--json with --format raw', { json: true, format: 'raw' }],
    ['--format bogus', { format: 'bogus' as 'raw' }],
    ['--proto without --message', { proto: 'x.proto' }],
    ['--message without --proto', { message: 'a.B' }],
    ['--since nonsense', { since: 'yesterday' }],
    ['--until negative', { until: '-3' }],
    ['--time bogus', { time: 'bogus' as 'utc' }],
    ['--type bogus', { type: ['data,bogus'] }],
  ])('%s is ERR_USAGE', async (_name, options) => {
    const error = await run([connection('c1'), end('c1')], options).catch((e: unknown) => e);
    expect(isCliError(error) && error.code).toBe('ERR_USAGE');
  });

  it('a .proto file that cannot be read is ERR_FILE', async () => {
    const error = await run([connection('c1')], { proto: join(dir, 'missing.proto'), message: 'a.B' }).catch((e: unknown) => e);
    expect(isCliError(error) && error.code).toBe('ERR_FILE');
  });
});

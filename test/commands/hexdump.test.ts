import { parseCommand } from '../helpers/argv.js';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hexdumpCommand, runHexdump, type HexdumpOptions } from '../../src/commands/hexdump.js';
import { isCliError } from '../../src/errors.js';
import type { Entry, FrameEntry } from '../../src/format/schema.js';
import { hexdumpC } from '../../src/output/hexdump.js';
import type { Io } from '../../src/io.js';
import { realHexdump } from '../output/real-hexdump.js';
import { ANSI, connection, end, fakeIo, frame, tempDir, writeArchive } from '../output/test-archives.js';

/** Parse argv with the real command module; the handler only captures the options. */
function parseArgs(argv: string[]): Promise<HexdumpOptions> {
  return parseCommand(hexdumpCommand, argv);
}

describe('hexdump: argv -> options', () => {
  it.each<[string[], Partial<HexdumpOptions>]>([
    [['hexdump', 'a.wstape'], { file: 'a.wstape', raw: false, force: false }],
    [['hexdump', 'a.wstape', '--conn', 'c1', '--index', '4'], { conn: ['c1'], index: 4 }],
    [['hexdump', 'a.wstape', '--conn', 'c1', '--index', '4', '--raw'], { raw: true }],
    [['hexdump', 'a.wstape', '--raw', '--force'], { raw: true, force: true }],
    [['hexdump', 'a.wstape', '--type', 'text,binary', '--dir', 'in', '--grep', 'PNG'], { type: ['text', 'binary'], dir: 'in', grep: 'PNG' }],
    [['hexdump', 'a.wstape', '--conn', 'c1,c2'], { conn: ['c1', 'c2'] }],
  ])('%j', async (argv, expected) => {
    expect(await parseArgs(argv)).toMatchObject(expected);
  });

  it('leaves absent options undefined', async () => {
    const options = await parseArgs(['hexdump', 'a.wstape']);
    expect([options.conn, options.index, options.dir, options.type, options.grep]).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });

  it.each([[['hexdump']], [['hexdump', 'a.wstape', '--dir', 'up']], [['hexdump', 'a.wstape', '--bogus']]])('rejects %j', async (argv) => {
    await expect(parseArgs(argv)).rejects.toThrow();
  });
});

/** A complete, valid PNG (2x1 RGBA). */
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000002000000010806000000f4227f8a0000000e4944415478da63f8cfc00042ff010ff903fd' + '9879d7000000000049454e44ae426082',
  'hex',
);
const BIG = Buffer.from(Array.from({ length: 300 }, (_, i) => (i < 100 ? 0 : i % 256)));

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const server = { masked: false, mask: undefined };

const FRAMES: FrameEntry[] = [
  frame({ conn: 'c1', index: 0, dir: 'out', type: 'text', text: 'hello', size: 5, elapsed: 1 }),
  frame({
    conn: 'c1',
    index: 1,
    dir: 'in',
    type: 'binary',
    opcode: 2,
    text: undefined,
    data: b64(PNG),
    size: PNG.length,
    wireSize: PNG.length + 2,
    elapsed: 1.1,
    ...server,
  }),
  frame({ conn: 'c1', index: 2, dir: 'out', type: 'binary', opcode: 2, fin: false, text: undefined, data: b64(BIG.subarray(0, 200)), size: 200, elapsed: 1.2 }),
  frame({ conn: 'c1', index: 3, dir: 'out', type: 'ping', opcode: 9, text: undefined, data: b64(Buffer.from('hb')), size: 2, elapsed: 1.3 }),
  frame({ conn: 'c1', index: 4, dir: 'out', type: 'continuation', opcode: 0, text: undefined, data: b64(BIG.subarray(200)), size: 100, elapsed: 1.4 }),
  frame({ conn: 'c1', index: 5, dir: 'in', type: 'text', fin: false, text: '{"par', size: 5, elapsed: 1.5, ...server }),
  frame({ conn: 'c1', index: 6, dir: 'in', type: 'continuation', opcode: 0, text: 't":1}', size: 5, elapsed: 1.6, ...server }),
  frame({
    conn: 'c1',
    index: 7,
    dir: 'in',
    type: 'binary',
    opcode: 2,
    text: undefined,
    data: b64(Buffer.alloc(64, 0xab)),
    size: 1_048_576,
    truncated: true,
    elapsed: 1.7,
    ...server,
  }),
  frame({ conn: 'c1', index: 8, dir: 'in', type: 'binary', opcode: 2, text: undefined, data: '', size: 0, elapsed: 1.8, ...server }),
  frame({ conn: 'c1', index: 9, dir: 'out', type: 'close', opcode: 8, text: undefined, code: 1000, reason: 'bye', size: 5, elapsed: 1.9 }),
  frame({
    conn: 'c2',
    index: 0,
    dir: 'out',
    type: 'binary',
    opcode: 2,
    text: undefined,
    data: b64(Buffer.from([1, 2, 3])),
    size: 3,
    compressed: true,
    rsv1: true,
    flags: ['reserved-bits'],
    elapsed: 2,
  }),
];

const ENTRIES: Entry[] = [connection('c1'), connection('c2', { elapsed: 0.2 }), ...FRAMES, end('c1')];

/** An Io whose stdout keeps the exact bytes written (fakeIo decodes them as UTF-8). */
function bytesIo(options: { tty?: boolean } = {}): Io & { bytes: () => Buffer; err: () => string } {
  const chunks: Buffer[] = [];
  let err = '';
  return {
    stdout: {
      write: (chunk) => (chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk)), true),
      isTTY: options.tty ?? false,
    },
    stderr: { write: (chunk) => ((err += String(chunk)), true), isTTY: false },
    env: {},
    cwd: '/',
    bytes: () => Buffer.concat(chunks),
    err: () => err,
  };
}

describe('hexdump: run', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let archive: string;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    archive = await writeArchive(join(dir, 'frames.wstape'), ENTRIES);
  });
  afterAll(async () => cleanup());

  const options = (overrides: Partial<HexdumpOptions> = {}): HexdumpOptions => ({ file: archive, raw: false, force: false, ...overrides });

  async function dump(overrides: Partial<HexdumpOptions>, ioOptions: Parameters<typeof fakeIo>[0] = {}) {
    const io = fakeIo(ioOptions);
    const code = await runHexdump(options(overrides), io);
    return { code, out: io.out(), err: io.err() };
  }

  async function failure(overrides: Partial<HexdumpOptions>, io: Io = fakeIo()): Promise<unknown> {
    return runHexdump(options(overrides), io).catch((error: unknown) => error);
  }

  /** The frames (as conn #index) whose headers the output holds. */
  const headers = (out: string): string[] => [...out.matchAll(/^(c\d #\d+) /gm)].map((match) => match[1]!);

  it('dumps every binary payload by default: binary frames and the continuations of binary messages', async () => {
    const { code, out, err } = await dump({});
    expect(code).toBe(0);
    expect(err).toBe('');
    expect(headers(out)).toEqual(['c1 #1', 'c1 #2', 'c1 #4', 'c1 #7', 'c1 #8', 'c2 #0']);
  });

  it('prints a header line per frame, then exactly what hexdump -C prints, then a blank line', async () => {
    const { out } = await dump({ conn: ['c1'], type: ['binary'], grep: 'IHDR' });
    expect(out).toBe(`c1 #1 <-- binary ${PNG.length} B\n${hexdumpC(PNG)}\n`);
    expect(out).toContain('00000000  89 50 4e 47 0d 0a 1a 0a  00 00 00 0d 49 48 44 52  |.PNG........IHDR|\n');
  });

  it('with --index (one frame) prints exactly what the real hexdump -C prints for the bytes --raw writes', async () => {
    for (const index of [0, 1, 2, 3, 4, 7, 8, 9]) {
      const io = bytesIo();
      await runHexdump(options({ conn: ['c1'], index, raw: true }), io);
      const raw = io.bytes();
      const { out } = await dump({ conn: ['c1'], index });
      expect(out).toBe(realHexdump(raw));
    }
  });

  it('shows repeated lines as * like hexdump', async () => {
    const { out } = await dump({ conn: ['c1'], index: 2 });
    expect(out.split('\n').slice(0, 4)).toEqual([
      '00000000  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|',
      '*',
      '00000060  00 00 00 00 64 65 66 67  68 69 6a 6b 6c 6d 6e 6f  |....defghijklmno|',
      '00000070  70 71 72 73 74 75 76 77  78 79 7a 7b 7c 7d 7e 7f  |pqrstuvwxyz{|}~.|',
    ]);
  });

  it('says in the header when the archive kept only part of the payload, and dumps what it kept', async () => {
    const { out } = await dump({ conn: ['c1'], type: ['binary'], grep: '^\xab' });
    expect(out).toBe(`c1 #7 <-- binary 1.0 MiB (truncated: first 64 B kept)\n${hexdumpC(Buffer.alloc(64, 0xab))}\n`);
  });

  it('with --index says on stderr that the archive kept only part of the payload', async () => {
    const { out, err } = await dump({ conn: ['c1'], index: 7 });
    expect(out).toBe(hexdumpC(Buffer.alloc(64, 0xab)));
    expect(err).toMatch(/^wstape: warning: c1 #7: the archive keeps only the first 64 B of 1\.0 MiB[^\n]*\n$/);
  });

  it('prints only the header for an empty payload among several, and nothing at all with --index (as hexdump)', async () => {
    expect((await dump({})).out).toContain('c1 #8 <-- binary 0 B\n\nc2 #0');
    expect((await dump({ conn: ['c1'], index: 8 })).out).toBe('');
  });

  it('marks fragments, compression and anomalies in the header', async () => {
    const { out } = await dump({ conn: ['c2'] });
    expect(out.split('\n')[0]).toBe('c2 #0 --> binary 3 B [deflate] [!reserved-bits]');
    expect((await dump({ conn: ['c1'], dir: 'out' })).out.split('\n')[0]).toBe('c1 #2 --> binary 200 B [frag]');
  });

  it('with --index and --conn dumps that frame whatever its type', async () => {
    expect((await dump({ conn: ['c1'], index: 0 })).out).toBe(hexdumpC(Buffer.from('hello')));
    expect((await dump({ conn: ['c1'], index: 3 })).out).toBe(hexdumpC(Buffer.from('hb')));
    // A close frame archived with code and reason only: the payload is rebuilt from them.
    expect((await dump({ conn: ['c1'], index: 9 })).out).toBe(hexdumpC(Buffer.from([0x03, 0xe8, 0x62, 0x79, 0x65])));
  });

  it.each<[string, Partial<HexdumpOptions>, string[]]>([
    ['--type text', { type: ['text'] }, ['c1 #0', 'c1 #5']],
    ['--type text,continuation', { type: ['text,continuation'] }, ['c1 #0', 'c1 #4', 'c1 #5', 'c1 #6']],
    ['--type ping,close', { type: ['ping', 'close'] }, ['c1 #3', 'c1 #9']],
    ['--dir out (binary)', { dir: 'out' }, ['c1 #2', 'c1 #4', 'c2 #0']],
    ['--grep on binary bytes', { grep: 'IHDR' }, ['c1 #1']],
    ['--conn c2', { conn: ['c2'] }, ['c2 #0']],
  ])('filter %s', async (_name, filter, expected) => {
    expect(headers((await dump(filter)).out)).toEqual(expected);
  });

  it('warns when no frame matched', async () => {
    const { code, out, err } = await dump({ conn: ['c1'], grep: 'nothing like this' });
    expect(code).toBe(0);
    expect(out).toBe('');
    expect(err).toMatch(/^wstape: warning: no binary frames matched/);
  });

  it.each<[string, Partial<HexdumpOptions>]>([
    ['--index without --conn', { index: 1 }],
    ['--index with two connections', { index: 1, conn: ['c1', 'c2'] }],
    ['a negative --index', { index: -1, conn: ['c1'] }],
    ['a --index that is not a number', { index: Number.NaN, conn: ['c1'] }],
    ['a frame that does not exist', { index: 99, conn: ['c1'] }],
    ['a connection that does not exist', { index: 0, conn: ['c9'] }],
    ['a frame the other filters leave out', { index: 0, conn: ['c1'], dir: 'in' }],
    ['an unknown --type', { type: ['bogus'] }],
    ['an invalid --grep', { grep: '(' }],
  ])('%s is ERR_USAGE', async (_name, overrides) => {
    const error = await failure(overrides);
    expect(isCliError(error) && error.code).toBe('ERR_USAGE');
  });

  it('--raw writes the payload bytes and nothing else', async () => {
    const io = bytesIo();
    expect(await runHexdump(options({ conn: ['c1'], index: 1, raw: true }), io)).toBe(0);
    expect(io.bytes().equals(PNG)).toBe(true);
    expect(io.err()).toBe('');
  });

  it('--raw output is what `file -` recognises, as in the README example', async () => {
    const io = bytesIo();
    await runHexdump(options({ conn: ['c1'], index: 1, raw: true }), io);
    expect(execFileSync('file', ['-b', '-'], { input: io.bytes(), encoding: 'utf8' })).toMatch(/^PNG image data, 2 x 1/);
  });

  it('--raw over several frames writes them back to back (a fragmented message comes out whole)', async () => {
    const io = bytesIo();
    await runHexdump(options({ conn: ['c1'], dir: 'out', raw: true }), io);
    expect(io.bytes().equals(BIG)).toBe(true);
  });

  it('--raw warns when the archive kept only part of the payload', async () => {
    const io = bytesIo();
    await runHexdump(options({ conn: ['c1'], index: 7, raw: true }), io);
    expect(io.bytes()).toHaveLength(64);
    expect(io.err()).toMatch(/^wstape: warning: c1 #7: the archive keeps only the first 64 B of 1\.0 MiB; wrote those\n$/);
  });

  it('--raw refuses to write a binary payload to a terminal', async () => {
    const io = bytesIo({ tty: true });
    const error = await failure({ conn: ['c1'], index: 1, raw: true }, io);
    expect(isCliError(error) && error.code).toBe('ERR_USAGE');
    expect(io.bytes()).toHaveLength(0);
  });

  it('--raw writes printable text to a terminal, and anything with --force', async () => {
    const text = bytesIo({ tty: true });
    await runHexdump(options({ conn: ['c1'], index: 0, raw: true }), text);
    expect(text.bytes().toString()).toBe('hello');
    const forced = bytesIo({ tty: true });
    await runHexdump(options({ conn: ['c1'], index: 1, raw: true, force: true }), forced);
    expect(forced.bytes().equals(PNG)).toBe(true);
  });

  it('dims the header on a TTY, never the dump, and has no escape codes when piped or with NO_COLOR', async () => {
    const tty = (await dump({ conn: ['c1'], type: ['binary'], grep: 'IHDR' }, { tty: true })).out;
    expect(tty.split('\n')[0]).toMatch(ANSI);
    expect(tty.split('\n').slice(1).join('\n')).not.toMatch(ANSI);
    expect((await dump({})).out).not.toMatch(ANSI);
    expect((await dump({}, { tty: true, env: { NO_COLOR: '1' } })).out).not.toMatch(ANSI);
  });

  it('with --index matches the real hexdump -C for payloads of 0, 1, 15, 16, 17 and 100 bytes, and repeated lines', async () => {
    const repeated = Buffer.concat([Buffer.alloc(16, 0x41), Buffer.alloc(48, 0x41), Buffer.from('tail'), Buffer.alloc(32, 0), Buffer.alloc(16, 0x41)]);
    const payloads = [0, 1, 15, 16, 17, 100].map((length) => Buffer.from(Array.from({ length }, (_, i) => (i * 37 + 5) % 256))).concat([repeated]);
    const path = await writeArchive(join(dir, 'sizes.wstape'), [
      connection('c1'),
      ...payloads.map((payload, index) =>
        frame({ conn: 'c1', index, dir: 'in', type: 'binary', opcode: 2, text: undefined, data: b64(payload), size: payload.length, ...server }),
      ),
    ]);
    for (const [index, payload] of payloads.entries()) {
      const io = fakeIo();
      expect(await runHexdump(options({ file: path, conn: ['c1'], index }), io)).toBe(0);
      expect(io.out()).toBe(realHexdump(payload));
    }
    expect(realHexdump(repeated)).toContain('\n*\n');
  });

  it('prints the reader warnings as wstape: warning lines', async () => {
    const path = await writeArchive(join(dir, 'open.wstape'), ENTRIES.slice(0, 5), { closed: false });
    const io = fakeIo();
    expect(await runHexdump(options({ file: path }), io)).toBe(0);
    expect(headers(io.out())).toEqual(['c1 #1', 'c1 #2']);
    expect(io.err()).toMatch(/^wstape: warning: [^\n]*not closed cleanly[^\n]*\n$/);
  });

  it('propagates reader errors', async () => {
    const error = await failure({ file: join(dir, 'missing.wstape') });
    expect(isCliError(error) && error.code).toBe('ERR_FILE');
  });

  it('writes a large payload in pieces, waiting for drain', async () => {
    const payload = Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => (i * 31) % 251));
    const path = await writeArchive(join(dir, 'large.wstape'), [
      connection('c1'),
      frame({ conn: 'c1', index: 0, dir: 'in', type: 'binary', opcode: 2, text: undefined, data: b64(payload), size: payload.length, ...server }),
    ]);
    const written: string[] = [];
    let drains = 0;
    const io = fakeIo();
    io.stdout = {
      write: (chunk) => (written.push(String(chunk)), false),
      once: (_event, listener) => {
        drains++;
        setImmediate(listener);
      },
    };
    await runHexdump(options({ file: path }), io);
    expect(written.length).toBeGreaterThan(3);
    expect(drains).toBe(written.length);
    expect(written.slice(1, -1).join('')).toBe(hexdumpC(payload));
  });
});

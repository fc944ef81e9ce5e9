import { beforeAll, describe, expect, it } from 'vitest';
import { stripAnsi } from '../../src/output/colors.js';
import { formatConnectionLine, formatEntryLine, formatFrameLine, formatTimestamp, type FrameLike } from '../../src/output/frame-line.js';
import { ANSI, connection, end, errorEntry, frame, httpExchange, tunnel } from './test-archives.js';

beforeAll(() => {
  // `clock` is local time; pin the zone so the expected strings hold on any machine.
  process.env.TZ = 'UTC';
});

const plain = { color: false } as const;
const b64 = (bytes: number[]): string => Buffer.from(bytes).toString('base64');

/** The line without its time prefix and connection id, for readable expectations. */
function body(line: string): string {
  return line.replace(/^\[[^\]]+\] \S+ /, '');
}

describe('formatTimestamp', () => {
  it.each([
    ['clock', '10:30:00.123'],
    ['utc', '2026-11-25T10:30:00.123Z'],
    ['rel', '+12.345678s'],
  ] as const)('%s', (format, expected) => {
    expect(formatTimestamp('2026-11-25T10:30:00.123Z', 12.345678, format)).toBe(expected);
  });

  it('defaults to clock', () => {
    expect(formatTimestamp('2026-11-25T10:30:00.123Z', 0)).toBe('10:30:00.123');
  });
});

describe('formatFrameLine: frame types', () => {
  const cases: [string, Partial<FrameLike>, string][] = [
    ['text out', { text: '{"type":"join","room":"general"}', size: 32 }, '--> {"type":"join","room":"general"}'],
    ['text in', { dir: 'in', masked: false, mask: undefined, text: 'welcome', size: 7 }, '<-- welcome'],
    ['empty text', { text: '', size: 0 }, '--> (empty)'],
    ['newlines escaped', { text: 'a\nb\r\n', size: 5 }, '--> a\\nb\\r\\n'],
    ['terminal escapes neutralised', { text: '\u001b[2Jboom', size: 8 }, '--> \\x1b[2Jboom'],
    [
      'binary',
      { type: 'binary', opcode: 2, text: undefined, data: b64([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), size: 8 },
      '--> BINARY 8 B 89 50 4e 47 0d 0a 1a 0a',
    ],
    [
      'binary, only the first 16 bytes shown',
      { type: 'binary', opcode: 2, text: undefined, data: b64(Array.from({ length: 1024 }, (_, i) => i % 256)), size: 1024 },
      '--> BINARY 1.0 KiB 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f …',
    ],
    ['empty binary', { type: 'binary', opcode: 2, text: undefined, data: '', size: 0 }, '--> BINARY 0 B'],
    ['text frame with invalid UTF-8', { text: undefined, data: b64([0xc3, 0x28]), size: 2, flags: ['invalid-utf8'] }, '--> TEXT 2 B c3 28 [!invalid-utf8]'],
    ['ping, printable', { type: 'ping', opcode: 9, text: undefined, data: b64([...Buffer.from('hb')]), size: 2 }, '--> PING "hb"'],
    ['ping, empty', { type: 'ping', opcode: 9, text: undefined, data: '', size: 0 }, '--> PING'],
    ['pong, binary payload as hex', { type: 'pong', opcode: 10, dir: 'in', text: undefined, data: b64([0, 1, 255]), size: 3 }, '<-- PONG 3 B 00 01 ff'],
    ['close with reason', { type: 'close', opcode: 8, text: undefined, code: 1000, reason: 'bye', size: 5 }, '--> CLOSE 1000 Normal closure "bye"'],
    ['close without reason', { type: 'close', opcode: 8, text: undefined, code: 1001, reason: '', size: 2 }, '--> CLOSE 1001 Going away'],
    ['close without code', { type: 'close', opcode: 8, text: undefined, size: 0 }, '--> CLOSE'],
    [
      'reserved opcode',
      { type: 'reserved', opcode: 3, text: undefined, data: b64([1, 2]), size: 2, flags: ['reserved-opcode'] },
      '--> OPCODE 0x3 2 B 01 02 [!reserved-opcode]',
    ],
    ['first fragment', { fin: false, text: '{"part', size: 6 }, '--> {"part [frag]'],
    ['middle fragment', { type: 'continuation', opcode: 0, fin: false, text: 'ial":', size: 5 }, '--> CONT ial": [frag]'],
    ['last fragment', { type: 'continuation', opcode: 0, text: '1}', size: 2 }, '--> CONT 1}'],
    ['binary continuation', { type: 'continuation', opcode: 0, text: undefined, data: b64([0xde, 0xad]), size: 2 }, '--> CONT 2 B de ad'],
    ['compressed', { rsv1: true, compressed: true, text: 'zipped', size: 6 }, '--> zipped [deflate]'],
    [
      'several flags',
      { rsv2: true, masked: false, mask: undefined, flags: ['reserved-bits', 'unmasked-client-frame'] },
      '--> hi [!reserved-bits] [!unmasked-client-frame]',
    ],
  ];

  it.each(cases)('%s', (_name, overrides, expected) => {
    const line = formatFrameLine(frame({ time: '2026-11-25T10:30:00.123Z', ...overrides }), plain);
    expect(line).toBe(`[10:30:00.123] c1 ${expected}`);
  });

  it('accepts a frame without kind (the show --json shape)', () => {
    const { kind: _kind, ...rest } = frame({ time: '2026-11-25T10:30:00.123Z' });
    expect(formatFrameLine(rest, plain)).toBe('[10:30:00.123] c1 --> hi');
  });

  it('names close codes outside the registry by range', () => {
    const line = formatFrameLine(frame({ type: 'close', opcode: 8, text: undefined, code: 4000, reason: 'custom' }), plain);
    expect(line).toContain('CLOSE 4000 ');
    expect(line).toContain('"custom"');
  });

  it('uses the time format asked for', () => {
    const f = frame({ time: '2026-11-25T10:30:00.123Z', elapsed: 1.5 });
    expect(formatFrameLine(f, { color: false, time: 'rel' })).toMatch(/^\[\+1\.500000s\] c1 -->/);
    expect(formatFrameLine(f, { color: false, time: 'utc' })).toMatch(/^\[2026-11-25T10:30:00\.123Z\] c1 -->/);
  });
});

describe('formatFrameLine: long and truncated payloads', () => {
  const long = 'x'.repeat(20_000);

  it('cuts long text to the width, ending with … and the real size', () => {
    const line = formatFrameLine(frame({ text: long, size: 20_000 }), { color: false, maxWidth: 80 });
    expect(line.length).toBeLessThanOrEqual(80);
    expect(line).toMatch(/x… \(19\.5 KiB\)$/);
  });

  it('defaults to a bounded width', () => {
    const line = formatFrameLine(frame({ text: long, size: 20_000 }), plain);
    expect(line.length).toBeLessThan(300);
    expect(line).toContain('…');
  });

  it('formats a multi-megabyte payload without escaping all of it', () => {
    const huge = 'a\n'.repeat(4 * 1024 * 1024);
    const line = formatFrameLine(frame({ text: huge, size: huge.length }), { color: false, maxWidth: 80 });
    expect(line.length).toBeLessThanOrEqual(80);
    expect(body(line)).toMatch(/^--> (a\\n)+a?… \(8\.0 MiB\)$/);
  });

  it('keeps short text whole', () => {
    expect(formatFrameLine(frame({ text: 'short', size: 5 }), { color: false, maxWidth: 80 })).not.toContain('…');
  });

  it('never cuts inside an escape sequence', () => {
    const line = formatFrameLine(frame({ text: '\n'.repeat(500), size: 500 }), { color: false, maxWidth: 60 });
    expect(body(line)).toMatch(/^--> (\\n)+… \(500 B\)$/);
  });

  it('gives the payload a minimum width on a narrow terminal', () => {
    const line = formatFrameLine(frame({ text: long, size: 20_000 }), { color: false, maxWidth: 10 });
    expect(body(line).length).toBeGreaterThan(20);
  });

  it('marks truncated payloads, with the real size, even when the kept part fits', () => {
    const line = formatFrameLine(frame({ text: 'abc', size: 1_048_576, truncated: true }), plain);
    expect(body(line)).toBe('--> abc… (1.0 MiB) [truncated]');
  });

  it('marks truncated binary payloads', () => {
    const line = formatFrameLine(frame({ type: 'binary', opcode: 2, text: undefined, data: b64([1, 2, 3]), size: 2048, truncated: true }), plain);
    expect(body(line)).toBe('--> BINARY 2.0 KiB 01 02 03 … [truncated]');
  });

  it('keeps the markers when text is cut', () => {
    const line = formatFrameLine(frame({ text: long, size: 20_000, compressed: true, flags: ['invalid-utf8'] }), {
      color: false,
      maxWidth: 100,
    });
    expect(line.length).toBeLessThanOrEqual(100);
    expect(line).toMatch(/\[deflate\] \[!invalid-utf8\]$/);
  });
});

describe('formatFrameLine: colour', () => {
  it('has no escape codes when colour is off', () => {
    const frames = [
      frame({ flags: ['reserved-bits'], compressed: true, fin: false }),
      frame({ type: 'close', opcode: 8, text: undefined, code: 1000, reason: 'bye' }),
      frame({ type: 'ping', opcode: 9, text: undefined, data: '' }),
      frame({ text: 'x'.repeat(500), size: 500 }),
    ];
    for (const f of frames) expect(formatFrameLine(f, plain)).not.toMatch(ANSI);
  });

  it('colours arrows by direction, control frames, anomalies and the time', () => {
    const out = formatFrameLine(frame({ dir: 'out' }), { color: true });
    const inbound = formatFrameLine(frame({ dir: 'in' }), { color: true });
    expect(out).toContain('\u001b[32m-->'); // green
    expect(inbound).toContain('\u001b[36m<--'); // cyan
    // eslint-disable-next-line no-control-regex -- matching control bytes (C0 controls, ANSI escapes) is the point
    expect(out).toMatch(/^\u001b\[2m\[/); // dim time
    expect(formatFrameLine(frame({ type: 'ping', opcode: 9, text: undefined, data: '' }), { color: true })).toContain('\u001b[33mPING');
    expect(formatFrameLine(frame({ flags: ['reserved-bits'] }), { color: true })).toContain('\u001b[31m[!reserved-bits]');
  });

  it('prints the same text with and without colour', () => {
    const f = frame({ text: 'y'.repeat(400), size: 400, flags: ['reserved-bits'], compressed: true });
    expect(stripAnsi(formatFrameLine(f, { color: true, maxWidth: 90 }))).toBe(formatFrameLine(f, { color: false, maxWidth: 90 }));
  });

  it('colours JSON payloads: keys, strings, numbers and literals apart, the same text without colour', () => {
    const f = frame({ text: '{"type":"join","n":3,"ok":true}', size: 31 });
    const coloured = formatFrameLine(f, { color: true });
    expect(coloured).toContain('\u001b[34m"type"\u001b[39m');
    expect(coloured).toContain('\u001b[32m"join"\u001b[39m');
    expect(coloured).toContain('\u001b[33m3\u001b[39m');
    expect(coloured).toContain('\u001b[35mtrue\u001b[39m');
    expect(stripAnsi(coloured)).toBe(formatFrameLine(f, plain));
  });

  it('colours JSON cut to the width, or cut short by the archive, and leaves other text alone', () => {
    const long = frame({ text: `{"rows":[${'1,'.repeat(300)}1]}`, size: 612 });
    const cut = formatFrameLine(long, { color: true, maxWidth: 80 });
    expect(cut).toContain('\u001b[34m"rows"');
    expect(stripAnsi(cut)).toBe(formatFrameLine(long, { color: false, maxWidth: 80 }));
    expect(formatFrameLine(frame({ text: '{"a":', size: 100, truncated: true }), { color: true })).toContain('\u001b[34m"a"');
    const notJson = formatFrameLine(frame({ text: 'say "hi" 42', size: 11 }), { color: true });
    expect(notJson).not.toContain('\u001b[33m42');
  });
});

describe('formatFrameLine: message rows (show --messages)', () => {
  it('marks the fragment count, and an unfinished message as incomplete', () => {
    const message = (more: Partial<FrameLike>): FrameLike => ({ ...frame({ text: 'abc', size: 3 }), ...more });
    expect(body(formatFrameLine(message({ fragments: 3 }), plain))).toBe('--> abc [3 frags]');
    expect(body(formatFrameLine(message({ fragments: 1 }), plain))).toBe('--> abc');
    expect(body(formatFrameLine(message({ text: 'ab', size: 2, fin: false, fragments: 2, incomplete: true }), plain))).toBe('--> ab [2 frags] [incomplete]');
  });
});

describe('formatConnectionLine', () => {
  const at = { time: '2026-11-25T10:30:00.100Z' };

  it.each([
    ['websocket', connection('c1', at), '[10:30:00.100] c1 === ws://127.0.0.1:9000/chat 101'],
    [
      'websocket with subprotocol and deflate',
      connection('c1', {
        ...at,
        subprotocol: 'chat',
        extensions: 'permessage-deflate',
        permessageDeflate: { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 },
      }),
      '[10:30:00.100] c1 === ws://127.0.0.1:9000/chat 101 (subprotocol chat, permessage-deflate)',
    ],
    ['http', httpExchange('h1', at), '[10:30:00.100] h1 POST http://127.0.0.1:9000/api/items -> 201 (1.2 KiB, 3 ms)'],
    [
      'http changed by a hook',
      httpExchange('h3', { ...at, action: 'modified', by: 'script' }),
      '[10:30:00.100] h3 POST http://127.0.0.1:9000/api/items -> 201 (1.2 KiB, 3 ms) [modified by script]',
    ],
    [
      'http answered by a hook',
      httpExchange('h4', { ...at, action: 'mocked', by: 'flag' }),
      '[10:30:00.100] h4 POST http://127.0.0.1:9000/api/items -> 201 (1.2 KiB, 3 ms) [mocked by flag]',
    ],
    [
      'http without response',
      httpExchange('h2', { ...at, response: null, error: 'upstream reset' }),
      '[10:30:00.100] h2 POST http://127.0.0.1:9000/api/items -> error: upstream reset',
    ],
    ['tunnel', tunnel('t1', at), '[10:30:00.100] t1 === tunnel https://example.com:443 (tls, not recorded)'],
    [
      'clean close',
      end('c1', { ...at, closeCode: 1000, closeReason: 'bye', bytesOut: 100, bytesIn: 2048 }),
      '[10:30:00.100] c1 === closed 1000 Normal closure "bye" by client (clean) (100 B out, 2.0 KiB in)',
    ],
    [
      'close not answered',
      end('c1', { ...at, closeCode: 1001, clean: false, closedBy: 'server', droppedBy: 'server' }),
      '[10:30:00.100] c1 === closed 1001 Going away by server (not clean: server dropped the connection) (100 B out, 200 B in)',
    ],
    [
      'abnormal close',
      end('c1', { ...at, closeCode: 1006, clean: false, closedBy: 'server', droppedBy: 'server' }),
      '[10:30:00.100] c1 === closed 1006 Abnormal closure: server dropped the connection (100 B out, 200 B in)',
    ],
    [
      'tunnel end',
      end('t1', { ...at, closeCode: null, closedBy: null, droppedBy: 'client', clean: false }),
      '[10:30:00.100] t1 === closed: client dropped the connection (100 B out, 200 B in)',
    ],
    ['error', errorEntry({ ...at, message: 'connect ECONNREFUSED' }), '[10:30:00.100] error UPSTREAM_CONNECT: connect ECONNREFUSED'],
    [
      'error on a connection, one direction',
      errorEntry({ ...at, conn: 'c2', dir: 'in', code: 'WS_STREAM_UNPARSEABLE', message: 'bad\nframe' }),
      '[10:30:00.100] c2 <-- error WS_STREAM_UNPARSEABLE: bad\\nframe',
    ],
  ] as const)('%s', (_name, entry, expected) => {
    expect(formatConnectionLine(entry, plain)).toBe(expected);
    expect(formatEntryLine(entry, plain)).toBe(expected);
    expect(stripAnsi(formatConnectionLine(entry, { color: true }))).toBe(expected);
  });

  it('colours an abnormal close and errors red', () => {
    expect(formatConnectionLine(end('c1', { closeCode: 1006 }), { color: true })).toContain('\u001b[31m');
    expect(formatConnectionLine(errorEntry(), { color: true })).toContain('\u001b[31m');
  });

  it('dispatches frames through formatEntryLine', () => {
    const f = frame();
    expect(formatEntryLine(f, plain)).toBe(formatFrameLine(f, plain));
  });
});

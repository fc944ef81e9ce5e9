/**
 * `wstape import` of HARs in the shapes other tools write (fixtures/har/, where each shape comes
 * from is in docs/HAR.md and fixtures/har/README.md), and of HARs it must refuse: one line with
 * the JSON path of the first problem, ERR_HAR, exit code 2.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runImport } from '../../src/har/import-har.js';
import { isCliError } from '../../src/errors.js';
import type { ConnectionEntry, EndEntry, Entry, ErrorEntry, FrameEntry, HttpEntry } from '../../src/format/schema.js';
import { parseHarText } from '../../src/har/har-schema.js';
import { openArchive } from '../../src/format/archive-reader.js';
import { StatsAccumulator } from '../../src/inspect/stats.js';
import { fakeIo } from '../output/test-archives.js';
import { importHar, scratch } from './helpers.js';

const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`../../fixtures/har/${name}`, import.meta.url), 'utf8'));

const connections = (entries: Entry[]): ConnectionEntry[] => entries.filter((entry): entry is ConnectionEntry => entry.kind === 'connection');
const exchanges = (entries: Entry[]): HttpEntry[] => entries.filter((entry): entry is HttpEntry => entry.kind === 'http');
const frames = (entries: Entry[], conn: string): FrameEntry[] => entries.filter((entry): entry is FrameEntry => entry.kind === 'frame' && entry.conn === conn);
const endOf = (entries: Entry[], conn: string): EndEntry | undefined => entries.find((entry): entry is EndEntry => entry.kind === 'end' && entry.conn === conn);
const describeFrame = (frame: FrameEntry): string => `#${frame.index} ${frame.dir} ${frame.type} ${frame.text ?? `data:${frame.data}`} @${frame.time}`;

describe('import of what Chrome DevTools exports (fixtures/har/chrome-websocket.har)', () => {
  it('makes the WebSocket entry a connection with its handshake, subprotocol and extensions', async () => {
    const { entries } = await importHar(fixture('chrome-websocket.har'));
    const [c1] = connections(entries);
    expect(c1).toMatchObject({
      id: 'c1',
      url: 'ws://localhost:9000/chat?room=general',
      time: '2024-11-25T10:30:02.100Z',
      // Elapsed counts from the earliest startedDateTime (the page, at 10:30:01.900).
      elapsed: 0.2,
      mode: 'forward',
      server: { host: 'localhost', port: 9000 },
      subprotocol: 'chat.v1',
      extensions: 'permessage-deflate',
      permessageDeflate: { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 },
    });
    expect(c1?.request).toMatchObject({ method: 'GET', target: '/chat?room=general', httpVersion: '1.1' });
    expect(c1?.request.headers[0]).toEqual(['Accept-Encoding', 'gzip, deflate, br, zstd']);
    expect(c1?.response).toMatchObject({ status: 101, statusText: 'Switching Protocols', httpVersion: '1.1' });
  });

  it('makes each message a frame: direction from type, type from opcode, text or base64 data, epoch-second times', async () => {
    const { entries } = await importHar(fixture('chrome-websocket.har'));
    expect(frames(entries, 'c1').map(describeFrame)).toEqual([
      '#0 out text {"type":"join","room":"general"} @2024-11-25T10:30:02.150Z',
      '#1 in text {"type":"welcome","users":3} @2024-11-25T10:30:02.152Z',
      '#2 in binary data:iVBORw0KGgo= @2024-11-25T10:30:02.401Z',
      '#3 out text héllo 👋 @2024-11-25T10:30:03.000Z',
      '#4 out binary data:AAECAw== @2024-11-25T10:30:03.250Z',
      '#5 in text {"type":"ack","bytes":4} @2024-11-25T10:30:03.251Z',
    ]);
    const [first] = frames(entries, 'c1');
    // The HAR's microseconds survive in elapsed; masking is unknown, so false.
    expect(first).toMatchObject({ elapsed: 0.250123, opcode: 1, fin: true, masked: false, rsv1: false, size: 32, wireSize: 34 });
    expect(frames(entries, 'c1')[3]).toMatchObject({ size: Buffer.byteLength('héllo 👋') });
  });

  it('leaves the connection open (no end entry) since Chrome does not export how it closed, and says so', async () => {
    const { entries, io } = await importHar(fixture('chrome-websocket.har'));
    expect(endOf(entries, 'c1')).toBeUndefined();
    expect(io.err()).toMatch(/1 WebSocket connection has no close information/);
    expect(io.err()).toMatch(/imported 1 WebSocket connection \(6 frames\) and 2 HTTP exchanges from in\.har \(written by WebInspector\)/);
  });

  it('imports the HTTP entries with bodies, headers and durations', async () => {
    const { entries } = await importHar(fixture('chrome-websocket.har'));
    const [page, login] = exchanges(entries);
    expect(page).toMatchObject({ id: 'h1', url: 'http://localhost:9000/', elapsed: 0, duration: 5.432, request: { method: 'GET', target: '/' } });
    expect(page?.response?.body).toEqual({ size: 47, text: '<!doctype html><script src="/chat.js"></script>' });
    expect(login?.request).toMatchObject({
      method: 'POST',
      target: '/api/login?next=%2Fchat&remember',
      body: { size: 29, text: '{"user":"ada","password":"x"}' },
    });
    expect(login?.response).toMatchObject({ status: 200, body: { size: 11, text: '{"ok":true}' } });
    expect(login?.response?.headers).toContainEqual(['Set-Cookie', 'sid=s3cr3t; Path=/; HttpOnly']);
  });

  it('turns Chrome\'s error messages (type "error", opcode -1) into error entries, and continuation frames into frames', async () => {
    const har = fixture('chrome-websocket.har') as { log: { entries: { _webSocketMessages?: unknown[] }[] } };
    const ws = har.log.entries[2]!;
    ws._webSocketMessages = [
      { type: 'send', time: 1732530602.2, opcode: 1, data: 'part one, ' },
      // CDP: any opcode but 1 is base64, continuation frames included.
      { type: 'send', time: 1732530602.3, opcode: 0, data: Buffer.from('part two').toString('base64') },
      { type: 'receive', time: 1732530602.4, opcode: 9, data: Buffer.from('hb').toString('base64') },
      { type: 'receive', time: 1732530602.5, opcode: 8, data: Buffer.from([0x03, 0xe9, 0x62, 0x79, 0x65]).toString('base64') },
      { type: 'error', time: 1732530602.6, opcode: -1, data: 'Invalid frame header' },
    ];
    const { entries } = await importHar(har);
    expect(frames(entries, 'c1').map(describeFrame)).toEqual([
      '#0 out text part one,  @2024-11-25T10:30:02.200Z',
      '#1 out continuation part two @2024-11-25T10:30:02.300Z',
      '#2 in ping data:aGI= @2024-11-25T10:30:02.400Z',
      '#3 in close data:undefined @2024-11-25T10:30:02.500Z',
    ]);
    expect(frames(entries, 'c1')[3]).toMatchObject({ code: 1001, reason: 'bye' });
    const error = entries.find((entry): entry is ErrorEntry => entry.kind === 'error');
    expect(error).toMatchObject({ conn: 'c1', code: 'HAR_WEBSOCKET_ERROR', message: 'Invalid frame header', time: '2024-11-25T10:30:02.600Z' });
    // A close frame says how it ended: closed by the server, the client never answered.
    expect(endOf(entries, 'c1')).toMatchObject({ closeCode: 1001, closeReason: 'bye', closedBy: 'server', clean: false });
  });
});

describe('import of what mitmproxy exports (fixtures/har/mitmproxy-websocket.har)', () => {
  it('reads its http:// WebSocket URL, microsecond times and binary messages', async () => {
    const { entries } = await importHar(fixture('mitmproxy-websocket.har'));
    const [c1] = connections(entries);
    expect(c1).toMatchObject({ url: 'ws://127.0.0.1:9000/chat', time: '2024-11-25T10:30:02.100Z', elapsed: 0, server: { host: '127.0.0.1', port: 9000 } });
    expect(frames(entries, 'c1').map(describeFrame)).toEqual([
      '#0 out text hello mitm @2024-11-25T10:30:02.215Z',
      '#1 in text echo: hello mitm @2024-11-25T10:30:02.216Z',
      '#2 in binary data:R0lGODlh @2024-11-25T10:30:02.500Z',
      '#3 out binary data:AAECAw== @2024-11-25T10:30:03.750Z',
    ]);
    expect(frames(entries, 'c1')[0]?.elapsed).toBe(0.115289);
  });

  it('reads a form POST, a base64 response, null timings and a failed request', async () => {
    const { entries } = await importHar(fixture('mitmproxy-websocket.har'));
    const [post, failed] = exchanges(entries);
    expect(post?.request.body).toEqual({ size: 13, text: 'a=1&b=two+two' });
    expect(post?.response?.body).toEqual({ size: 4, data: 'AP8A/w==' });
    expect(post?.elapsed).toBe(1.900377);
    expect(failed).toMatchObject({ response: null, error: 'Connection refused', url: 'http://127.0.0.1:9001/down' });
  });
});

describe('import of what HTTP Toolkit exports (fixtures/har/httptoolkit-websocket.har)', () => {
  it('reads _webSocketClose: code, reason and time of the close; "aborted" as 1006', async () => {
    const { entries, io } = await importHar(fixture('httptoolkit-websocket.har'));
    expect(connections(entries).map((connection) => connection.url)).toEqual(['wss://echo.example.test/socket?token=abc', 'wss://echo.example.test/flaky']);
    expect(connections(entries)[0]?.server).toEqual({ host: 'echo.example.test', port: 443 });
    expect(endOf(entries, 'c1')).toMatchObject({
      closeCode: 1000,
      closeReason: 'bye',
      time: '2024-11-25T10:30:05.500Z',
      elapsed: 3.4005,
      bytesOut: 7,
      bytesIn: 13,
    });
    expect(endOf(entries, 'c2')).toMatchObject({ closeCode: 1006, closeReason: '', clean: false, time: '2024-11-25T10:30:08.500Z' });
    expect(io.err()).not.toMatch(/no close information/);
  });

  it('reads a binary request body from _content (base64)', async () => {
    const { entries } = await importHar(fixture('httptoolkit-websocket.har'));
    const [put] = exchanges(entries);
    expect(put?.request).toMatchObject({ method: 'PUT', target: '/blob/7', body: { size: 4, data: '3q2+7w==' } });
    expect(put?.response).toMatchObject({ status: 204 });
    expect(put?.response?.body).toBeUndefined();
  });
});

describe('import of what Playwright exports (fixtures/har/playwright-websocket.har)', () => {
  it('reads message times in milliseconds (decided by magnitude)', async () => {
    const { entries } = await importHar(fixture('playwright-websocket.har'));
    expect(frames(entries, 'c1').map(describeFrame)).toEqual([
      '#0 out text {"type":"connection_init"} @2024-11-25T10:30:02.150Z',
      '#1 in text {"type":"connection_ack"} @2024-11-25T10:30:02.158Z',
      '#2 in binary data:AQID @2024-11-25T10:30:03.010Z',
    ]);
    expect(frames(entries, 'c1').map((frame) => frame.elapsed)).toEqual([0.130125, 0.1385, 0.99075]);
    expect(connections(entries)[0]?.subprotocol).toBe('graphql-transport-ws');
  });

  it('decodes base64 content to a text body, and reads status -1 with _failureText as a failure', async () => {
    const { entries } = await importHar(fixture('playwright-websocket.har'));
    const [me, offline] = exchanges(entries);
    expect(me?.response?.body).toEqual({ size: 14, text: '{"name":"ada"}' });
    expect(offline).toMatchObject({ response: null, error: 'net::ERR_NAME_NOT_RESOLVED', duration: 0 });
  });
});

describe('import of HARs in other shapes', () => {
  const base = (entry: Record<string, unknown>): unknown => ({
    log: {
      version: '1.2',
      creator: { name: 'test', version: '1' },
      entries: [
        {
          startedDateTime: '2024-11-25T10:30:00.000Z',
          time: 1,
          request: { method: 'GET', url: 'wss://x.test/s', httpVersion: 'HTTP/1.1', headers: [] },
          response: { status: 101, statusText: 'Switching Protocols', httpVersion: 'HTTP/1.1', headers: [] },
          ...entry,
        },
      ],
    },
  });

  it('imports a HAR without WebSocket entries as its HTTP exchanges', async () => {
    const har = fixture('chrome-websocket.har') as { log: { entries: unknown[] } };
    har.log.entries = har.log.entries.slice(0, 2);
    const { entries } = await importHar(har);
    expect(entries.map((entry) => entry.kind)).toEqual(['http', 'http']);
  });

  it('takes message times too small to be epoch times as seconds from the first message', async () => {
    const { entries, io } = await importHar(
      base({
        _webSocketMessages: [
          { type: 'send', time: 5000.25, opcode: 1, data: 'a' },
          { type: 'receive', time: 5001.75, opcode: 1, data: 'b' },
        ],
      }),
    );
    expect(frames(entries, 'c1').map((frame) => frame.time)).toEqual(['2024-11-25T10:30:00.000Z', '2024-11-25T10:30:01.500Z']);
    expect(io.err()).toMatch(/log\.entries\[0\]: its message times are not epoch times/);
  });

  it('skips messages of unknown type or opcode with a warning naming them', async () => {
    const { entries, io } = await importHar(
      base({
        _webSocketMessages: [
          { type: 'sideways', time: 1732530000, opcode: 1, data: 'a' },
          { type: 'send', time: 1732530000, opcode: 16, data: 'b' },
          { type: 'send', time: 1732530000, opcode: 2, data: 'not base64!' },
        ],
      }),
    );
    expect(io.err()).toMatch(/log\.entries\[0\]\._webSocketMessages\[0\]: type "sideways"/);
    expect(io.err()).toMatch(/log\.entries\[0\]\._webSocketMessages\[1\]: opcode 16/);
    // Binary data that is not base64 is taken as the text's bytes; a message time before the
    // handshake is moved to it.
    expect(frames(entries, 'c1').map(describeFrame)).toEqual([`#0 out binary data:${Buffer.from('not base64!').toString('base64')} @2024-11-25T10:30:00.000Z`]);
  });

  it('makes a WebSocket entry whose handshake failed an HTTP exchange', async () => {
    const { entries } = await importHar(
      base({
        response: { status: 403, statusText: 'Forbidden', httpVersion: 'HTTP/1.1', headers: [], content: { size: 6, text: 'nope!\n', mimeType: 'text/plain' } },
      }),
    );
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ kind: 'http', id: 'h1', url: 'wss://x.test/s', response: { status: 403, body: { size: 6, text: 'nope!\n' } } });
  });

  it('encodes a decoded body again when its headers name a content coding, so the archive stays consistent', async () => {
    const { entries } = await importHar(
      base({
        request: { method: 'GET', url: 'https://x.test/z', httpVersion: 'HTTP/2.0', headers: [] },
        response: {
          status: 200,
          statusText: '',
          httpVersion: 'h2',
          headers: [{ name: 'content-encoding', value: 'gzip' }],
          content: { size: 5, mimeType: 'text/plain', text: 'hello' },
        },
      }),
    );
    const [exchange] = exchanges(entries);
    expect(exchange?.request.httpVersion).toBe('2');
    expect(exchange?.response?.httpVersion).toBe('2');
    const { gunzipSync } = await import('node:zlib');
    expect(gunzipSync(Buffer.from(exchange?.response?.body?.data ?? '', 'base64')).toString()).toBe('hello');
  });
});

describe('bad HAR files', () => {
  const cases: [string, string, RegExp][] = [
    ['not JSON', '{"log": [', /bad\.har is not a HAR file: not JSON/],
    ['empty', '', /not JSON/],
    ['no log', '{}', /bad\.har is not a HAR file wstape can import: log: missing \(expected an object\)$/],
    ['entries not an array', '{"log":{"entries":{}}}', /: log\.entries: expected an array, got an object$/],
    [
      'headers not an array',
      JSON.stringify({
        log: {
          entries: [0, 1, 2, 3].map((n) => ({
            startedDateTime: '2024-11-25T10:30:00Z',
            request: { method: 'GET', url: `http://x/${n}`, headers: n === 3 ? { Host: 'x' } : [] },
            response: { status: 200, headers: [] },
          })),
        },
      }),
      /: log\.entries\[3\]\.request\.headers: expected an array, got an object$/,
    ],
    [
      'a message time that is a string',
      JSON.stringify({
        log: {
          entries: [
            {
              startedDateTime: '2024-11-25T10:30:00Z',
              request: { method: 'GET', url: 'ws://x/', headers: [] },
              response: { status: 101, headers: [] },
              _webSocketMessages: [
                { type: 'send', time: 1, opcode: 1, data: 'a' },
                { type: 'send', time: 'noon', opcode: 1, data: 'b' },
              ],
            },
          ],
        },
      }),
      /: log\.entries\[0\]\._webSocketMessages\[1\]\.time: expected a number, got a string$/,
    ],
    [
      'a bad date',
      JSON.stringify({
        log: { entries: [{ startedDateTime: 'yesterday', request: { method: 'GET', url: 'http://x/', headers: [] }, response: { status: 200, headers: [] } }] },
      }),
      /: log\.entries\[0\]\.startedDateTime: expected an ISO 8601 date$/,
    ],
    [
      'a bad _webSocketClose',
      JSON.stringify({
        log: {
          entries: [
            {
              startedDateTime: '2024-11-25T10:30:00Z',
              request: { method: 'GET', url: 'ws://x/', headers: [] },
              response: { status: 101, headers: [] },
              _webSocketClose: 42,
            },
          ],
        },
      }),
      /: log\.entries\[0\]\._webSocketClose: expected \{code, reason, timestamp\} or "aborted"$/,
    ],
    ['a wstape archive', '{"format":"wstape","version":1,"entries":[]}', /bad\.har is a wstape archive already, not a HAR file/],
  ];

  it.each(cases)('%s: one line with the JSON path, ERR_HAR, exit code 2, nothing written', async (_name, text, message) => {
    const dir = scratch();
    const file = join(dir, 'bad.har');
    const out = join(dir, 'bad.wstape.json');
    writeFileSync(file, text);
    const error = await runImport({ file, out }, fakeIo()).catch((caught: unknown) => caught);
    expect(isCliError(error)).toBe(true);
    if (!isCliError(error)) return;
    expect(error.code).toBe('ERR_HAR');
    expect(error.exitCode).toBe(2);
    expect(error.message).not.toContain('\n');
    expect(error.message.replace(file, 'bad.har')).toMatch(message);
    expect(existsSync(out)).toBe(false);
  });

  it('names the path of a value that cannot become a valid archive entry', () => {
    const text = JSON.stringify({
      log: { entries: [], _wstapeHeader: { format: 'wstape', version: 3, creator: { name: 'wstape', version: '9' }, startedAt: 'x' } },
    });
    expect(() => parseHarText(text, 'x.har')).toThrow(/log\._wstapeHeader\.version: /);
  });

  it('refuses an error code that is not in the closed table, with its path', () => {
    const error = { time: '2024-11-25T10:30:00.000Z', elapsed: 0, code: 'WS_INVALID_OPCODE', message: 'm' };
    expect(() => parseHarText(JSON.stringify({ log: { entries: [], _wstapeErrors: [error] } }), 'x.har')).toThrow(/log\._wstapeErrors\[0\]\.code: /);
  });
});

describe("import of Chrome's record of WebSockets that never connected (fixtures/har/chrome-websocket-failed.har)", () => {
  it('makes each one a failed upgrade with its error text, and starts the archive at the earliest real time', async () => {
    const { entries, io, path } = await importHar(fixture('chrome-websocket-failed.har'));
    expect(connections(entries)).toEqual([]);
    const failed = exchanges(entries).filter((entry) => entry.url.startsWith('ws:'));
    expect(failed.map((entry) => [entry.id, entry.url, entry.time, entry.response, entry.error])).toEqual([
      [
        'h2',
        'ws://localhost:9001/live',
        '2024-11-25T10:30:02.113Z',
        null,
        'the WebSocket never connected: Error in connection establishment: net::ERR_CONNECTION_REFUSED',
      ],
      [
        'h3',
        'ws://localhost:9002/feed',
        '2024-11-25T10:30:02.540Z',
        null,
        'the WebSocket never connected: Connection closed before receiving a handshake response',
      ],
    ]);
    // Not 1969 or 1970: the page's request at 10:30:02.001 is the first real time.
    const reader = await openArchive(path);
    expect(reader.header.startedAt).toBe('2024-11-25T10:30:02.001Z');
    expect(failed.map((entry) => entry.elapsed)).toEqual([0.112456, 0.53921]);
    expect(io.err()).toContain('imported 0 WebSocket connections (0 frames) and 2 WebSockets that never connected and 1 HTTP exchange');
    expect(io.err()).not.toContain('still open');
  });

  it('gives them a stats diagnosis that says they never connected, not that they are still open', async () => {
    const { entries } = await importHar(fixture('chrome-websocket-failed.har'));
    const stats = new StatsAccumulator();
    for (const entry of entries) stats.add(entry);
    expect(stats.report().map(({ conn, open, connected, duration, diagnosis }) => ({ conn, open, connected, duration, diagnosis }))).toEqual([
      {
        conn: 'h2',
        open: false,
        connected: false,
        duration: null,
        diagnosis: 'never connected: Error in connection establishment: net::ERR_CONNECTION_REFUSED',
      },
      { conn: 'h3', open: false, connected: false, duration: null, diagnosis: 'never connected: Connection closed before receiving a handshake response' },
    ]);
  });
});

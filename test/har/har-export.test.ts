/**
 * `wstape export --format har` on an archive recorded for real (the `ws` library as both peers,
 * through the in-process recorder; see har-session.ts), checked against the HAR 1.2 schema and
 * against what Chrome DevTools and HTTP Toolkit read: `_resourceType`, `_webSocketMessages`,
 * `_webSocketClose`; then wstape's extras for what HAR cannot say.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Entry, FrameEntry } from '../../src/format/schema.js';
import type { HarEntry, HarWebSocketMessage } from '../../src/har/har-types.js';
import { PACKAGE_VERSION } from '../../src/version.js';
import { readEntries } from '../helpers/peers.js';
import { BINARY, GZ_JSON, recordHarSession, UPLOAD } from './har-session.js';
import { expectValidHar, exportHar } from './helpers.js';
import type { Har } from '../../src/har/har-types.js';

let archive: string;
let entries: Entry[];
let har: Har;
let text: string;

beforeAll(async () => {
  archive = await recordHarSession();
  entries = await readEntries(archive);
  let io;
  ({ har, io } = await exportHar(archive));
  text = io.out();
});

const byId = (id: string): HarEntry => {
  const found = har.log.entries.find((entry) => entry._wstape?.id === id);
  if (found === undefined) throw new Error(`no HAR entry for ${id}`);
  return found;
};
const framesOf = (conn: string): FrameEntry[] => entries.filter((entry): entry is FrameEntry => entry.kind === 'frame' && entry.conn === conn);
const epoch = (iso: string): number => Date.parse(iso) / 1000;
const summary = (messages: HarWebSocketMessage[] | undefined): string[] =>
  (messages ?? []).map(
    (message) => `${message.type} ${message.opcode} ${message.data} [${(message._wstapeFrames ?? []).map((frame) => frame.index).join(',')}]`,
  );

describe('export --format har of a recorded session', () => {
  it('is HAR 1.2 as the spec has it (required fields, custom fields with "_", time = sum of timings)', () => {
    expectValidHar(har);
    expect(har.log.version).toBe('1.2');
    expect(har.log.creator).toEqual({ name: 'wstape', version: PACKAGE_VERSION });
  });

  it('is streamed out indented exactly as JSON.stringify(har, null, 2) would print it', () => {
    expect(text).toBe(`${JSON.stringify(har, null, 2)}\n`);
  });

  it('has one entry per HTTP exchange and WebSocket connection, in the order they completed', () => {
    expect(har.log.entries.map((entry) => entry._wstape?.id)).toEqual(['h1', 'h2', 'h3', 'c1', 'c2', 'c3']);
  });

  it('writes a WebSocket connection the way Chrome does: the handshake as request/response 101', () => {
    const c1 = byId('c1');
    const connection = entries.find((entry) => entry.kind === 'connection' && entry.id === 'c1');
    expect(c1._resourceType).toBe('websocket');
    expect(c1.startedDateTime).toBe(connection?.time);
    expect(c1.request.method).toBe('GET');
    expect(c1.request.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/chat\?room=general$/);
    expect(c1.request.httpVersion).toBe('HTTP/1.1');
    expect(c1.request.queryString).toEqual([{ name: 'room', value: 'general' }]);
    expect(c1.request.headers.map((header) => header.name)).toContain('Sec-WebSocket-Key');
    expect(c1.response.status).toBe(101);
    expect(c1.response.statusText).toBe('Switching Protocols');
    expect(c1.response.headers.find((header) => header.name === 'Sec-WebSocket-Accept')).toBeDefined();
    expect(c1.cache).toEqual({});
    // The connection's life is its receive phase, and `time` its sum.
    expect(c1.timings.receive).toBeGreaterThan(0);
    expect(c1.time).toBe(c1.timings.receive);
  });

  it('lists data messages in _webSocketMessages: text as text, binary as base64, fragments reassembled', () => {
    expect(summary(byId('c1')._webSocketMessages)).toEqual([
      'send 1 {"type":"join","room":"general"} [0]',
      `send 2 ${BINARY.toString('base64')} [1]`,
      'receive 1 {"type":"welcome","error":null} [2]',
      'send 1 frag-one frag-two [3,6]',
      `receive 2 ${BINARY.toString('base64')} [7,8,9]`,
      'send 1  [12]',
    ]);
  });

  it("times each message at its final frame, in epoch seconds (Chrome's unit)", () => {
    const frames = framesOf('c1');
    for (const message of byId('c1')._webSocketMessages ?? []) {
      const last = message._wstapeFrames?.at(-1);
      const frame = frames.find((candidate) => candidate.index === last?.index);
      expect(message.time).toBe(epoch(frame?.time ?? ''));
    }
  });

  it('keeps each fragment exactly in _wstapeFrames: opcode, FIN, mask, sizes, and its share of the bytes', () => {
    const fragmented = (byId('c1')._webSocketMessages ?? [])[3];
    const frames = fragmented?._wstapeFrames ?? [];
    expect(frames.map((frame) => [frame.opcode, frame.fin, frame.masked, frame.bytes, frame.as])).toEqual([
      [1, false, true, 9, 'text'],
      [0, true, true, 8, 'text'],
    ]);
    const original = framesOf('c1').find((frame) => frame.index === 3);
    expect(frames[0]?.mask).toBe(original?.mask);
    expect(frames[0]?.wireSize).toBe(original?.wireSize);
  });

  it('puts ping, pong and close frames in _wstapeControlFrames, in capture order, payloads in base64', () => {
    const controls = byId('c1')._wstapeControlFrames ?? [];
    expect(controls.map((item) => `${item.type} ${item.opcode} ${Buffer.from(item.data, 'base64').toString('latin1')}`)).toEqual([
      'send 9 between',
      'receive 10 between',
      'receive 9 srv',
      'send 10 srv',
      'send 8 \x0f\xa1done',
      'receive 8 \x0f\xa1done',
    ]);
    expect(controls[4]?._wstapeFrames?.[0]).toMatchObject({ type: 'close', code: 4001, reason: 'done', as: 'none' });
  });

  it("says how it closed in HTTP Toolkit's _webSocketClose, and in full in _wstape.end", () => {
    const end = entries.find((entry) => entry.kind === 'end' && entry.conn === 'c1');
    expect(byId('c1')._webSocketClose).toEqual({ code: 4001, reason: 'done', timestamp: epoch(end?.time ?? '') });
    expect(byId('c1')._wstape?.end).toMatchObject({ closeCode: 4001, closedBy: 'client', clean: true });
    expect(byId('c2')._webSocketClose).toMatchObject({ code: 1000, reason: '' });
    // 1006: no close frame, the TCP connection dropped.
    expect(byId('c3')._webSocketClose).toBe('aborted');
    expect(byId('c3')._wstape?.end).toMatchObject({ closeCode: 1006, droppedBy: 'server', clean: false });
  });

  it('writes a compressed fragmented message whole, each fragment counting the bytes it inflated to', () => {
    const c2 = byId('c2');
    expect(c2._wstape?.permessageDeflate).not.toBeNull();
    const [message, reply] = c2._webSocketMessages ?? [];
    expect(message?.data).toBe('compressed-part-1 compressed-part-2');
    expect(message?._wstapeFrames?.map((frame) => [frame.rsv1, frame.compressed, frame.fragmentInflated, frame.bytes])).toEqual([
      [true, true, true, 18],
      [false, true, true, 17],
    ]);
    expect(reply).toMatchObject({ type: 'receive', opcode: 1, data: 'ok, compressed' });
  });

  it('keeps what HAR cannot say in _wstape: id, elapsed, mode, peers, request-target', () => {
    const connection = entries.find((entry) => entry.kind === 'connection' && entry.id === 'c1');
    if (connection?.kind !== 'connection') throw new Error('no c1');
    expect(byId('c1')._wstape).toMatchObject({
      id: 'c1',
      elapsed: connection.elapsed,
      mode: 'reverse',
      client: connection.client,
      server: connection.server,
      target: '/chat?room=general',
      subprotocol: null,
    });
    expect(har.log._wstapeHeader?.startedAt).toBeDefined();
    expect(har.log._wstapeTrailer?.summary.connections).toBe(3);
  });

  it('writes HTTP exchanges as ordinary entries: query string and cookies parsed, text bodies as text', () => {
    const h1 = byId('h1');
    expect(h1._resourceType).toBeUndefined();
    expect(h1.request.queryString).toEqual([
      { name: 'x', value: '1' },
      { name: 'y', value: 'two words' },
    ]);
    expect(h1.request.cookies).toEqual([
      { name: 'theme', value: 'dark' },
      { name: 'lang', value: 'en' },
    ]);
    expect(h1.response.cookies).toEqual([{ name: 'session', value: 'abc123', path: '/', httpOnly: true, secure: false, _sameSite: 'Lax' }]);
    expect(h1.response.content).toMatchObject({ mimeType: 'application/json', text: '{"items":[{"id":1,"name":"ünïcode"}]}' });
    expect(h1.response.content.size).toBe(Buffer.byteLength('{"items":[{"id":1,"name":"ünïcode"}]}'));
    expect(h1.response.redirectURL).toBe('');
    expect(h1.request.headersSize).toBe(-1);
  });

  it('gives the recorded duration as the wait phase (send and receive were not timed apart)', () => {
    const h1 = byId('h1');
    const exchange = entries.find((entry) => entry.kind === 'http' && entry.id === 'h1');
    if (exchange?.kind !== 'http') throw new Error('no h1');
    expect(h1.time).toBeCloseTo(exchange.duration, 3);
    expect(h1.timings).toMatchObject({ send: 0, receive: 0, blocked: -1, dns: -1, connect: -1, ssl: -1 });
    expect(h1.timings.wait).toBe(h1.time);
  });

  it('writes a binary request body as base64, marked _encoding', () => {
    const h2 = byId('h2');
    expect(h2.request.postData).toEqual({ mimeType: 'application/octet-stream', text: UPLOAD.toString('base64'), _encoding: 'base64' });
    expect(h2.request.bodySize).toBe(UPLOAD.length);
    expect(h2.response.status).toBe(201);
  });

  it('decodes a gzip response for HAR readers (content.text is the decoded body), with bodySize as sent', () => {
    const h3 = byId('h3');
    const exchange = entries.find((entry) => entry.kind === 'http' && entry.id === 'h3');
    if (exchange?.kind !== 'http') throw new Error('no h3');
    expect(h3.response.content.text).toBe(GZ_JSON);
    expect(h3.response.content.size).toBe(GZ_JSON.length);
    expect(h3.response.bodySize).toBe(exchange.response?.body?.size);
    expect(h3.response.content.compression).toBe(GZ_JSON.length - (exchange.response?.body?.size ?? 0));
  });
});

/**
 * archive → HAR → archive. With wstape's extras the archive comes back entry for entry (frames,
 * header bits, masks, fragments, control frames, ends, errors). Through a HAR tool that drops
 * them (every `_wstape...` field removed) every text and binary message still comes back with its
 * direction, opcode, bytes and timestamp (to the millisecond, HAR's precision here).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Entry, FrameEntry } from '../../src/format/schema.js';
import { MessageAssembler, rowBytes } from '../../src/inspect/messages.js';
import { readEntries } from '../helpers/peers.js';
import { connection, end, errorEntry, frame, httpExchange, tempDir, tunnel, writeArchive } from '../output/test-archives.js';
import { recordHarSession } from './har-session.js';
import { entryKey, expectValidHar, exportHar, importHar, sortKeys, stripWstape } from './helpers.js';

/** The text and binary messages of some entries: direction, opcode, bytes, time of the final frame. */
function messagesOf(entries: Entry[]): string[] {
  const assembler = new MessageAssembler();
  const rows: string[] = [];
  const add = (items: ReturnType<MessageAssembler['push']>): void => {
    for (const { row, messageType } of items) {
      if (messageType === null) continue;
      const last = entries.find(
        (entry): entry is FrameEntry => entry.kind === 'frame' && entry.conn === row.conn && entry.index === (row.lastIndex ?? row.index),
      );
      rows.push(`${row.conn} ${row.dir} opcode ${row.opcode} at ${last?.time} ${Buffer.from(rowBytes(row)).toString('hex')}`);
    }
  };
  for (const entry of entries)
    if (entry.kind === 'frame') add(entry.type === 'continuation' || entry.type === 'text' || entry.type === 'binary' ? assembler.push(entry) : []);
  add(assembler.finish());
  return rows;
}

function expectSameEntries(actual: Entry[], expected: Entry[]): void {
  const byKey = new Map(actual.map((entry) => [entryKey(entry), entry]));
  expect(actual.length).toBe(expected.length);
  for (const entry of expected) expect(sortKeys(byKey.get(entryKey(entry)))).toEqual(sortKeys(entry));
}

describe('round trip of a recorded session', () => {
  let archive: string;
  let original: Entry[];
  beforeAll(async () => {
    archive = await recordHarSession();
    original = await readEntries(archive);
  });

  it('comes back entry for entry through wstape export and import', async () => {
    const { har } = await exportHar(archive);
    const { entries, path } = await importHar(har);
    expectSameEntries(entries, original);
    // The header (recorder settings, start) and the closing fields come back too.
    const [originalHeader, header] = [archive, path].map((file) => readFileSync(file, 'utf8').split('\n')[0]);
    expect(header).toBe(originalHeader);
  });

  it('keeps every text and binary message, direction, opcode and time when the extras are dropped', async () => {
    const { har } = await exportHar(archive);
    const plain = stripWstape(har);
    expectValidHar(plain);
    const { entries } = await importHar(plain);
    expect(messagesOf(entries)).toEqual(messagesOf(original));
    expect(messagesOf(original)).toHaveLength(9);
    // The close still comes back from _webSocketClose (HTTP Toolkit's field).
    expect(entries.filter((entry) => entry.kind === 'end').map((entry) => entry.kind === 'end' && entry.closeCode)).toEqual([4001, 1000, 1006]);
  });

  it('keeps the ids of a filtered export', async () => {
    const { har } = await exportHar(archive, { conn: ['c2', 'h3'] });
    const { entries } = await importHar(har);
    expect([
      ...new Set(entries.map((entry) => (entry.kind === 'frame' || entry.kind === 'end' ? entry.conn : entry.kind === 'error' ? entry.conn : entry.id))),
    ]).toEqual(['h3', 'c2']);
    expectSameEntries(
      entries,
      original.filter((entry) =>
        ['c2', 'h3'].includes(entry.kind === 'frame' || entry.kind === 'end' ? entry.conn : entry.kind === 'error' ? (entry.conn ?? '') : entry.id),
      ),
    );
  });
});

describe('round trip of the odd cases', () => {
  // Frames the recorder flags or cuts, built by hand: each must come back exactly.
  const entries: Entry[] = [
    // The recorder writes an exchange's error entry before the exchange.
    errorEntry({ conn: 'h1', elapsed: 0.05, code: 'UPSTREAM_CONNECT', message: 'cannot connect to 127.0.0.1:9: ECONNREFUSED' }),
    httpExchange('h1', { elapsed: 0.05, response: null, error: 'cannot connect to 127.0.0.1:9: ECONNREFUSED', duration: 1.5 }),
    connection('c1', { elapsed: 0.1, subprotocol: 'chat', extensions: null }),
    // Invalid UTF-8 in a text frame: kept as data, flagged.
    frame({
      conn: 'c1',
      index: 0,
      elapsed: 0.2,
      type: 'text',
      opcode: 1,
      text: undefined,
      data: Buffer.from([0x68, 0xff, 0x69]).toString('base64'),
      size: 3,
      wireSize: 9,
      flags: ['invalid-utf8'],
    }),
    // A text message whose fragments split "é" (0xc3 0xa9) in two: each fragment is data.
    frame({
      conn: 'c1',
      index: 1,
      elapsed: 0.3,
      type: 'text',
      opcode: 1,
      fin: false,
      text: undefined,
      data: Buffer.from([0x61, 0xc3]).toString('base64'),
      size: 2,
      wireSize: 8,
    }),
    frame({
      conn: 'c1',
      index: 2,
      elapsed: 0.31,
      type: 'continuation',
      opcode: 0,
      fin: true,
      text: undefined,
      data: Buffer.from([0xa9, 0x62]).toString('base64'),
      size: 2,
      wireSize: 8,
    }),
    // Truncated by --max-payload.
    frame({
      conn: 'c1',
      index: 3,
      elapsed: 0.4,
      dir: 'in',
      masked: false,
      mask: undefined,
      type: 'binary',
      opcode: 2,
      text: undefined,
      data: 'AAAA',
      size: 70000,
      wireSize: 70010,
      truncated: true,
    }),
    // A continuation with no message open, a reserved opcode, RSV bits.
    frame({
      conn: 'c1',
      index: 4,
      elapsed: 0.5,
      type: 'continuation',
      opcode: 0,
      text: undefined,
      data: 'eHk=',
      size: 2,
      wireSize: 8,
      flags: ['unexpected-continuation'],
    }),
    frame({
      conn: 'c1',
      index: 5,
      elapsed: 0.6,
      type: 'reserved',
      opcode: 3,
      rsv2: true,
      text: undefined,
      data: '',
      size: 0,
      wireSize: 6,
      flags: ['reserved-opcode', 'reserved-bits'],
    }),
    errorEntry({ conn: 'c1', dir: 'in', elapsed: 0.65, code: 'WS_STREAM_UNPARSEABLE', message: 'a 64-bit length with the top bit set' }),
    // A close frame of one byte: unreadable, so its payload is kept as data.
    frame({
      conn: 'c1',
      index: 6,
      elapsed: 0.7,
      type: 'close',
      opcode: 8,
      text: undefined,
      data: 'Aw==',
      size: 1,
      wireSize: 7,
      flags: ['invalid-close-payload'],
    }),
    // A message that never got its final fragment.
    frame({
      conn: 'c1',
      index: 7,
      elapsed: 0.8,
      dir: 'in',
      masked: false,
      mask: undefined,
      type: 'text',
      opcode: 1,
      fin: false,
      text: 'never fini',
      size: 10,
      wireSize: 12,
    }),
    end('c1', { elapsed: 0.9, closeCode: 1006, closeReason: '', closedBy: 'server', droppedBy: 'server', clean: false, bytesOut: 70, bytesIn: 70022 }),
    tunnel('t1', { elapsed: 1 }),
    end('t1', { elapsed: 1.5, closeCode: null, closedBy: 'client', droppedBy: 'client', clean: false, bytesOut: 10, bytesIn: 20 }),
    errorEntry({ elapsed: 2, code: 'CLIENT_TLS', message: 'the client does not trust the CA' }),
  ];

  it('comes back entry for entry', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const file = await writeArchive(join(dir, 'odd.wstape.json'), entries);
      const { har } = await exportHar(file);
      expectValidHar(har);
      const c1 = har.log.entries.find((entry) => entry._wstape?.id === 'c1');
      // Readable text for HAR readers, the exact bytes beside it.
      expect(c1?._webSocketMessages?.[0]).toMatchObject({ opcode: 1, data: 'h\ufffdi', _wstapeData: 'aP9p', _wstapeFlags: ['invalid-utf8'] });
      expect(c1?._webSocketMessages?.[1]).toMatchObject({ data: 'aéb' });
      expect(c1?._webSocketMessages?.at(-1)).toMatchObject({ data: 'never fini', _wstapeIncomplete: true });
      expect(c1?._wstape?.anomalies).toEqual({
        'invalid-utf8': 1,
        'unexpected-continuation': 1,
        'reserved-opcode': 1,
        'reserved-bits': 1,
        'invalid-close-payload': 1,
      });
      expect(har.log._wstapeTunnels).toHaveLength(1);
      expect(har.log._wstapeErrors).toEqual([expect.objectContaining({ code: 'CLIENT_TLS' })]);
      const h1 = har.log.entries.find((entry) => entry._wstape?.id === 'h1');
      expect(h1?.response).toMatchObject({ status: 0, _error: 'cannot connect to 127.0.0.1:9: ECONNREFUSED' });
      expect(h1?._wstape?.errors).toEqual([expect.objectContaining({ code: 'UPSTREAM_CONNECT' })]);
      const { entries: back } = await importHar(har);
      expectSameEntries(back, entries);
    } finally {
      await cleanup();
    }
  });
});

describe("round trip of another tool's HAR", () => {
  it('imports, exports and imports again to the same archive', async () => {
    const chrome = JSON.parse(readFileSync(new URL('../../fixtures/har/chrome-websocket.har', import.meta.url), 'utf8')) as unknown;
    const first = await importHar(chrome, 'chrome.har');
    const { har } = await exportHar(first.path);
    const second = await importHar(har);
    expectSameEntries(second.entries, first.entries);
  });
});

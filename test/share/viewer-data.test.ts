/**
 * The viewer's data as Node builds it (src/share/viewer-data.ts): what the page gets for frames,
 * joined messages, detection, the export's filters, and the live updates.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../src/format/schema.js';
import { buildFrameFilter } from '../../src/inspect/frame-filter.js';
import { ViewerDataBuilder } from '../../src/share/viewer-data.js';
import { connection, end, frame, header, httpExchange } from '../output/test-archives.js';

const MSGPACK = readFileSync(new URL('../../fixtures/detect/message.msgpack', import.meta.url));
const META = { source: 'a.wstape.json', header: header(), trailer: null, wstape: 'test', redacted: false, filters: '' };

function build(entries: Entry[], spec: Parameters<typeof buildFrameFilter>[0] = {}): ViewerDataBuilder {
  const builder = new ViewerDataBuilder({ scope: { filter: buildFrameFilter(spec) } });
  for (const entry of entries) builder.add(entry);
  builder.finish();
  return builder;
}

const session = (): Entry[] => [
  httpExchange('h1'),
  connection('c1'),
  frame({ index: 0, text: '{"type":"join"}', size: 15 }),
  frame({ index: 1, dir: 'in', type: 'binary', opcode: 2, text: undefined, data: MSGPACK.toString('base64'), size: MSGPACK.length }),
  frame({ index: 2, fin: false, text: 'part-one ', size: 9 }),
  frame({ index: 3, type: 'continuation', opcode: 0, text: 'part-two', size: 8 }),
  frame({ index: 4, dir: 'in', type: 'ping', opcode: 9, text: 'hb', size: 2 }),
  end('c1'),
];

describe('ViewerDataBuilder', () => {
  it('keeps every frame, joins only what is more than one frame, and detects as show does', () => {
    const data = build(session()).snapshot(META);
    // In order of their start: the connection (0.1 s) before the exchange (0.5 s).
    expect(data.items.map((item) => item.row.id)).toEqual(['c1', 'h1']);
    expect(data.frames.map((f) => f.index)).toEqual([0, 1, 2, 3, 4]);
    expect(data.messages.map((m) => [m.index, m.lastIndex, m.fragments, m.text])).toEqual([[2, 3, 2, 'part-one part-two']]);
    // A text payload's value is on the page already; a binary one's decoded value is the point.
    expect(data.frames[0]!.det).toEqual({ id: 'json', label: expect.any(String) });
    expect(data.frames[1]!.det).toMatchObject({ id: 'msgpack', decoded: expect.objectContaining({ type: 'chat' }) });
    expect(data.frames[4]!.det).toBeUndefined();
    const c1 = data.items.find((item) => item.row.id === 'c1')!;
    expect(c1.stats).toMatchObject({ conn: 'c1', framesOut: 3, framesIn: 2, diagnosis: expect.any(String) });
    expect(c1.end?.closeCode).toBe(1000);
  });

  it('applies the export filters: frames that match, connections that keep one, exchanges only when named', () => {
    const inbound = build(session(), { dir: 'in' }).snapshot(META);
    expect(inbound.items.map((item) => item.row.id)).toEqual(['c1']);
    expect(inbound.frames.map((f) => f.index)).toEqual([1, 4]);
    expect(inbound.messages).toEqual([]);
    // The list row and stats still count the whole connection, as `list` and `stats` would.
    expect(inbound.items[0]!.row.framesOut).toBe(3);
    const named = build(session(), { conn: ['h1'] }).snapshot(META);
    expect(named.items.map((item) => item.row.id)).toEqual(['h1']);
    expect(named.frames).toEqual([]);
    expect(build(session(), { grep: 'nothing like it' }).empty).toBe(true);
  });

  it('hands out what changed since the last update, once', () => {
    const builder = new ViewerDataBuilder();
    builder.add(connection('c1'));
    expect(builder.snapshot(META).items).toHaveLength(1);
    expect(builder.takeUpdate(false)).toBeNull();
    builder.add(frame({ index: 0, text: 'one', size: 3 }));
    const update = builder.takeUpdate(true)!;
    expect(update.frames.map((f) => f.text)).toEqual(['one']);
    expect(update.items.map((item) => [item.row.id, item.row.framesOut, item.stats?.framesOut])).toEqual([['c1', 1, 1]]);
    expect(builder.takeUpdate(true)).toBeNull();
  });
});

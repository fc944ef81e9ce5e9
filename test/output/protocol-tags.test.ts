/**
 * Subprotocol tags in the pretty view of `show` and the live view of `record`, and
 * `--pretty-json` on the JSON parts of such packets: literal payloads for each protocol, then a
 * session recorded between real `ws` peers (Engine.IO heart-beats, graphql-transport-ws).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runShow } from '../../src/commands/show.js';
import { detectProtocol } from '../../src/detect/registry.js';
import { protocolTag } from '../../src/detect/tags.js';
import type { Entry, FrameEntry } from '../../src/format/schema.js';
import { formatEntryLine } from '../../src/output/frame-line.js';
import { ProtocolTagger } from '../../src/output/protocol-tags.js';
import { recordSession } from './recorded-session.js';
import { connection, end, fakeIo, frame, tempDir, writeArchive } from './test-archives.js';

const tagOf = (payload: string | Buffer, subprotocol: string | null = null): string | null => {
  const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
  return protocolTag(detectProtocol(bytes, { type: typeof payload === 'string' ? 'text' : 'binary', subprotocol }));
};

describe('tags, one protocol at a time', () => {
  it.each<[string, string | Buffer, string | null, string | null]>([
    ['Socket.IO event', '42["chat",{"x":1}]', null, 'socket.io EVENT "chat"'],
    ['Socket.IO event in a namespace asking for an ack', '42/admin,17["get"]', null, 'socket.io EVENT "get" /admin ack=17'],
    ['Socket.IO ack', '433["ok"]', null, 'socket.io ACK 3'],
    ['Socket.IO connect to a namespace', '40/ns,', null, 'socket.io CONNECT /ns'],
    ['Socket.IO disconnect', '41', null, 'socket.io DISCONNECT'],
    ['Socket.IO connect error', '44{"message":"not authorized"}', null, 'socket.io CONNECT_ERROR "not authorized"'],
    ['Socket.IO binary event', '451-["file",{"_placeholder":true,"num":0}]', null, 'socket.io BINARY_EVENT "file" 1 attachment'],
    ['Engine.IO ping', '2', null, 'engine.io ping'],
    ['Engine.IO pong', '3', null, 'engine.io pong'],
    ['Engine.IO probe', '2probe', null, 'engine.io ping probe'],
    ['Engine.IO upgrade', '5', null, 'engine.io upgrade'],
    ['Engine.IO open', '0{"sid":"abc","pingInterval":25000}', null, 'engine.io open sid=abc'],
    ['Engine.IO message with JSON object data (no Socket.IO)', '4{"type":"chat","body":"hi"}', null, 'engine.io message'],
    ['Engine.IO message with JSON array data', '4["a",1]', null, 'engine.io message'],
    ['Engine.IO message with plain text data: no tag (any text may start with 4)', '4hello', null, null],
    ['"4{" that is not JSON: no tag', '4{not json', null, null],
    ['a Socket.IO event is still Socket.IO', '42["x"]', null, 'socket.io EVENT "x"'],
    [
      'graphql-transport-ws subscribe',
      '{"id":"1","type":"subscribe","payload":{"query":"subscription { t }","operationName":"OnTick"}}',
      null,
      'graphql-transport-ws subscribe id=1 OnTick',
    ],
    ['graphql-transport-ws next', '{"id":"1","type":"next","payload":{"data":{}}}', null, 'graphql-transport-ws next id=1'],
    ['graphql-transport-ws complete', '{"id":"1","type":"complete"}', null, 'graphql-transport-ws complete id=1'],
    ['graphql-transport-ws connection_init', '{"type":"connection_init"}', 'graphql-transport-ws', 'graphql-transport-ws connection_init'],
    ['graphql-ws start', '{"id":"2","type":"start","payload":{"query":"{ a }"}}', 'graphql-ws', 'graphql-ws start id=2'],
    ['graphql-ws ka', '{"type":"ka"}', null, 'graphql-ws ka'],
    ['STOMP SEND', 'SEND\ndestination:/queue/a\ncontent-type:application/json\n\n{"a":1}\0', null, 'stomp SEND /queue/a'],
    ['STOMP MESSAGE', 'MESSAGE\ndestination:/topic/prices\nmessage-id:7\nsubscription:0\n\nhi\0', null, 'stomp MESSAGE /topic/prices'],
    ['STOMP SUBSCRIBE', 'SUBSCRIBE\nid:0\ndestination:/topic/x\n\n\0', null, 'stomp SUBSCRIBE /topic/x'],
    ['STOMP CONNECTED', 'CONNECTED\nversion:1.2\n\n\0', 'v12.stomp', 'stomp CONNECTED'],
    ['STOMP heart-beat', '\n', 'v12.stomp', 'stomp heart-beat'],
    ['MQTT PUBLISH', Buffer.from([0x30, 0x0a, 0x00, 0x03, 0x61, 0x2f, 0x62, 0x68, 0x65, 0x6c, 0x6c, 0x6f]), null, 'mqtt PUBLISH a/b'],
    ['MQTT PINGREQ', Buffer.from([0xc0, 0x00]), 'mqtt', 'mqtt PINGREQ'],
    ['SignalR invocation', '{"type":1,"target":"Send","arguments":["hi"]}\x1e', null, 'signalr invocation Send'],
    ['SignalR ping', '{"type":6}\x1e', null, 'signalr ping'],
    ['SignalR two records', '{"type":6}\x1e{"type":3,"invocationId":"1"}\x1e', null, 'signalr 2 records: ping, completion'],
    ['plain JSON: no tag', '{"type":"join"}', null, null],
    ['plain text: no tag', 'hello', null, null],
  ])('%s', (_name, payload, subprotocol, expected) => {
    expect(tagOf(payload, subprotocol)).toBe(expected);
  });
});

let index = 0;
function text(conn: string, payload: string, overrides: Partial<FrameEntry> = {}): FrameEntry {
  return frame({ conn, index: index++, dir: 'in', masked: false, mask: undefined, text: payload, size: Buffer.byteLength(payload), ...overrides });
}

const ENTRIES: Entry[] = [
  connection('c1', { url: 'ws://127.0.0.1:9000/socket.io/?EIO=4&transport=websocket' }),
  text('c1', '42["chat",{"from":"ann","body":"hi"}]'),
  text('c1', '2'),
  text('c1', '433["ok"]'),
  connection('c2', { url: 'ws://127.0.0.1:9000/stomp', subprotocol: 'v12.stomp' }),
  text('c2', 'MESSAGE\ndestination:/topic/prices\ncontent-type:application/json\n\n{"sym":"X","px":[1,2]}\0'),
  text('c2', '2'),
  connection('c3', { url: 'ws://127.0.0.1:9000/hub' }),
  text('c3', '{"type":1,"target":"Send","arguments":[{"a":1}]}\x1e{"type":6}\x1e'),
  connection('c4', { url: 'ws://127.0.0.1:9000/engine.io/?EIO=4&transport=websocket' }),
  text('c4', '4{"type":"chat","body":"hi"}'),
  end('c1'),
  end('c2'),
  end('c3'),
  end('c4'),
];

describe('show, pretty form', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let archive: string;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    archive = await writeArchive(join(dir, 'protocols.wstape.json'), ENTRIES);
  });
  afterAll(() => cleanup());

  async function show(options: Record<string, unknown>): Promise<string[]> {
    const io = fakeIo();
    expect(await runShow({ file: archive, time: 'rel', ...options }, io)).toBe(0);
    // The frame rows only: the connections' `===` lines are test/commands/show-connections.test.ts's.
    return io
      .out()
      .trimEnd()
      .split('\n')
      .filter((line) => !/^\S+ c\d+ === /.test(line));
  }

  it('tags each packet before its payload; "2" on a STOMP connection is not Engine.IO', async () => {
    const lines = await show({});
    expect(lines[0]).toMatch(/ c1 <-- \[socket\.io EVENT "chat"\] 42\["chat",\{"from":"ann","body":"hi"\}\]$/);
    expect(lines[1]).toMatch(/ c1 <-- \[engine\.io ping\] 2$/);
    expect(lines[2]).toMatch(/ c1 <-- \[socket\.io ACK 3\] 433\["ok"\]$/);
    expect(lines[3]).toMatch(/ c2 <-- \[stomp MESSAGE \/topic\/prices\] MESSAGE\\ndestination/);
    expect(lines[4]).toMatch(/ c2 <-- 2$/);
    expect(lines[5]).toMatch(/ c3 <-- \[signalr 2 records: invocation Send, ping\] \{"type":1/);
    expect(lines[6]).toMatch(/ c4 <-- \[engine\.io message\] 4\{"type":"chat","body":"hi"\}$/);
  });

  it('--pretty-json indents the JSON data of an Engine.IO message after its 4', async () => {
    const lines = await show({ conn: ['c4'], prettyJson: true });
    expect(lines[0]).toMatch(/ c4 <-- \[engine\.io message\] 4\{$/);
    const column = lines[0]!.indexOf('4{');
    expect(lines.slice(1).map((line) => line.slice(column))).toEqual(['  "type": "chat",', '  "body": "hi"', '}']);
  });

  it('--pretty-json indents the JSON of a Socket.IO event under its column, after the packet header', async () => {
    const lines = await show({ conn: ['c1'], prettyJson: true, limit: 1 });
    expect(lines[0]).toMatch(/ c1 <-- \[socket\.io EVENT "chat"\] 42\[$/);
    const column = lines[0]!.indexOf('42[');
    expect(lines.slice(1).map((line) => line.slice(column))).toEqual(['  "chat",', '  {', '    "from": "ann",', '    "body": "hi"', '  }', ']']);
    expect(lines.slice(1).every((line) => line.slice(0, column).trim() === '')).toBe(true);
  });

  it('--pretty-json indents a STOMP JSON body, the command and headers kept (escaped) on the first line', async () => {
    const lines = await show({ conn: ['c2'], prettyJson: true, limit: 1 });
    expect(lines[0]).toMatch(/\[stomp MESSAGE \/topic\/prices\] MESSAGE\\ndestination:\/topic\/prices\\ncontent-type:application\/json\\n\\n\{$/);
    expect(lines.at(-1)!.trim()).toBe('}\\x00');
    expect(lines.map((line) => line.trim())).toContain('"px": [');
  });

  it('--pretty-json indents each SignalR record, each ending with its separator', async () => {
    const lines = (await show({ conn: ['c3'], prettyJson: true })).map((line) => line.trim());
    expect(lines.filter((line) => line.endsWith('}\\x1e'))).toHaveLength(2);
    expect(lines).toContain('"target": "Send",');
  });

  it('--format json is unchanged: detected and decoded, no tag', async () => {
    const io = fakeIo();
    expect(await runShow({ file: archive, json: true, conn: ['c1'], limit: 1 }, io)).toBe(0);
    const row = JSON.parse(io.out()) as Record<string, unknown>;
    expect(row.detected).toBe('socket.io');
    expect(Object.keys(row)).not.toContain('tag');
  });
});

describe('the live view of record', () => {
  it('tags frames with the subprotocol its connection entry declared', () => {
    const tagger = new ProtocolTagger();
    const lines = ENTRIES.map((entry) => formatEntryLine(entry, { color: false, time: 'rel', tag: tagger.tag(entry) }));
    expect(lines[1]).toContain('c1 <-- [socket.io EVENT "chat"] 42[');
    expect(lines[2]).toMatch(/c1 <-- \[engine\.io ping\] 2$/);
    expect(lines[6]).toMatch(/c2 <-- 2$/);
    expect(lines[0]).not.toMatch(/\] \[/); // a connection line gets no tag
  });

  it('does not tag fragments', () => {
    const tagger = new ProtocolTagger();
    expect(tagger.tag(text('c9', '42["chat"]', { fin: false }))).toBeNull();
    expect(tagger.tag(text('c9', '42["chat"]'))).toBe('socket.io EVENT "chat"');
  });
});

describe('show on a session recorded between real ws peers', () => {
  it('tags the Engine.IO heart-beats and the graphql-transport-ws messages', async () => {
    const archive = await recordSession();
    const io = fakeIo();
    expect(await runShow({ file: archive, type: ['text'] }, io)).toBe(0);
    const out = io.out();
    expect(out).toMatch(/c1 <-- \[engine\.io ping\] 2\n/);
    expect(out).toMatch(/c1 --> \[engine\.io pong\] 3\n/);
    expect(out).toContain('c2 --> [graphql-transport-ws connection_init] {"type":"connection_init"}');
    expect(out).toContain('c2 --> [graphql-transport-ws subscribe id=1] {"id":"1","type":"subscribe"');
    expect(out).toContain('c2 <-- [graphql-transport-ws next id=1] {"id":"1","type":"next"');
    expect(out).toMatch(/c1 --> \{"type":"join","room":"general"\}\n/); // plain JSON: no tag
  });
});

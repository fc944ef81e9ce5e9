/**
 * Protocol keep-alives in `stats`: Engine.IO, graphql-transport-ws, graphql-ws, STOMP, SignalR and
 * MQTT heart-beats are counted per side (`keepAlives`) and keep the close diagnosis from calling a
 * pinging connection idle.
 */
import { describe, expect, it } from 'vitest';
import { runStats } from '../../src/commands/stats.js';
import type { Entry, FrameEntry } from '../../src/format/schema.js';
import { statsOf, type ConnectionStats } from '../../src/inspect/stats.js';
import { recordSession } from '../output/recorded-session.js';
import { connection, end, fakeIo, frame, isoAt } from '../output/test-archives.js';

let index = 0;
function message(elapsed: number, dir: 'out' | 'in', payload: string | Buffer): FrameEntry {
  const binary = Buffer.isBuffer(payload);
  const size = binary ? payload.length : Buffer.byteLength(payload);
  return frame({
    conn: 'c1',
    index: index++,
    elapsed,
    time: isoAt(elapsed),
    dir,
    type: binary ? 'binary' : 'text',
    opcode: binary ? 2 : 1,
    masked: dir === 'out',
    mask: dir === 'out' ? '01020304' : undefined,
    text: binary ? undefined : payload,
    data: binary ? payload.toString('base64') : undefined,
    size,
    wireSize: size + (dir === 'out' ? 6 : 2),
  });
}

function stats(entries: Entry[]): ConnectionStats {
  const [only] = statsOf(entries);
  return only!;
}

/** A connection where the server sends `serverBeat` and the client `clientBeat` every `every` s. */
function beating(options: {
  subprotocol?: string;
  serverBeat: string | Buffer;
  clientBeat: string | Buffer;
  every: number;
  count: number;
  dropAfter: number;
}): Entry[] {
  index = 0;
  const entries: Entry[] = [connection('c1', { elapsed: 0, time: isoAt(0), subprotocol: options.subprotocol ?? null })];
  entries.push(message(0.5, 'out', 'hello, not a keep-alive'));
  let t = 0;
  for (let i = 1; i <= options.count; i++) {
    t = i * options.every;
    entries.push(message(t, 'in', options.serverBeat), message(t + 0.01, 'out', options.clientBeat));
  }
  entries.push(
    end('c1', {
      elapsed: t + 0.01 + options.dropAfter,
      time: isoAt(t + 0.01 + options.dropAfter),
      closeCode: 1006,
      closedBy: 'server',
      droppedBy: 'server',
      clean: false,
    }),
  );
  return entries;
}

describe('stats: protocol keep-alives', () => {
  it.each([
    ['engine.io', undefined, '2', '3', 'Engine.IO ping/pong'],
    ['graphql-transport-ws', 'graphql-transport-ws', '{"type":"ping"}', '{"type":"pong"}', 'graphql-transport-ws ping/pong'],
    ['graphql-ws', 'graphql-ws', '{"type":"ka"}', '{"type":"ka"}', 'graphql-ws "ka"'],
    ['stomp', 'v12.stomp', '\n', '\r\n', 'STOMP heart-beats'],
    ['signalr', undefined, '{"type":6}\x1e', '{"type":6}\x1e', 'SignalR pings'],
    ['mqtt', 'mqtt', Buffer.from([0xd0, 0x00]), Buffer.from([0xc0, 0x00]), 'MQTT PINGREQ/PINGRESP'],
  ])('%s: counted per side, and the drop is not called an idle timeout', (protocol, subprotocol, serverBeat, clientBeat, name) => {
    const result = stats(beating({ ...(subprotocol !== undefined ? { subprotocol } : {}), serverBeat, clientBeat, every: 25, count: 4, dropAfter: 1 }));
    expect(result.keepAlives).toEqual({ protocol, out: 4, in: 4, intervalOut: 25, intervalIn: 25 });
    expect(result.pings).toMatchObject({ out: 0, in: 0 });
    expect(result.close!.keepAlive.server).toMatchObject({ pings: 0, flowing: false, keepAlives: 4, keepAliveInterval: 25, keepAlivesFlowing: true });
    expect(result.diagnosis).not.toContain('no pings were flowing');
    expect(result.diagnosis).toContain(
      `keep-alives were flowing (client every 25.0 s (${name}), server every 25.0 s (${name})), so it was not an idle timeout`,
    );
  });

  it('a Socket.IO connection that pings every 25 s, then a silence longer than that: a timeout shorter than the interval', () => {
    const result = stats(beating({ serverBeat: '2', clientBeat: '3', every: 25, count: 3, dropAfter: 20 }));
    expect(result.diagnosis).toContain(
      'keep-alives were flowing (client every 25.0 s (Engine.IO ping/pong), server every 25.0 s (Engine.IO ping/pong)) but 20.0 s passed without traffic — an idle timeout shorter than the ping interval is likely',
    );
  });

  it('keep-alives that had stopped: says when the last one came', () => {
    const result = stats(beating({ serverBeat: '2', clientBeat: '3', every: 25, count: 2, dropAfter: 120 }));
    expect(result.close!.keepAlive.server).toMatchObject({ keepAlives: 2, lastKeepAliveBeforeEnd: 120.01, keepAlivesFlowing: false });
    expect(result.diagnosis).toContain(
      "no keep-alive pings were flowing (the client's last Engine.IO ping/pong came 2m 00s before the end, the server's last Engine.IO ping/pong came 2m 00s before the end)",
    );
    expect(result.diagnosis).toContain('an idle timeout (proxy/load balancer) is likely');
  });

  it('does not count look-alikes: "2" on a STOMP connection, fragments, larger messages, Socket.IO events', () => {
    index = 0;
    const entries: Entry[] = [
      connection('c1', { elapsed: 0, time: isoAt(0), subprotocol: 'v12.stomp' }),
      message(1, 'in', '2'),
      { ...message(2, 'in', '\n'), fin: false },
      message(3, 'in', `\n${' '.repeat(300)}`),
      message(4, 'in', '42["ping"]'),
    ];
    expect(stats(entries).keepAlives).toEqual({ protocol: null, out: 0, in: 0, intervalOut: null, intervalIn: null });
  });
});

describe('stats --json on a session recorded between real ws peers', () => {
  it('counts the Engine.IO "2"/"3" on /chat and the graphql-transport-ws ping/pong on /graphql', async () => {
    const archive = await recordSession();
    const io = fakeIo();
    expect(await runStats({ file: archive, json: true }, io)).toBe(0);
    const [chat, graphql, deflate] = io
      .out()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as ConnectionStats);
    expect(chat!.keepAlives).toEqual({ protocol: 'engine.io', out: 1, in: 1, intervalOut: null, intervalIn: null });
    expect(graphql!.keepAlives).toEqual({ protocol: 'graphql-transport-ws', out: 1, in: 1, intervalOut: null, intervalIn: null });
    expect(deflate!.keepAlives).toMatchObject({ protocol: null, out: 0, in: 0 });
    expect(chat!.close!.keepAlive.server).toMatchObject({ keepAlives: 1, keepAlivesFlowing: false });

    const pretty = fakeIo();
    expect(await runStats({ file: archive, json: false, conn: ['c2'] }, pretty)).toBe(0);
    expect(pretty.out()).toContain('keep-alives  1 from client, 1 from server (graphql-transport-ws)');
  });
});

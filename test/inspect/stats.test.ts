/**
 * StatsAccumulator on hand-built entry lists, where every number is known: counts per direction
 * and type, compression, percentiles of ping round trips, the longest silence, and the close
 * diagnosis for each way a connection ends.
 */
import { describe, expect, it } from 'vitest';
import type { EndEntry, Entry, FrameEntry } from '../../src/format/schema.js';
import { PENDING_PING_CAP, StatsAccumulator, statsOf, type ConnectionStats } from '../../src/inspect/stats.js';
import { connection, end, errorEntry, frame, httpExchange, isoAt, tunnel } from '../output/test-archives.js';

const b64 = (text: string): string => Buffer.from(text).toString('base64');

/** Frames for one connection, numbered in order, each at an explicit time (seconds). */
function framesFor(conn: string) {
  let index = 0;
  const make = (elapsed: number, dir: 'out' | 'in', type: FrameEntry['type'], overrides: Partial<FrameEntry> = {}): FrameEntry => {
    const opcode = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10, reserved: 3 }[type];
    const control = type === 'ping' || type === 'pong';
    return frame({
      conn,
      index: index++,
      elapsed,
      dir,
      type,
      opcode,
      masked: dir === 'out',
      mask: dir === 'out' ? '01020304' : undefined,
      text: type === 'text' || type === 'continuation' ? 'hi' : undefined,
      data: control || type === 'binary' ? '' : undefined,
      size: type === 'text' || type === 'continuation' ? 2 : 0,
      wireSize: type === 'text' || type === 'continuation' ? (dir === 'out' ? 8 : 4) : dir === 'out' ? 6 : 2,
      ...overrides,
    });
  };
  return {
    text: (elapsed: number, dir: 'out' | 'in', overrides: Partial<FrameEntry> = {}) => make(elapsed, dir, 'text', overrides),
    binary: (elapsed: number, dir: 'out' | 'in', size: number, overrides: Partial<FrameEntry> = {}) =>
      make(elapsed, dir, 'binary', { size, wireSize: size + (dir === 'out' ? 6 : 2), data: Buffer.alloc(Math.min(size, 8)).toString('base64'), ...overrides }),
    cont: (elapsed: number, dir: 'out' | 'in', overrides: Partial<FrameEntry> = {}) => make(elapsed, dir, 'continuation', overrides),
    ping: (elapsed: number, dir: 'out' | 'in', payload = '') =>
      make(elapsed, dir, 'ping', { data: b64(payload), size: payload.length, wireSize: payload.length + (dir === 'out' ? 6 : 2) }),
    pong: (elapsed: number, dir: 'out' | 'in', payload = '') =>
      make(elapsed, dir, 'pong', { data: b64(payload), size: payload.length, wireSize: payload.length + (dir === 'out' ? 6 : 2) }),
    close: (elapsed: number, dir: 'out' | 'in', code: number, reason = '') =>
      make(elapsed, dir, 'close', { code, reason, data: undefined, size: 2 + reason.length, wireSize: 2 + reason.length + (dir === 'out' ? 6 : 2) }),
  };
}

function endAt(conn: string, elapsed: number, overrides: Partial<EndEntry>): EndEntry {
  return end(conn, { elapsed, time: isoAt(elapsed), ...overrides });
}

const NO_KEEP_ALIVES = { keepAlives: 0, keepAliveInterval: null, lastKeepAliveBeforeEnd: null, keepAlivesFlowing: false };

function only(entries: Entry[]): ConnectionStats {
  const [stats, ...rest] = statsOf(entries);
  expect(rest).toHaveLength(0);
  return stats!;
}

describe('traffic', () => {
  const f = framesFor('c1');
  const entries: Entry[] = [
    connection('c1', { elapsed: 1, time: isoAt(1), subprotocol: 'chat.v1' }),
    f.text(2, 'out'), // 8 B wire, 2 B payload
    f.text(2.5, 'in'),
    f.binary(3, 'in', 1000),
    f.text(4, 'out', { fin: false }),
    f.cont(4.1, 'out', { fin: false }),
    f.cont(4.2, 'out'), // ends a message: 2 messages out so far... plus the first text
    f.ping(5, 'out', 'a'),
    f.pong(5.01, 'in', 'a'),
    // 25 s of silence, then a compressed message and an anomaly.
    f.text(30.01, 'in', { compressed: true, rsv1: true, size: 400, wireSize: 52, text: 'x'.repeat(400) }),
    f.text(30.02, 'in', { compressed: true, rsv1: true, size: 300, wireSize: 48, text: 'y'.repeat(300), flags: ['reserved-bits', 'invalid-utf8'] }),
    f.binary(30.03, 'out', 5, { compressed: true, size: 5, wireSize: 11, flags: ['inflate-error'] }),
    errorEntry({ conn: 'c1', code: 'WS_STREAM_UNPARSEABLE', elapsed: 30.04 }),
    errorEntry({ conn: 'c1', code: 'WS_STREAM_UNPARSEABLE', elapsed: 30.05 }),
    errorEntry({ conn: 'h9', code: 'UPSTREAM_CONNECT' }),
    f.close(31, 'out', 1000, 'bye'),
    f.close(31.002, 'in', 1000, 'bye'),
    endAt('c1', 31.005, { closeCode: 1000, closeReason: 'bye', closedBy: 'client', droppedBy: 'server', clean: true }),
  ];

  it('counts frames, bytes, payload and messages per direction and per type', () => {
    const stats = only(entries);
    expect(stats).toMatchObject({
      conn: 'c1',
      url: 'ws://127.0.0.1:9000/chat',
      subprotocol: 'chat.v1',
      time: isoAt(1),
      open: false,
      duration: 30.005,
      framesOut: 7,
      framesIn: 6,
      messagesOut: 3,
      messagesIn: 4,
    });
    expect(stats.types.text).toEqual({ framesOut: 2, framesIn: 3, bytesOut: 16, bytesIn: 4 + 52 + 48, payloadOut: 4, payloadIn: 2 + 400 + 300 });
    expect(stats.types.continuation).toEqual({ framesOut: 2, framesIn: 0, bytesOut: 16, bytesIn: 0, payloadOut: 4, payloadIn: 0 });
    expect(stats.types.binary).toEqual({ framesOut: 1, framesIn: 1, bytesOut: 11, bytesIn: 1002, payloadOut: 5, payloadIn: 1000 });
    expect(stats.types.ping).toEqual({ framesOut: 1, framesIn: 0, bytesOut: 7, bytesIn: 0, payloadOut: 1, payloadIn: 0 });
    expect(stats.types.close).toMatchObject({ framesOut: 1, framesIn: 1 });
    expect(stats.types.reserved).toBeUndefined();
    const sum = (key: 'bytesOut' | 'bytesIn' | 'payloadOut' | 'payloadIn') => Object.values(stats.types).reduce((total, counts) => total + counts[key], 0);
    expect([stats.bytesOut, stats.bytesIn, stats.payloadOut, stats.payloadIn]).toEqual([sum('bytesOut'), sum('bytesIn'), sum('payloadOut'), sum('payloadIn')]);
    expect(stats.messagesPerSecond).toBeCloseTo(7 / 30.005, 3);
  });

  it('measures compression over the frames that were inflated', () => {
    // The inflate-error frame is left out: its size is its compressed size.
    expect(only(entries).compression).toEqual({ frames: 2, wireBytes: 100, payloadBytes: 700, ratio: 7 });
  });

  it('finds the largest frame, the longest silence, anomalies and errors', () => {
    const stats = only(entries);
    expect(stats.largestFrame).toEqual({ index: 2, dir: 'in', type: 'binary', size: 1000, wireSize: 1002, time: isoAt(3) });
    expect(stats.longestSilence).toEqual({ seconds: 25, from: isoAt(5.01), to: isoAt(30.01), afterIndex: 7, beforeIndex: 8 });
    expect(stats.anomalies).toEqual({ 'reserved-bits': 1, 'invalid-utf8': 1, 'inflate-error': 1 });
    expect(stats.errors).toBe(2);
    expect(stats.errorCodes).toEqual({ WS_STREAM_UNPARSEABLE: 2 });
  });

  it('prints its fields in the documented order', () => {
    expect(Object.keys(only(entries))).toEqual([
      'conn',
      'url',
      'subprotocol',
      'time',
      'open',
      'duration',
      'framesOut',
      'framesIn',
      'bytesOut',
      'bytesIn',
      'payloadOut',
      'payloadIn',
      'messagesOut',
      'messagesIn',
      'messagesPerSecond',
      'types',
      'compression',
      'largestFrame',
      'pings',
      'keepAlives',
      'longestSilence',
      'anomalies',
      'actions',
      'errors',
      'errorCodes',
      'close',
      'diagnosis',
      'connected',
    ]);
    expect(Object.keys(only(entries).close!)).toEqual(['code', 'name', 'reason', 'closedBy', 'droppedBy', 'clean', 'time', 'handshakeMs', 'idle', 'keepAlive']);
  });

  it('has no compression, largest frame or silence without the frames for them', () => {
    const stats = only([connection('c1', { elapsed: 1 }), endAt('c1', 2, { closeCode: 1006, closedBy: 'server', droppedBy: 'server', clean: false })]);
    expect(stats).toMatchObject({ compression: null, largestFrame: null, longestSilence: null, messagesPerSecond: 0, anomalies: {}, errors: 0 });
    expect(stats.pings).toEqual({ out: 0, in: 0, answered: 0, unanswered: 0, unsolicitedPongs: 0, rttMs: null, rttSampled: false });
  });

  it('ignores HTTP exchanges and tunnels, and orders connections by start', () => {
    const g = framesFor('c2');
    const report = statsOf([
      httpExchange('h1'),
      tunnel('t1'),
      connection('c2', { elapsed: 0.5 }),
      connection('c1', { elapsed: 1 }),
      g.text(2, 'out'),
      end('t1', { closeCode: null, closedBy: null, elapsed: 3 }),
    ]);
    expect(report.map((stats) => stats.conn)).toEqual(['c2', 'c1']);
  });
});

describe('ping round trips', () => {
  it('matches pongs to pings by payload across sides, with exact percentiles', () => {
    const f = framesFor('c1');
    const entries: Entry[] = [connection('c1', { elapsed: 0 })];
    // Client pings p0..p19 at 1 s intervals; the server answers p_i after (i + 1) ms.
    for (let i = 0; i < 20; i++) {
      entries.push(f.ping(1 + i, 'out', `p${i}`), f.pong(1 + i + (i + 1) / 1000, 'in', `p${i}`));
    }
    const stats = only(entries);
    expect(stats.pings).toEqual({
      out: 20,
      in: 0,
      answered: 20,
      unanswered: 0,
      unsolicitedPongs: 0,
      rttMs: { min: 1, median: 10.5, p95: 19.05, max: 20 },
      rttSampled: false,
    });
  });

  it('answers the oldest ping with the same payload first, and only from the other side', () => {
    const f = framesFor('c1');
    const stats = only([
      connection('c1', { elapsed: 0 }),
      f.ping(1, 'out', 'x'),
      f.ping(1.01, 'out', 'x'),
      f.pong(1.02, 'out', 'x'), // the client's own side: not an answer
      f.pong(1.03, 'in', 'x'), // answers the ping at 1: 30 ms
      f.pong(1.05, 'in', 'x'), // answers the ping at 1.01: 40 ms
      f.pong(1.06, 'in', 'x'), // nothing left to answer
      f.ping(2, 'in', 'srv'),
      f.pong(2.004, 'out', 'other payload'),
      f.ping(3, 'in', ''),
      f.pong(3.002, 'out', ''),
    ]);
    expect(stats.pings).toMatchObject({ out: 2, in: 2, answered: 3, unanswered: 1, unsolicitedPongs: 3 });
    expect(stats.pings.rttMs).toEqual({ min: 2, median: 30, p95: 39, max: 40 });
  });

  it('samples round trips past the cap, keeping min and max exact', () => {
    const f = framesFor('c1');
    const accumulator = new StatsAccumulator({ rttSampleCap: 200 });
    accumulator.add(connection('c1', { elapsed: 0 }));
    for (let i = 0; i < 5000; i++) {
      accumulator.add(f.ping(i, 'out', 'k'));
      accumulator.add(f.pong(i + ((i % 100) + 1) / 1000, 'in', 'k'));
    }
    const [stats] = accumulator.report();
    expect(stats!.pings).toMatchObject({ answered: 5000, rttSampled: true });
    expect(stats!.pings.rttMs).toMatchObject({ min: 1, max: 100 });
    expect(stats!.pings.rttMs!.median).toBeGreaterThan(40);
    expect(stats!.pings.rttMs!.median).toBeLessThan(61);
  });

  it('bounds the pings it waits on, counting the ones it forgets as unanswered', () => {
    const f = framesFor('c1');
    const entries: Entry[] = [connection('c1', { elapsed: 0 })];
    const count = PENDING_PING_CAP + 500;
    for (let i = 0; i < count; i++) entries.push(f.ping(1 + i / 100, 'out', String(i)));
    entries.push(f.pong(100, 'in', String(count - 1)));
    expect(only(entries).pings).toMatchObject({ out: count, answered: 1, unanswered: count - 1 });
  });
});

describe('close diagnosis', () => {
  const f = () => framesFor('c1');
  const start = connection('c1', { elapsed: 0, time: isoAt(0) });

  it('clean 1000 by the client', () => {
    const c = f();
    const stats = only([
      start,
      c.text(1, 'out'),
      c.close(2, 'out', 1000, 'bye'),
      c.close(2.0012, 'in', 1000, 'bye'),
      endAt('c1', 2.002, { closeCode: 1000, closeReason: 'bye', closedBy: 'client', droppedBy: 'server', clean: true }),
    ]);
    expect(stats.close).toMatchObject({
      code: 1000,
      name: 'Normal closure',
      reason: 'bye',
      closedBy: 'client',
      droppedBy: 'server',
      clean: true,
      handshakeMs: 1.2,
    });
    expect(stats.diagnosis).toBe(
      'client closed with 1000 (Normal closure) "bye"; the server answered with its close frame 1 ms later: the close handshake completed',
    );
  });

  it('1001 by the server', () => {
    const c = f();
    const stats = only([
      start,
      c.close(5, 'in', 1001, 'restarting'),
      c.close(5.01, 'out', 1001),
      endAt('c1', 5.02, { closeCode: 1001, closeReason: 'restarting', closedBy: 'server', droppedBy: 'server', clean: true }),
    ]);
    expect(stats.close).toMatchObject({ code: 1001, name: 'Going away', closedBy: 'server', clean: true, handshakeMs: 10 });
    expect(stats.diagnosis).toBe(
      'server closed with 1001 (Going away) "restarting"; the client answered with its close frame 10 ms later: the close handshake completed — the server is going away (shutting down or restarting): reconnect with backoff',
    );
  });

  it('a close frame never answered: the other side dropped the connection', () => {
    const c = f();
    const stats = only([start, c.close(5, 'out', 1000), endAt('c1', 35, { closeCode: 1000, closedBy: 'client', droppedBy: 'server', clean: false })]);
    expect(stats.close).toMatchObject({ clean: false, handshakeMs: null });
    expect(stats.diagnosis).toBe(
      'client closed with 1000 (Normal closure); the server dropped the TCP connection 30.0 s later without answering with a close frame: the close handshake did not complete',
    );
  });

  it('a close frame, then the closing side dropped without waiting', () => {
    const c = f();
    const stats = only([
      start,
      c.close(5, 'in', 1011, 'oops'),
      endAt('c1', 5.0003, { closeCode: 1011, closeReason: 'oops', closedBy: 'server', droppedBy: 'server', clean: false }),
    ]);
    expect(stats.diagnosis).toBe(
      'server closed with 1011 (Internal error) "oops", then dropped the TCP connection 0 ms later without waiting for the client\'s close frame: the close handshake did not complete — the server hit an internal error: check its logs',
    );
  });

  it('1009 names the largest payload the other side sent', () => {
    const c = f();
    const stats = only([
      start,
      c.binary(1, 'out', 2_000_000),
      c.close(1.1, 'in', 1009),
      c.close(1.2, 'out', 1009),
      endAt('c1', 1.3, { closeCode: 1009, closedBy: 'server', droppedBy: 'server', clean: true }),
    ]);
    expect(stats.diagnosis).toContain('a message was too big for the server: the largest frame payload from the client was 2000000 bytes');
  });

  it.each<[number, RegExp]>([
    [1008, /policy violation/],
    [1002, /protocol error/],
    [4001, /application-defined/],
    [3000, /library or framework/],
    [1005, /no status code/],
  ])('%i gets a hint', (code, hint) => {
    const c = f();
    const stats = only([
      start,
      c.close(1, 'in', code),
      c.close(1.1, 'out', code),
      endAt('c1', 1.2, { closeCode: code, closedBy: 'server', droppedBy: 'server', clean: true }),
    ]);
    expect(stats.diagnosis).toMatch(hint);
  });

  it('1006 dropped by the server after 30 s idle, no pings: an idle timeout', () => {
    const c = f();
    const stats = only([
      start,
      c.text(10, 'out'),
      c.text(10.5, 'in'),
      endAt('c1', 40.5, { closeCode: 1006, closedBy: 'server', droppedBy: 'server', clean: false }),
    ]);
    expect(stats.close).toMatchObject({ code: 1006, name: 'Abnormal closure', droppedBy: 'server', idle: 30 });
    expect(stats.close!.keepAlive).toEqual({
      client: { pings: 0, interval: null, lastPingBeforeEnd: null, unansweredAtEnd: 0, flowing: false, ...NO_KEEP_ALIVES },
      server: { pings: 0, interval: null, lastPingBeforeEnd: null, unansweredAtEnd: 0, flowing: false, ...NO_KEEP_ALIVES },
    });
    expect(stats.keepAlives).toEqual({ protocol: null, out: 0, in: 0, intervalOut: null, intervalIn: null });
    expect(stats.diagnosis).toBe(
      'server dropped the TCP connection 30.0 s after the last frame without a close frame; no pings were flowing in either direction — an idle timeout (proxy/load balancer) is likely: send pings more often than that timeout',
    );
  });

  it('1006 dropped by the server while answered pings were flowing: not an idle timeout', () => {
    const c = f();
    const entries: Entry[] = [start];
    for (let t = 10; t <= 50; t += 10) entries.push(c.ping(t, 'out', `hb${t}`), c.pong(t + 0.002, 'in', `hb${t}`));
    entries.push(c.text(51, 'in'), endAt('c1', 52, { closeCode: 1006, closedBy: 'server', droppedBy: 'server', clean: false }));
    const stats = only(entries);
    expect(stats.close!.keepAlive.client).toEqual({ pings: 5, interval: 10, lastPingBeforeEnd: 2, unansweredAtEnd: 0, flowing: true, ...NO_KEEP_ALIVES });
    expect(stats.diagnosis).toBe(
      'server dropped the TCP connection 1.0 s after the last frame without a close frame; keep-alive pings were flowing (client every 10.0 s) and answered, so it was not an idle timeout — the server process exited, crashed or restarted, or something between (a proxy, the network) failed',
    );
  });

  it('1006 after a silence longer than the idle timeout but shorter than the ping interval', () => {
    const c = f();
    const entries: Entry[] = [start];
    for (let t = 0; t <= 120; t += 60) entries.push(c.ping(t + 1, 'in'), c.pong(t + 1.001, 'out'));
    entries.push(endAt('c1', 121.001 + 45, { closeCode: 1006, closedBy: 'client', droppedBy: 'client', clean: false }));
    const stats = only(entries);
    expect(stats.close!.keepAlive.server).toMatchObject({ pings: 3, interval: 60, flowing: true });
    expect(stats.diagnosis).toBe(
      'client dropped the TCP connection 45.0 s after the last frame without a close frame; keep-alive pings were flowing (server every 1m 00s) but 45.0 s passed without traffic — an idle timeout shorter than the ping interval is likely: ping more often',
    );
  });

  it('1006 after pings had stopped: an idle timeout, and says when the pings stopped', () => {
    const c = f();
    const entries: Entry[] = [start];
    for (let t = 10; t <= 20; t += 10) entries.push(c.ping(t, 'out'), c.pong(t + 0.001, 'in'));
    entries.push(endAt('c1', 100, { closeCode: 1006, closedBy: 'server', droppedBy: 'server', clean: false }));
    expect(only(entries).diagnosis).toBe(
      "server dropped the TCP connection 1m 20s after the last frame without a close frame; no keep-alive pings were flowing (the client's last ping came 1m 20s before the end) — an idle timeout (proxy/load balancer) is likely: send pings more often than that timeout",
    );
  });

  it('1006 dropped by the client whose pings went unanswered: a heartbeat timeout', () => {
    const c = f();
    const entries: Entry[] = [start, c.ping(10, 'out', '1'), c.pong(10.001, 'in', '1'), c.ping(20, 'out', '2'), c.ping(30, 'out', '3'), c.ping(40, 'out', '4')];
    entries.push(endAt('c1', 45, { closeCode: 1006, closedBy: 'client', droppedBy: 'client', clean: false }));
    const stats = only(entries);
    expect(stats.pings).toMatchObject({ answered: 1, unanswered: 3 });
    expect(stats.close!.keepAlive.client).toMatchObject({ pings: 4, unansweredAtEnd: 3 });
    expect(stats.diagnosis).toBe(
      'client dropped the TCP connection 5.0 s after the last frame without a close frame; its last 3 pings went unanswered — a heartbeat timeout on the client is likely: the server (or the network between them) had stopped responding',
    );
  });

  it('1006 dropped by the server that had stopped answering the client', () => {
    const c = f();
    const stats = only([
      start,
      c.ping(10, 'out', 'a'),
      c.text(10.5, 'out'),
      endAt('c1', 12, { closeCode: 1006, closedBy: 'server', droppedBy: 'server', clean: false }),
    ]);
    expect(stats.diagnosis).toBe(
      "server dropped the TCP connection 1.5 s after the last frame without a close frame; the client's last 1 ping went unanswered — the server had stopped responding before it dropped (overloaded, hung or restarting)",
    );
  });

  it('a ping sent just before the drop is not held against the other side', () => {
    const c = f();
    const stats = only([
      start,
      c.text(1, 'in'),
      c.ping(10, 'out', 'a'),
      endAt('c1', 10.2, { closeCode: 1006, closedBy: 'server', droppedBy: 'server', clean: false }),
    ]);
    expect(stats.close!.keepAlive.client).toMatchObject({ pings: 1, interval: null, unansweredAtEnd: 0, flowing: false });
    expect(stats.diagnosis).toBe(
      "server dropped the TCP connection 200 ms after the last frame without a close frame; no keep-alive pings were flowing (the client's last ping came 200 ms before the end), but the drop came only 200 ms after traffic, too soon for an idle timeout — the server process exited, crashed or restarted, or something between (a proxy, the network) failed",
    );
  });

  it('1006 dropped by the client right after traffic', () => {
    const c = f();
    const stats = only([
      start,
      c.text(1, 'out'),
      c.text(1.2, 'in'),
      endAt('c1', 1.25, { closeCode: 1006, closedBy: 'client', droppedBy: 'client', clean: false }),
    ]);
    expect(stats.diagnosis).toBe(
      'client dropped the TCP connection 50 ms after the last frame without a close frame; no pings were flowing in either direction, but the drop came only 50 ms after traffic, too soon for an idle timeout — the client process exited or crashed, or its network went away',
    );
  });

  it('1006 without any frame', () => {
    const stats = only([start, endAt('c1', 60, { closeCode: 1006, closedBy: 'server', droppedBy: 'server', clean: false })]);
    expect(stats.close!.idle).toBe(60);
    expect(stats.diagnosis).toMatch(
      /^server dropped the TCP connection 1m 00s after it opened, without any frame and without a close frame; no pings .* idle timeout/,
    );
  });

  it('a connection still open at the end of the archive', () => {
    const c = f();
    const stats = only([start, c.text(1, 'out'), c.ping(2, 'out', 'a'), c.text(3, 'in')]);
    expect(stats).toMatchObject({ open: true, duration: null, close: null, messagesPerSecond: 0.667 });
    expect(stats.pings.unanswered).toBe(1);
    expect(stats.diagnosis).toMatch(/^still open/);
  });
});

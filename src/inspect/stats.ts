/**
 * Per-connection statistics for `wstape stats`, folded from archive entries in one pass.
 *
 * Memory grows with the number of WebSocket connections, not frames: each connection keeps
 * counters, at most PENDING_PING_CAP pings awaiting their pong, and a bounded reservoir of
 * round-trip times (see samples.ts). When a connection's end entry arrives, its reservoir and
 * pending pings are reduced to their summary and released.
 *
 * Ping/pong matching: a pong answers the oldest unanswered ping from the other side with the same
 * payload (RFC 6455 §5.5.3: "A Pong frame sent in response to a Ping frame must have identical
 * 'Application data' as found in the message body of the Ping frame being replied to"). Pongs
 * that answer nothing are unsolicited ("A Pong frame MAY be sent unsolicited. This serves as a
 * unidirectional heartbeat.") and counted apart.
 *
 * Protocol keep-alives: a single-frame text or binary message that content detection calls a
 * heart-beat of the connection's protocol (Engine.IO "2"/"3", graphql-transport-ws ping/pong,
 * graphql-ws "ka", a STOMP heart-beat, a SignalR ping, an MQTT PINGREQ/PINGRESP) is counted per
 * side in `keepAlives`, and the close diagnosis treats them like WebSocket pings: a Socket.IO
 * connection whose server pings every 25 s is not idle to a proxy. Only messages of at most
 * 256 bytes are looked at (registry.ts isHeartbeat), so this costs little.
 */
import type { ConnectionEntry, EndEntry, Entry, ErrorEntry, FrameEntry, FrameType, HttpEntry } from '../format/schema.js';
import { closeCodeName } from '../wire/close-codes.js';
import { isDataFrameType } from '../wire/opcodes.js';
import { otherDirection, senderOf, type Side } from '../wire/side.js';
import { detect } from '../detect/registry.js';
import { payloadBytes } from '../output/payload.js';
import { diagnoseClose, type KeepAliveSide } from './close-diagnosis.js';
import { Reservoir } from './samples.js';
import type { CloseStats, ConnectionStats, Dir, FrameRef, KeepAliveStats, SilenceStats, TypeCounts } from './stats-report.js';

export type * from './stats-report.js';

/** Round-trip samples kept per connection for the median and p95. */
export const DEFAULT_RTT_SAMPLE_CAP = 100_000;
/** Unanswered pings remembered per side; older ones count as unanswered for good. */
export const PENDING_PING_CAP = 1000;
/** A ping sent this close to the end may have had its answer on the way: not held against anyone. */
export const PONG_GRACE_SECONDS = 1;
/** Messages longer than this are never a protocol keep-alive (registry.ts MAX_HEARTBEAT). */
const MAX_KEEP_ALIVE = 256;

export interface StatsOptions {
  /** Round-trip samples kept per connection (default DEFAULT_RTT_SAMPLE_CAP). */
  rttSampleCap?: number;
}

interface PendingPing {
  key: string;
  elapsed: number;
}

interface PingSide {
  count: number;
  first: number;
  last: number;
  /** Elapsed of the latest ping of this side that was answered. */
  lastAnswered: number;
  pending: PendingPing[];
  /** Pings pushed out of `pending` by the cap: unanswered for good. */
  evicted: number;
}

interface FrameMark {
  index: number;
  elapsed: number;
  time: string;
}

interface ConnState {
  id: string;
  connection: ConnectionEntry | null;
  /** A WebSocket upgrade that never connected (an http entry for a ws:// URL), or null. */
  upgrade: HttpEntry | null;
  start: number | null;
  framesByDir: Record<Dir, TypeCounts>;
  messages: Record<Dir, number>;
  largestByDir: Record<Dir, number>;
  types: Map<FrameType, TypeCounts>;
  compression: { frames: number; wire: number; payload: number };
  largest: FrameRef | null;
  first: FrameMark | null;
  last: FrameMark | null;
  silence: SilenceStats | null;
  pings: Record<Side, PingSide>;
  /** Protocol keep-alive messages per side (only count, first and last are used). */
  keepAlives: Record<Side, PingSide>;
  /** The detection id of the first protocol keep-alive seen. */
  keepAliveProtocol: string | null;
  answered: number;
  unsolicitedPongs: number;
  rtt: Reservoir | null;
  anomalies: Map<string, number>;
  /** What wstape did (hooks, flags, wstape send/close): frames per action. */
  actions: Map<string, number>;
  errors: number;
  errorCodes: Map<string, number>;
  firstClose: { side: Side; elapsed: number } | null;
  answerClose: number | null;
  end: EndEntry | null;
  /** Set at the end entry: the summaries of what was released. */
  frozen: { rtt: ReturnType<Reservoir['summary']>; keepAlive: Record<Side, KeepAliveSide>; unanswered: number } | null;
}

const roundTo = (value: number, digits: number): number => {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
};
const micros = (seconds: number): number => roundTo(seconds, 6);

function emptyCounts(): TypeCounts {
  return { framesOut: 0, framesIn: 0, bytesOut: 0, bytesIn: 0, payloadOut: 0, payloadIn: 0 };
}

function addCounts(counts: TypeCounts, frame: FrameEntry): void {
  if (frame.dir === 'out') {
    counts.framesOut++;
    counts.bytesOut += frame.wireSize;
    counts.payloadOut += frame.size;
  } else {
    counts.framesIn++;
    counts.bytesIn += frame.wireSize;
    counts.payloadIn += frame.size;
  }
}

function emptyPingSide(): PingSide {
  return { count: 0, first: 0, last: 0, lastAnswered: -Infinity, pending: [], evicted: 0 };
}

/** A control frame's payload as a comparable key (ping payloads are at most 125 bytes). */
function pingKey(frame: FrameEntry): string {
  if (frame.data !== undefined) return frame.data;
  if (frame.text !== undefined) return Buffer.from(frame.text, 'utf8').toString('base64');
  return '';
}

/**
 * Whether a compressed frame's sizes say how well it compressed: not when inflating failed, or
 * when the message was too large to inflate (then `size` is the compressed size and nothing of
 * the payload was kept; see stream-observer.ts).
 */
function measurableCompression(frame: FrameEntry): boolean {
  if (frame.flags?.includes('inflate-error') === true) return false;
  const kept = (frame.text ?? frame.data ?? '').length;
  return !(frame.truncated === true && kept === 0 && frame.size > 0);
}

/** The diagnosis of a WebSocket upgrade that got no 101: why, from its error or the answer it got. */
function neverConnected(entry: HttpEntry): string {
  if (entry.response !== null) return `never connected: the server answered the upgrade with ${entry.response.status} ${entry.response.statusText}`.trimEnd();
  const error = (entry.error ?? '').replace(/^the WebSocket never connected: /, '');
  return `never connected: ${error !== '' ? error : 'no response to the upgrade request'}`;
}

/** Folds archive entries into per-WebSocket-connection statistics. */
export class StatsAccumulator {
  readonly #conns = new Map<string, ConnState>();
  readonly #rttCap: number;

  constructor(options: StatsOptions = {}) {
    this.#rttCap = options.rttSampleCap ?? DEFAULT_RTT_SAMPLE_CAP;
  }

  /** Feed one entry, in archive order. HTTP exchanges (but failed WebSocket upgrades) and tunnels are ignored. */
  add(entry: Entry): void {
    switch (entry.kind) {
      case 'connection':
        this.#connection(entry);
        break;
      case 'http':
        // A WebSocket upgrade that never got its 101: a connection that never connected.
        if (/^wss?:/i.test(entry.url) && entry.response?.status !== 101) this.#failedUpgrade(entry);
        break;
      case 'frame':
        this.#frame(entry);
        break;
      case 'end':
        this.#end(entry);
        break;
      case 'error':
        this.#error(entry);
        break;
      default:
        break;
    }
  }

  /** The connections seen, in order of their start. */
  connectionIds(): string[] {
    return this.#ordered().map((state) => state.id);
  }

  /** The statistics of every connection, in order of their start. */
  report(): ConnectionStats[] {
    return this.#ordered().map((state) => this.#report(state));
  }

  #ordered(): ConnState[] {
    const startOf = (state: ConnState): number => state.start ?? state.first?.elapsed ?? Infinity;
    return [...this.#conns.values()].sort((a, b) => startOf(a) - startOf(b));
  }

  #state(id: string): ConnState {
    let state = this.#conns.get(id);
    if (state === undefined) {
      state = {
        id,
        connection: null,
        upgrade: null,
        start: null,
        framesByDir: { out: emptyCounts(), in: emptyCounts() },
        messages: { out: 0, in: 0 },
        largestByDir: { out: 0, in: 0 },
        types: new Map(),
        compression: { frames: 0, wire: 0, payload: 0 },
        largest: null,
        first: null,
        last: null,
        silence: null,
        pings: { client: emptyPingSide(), server: emptyPingSide() },
        keepAlives: { client: emptyPingSide(), server: emptyPingSide() },
        keepAliveProtocol: null,
        answered: 0,
        unsolicitedPongs: 0,
        rtt: null,
        anomalies: new Map(),
        actions: new Map(),
        errors: 0,
        errorCodes: new Map(),
        firstClose: null,
        answerClose: null,
        end: null,
        frozen: null,
      };
      this.#conns.set(id, state);
    }
    return state;
  }

  #connection(entry: ConnectionEntry): void {
    const state = this.#state(entry.id);
    state.connection = entry;
    state.start = entry.elapsed;
  }

  #failedUpgrade(entry: HttpEntry): void {
    const state = this.#state(entry.id);
    state.upgrade = entry;
    state.start = entry.elapsed;
  }

  #frame(frame: FrameEntry): void {
    const state = this.#state(frame.conn);
    addCounts(state.framesByDir[frame.dir], frame);
    let counts = state.types.get(frame.type);
    if (counts === undefined) state.types.set(frame.type, (counts = emptyCounts()));
    addCounts(counts, frame);

    // RFC 6455 §5.4: a message ends with the data frame (first or continuation) that has FIN set.
    if (frame.fin && isDataFrameType(frame.type)) state.messages[frame.dir]++;
    if (frame.compressed === true && measurableCompression(frame)) {
      state.compression.frames++;
      state.compression.wire += frame.wireSize;
      state.compression.payload += frame.size;
    }
    if (frame.size > state.largestByDir[frame.dir]) state.largestByDir[frame.dir] = frame.size;
    if (state.largest === null || frame.size > state.largest.size) {
      state.largest = { index: frame.index, dir: frame.dir, type: frame.type, size: frame.size, wireSize: frame.wireSize, time: frame.time };
    }

    const mark: FrameMark = { index: frame.index, elapsed: frame.elapsed, time: frame.time };
    if (state.last !== null) {
      const gap = frame.elapsed - state.last.elapsed;
      if (state.silence === null || gap > state.silence.seconds) {
        state.silence = { seconds: gap, from: state.last.time, to: frame.time, afterIndex: state.last.index, beforeIndex: frame.index };
      }
    }
    state.first ??= mark;
    state.last = mark;

    for (const flag of frame.flags ?? []) state.anomalies.set(flag, (state.anomalies.get(flag) ?? 0) + 1);
    if (frame.action !== undefined) state.actions.set(frame.action, (state.actions.get(frame.action) ?? 0) + 1);
    this.#keepAlive(state, frame);
    if (frame.type === 'ping') this.#ping(state, frame);
    else if (frame.type === 'pong') this.#pong(state, frame);
    else if (frame.type === 'close') {
      const side = senderOf(frame.dir);
      if (state.firstClose === null) state.firstClose = { side, elapsed: frame.elapsed };
      else if (state.answerClose === null && side !== state.firstClose.side) state.answerClose = frame.elapsed;
    }
  }

  /** Counts the frame when it is a whole, small message that is its protocol's keep-alive. */
  #keepAlive(state: ConnState, frame: FrameEntry): void {
    if (!frame.fin || (frame.type !== 'text' && frame.type !== 'binary') || frame.size > MAX_KEEP_ALIVE || frame.size === 0) return;
    if (frame.truncated === true) return;
    const found = detect(payloadBytes(frame), { type: frame.type, subprotocol: state.connection?.subprotocol ?? null });
    if (found?.heartbeat !== true) return;
    const side = state.keepAlives[senderOf(frame.dir)];
    if (side.count === 0) side.first = frame.elapsed;
    side.count++;
    side.last = frame.elapsed;
    state.keepAliveProtocol ??= found.id;
  }

  #ping(state: ConnState, frame: FrameEntry): void {
    const side = state.pings[senderOf(frame.dir)];
    if (side.count === 0) side.first = frame.elapsed;
    side.count++;
    side.last = frame.elapsed;
    if (state.frozen !== null) return;
    side.pending.push({ key: pingKey(frame), elapsed: frame.elapsed });
    if (side.pending.length > PENDING_PING_CAP) {
      side.pending.shift();
      side.evicted++;
    }
  }

  #pong(state: ConnState, frame: FrameEntry): void {
    // The pong answers a ping from the other side.
    const pinger = state.pings[senderOf(otherDirection(frame.dir))];
    const key = pingKey(frame);
    const at = pinger.pending.findIndex((ping) => ping.key === key);
    if (at === -1) {
      state.unsolicitedPongs++;
      return;
    }
    const [ping] = pinger.pending.splice(at, 1) as [PendingPing];
    state.answered++;
    if (ping.elapsed > pinger.lastAnswered) pinger.lastAnswered = ping.elapsed;
    state.rtt ??= new Reservoir(this.#rttCap);
    state.rtt.add(Math.max(0, frame.elapsed - ping.elapsed) * 1000);
  }

  #end(entry: EndEntry): void {
    const state = this.#conns.get(entry.conn);
    // End entries also close tunnels, which have no connection entry and no frames.
    if (state === undefined || entry.closeCode === null) return;
    state.end = entry;
    // Keep the summaries; release the samples and the pending pings.
    state.frozen = {
      rtt: state.rtt?.summary() ?? null,
      keepAlive: { client: this.#keepAliveSide(state, 'client', entry.elapsed), server: this.#keepAliveSide(state, 'server', entry.elapsed) },
      unanswered: this.#unanswered(state),
    };
    state.rtt = null;
    state.pings.client.pending = [];
    state.pings.server.pending = [];
  }

  #error(entry: ErrorEntry): void {
    if (entry.conn === undefined) return;
    const state = this.#conns.get(entry.conn);
    if (state === undefined) return;
    state.errors++;
    state.errorCodes.set(entry.code, (state.errorCodes.get(entry.code) ?? 0) + 1);
  }

  #unanswered(state: ConnState): number {
    const { client, server } = state.pings;
    return client.pending.length + client.evicted + server.pending.length + server.evicted;
  }

  #keepAliveSide(state: ConnState, sideName: Side, endAt: number): KeepAliveSide {
    const side = state.pings[sideName];
    const own = rhythm(state.keepAlives[sideName], endAt);
    const protocol = { keepAlives: own.count, keepAliveInterval: own.interval, lastKeepAliveBeforeEnd: own.lastBeforeEnd, keepAlivesFlowing: own.flowing };
    if (side.count === 0) return { pings: 0, interval: null, lastPingBeforeEnd: null, unansweredAtEnd: 0, flowing: false, ...protocol };
    const pings = rhythm(side, endAt);
    const unansweredAtEnd = side.pending.filter((ping) => ping.elapsed > side.lastAnswered && endAt - ping.elapsed >= PONG_GRACE_SECONDS).length;
    return {
      pings: side.count,
      interval: pings.interval,
      lastPingBeforeEnd: pings.lastBeforeEnd,
      unansweredAtEnd,
      flowing: pings.flowing,
      ...protocol,
    };
  }

  #report(state: ConnState): ConnectionStats {
    const { connection, end } = state;
    const start = state.start ?? state.first?.elapsed ?? 0;
    const span = end !== null ? end.elapsed - start : state.last !== null ? state.last.elapsed - start : 0;
    const out = state.framesByDir.out;
    const inbound = state.framesByDir.in;
    const messages = state.messages.out + state.messages.in;
    const rtt = state.frozen !== null ? state.frozen.rtt : (state.rtt?.summary() ?? null);
    const types: Partial<Record<FrameType, TypeCounts>> = {};
    for (const [type, counts] of state.types) types[type] = { ...counts };
    const { compression } = state;

    const close = end !== null ? this.#close(state, end) : null;
    const failed = connection === null ? state.upgrade : null;
    return {
      conn: state.id,
      url: connection?.url ?? failed?.url ?? null,
      subprotocol: connection?.subprotocol ?? null,
      time: connection?.time ?? failed?.time ?? state.first?.time ?? '',
      open: end === null && failed === null,
      duration: end !== null ? micros(Math.max(0, span)) : null,
      framesOut: out.framesOut,
      framesIn: inbound.framesIn,
      bytesOut: out.bytesOut,
      bytesIn: inbound.bytesIn,
      payloadOut: out.payloadOut,
      payloadIn: inbound.payloadIn,
      messagesOut: state.messages.out,
      messagesIn: state.messages.in,
      messagesPerSecond: span > 0 ? roundTo(messages / span, 3) : null,
      types,
      compression:
        compression.frames === 0
          ? null
          : {
              frames: compression.frames,
              wireBytes: compression.wire,
              payloadBytes: compression.payload,
              ratio: compression.wire > 0 ? roundTo(compression.payload / compression.wire, 2) : null,
            },
      largestFrame: state.largest === null ? null : { ...state.largest },
      pings: {
        out: state.pings.client.count,
        in: state.pings.server.count,
        answered: state.answered,
        unanswered: state.frozen !== null ? state.frozen.unanswered : this.#unanswered(state),
        unsolicitedPongs: state.unsolicitedPongs,
        rttMs: rtt === null ? null : { min: roundTo(rtt.min, 3), median: roundTo(rtt.median, 3), p95: roundTo(rtt.p95, 3), max: roundTo(rtt.max, 3) },
        rttSampled: rtt?.sampled ?? false,
      },
      keepAlives: keepAliveStats(state),
      longestSilence: state.silence === null ? null : { ...state.silence, seconds: micros(state.silence.seconds) },
      anomalies: Object.fromEntries(state.anomalies),
      actions: Object.fromEntries(state.actions),
      errors: state.errors,
      errorCodes: Object.fromEntries(state.errorCodes),
      close: close?.stats ?? null,
      diagnosis:
        close?.diagnosis ??
        (failed !== null
          ? neverConnected(failed)
          : 'still open at the end of the archive: the recording stopped (or was killed) while the connection was open'),
      connected: failed === null,
    };
  }

  #close(state: ConnState, end: EndEntry): { stats: CloseStats; diagnosis: string } {
    const keepAlive = state.frozen?.keepAlive ?? {
      client: this.#keepAliveSide(state, 'client', end.elapsed),
      server: this.#keepAliveSide(state, 'server', end.elapsed),
    };
    const idleFrom = state.last?.elapsed ?? state.start ?? end.elapsed;
    const idle = micros(Math.max(0, end.elapsed - idleFrom));
    const handshakeMs = state.firstClose !== null && state.answerClose !== null ? roundTo((state.answerClose - state.firstClose.elapsed) * 1000, 3) : null;
    const stats: CloseStats = {
      code: end.closeCode,
      name: end.closeCode === null ? null : closeCodeName(end.closeCode),
      reason: end.closeReason,
      closedBy: end.closedBy,
      ...(end.closedVia ? { closedVia: end.closedVia } : {}),
      droppedBy: end.droppedBy,
      clean: end.clean,
      time: end.time,
      handshakeMs,
      idle,
      keepAlive,
    };
    const diagnosis = diagnoseClose({
      closeCode: end.closeCode,
      closeReason: end.closeReason,
      closedBy: end.closedBy,
      ...(end.closedVia ? { closedVia: end.closedVia } : {}),
      droppedBy: end.droppedBy,
      clean: end.clean,
      idle,
      hadFrames: state.last !== null,
      closeToEnd: state.firstClose !== null ? Math.max(0, end.elapsed - state.firstClose.elapsed) : null,
      handshakeMs,
      keepAlive,
      keepAliveProtocol: state.keepAliveProtocol,
      largestPayload: { client: state.largestByDir.out, server: state.largestByDir.in },
      anomalies: [...state.anomalies.keys()],
    });
    return { stats, diagnosis };
  }
}

/** Count, mean interval, time since the last one and whether they were still coming at `endAt`. */
function rhythm(side: PingSide, endAt: number): { count: number; interval: number | null; lastBeforeEnd: number | null; flowing: boolean } {
  if (side.count === 0) return { count: 0, interval: null, lastBeforeEnd: null, flowing: false };
  const interval = side.count >= 2 ? (side.last - side.first) / (side.count - 1) : null;
  const lastBeforeEnd = Math.max(0, endAt - side.last);
  // Still coming at the end: the next one was not overdue (a quarter of an interval and 1 s of slack).
  const flowing = interval !== null && lastBeforeEnd <= 1.25 * interval + 1;
  return { count: side.count, interval: interval === null ? null : micros(interval), lastBeforeEnd: micros(lastBeforeEnd), flowing };
}

function keepAliveStats(state: ConnState): KeepAliveStats {
  const { client, server } = state.keepAlives;
  const interval = (side: PingSide): number | null => (side.count >= 2 ? micros((side.last - side.first) / (side.count - 1)) : null);
  return { protocol: state.keepAliveProtocol, out: client.count, in: server.count, intervalOut: interval(client), intervalIn: interval(server) };
}

/** Statistics for a list of entries (for tests and small archives; the command streams). */
export function statsOf(entries: Iterable<Entry>, options: StatsOptions = {}): ConnectionStats[] {
  const accumulator = new StatsAccumulator(options);
  for (const entry of entries) accumulator.add(entry);
  return accumulator.report();
}

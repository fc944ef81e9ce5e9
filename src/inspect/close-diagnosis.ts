/**
 * Why a WebSocket connection ended, as one sentence a person can act on. Pure: it takes what the
 * stats accumulator measured (the end entry, the silence before it, the keep-alive pings) and
 * returns text; the rules are here so they can be tested alone.
 *
 * For 1006 (RFC 6455 §7.1.5: the TCP connection ended without a close frame) the question is
 * who dropped it and why, which the traffic before the drop tells apart:
 * - a side whose own pings went unanswered and then dropped: its heartbeat timeout fired;
 * - the other side's pings unanswered: the dropping side had stopped responding first;
 * - a long silence with no pings flowing: an idle timeout in a proxy or load balancer;
 *   the protocol's own keep-alives (Engine.IO ping/pong, STOMP heart-beats... see stats.ts)
 *   count as pings here: they keep the connection from looking idle just the same;
 * - pings flowing but the silence outlasting them: a timeout shorter than the ping interval;
 * - a drop right after traffic: a process that exited or crashed, or the network.
 */
import { CloseCode, closeCodeName } from '../wire/close-code-names.js';
import { otherSide, SIDES, type Side } from '../wire/side.js';
import { formatDuration } from '../output/units.js';
import type { Actor, Closer } from '../format/schema.js';

export type { Side } from '../wire/side.js';

/** A silence at least this long before a drop, with no pings flowing, suggests an idle timeout. */
export const IDLE_TIMEOUT_HINT_SECONDS = 5;

/** What one side's pings looked like at the end of the connection. */
export interface KeepAliveSide {
  /** Ping frames this side sent. */
  pings: number;
  /** Mean seconds between its pings; null with fewer than two. */
  interval: number | null;
  /** Seconds from its last ping to the end; null without pings. */
  lastPingBeforeEnd: number | null;
  /**
   * Pings sent after its last answered ping that were never answered, leaving out those sent in
   * the last PONG_GRACE_SECONDS before the end (their answer could still have been on its way).
   */
  unansweredAtEnd: number;
  /**
   * True when its pings were still coming when the connection ended: at least two pings (so an
   * interval is known) and the last no more than 1.25 intervals + 1 s before the end.
   */
  flowing: boolean;
  /**
   * Keep-alive messages of the connection's own protocol this side sent (Engine.IO ping/pong,
   * graphql-transport-ws ping/pong, graphql-ws "ka", STOMP heart-beats, SignalR pings, MQTT
   * PINGREQ/PINGRESP): data messages that keep a connection alive as WebSocket pings do.
   */
  keepAlives: number;
  /** Mean seconds between them; null with fewer than two. */
  keepAliveInterval: number | null;
  /** Seconds from its last one to the end; null without any. */
  lastKeepAliveBeforeEnd: number | null;
  /** Like `flowing`, for the protocol keep-alives. */
  keepAlivesFlowing: boolean;
}

export interface CloseFacts {
  closeCode: number | null;
  closeReason: string;
  closedBy: Closer | null;
  /** When wstape closed it: who told it to. */
  closedVia?: Actor;
  droppedBy: Side;
  clean: boolean;
  /** Seconds from the last frame (or, without frames, the connection's start) to the end. */
  idle: number;
  /** True when the connection carried at least one frame. */
  hadFrames: boolean;
  /** Seconds from the first close frame to the end; null when none was seen. */
  closeToEnd: number | null;
  /** Milliseconds from the first close frame to the other side's; null when it never came. */
  handshakeMs: number | null;
  keepAlive: Record<Side, KeepAliveSide>;
  /** The protocol of the keep-alive messages, as a detection id (`engine.io`, `stomp`...), if any. */
  keepAliveProtocol?: string | null;
  /** Largest frame payload each side sent, in bytes (for 1009). */
  largestPayload: Record<Side, number>;
  /** Anomaly flags seen on the connection (for 1002). */
  anomalies: readonly string[];
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

function seconds(value: number): string {
  return formatDuration(Math.max(0, value));
}

/** What a close code usually means for the one who sent it, and what to do; '' when nothing to add. */
export function closeCodeHint(code: number, by: Side, facts: Pick<CloseFacts, 'largestPayload' | 'anomalies'>): string {
  const to = otherSide(by);
  switch (code) {
    case CloseCode.NormalClosure:
      return '';
    case CloseCode.GoingAway:
      return by === 'server'
        ? 'the server is going away (shutting down or restarting): reconnect with backoff'
        : 'the client is going away (a page closed or navigated away, an app shutting down)';
    case CloseCode.ProtocolError:
      return facts.anomalies.length > 0
        ? `a protocol error: see the anomalies (${facts.anomalies.join(', ')})`
        : `the ${by} saw a protocol error that the recorder did not flag`;
    case CloseCode.UnsupportedData:
      return `the ${by} does not accept that kind of data (text vs binary)`;
    case CloseCode.NoStatusReceived:
      return 'the close frame carried no status code';
    case CloseCode.InvalidFramePayloadData:
      return `the ${by} received message data it could not accept (e.g. invalid UTF-8 in a text message, or a payload it failed to parse)`;
    case CloseCode.PolicyViolation:
      return 'a policy violation: often authentication or authorization (an expired token, a missing permission, a rejected origin)';
    case CloseCode.MessageTooBig:
      return `a message was too big for the ${by}: the largest frame payload from the ${to} was ${facts.largestPayload[to]} bytes; raise the ${by}'s limit or send smaller messages`;
    case CloseCode.MandatoryExtension:
      return 'the client needed an extension that the server did not negotiate';
    case CloseCode.InternalError:
      return `the ${by} hit an internal error: check its logs`;
    case CloseCode.ServiceRestart:
      return 'the server is restarting: reconnect after a short delay';
    case CloseCode.TryAgainLater:
      return 'the server is overloaded or rate-limiting: try again later, with backoff';
    case CloseCode.BadGateway:
      return 'a gateway or proxy could not get a valid response from the server behind it';
    default:
      if (code >= 3000 && code <= 3999) return 'a code registered for a library or framework: see its documentation';
      if (code >= 4000 && code <= 4999) return "an application-defined code: see the application's documentation or source";
      return `not a code an endpoint may send (RFC 6455 §7.4)`;
  }
}

/** wstape ended the connection itself: say so first, since no peer chose this. */
function wstapeSentence(facts: CloseFacts): string {
  const via =
    facts.closedVia === 'script' ? 'a --script hook' : facts.closedVia === 'flag' ? 'a flag' : facts.closedVia === 'control' ? '`wstape close`' : 'wstape';
  if (facts.closeCode === CloseCode.AbnormalClosure || facts.closeCode === null) {
    return `wstape aborted the connection (asked by ${via}): both TCP connections were dropped without a close frame, so each peer saw 1006`;
  }
  const reason = facts.closeReason !== '' ? ` ${JSON.stringify(facts.closeReason)}` : '';
  return `wstape closed the connection with ${facts.closeCode} (${closeCodeName(facts.closeCode)})${reason}, asked by ${via}: each peer got that close frame from wstape${facts.clean ? ' and answered it' : ''}`;
}

function closeFrameSentence(facts: CloseFacts): string {
  const code = facts.closeCode as number;
  const by = facts.closedBy === 'wstape' || facts.closedBy === null ? facts.droppedBy : facts.closedBy;
  const to = otherSide(by);
  const reason = facts.closeReason !== '' ? ` ${JSON.stringify(facts.closeReason)}` : '';
  let sentence = `${by} closed with ${code} (${closeCodeName(code)})${reason}`;
  if (facts.clean) {
    const when = facts.handshakeMs !== null ? ` ${seconds(facts.handshakeMs / 1000)} later` : '';
    sentence += `; the ${to} answered with its close frame${when}: the close handshake completed`;
  } else {
    const after = facts.closeToEnd !== null ? ` ${seconds(facts.closeToEnd)} later` : '';
    sentence +=
      facts.droppedBy === by
        ? `, then dropped the TCP connection${after} without waiting for the ${to}'s close frame: the close handshake did not complete`
        : `; the ${to} dropped the TCP connection${after} without answering with a close frame: the close handshake did not complete`;
  }
  const hint = closeCodeHint(code, by, facts);
  return hint === '' ? sentence : `${sentence} — ${hint}`;
}

/** How the keep-alives of a protocol (a detection id) are called in a sentence. */
const KEEP_ALIVE_NAMES: Record<string, string> = {
  'engine.io': 'Engine.IO ping/pong',
  'graphql-transport-ws': 'graphql-transport-ws ping/pong',
  'graphql-ws': 'graphql-ws "ka"',
  stomp: 'STOMP heart-beats',
  signalr: 'SignalR pings',
  mqtt: 'MQTT PINGREQ/PINGRESP',
};

function keepAliveName(protocol: string | null | undefined): string {
  return (protocol != null ? KEEP_ALIVE_NAMES[protocol] : undefined) ?? 'protocol keep-alives';
}

/** `client every 30.0 s`, and `server every 25.0 s (Engine.IO ping/pong)` for protocol keep-alives. */
function pingRhythm(side: Side, keepAlive: KeepAliveSide, protocol: string | null | undefined): string {
  const parts: string[] = [];
  if (keepAlive.flowing) parts.push(`${side} every ${seconds(keepAlive.interval ?? 0)}`);
  if (keepAlive.keepAlivesFlowing) parts.push(`${side} every ${seconds(keepAlive.keepAliveInterval ?? 0)} (${keepAliveName(protocol)})`);
  return parts.join(', ');
}

/** `the server's last ping came 40.0 s before the end`, for each kind of keep-alive it sent. */
function lastKeepAlives(side: Side, keepAlive: KeepAliveSide, protocol: string | null | undefined): string[] {
  const parts: string[] = [];
  if (keepAlive.pings > 0) parts.push(`the ${side}'s last ping came ${seconds(keepAlive.lastPingBeforeEnd ?? 0)} before the end`);
  if (keepAlive.keepAlives > 0) {
    parts.push(`the ${side}'s last ${keepAliveName(protocol)} came ${seconds(keepAlive.lastKeepAliveBeforeEnd ?? 0)} before the end`);
  }
  return parts;
}

function abnormalSentence(facts: CloseFacts): string {
  const dropper = facts.droppedBy;
  const peer = otherSide(dropper);
  const idle = seconds(facts.idle);
  const base = facts.hadFrames
    ? `${dropper} dropped the TCP connection ${idle} after the last frame without a close frame`
    : `${dropper} dropped the TCP connection ${idle} after it opened, without any frame and without a close frame`;
  const own = facts.keepAlive[dropper];
  const theirs = facts.keepAlive[peer];
  const crashed =
    dropper === 'server'
      ? 'the server process exited, crashed or restarted, or something between (a proxy, the network) failed'
      : 'the client process exited or crashed, or its network went away';

  if (own.unansweredAtEnd > 0) {
    return `${base}; its last ${plural(own.unansweredAtEnd, 'ping')} went unanswered — a heartbeat timeout on the ${dropper} is likely: the ${peer} (or the network between them) had stopped responding`;
  }
  if (theirs.unansweredAtEnd > 0) {
    return `${base}; the ${peer}'s last ${plural(theirs.unansweredAtEnd, 'ping')} went unanswered — the ${dropper} had stopped responding before it dropped (overloaded, hung or restarting)`;
  }
  // WebSocket pings and the protocol's own keep-alives (Engine.IO "2"/"3", STOMP heart-beats...)
  // both keep a connection from looking idle to a proxy.
  const protocol = facts.keepAliveProtocol;
  const flowing = SIDES.filter((side) => facts.keepAlive[side].flowing || facts.keepAlive[side].keepAlivesFlowing);
  if (flowing.length === 0) {
    const stopped = SIDES.flatMap((side) => lastKeepAlives(side, facts.keepAlive[side], protocol));
    const pings = stopped.length === 0 ? 'no pings were flowing in either direction' : `no keep-alive pings were flowing (${stopped.join(', ')})`;
    if (facts.idle >= IDLE_TIMEOUT_HINT_SECONDS) {
      return `${base}; ${pings} — an idle timeout (proxy/load balancer) is likely: send pings more often than that timeout`;
    }
    return `${base}; ${pings}, but the drop came only ${idle} after traffic, too soon for an idle timeout — ${crashed}`;
  }
  const rhythm = flowing.map((side) => pingRhythm(side, facts.keepAlive[side], protocol)).join(', ');
  // WebSocket pings are matched with their pongs; a protocol's keep-alives are only counted.
  const pinging = flowing.some((side) => facts.keepAlive[side].flowing);
  const what = pinging ? 'keep-alive pings were flowing' : 'keep-alives were flowing';
  if (facts.idle >= IDLE_TIMEOUT_HINT_SECONDS) {
    return `${base}; ${what} (${rhythm}) but ${idle} passed without traffic — an idle timeout shorter than the ping interval is likely: ping more often`;
  }
  return `${base}; ${what} (${rhythm})${pinging ? ' and answered' : ''}, so it was not an idle timeout — ${crashed}`;
}

/** One sentence on how the connection ended, e.g. for 1006: who dropped it, and the likely cause. */
export function diagnoseClose(facts: CloseFacts): string {
  if (facts.closedBy === 'wstape') return wstapeSentence(facts);
  if (facts.closeCode === CloseCode.AbnormalClosure || facts.closeCode === null) return abnormalSentence(facts);
  return closeFrameSentence(facts);
}

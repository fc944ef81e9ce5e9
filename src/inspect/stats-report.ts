/**
 * The shape of `wstape stats` results: one ConnectionStats per WebSocket connection, which is
 * also what `stats --json` prints, field for field and in this order (src/commands/stats.ts
 * documents each field). Add fields, never rename them.
 */
import type { Actor, Closer, FrameType } from '../format/schema.js';
import type { Direction } from '../wire/side.js';
import type { KeepAliveSide, Side } from './close-diagnosis.js';

export type { KeepAliveSide, Side } from './close-diagnosis.js';

/** A frame's direction (wire/side.ts). */
export type Dir = Direction;

export interface TypeCounts {
  framesOut: number;
  framesIn: number;
  /** Wire bytes (frame header plus payload as sent). */
  bytesOut: number;
  bytesIn: number;
  /** Payload bytes after decompression. */
  payloadOut: number;
  payloadIn: number;
}

export interface CompressionStats {
  frames: number;
  wireBytes: number;
  payloadBytes: number;
  /** payloadBytes / wireBytes: 4.2 means the data was 4.2 times larger than on the wire. */
  ratio: number | null;
}

export interface FrameRef {
  index: number;
  dir: Dir;
  type: FrameType;
  size: number;
  wireSize: number;
  time: string;
}

export interface PingStats {
  /** Pings the client sent. */
  out: number;
  /** Pings the server sent. */
  in: number;
  answered: number;
  unanswered: number;
  unsolicitedPongs: number;
  /** Round trips of answered pings, in milliseconds; null when none was answered. */
  rttMs: { min: number; median: number; p95: number; max: number } | null;
  /** True when median and p95 come from a sample of the round trips. */
  rttSampled: boolean;
}

/**
 * Keep-alive messages of the connection's own protocol (not WebSocket pings): Engine.IO ping/pong,
 * graphql-transport-ws ping/pong, graphql-ws "ka", STOMP heart-beats, SignalR pings, MQTT
 * PINGREQ/PINGRESP.
 */
export interface KeepAliveStats {
  /** The detection id of their protocol (`engine.io`, `stomp`, ...); null when there were none. */
  protocol: string | null;
  /** Sent by the client. */
  out: number;
  /** Sent by the server. */
  in: number;
  /** Mean seconds between the client's / the server's; null with fewer than two. */
  intervalOut: number | null;
  intervalIn: number | null;
}

export interface SilenceStats {
  seconds: number;
  /** Time of the frame before the silence. */
  from: string;
  /** Time of the frame after it. */
  to: string;
  afterIndex: number;
  beforeIndex: number;
}

export interface CloseStats {
  code: number | null;
  name: string | null;
  reason: string;
  closedBy: Closer | null;
  /** When closedBy is wstape: a --script hook, a flag, or `wstape close`. */
  closedVia?: Actor;
  droppedBy: Side;
  clean: boolean;
  /** When the connection ended. */
  time: string;
  /** Milliseconds from the first close frame to the other side's close frame, when both came. */
  handshakeMs: number | null;
  /** Seconds from the last frame (or the start, without frames) to the end. */
  idle: number;
  keepAlive: Record<Side, KeepAliveSide>;
}

/** One connection's statistics: what `stats --json` prints, in this field order. */
export interface ConnectionStats {
  conn: string;
  url: string | null;
  subprotocol: string | null;
  time: string;
  open: boolean;
  duration: number | null;
  framesOut: number;
  framesIn: number;
  bytesOut: number;
  bytesIn: number;
  payloadOut: number;
  payloadIn: number;
  messagesOut: number;
  messagesIn: number;
  messagesPerSecond: number | null;
  types: Partial<Record<FrameType, TypeCounts>>;
  compression: CompressionStats | null;
  largestFrame: FrameRef | null;
  pings: PingStats;
  keepAlives: KeepAliveStats;
  longestSilence: SilenceStats | null;
  anomalies: Record<string, number>;
  /** Frames wstape modified, dropped, delayed or injected (hooks, flags, `wstape send`/`close`). */
  actions: Record<string, number>;
  errors: number;
  errorCodes: Record<string, number>;
  close: CloseStats | null;
  diagnosis: string;
  /**
   * False for a WebSocket upgrade that never connected: an `http` entry for a ws:// or wss:// URL
   * (no 101), recorded or imported from a browser's HAR.
   */
  connected: boolean;
}

/**
 * Content detection: what is in a payload. Detectors are pure functions over bytes, run at read
 * time (show, hexdump, stats, export); they never replace the raw bytes in an archive.
 */

import type { MessageType } from '../wire/opcodes.js';

/** What a detector knows besides the bytes. */
export interface DetectContext {
  /** The message type: a continuation frame is judged as the message it belongs to. */
  type: MessageType;
  /** The connection's negotiated Sec-WebSocket-Protocol, or null. */
  subprotocol: string | null;
}

/**
 * A detector's finding. `id` is a documented, stable identifier (docs/DETECTION.md, "Ids"):
 * png, jpeg, gif, webp, gzip, zlib, zstd, zip, pdf, wasm, msgpack, protobuf, json,
 * graphql-transport-ws, graphql-ws, socket.io, engine.io, stomp, signalr, mqtt.
 */
export interface Detection {
  id: string;
  /** A short human description, e.g. "PNG image 640x480", "graphql-transport-ws subscribe id=1". */
  label: string;
  /** A JSON-compatible decoded value, when the detector decoded one (MessagePack, protobuf...). */
  decoded?: unknown;
  /**
   * True when the message is a keep-alive of its protocol (Engine.IO ping/pong, graphql ping/pong
   * or "ka", a STOMP heart-beat, a SignalR ping, an MQTT PINGREQ/PINGRESP); absent otherwise.
   */
  heartbeat?: true;
}

export interface Detector {
  /** The id (or id prefix) this detector reports. */
  readonly id: string;
  /**
   * Sec-WebSocket-Protocol values (lower case) that declare this detector's protocol. A
   * connection that negotiated one of them runs this detector first, and more leniently.
   */
  readonly subprotocols?: readonly string[];
  detect(bytes: Uint8Array, context: DetectContext): Detection | null;
}

/**
 * The detector registry: which detectors run, in which order, and the one entry point
 * `detect(bytes, context)` used by show, hexdump, stats and export.
 *
 * Order (the first detector that claims the payload wins):
 * 1. the detector of the connection's declared subprotocol (graphql-transport-ws, graphql-ws,
 *    stomp, mqtt), which is then also more lenient;
 * 2. magic numbers (cheap: a few byte comparisons on the first bytes);
 * 3. protocol shapes: mqtt (binary), engine.io, socket.io, stomp, signalr, graphql-transport-ws,
 *    graphql-ws — skipped when a known subprotocol was declared, since a STOMP connection does not
 *    carry Socket.IO packets, and "2" on it is not an Engine.IO ping;
 * 4. json (objects and arrays);
 * 5. msgpack, then protobuf: binary only, size-capped, strict (see their files).
 *
 * Every detector checks a cheap prefix (first byte, last byte, length) before any real work; the
 * UTF-8 decode and JSON.parse of a text payload happen at most once per call (payload-text.ts).
 * Labels are made printable (no raw control characters) before they are returned.
 */

import { printable } from './bytes.js';
import { engineIo } from './engine-io.js';
import { gif } from './gif.js';
import { graphqlTransportWs } from './graphql-transport-ws.js';
import { graphqlWs } from './graphql-ws.js';
import { gzip } from './gzip.js';
import { jpeg } from './jpeg.js';
import { json } from './json.js';
import { mqtt } from './mqtt.js';
import { msgpack } from './msgpack.js';
import { resetPayloadCache } from './payload-text.js';
import { pdf } from './pdf.js';
import { png } from './png.js';
import { protobuf } from './protobuf.js';
import { signalr } from './signalr.js';
import { socketIo } from './socket-io.js';
import { stomp } from './stomp.js';
import type { DetectContext, Detection, Detector } from './types.js';
import { wasm } from './wasm.js';
import { webp } from './webp.js';
import { zip } from './zip.js';
import { zlib } from './zlib.js';
import { zstd } from './zstd.js';

export type { DetectContext, Detection, Detector } from './types.js';
export { loadProtoDecoder } from './proto-schema.js';

const MAGIC: readonly Detector[] = [png, jpeg, gif, webp, gzip, zlib, zstd, zip, pdf, wasm];
const PROTOCOLS: readonly Detector[] = [mqtt, engineIo, socketIo, stomp, signalr, graphqlTransportWs, graphqlWs];
const GENERIC_TEXT: readonly Detector[] = [json];
const GENERIC_BINARY: readonly Detector[] = [msgpack, protobuf];

/** Every detector, in the order `detect` tries them (without a declared subprotocol). */
export const DETECTORS: readonly Detector[] = [...MAGIC, ...PROTOCOLS, ...GENERIC_TEXT, ...GENERIC_BINARY];

/** The documented, stable ids a Detection can carry (docs/DETECTION.md). */
export const DETECTOR_IDS: readonly string[] = [
  'png',
  'jpeg',
  'gif',
  'webp',
  'gzip',
  'zlib',
  'zstd',
  'zip',
  'pdf',
  'wasm',
  'mqtt',
  'engine.io',
  'socket.io',
  'stomp',
  'signalr',
  'graphql-transport-ws',
  'graphql-ws',
  'json',
  'msgpack',
  'protobuf',
];

/** The protocol detector a Sec-WebSocket-Protocol value declares, or null. */
export function detectorForSubprotocol(subprotocol: string | null): Detector | null {
  if (subprotocol === null) return null;
  const name = subprotocol.toLowerCase();
  return PROTOCOLS.find((detector) => detector.subprotocols?.includes(name) === true) ?? null;
}

function run(detectors: readonly Detector[], bytes: Uint8Array, context: DetectContext): Detection | null {
  for (const detector of detectors) {
    const found = detector.detect(bytes, context);
    if (found !== null) return found;
  }
  return null;
}

/**
 * What is in `bytes`: the first detector's finding in the order above, or null when nothing
 * recognises it. Pure; never throws on any input.
 */
export function detect(bytes: Uint8Array, context: DetectContext): Detection | null {
  if (bytes.length === 0) return null;
  resetPayloadCache();
  const declared = detectorForSubprotocol(context.subprotocol);
  const found =
    (declared === null ? null : declared.detect(bytes, context)) ??
    run(MAGIC, bytes, context) ??
    (declared === null ? run(PROTOCOLS, bytes, context) : null) ??
    run(GENERIC_TEXT, bytes, context) ??
    run(GENERIC_BINARY, bytes, context);
  resetPayloadCache(); // do not keep a large payload's text alive between calls
  // Labels carry payload text (ids, topics, names) and go to terminals: never raw controls.
  if (found !== null) found.label = printable(found.label);
  return found;
}

/**
 * Only the subprotocol detectors (the declared one, then the shapes of step 3): what the pretty
 * and live views tag text frames with. Cheaper than `detect`: no JSON or binary fallbacks.
 */
export function detectProtocol(bytes: Uint8Array, context: DetectContext): Detection | null {
  if (bytes.length === 0) return null;
  resetPayloadCache();
  const declared = detectorForSubprotocol(context.subprotocol);
  const found = declared !== null ? declared.detect(bytes, context) : run(PROTOCOLS, bytes, context);
  resetPayloadCache();
  if (found !== null) found.label = printable(found.label);
  return found;
}

/** Heart-beats are tiny; anything longer is not one (keeps `--hide-heartbeats` cheap). */
const MAX_HEARTBEAT = 256;

/**
 * True when the message is a protocol keep-alive, for `show --hide-heartbeats`: Engine.IO "2" /
 * "3", graphql-transport-ws ping / pong, legacy graphql-ws "ka", a STOMP heart-beat (EOLs only),
 * a SignalR ping {"type":6}, an MQTT PINGREQ / PINGRESP.
 */
export function isHeartbeat(bytes: Uint8Array, context: DetectContext): boolean {
  if (bytes.length === 0 || bytes.length > MAX_HEARTBEAT) return false;
  return detect(bytes, context)?.heartbeat === true;
}

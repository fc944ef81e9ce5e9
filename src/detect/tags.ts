/**
 * Short tags for the subprotocol packets the detectors recognise, for the pretty view of `show`
 * and the live view of `record`: `socket.io EVENT "chat"`, `engine.io ping`, `stomp SEND /queue/a`,
 * `graphql-transport-ws subscribe id=1`, `mqtt PUBLISH sensors/temp`, `signalr invocation Send`.
 *
 * Each detector module owns its tag function and reads what it already decoded; nothing here
 * parses a payload again. File formats and generic JSON / MessagePack / protobuf get no tag.
 */
import { engineIoTag } from './engine-io.js';
import { graphqlTag } from './graphql-transport-ws.js';
import { mqttTag, type MqttPacket } from './mqtt.js';
import { signalrTag } from './signalr.js';
import { socketIoTag, type SocketIoPacket } from './socket-io.js';
import { stompTag, type StompFrame } from './stomp.js';
import type { Detection } from './types.js';

/** The detection ids that are subprotocols (and so get a tag). */
export const PROTOCOL_IDS: ReadonlySet<string> = new Set(['engine.io', 'socket.io', 'graphql-transport-ws', 'graphql-ws', 'stomp', 'mqtt', 'signalr']);

/** The packet type part of the tag (`EVENT "chat"`), or null when the detection is not a protocol's. */
export function packetTag(detection: Detection): string | null {
  switch (detection.id) {
    case 'engine.io':
      return engineIoTag(detection);
    case 'socket.io':
      return detection.decoded !== undefined ? socketIoTag(detection.decoded as SocketIoPacket) : null;
    case 'graphql-transport-ws':
    case 'graphql-ws':
      return graphqlTag(detection.decoded);
    case 'stomp':
      return stompTag(detection.decoded as StompFrame | undefined);
    case 'mqtt':
      return detection.decoded !== undefined ? mqttTag(detection.decoded as MqttPacket | MqttPacket[]) : null;
    case 'signalr':
      return signalrTag(detection.decoded);
    default:
      return null;
  }
}

/** The whole tag, protocol first (`socket.io EVENT "chat"`), or null for non-protocol detections. */
export function protocolTag(detection: Detection | null | undefined): string | null {
  if (detection == null) return null;
  const tag = packetTag(detection);
  return tag === null ? null : `${detection.id} ${tag}`;
}

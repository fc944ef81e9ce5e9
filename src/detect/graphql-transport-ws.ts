/**
 * The GraphQL over WebSocket protocol of the `graphql-ws` library, subprotocol
 * "graphql-transport-ws" (github.com/enisdenjo/graphql-ws, PROTOCOL.md). Every message is a JSON
 * object `{ type, id?, payload? }`.
 *
 * Recognised by shape (no subprotocol declared) only when the object has no other keys, its type
 * is one of the protocol's and the fields the type requires are there. connection_init,
 * connection_ack, complete and error (with an array payload) exist in both GraphQL protocols and
 * are reported as this, the current one; with the legacy "graphql-ws" subprotocol declared that
 * detector runs first. With "graphql-transport-ws" declared, any object with a string type is
 * claimed.
 */

import { excerpt } from './bytes.js';
import { isRecord, typedJsonMessage } from './payload-text.js';
import type { Detection, Detector } from './types.js';

const SUBPROTOCOL = 'graphql-transport-ws';
const KEYS = new Set(['type', 'id', 'payload']);
const NEEDS_ID = new Set(['subscribe', 'next', 'error', 'complete']);
const TYPES = new Set(['connection_init', 'connection_ack', 'ping', 'pong', 'subscribe', 'next', 'error', 'complete']);

export const graphqlTransportWs: Detector = {
  id: 'graphql-transport-ws',
  subprotocols: [SUBPROTOCOL],
  detect(bytes, context): Detection | null {
    const message = typedJsonMessage(bytes);
    if (message === null) return null;
    const declared = context.subprotocol?.toLowerCase() === SUBPROTOCOL;
    if (!declared && !isShape(message)) return null;
    return label(message, message.type);
  },
};

function isShape(message: Record<string, unknown>): boolean {
  const type = message.type as string;
  if (!TYPES.has(type)) return false;
  for (const key of Object.keys(message)) if (!KEYS.has(key)) return false;
  if (NEEDS_ID.has(type) && typeof message.id !== 'string') return false;
  if (type === 'subscribe') return isRecord(message.payload) && typeof message.payload.query === 'string';
  if (type === 'next') return isRecord(message.payload);
  // The legacy protocol's error payload is one object; this protocol's is an array of errors.
  if (type === 'error') return Array.isArray(message.payload);
  if (type === 'complete') return message.payload === undefined;
  return message.payload === undefined || isRecord(message.payload) || message.payload === null;
}

/**
 * A GraphQL over WebSocket message (either protocol) as the pretty view tags it: its type, id and
 * operation name: `subscribe id=1 OnTick`, `next id=1`, `connection_init`, `ka`.
 */
export function graphqlTag(message: unknown): string | null {
  if (!isRecord(message) || typeof message.type !== 'string') return null;
  let text = excerpt(message.type);
  if (typeof message.id === 'string' || typeof message.id === 'number') text += ` id=${excerpt(String(message.id))}`;
  const payload = message.payload;
  if ((message.type === 'subscribe' || message.type === 'start') && isRecord(payload) && typeof payload.operationName === 'string') {
    text += ` ${excerpt(payload.operationName)}`;
  }
  return text;
}

function label(message: Record<string, unknown>, type: string): Detection {
  const detection: Detection = { id: 'graphql-transport-ws', label: `graphql-transport-ws ${graphqlTag(message) ?? excerpt(type)}`, decoded: message };
  if (type === 'ping' || type === 'pong') detection.heartbeat = true;
  return detection;
}

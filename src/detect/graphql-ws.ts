/**
 * The legacy GraphQL over WebSocket protocol of `subscriptions-transport-ws` (Apollo), subprotocol
 * "graphql-ws" (not to be confused with the `graphql-ws` library, whose subprotocol is
 * "graphql-transport-ws"). Messages are JSON objects `{ type, id?, payload? }`.
 *
 * Recognised by shape only for the types the current protocol does not have (start, data, stop,
 * ka, connection_error, connection_terminate) or an error whose payload is one object; the shared
 * types are claimed by graphql-transport-ws unless "graphql-ws" is the declared subprotocol, in
 * which case any object with a string type is claimed.
 */

import { excerpt } from './bytes.js';
import { isRecord, typedJsonMessage } from './payload-text.js';
import { graphqlTag } from './graphql-transport-ws.js';
import type { Detection, Detector } from './types.js';

const SUBPROTOCOL = 'graphql-ws';
const KEYS = new Set(['type', 'id', 'payload']);
const NEEDS_ID = new Set(['start', 'data', 'stop', 'error', 'complete']);
const TYPES = new Set(['connection_init', 'connection_ack', 'connection_error', 'connection_terminate', 'ka', 'start', 'data', 'error', 'complete', 'stop']);

export const graphqlWs: Detector = {
  id: 'graphql-ws',
  subprotocols: [SUBPROTOCOL],
  detect(bytes, context): Detection | null {
    const message = typedJsonMessage(bytes);
    if (message === null) return null;
    const declared = context.subprotocol?.toLowerCase() === SUBPROTOCOL;
    if (!declared && !isShape(message)) return null;
    const detection: Detection = { id: 'graphql-ws', label: `graphql-ws ${graphqlTag(message) ?? excerpt(message.type)}`, decoded: message };
    if (message.type === 'ka') detection.heartbeat = true;
    return detection;
  },
};

function isShape(message: Record<string, unknown>): boolean {
  const type = message.type as string;
  if (!TYPES.has(type)) return false;
  for (const key of Object.keys(message)) if (!KEYS.has(key)) return false;
  if (NEEDS_ID.has(type) && typeof message.id !== 'string' && typeof message.id !== 'number') return false;
  switch (type) {
    case 'start':
      return isRecord(message.payload) && typeof message.payload.query === 'string';
    case 'data':
      return isRecord(message.payload);
    case 'error':
      return isRecord(message.payload);
    case 'ka':
    case 'stop':
    case 'connection_terminate':
      return message.payload === undefined;
    case 'connection_error':
      return true;
    default:
      // connection_init, connection_ack, complete: the current protocol's detector claims these.
      return false;
  }
}

/**
 * Engine.IO (the transport under Socket.IO, protocol v3 and v4) packets: a text frame that is one
 * packet-type digit, optionally followed by its data.
 *
 *   0{"sid":...}  open (the handshake: a JSON object with a string "sid")
 *   1             close
 *   2  / 2probe   ping (/ the upgrade probe)
 *   3  / 3probe   pong
 *   4{...} 4[...] message whose data is a JSON object or array (Engine.IO used without Socket.IO)
 *   5             upgrade
 *   6             noop
 *
 * Other type 4 messages carry Socket.IO packets (`4` + a type digit): see socket-io.ts. A message
 * whose data is plain text (`4hello`) is not claimed: it cannot be told from any text that starts
 * with a 4. The JSON data of a message never starts with a digit, so it is never a Socket.IO
 * packet, whatever the order the registry runs the two in. A bare "2" or "3" is claimed
 * although it could be a number in another protocol: Socket.IO negotiates no subprotocol, so
 * the registry runs this only on connections without a declared, known subprotocol.
 */

import { excerpt } from './bytes.js';
import { isRecord, payloadText } from './payload-text.js';
import type { Detection, Detector } from './types.js';

/** The packet as the pretty view tags it: `ping`, `pong`, `ping probe`, `upgrade`, `open sid=…`, `message`. */
export function engineIoTag(detection: Detection): string {
  return detection.label.replace(/^engine\.io /, '');
}

const SIMPLE: Record<string, { label: string; heartbeat?: true }> = {
  '1': { label: 'engine.io close' },
  '2': { label: 'engine.io ping', heartbeat: true },
  '3': { label: 'engine.io pong', heartbeat: true },
  '2probe': { label: 'engine.io ping probe' },
  '3probe': { label: 'engine.io pong probe' },
  '5': { label: 'engine.io upgrade' },
  '6': { label: 'engine.io noop' },
};

export const engineIo: Detector = {
  id: 'engine.io',
  detect(bytes, context): Detection | null {
    if (context.type !== 'text' || bytes.length === 0) return null;
    const first = bytes[0] as number;
    if (first < 0x30 || first > 0x36) return null;
    if (bytes.length <= 6) {
      const simple = SIMPLE[Buffer.from(bytes).toString('latin1')];
      if (simple !== undefined) {
        const detection: Detection = { id: 'engine.io', label: simple.label };
        if (simple.heartbeat) detection.heartbeat = true;
        return detection;
      }
    }
    // A message packet is "4" + its data; only JSON object or array data is claimed (see above).
    if (first === 0x34 && (bytes[1] === 0x7b || bytes[1] === 0x5b)) return jsonMessage(bytes);
    if (first !== 0x30 || bytes[1] !== 0x7b) return null;
    const open = packetData(bytes)?.value;
    if (!isRecord(open) || typeof open.sid !== 'string') return null;
    return { id: 'engine.io', label: `engine.io open sid=${excerpt(open.sid)}`, decoded: open };
  },
};

/** `4{...}` or `4[...]`: a message whose data parses as a JSON object or array; else null. */
function jsonMessage(bytes: Uint8Array): Detection | null {
  const data = packetData(bytes);
  return data === null ? null : { id: 'engine.io', label: 'engine.io message', decoded: data.value };
}

/** The packet's data (what follows its type digit) parsed as JSON; null when it is not JSON or not text. */
function packetData(bytes: Uint8Array): { value: unknown } | null {
  const text = payloadText(bytes);
  if (text === null) return null;
  try {
    return { value: JSON.parse(text.slice(1)) as unknown };
  } catch {
    return null;
  }
}

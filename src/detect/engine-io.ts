/**
 * Engine.IO (the transport under Socket.IO, protocol v3 and v4) packets other than messages:
 * a text frame that is one packet-type digit, optionally followed by its data.
 *
 *   0{"sid":...}  open (the handshake: a JSON object with a string "sid")
 *   1             close
 *   2  / 2probe   ping (/ the upgrade probe)
 *   3  / 3probe   pong
 *   5             upgrade
 *   6             noop
 *
 * Type 4 (message) carries Socket.IO packets: see socket-io.ts. A bare "2" or "3" is claimed
 * although it could be a number in another protocol: Socket.IO negotiates no subprotocol, so
 * the registry runs this only on connections without a declared, known subprotocol.
 */

import { excerpt } from './bytes.js';
import { isRecord, payloadText } from './payload-text.js';
import type { Detection, Detector } from './types.js';

/** The packet as the pretty view tags it: `ping`, `pong`, `ping probe`, `upgrade`, `open sid=…`. */
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
    if (first !== 0x30 || bytes[1] !== 0x7b) return null;
    const text = payloadText(bytes);
    if (text === null) return null;
    let open: unknown;
    try {
      open = JSON.parse(text.slice(1));
    } catch {
      return null;
    }
    if (!isRecord(open) || typeof open.sid !== 'string') return null;
    return { id: 'engine.io', label: `engine.io open sid=${excerpt(open.sid)}`, decoded: open };
  },
};

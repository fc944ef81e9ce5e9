/**
 * What `show` and `hexdump` need to pick and decode frame payloads: the bytes a frame entry keeps,
 * and which message (text or binary) a continuation frame belongs to. No I/O.
 */
import type { FrameEntry } from '../format/schema.js';
import { payloadBytes } from '../output/payload.js';

/**
 * The payload bytes the archive keeps for a frame: the UTF-8 of `text`, the base64 `data`, or,
 * for a close frame archived with only its `code` and `reason` (what the recorder writes when the
 * reason is valid UTF-8), the payload rebuilt from them (RFC 6455 §5.5.1: a 2-byte big-endian
 * code, then the reason).
 */
export function framePayload(frame: Pick<FrameEntry, 'type' | 'text' | 'data' | 'code' | 'reason'>): Uint8Array {
  if (frame.text !== undefined || frame.data !== undefined) return payloadBytes(frame);
  if (frame.type === 'close' && frame.code !== undefined) {
    const reason = Buffer.from(frame.reason ?? '', 'utf8');
    const bytes = new Uint8Array(2 + reason.length);
    bytes[0] = (frame.code >> 8) & 0xff;
    bytes[1] = frame.code & 0xff;
    bytes.set(reason, 2);
    return bytes;
  }
  return new Uint8Array(0);
}

/**
 * Tracks which message each data frame belongs to, per connection and direction, so that the
 * continuation frames of a fragmented binary message can be told from those of a text message
 * (RFC 6455 §5.4: a continuation frame carries no type of its own; the message's first frame
 * does). Memory: one entry per unfinished message.
 */
export class MessageTypeTracker {
  readonly #open = new Map<string, 'text' | 'binary'>();

  /**
   * The type of the message this frame carries data of: `text` or `binary`, or null for control
   * frames, reserved opcodes, and continuations with no message in progress. Call it for every
   * frame, in archive order.
   */
  observe(frame: Pick<FrameEntry, 'conn' | 'dir' | 'type' | 'fin'>): 'text' | 'binary' | null {
    const key = `${frame.dir} ${frame.conn}`;
    switch (frame.type) {
      case 'text':
      case 'binary':
        if (frame.fin) this.#open.delete(key);
        else this.#open.set(key, frame.type);
        return frame.type;
      case 'continuation': {
        const type = this.#open.get(key) ?? null;
        if (frame.fin) this.#open.delete(key);
        return type;
      }
      default:
        return null;
    }
  }
}

/**
 * What `show` and `hexdump` need to pick and decode frame payloads: the bytes a frame entry keeps,
 * and which message (text or binary) a continuation frame belongs to. No I/O.
 */
import type { FrameEntry } from '../format/schema.js';
import { payloadBytes } from '../output/payload.js';
import { encodeClosePayload } from '../wire/frame-encoder.js';
import { MessageTracker } from '../wire/message-assembler.js';
import type { MessageType } from '../wire/opcodes.js';
import { streamKey } from '../wire/side.js';

/**
 * The payload bytes the archive keeps for a frame: the UTF-8 of `text`, the base64 `data`, or,
 * for a close frame archived with only its `code` and `reason` (what the recorder writes when the
 * reason is valid UTF-8), the payload rebuilt from them (RFC 6455 §5.5.1: a 2-byte big-endian
 * code, then the reason).
 */
export function framePayload(frame: Pick<FrameEntry, 'type' | 'text' | 'data' | 'code' | 'reason'>): Uint8Array {
  if (frame.text !== undefined || frame.data !== undefined) return payloadBytes(frame);
  // An archive's code is any integer; the wire has 16 bits for it.
  if (frame.type === 'close' && frame.code !== undefined) return encodeClosePayload(frame.code & 0xffff, frame.reason ?? '');
  return new Uint8Array(0);
}

/**
 * Tracks which message each data frame belongs to, per connection and direction, so that the
 * continuation frames of a fragmented binary message can be told from those of a text message
 * (RFC 6455 §5.4: a continuation frame carries no type of its own; the message's first frame
 * does). The tracking is src/wire/message-assembler.ts's MessageTracker, keyed by archive stream.
 * Memory: one entry per unfinished message.
 */
export class MessageTypeTracker {
  readonly #messages = new MessageTracker();

  /**
   * The type of the message this frame carries data of: `text` or `binary`, or null for control
   * frames, reserved opcodes, and continuations with no message in progress. Call it for every
   * frame, in archive order.
   */
  observe(frame: Pick<FrameEntry, 'conn' | 'dir' | 'type' | 'fin'>): MessageType | null {
    return this.#messages.place(frame, streamKey(frame.conn, frame.dir)).messageType;
  }
}

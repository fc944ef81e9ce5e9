/**
 * Recorded frames back into wire bytes, as faithfully as the new connection allows: same opcode,
 * FIN, RSV2/RSV3 bits, fragmentation, payload, close code and reason. Masking follows the sender
 * (fresh keys for a client, none for a server).
 *
 * Compressed messages are re-sent whole, as one frame, compressed again when this connection
 * negotiated permessage-deflate, plain otherwise: the content is the joined payloads of the
 * message's frames, which is the message both in archives that inflate per fragment and in older
 * ones that kept the whole message on the final frame (docs/FORMAT.md). (The sender's flush
 * points are not in the archive, so its fragmentation could not be reproduced compressed.)
 */
import zlib from 'node:zlib';
import type { FrameEntry } from '../format/schema.js';
import { encodeClosePayload, encodeFrame } from '../wire/frame-encoder.js';
import { MessageTracker } from '../wire/message-assembler.js';
import { opcodeOf } from '../wire/opcodes.js';

/** RFC 7692 §7.2.1: compress with a sync flush and drop the final 00 00 ff ff. */
export function deflateMessage(payload: Uint8Array): Uint8Array {
  const compressed = zlib.deflateRawSync(payload, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  return compressed.subarray(0, compressed.length - 4);
}

/** A recorded frame's payload bytes (text as UTF-8, data from base64, close from code and reason). */
export function payloadOf(frame: Pick<FrameEntry, 'type' | 'text' | 'data' | 'code' | 'reason'>): Buffer {
  if (frame.text !== undefined) return Buffer.from(frame.text, 'utf8');
  if (frame.data !== undefined) return Buffer.from(frame.data, 'base64');
  if (frame.type === 'close' && frame.code !== undefined) return Buffer.from(encodeClosePayload(frame.code, frame.reason ?? ''));
  return Buffer.alloc(0);
}

export interface OutgoingOptions {
  /** true: mask with fresh random keys (a client); false: unmasked (a server). */
  mask: boolean;
  /** Whether this replayed connection negotiated permessage-deflate. */
  deflate: boolean;
}

/**
 * Turns a sender's recorded frames into bytes, one call per frame in order. Returns null for a
 * frame that is not sent on its own (a non-final fragment of a compressed message).
 */
export class OutgoingFrames {
  /** The sender's messages: a compressed message re-sent whole takes its first frame's opcode. */
  private readonly messages = new MessageTracker();
  /** The payloads of the compressed message in progress, joined on its final frame. */
  private compressedParts: Buffer[] = [];
  constructor(private readonly options: OutgoingOptions) {}

  encode(frame: FrameEntry): Uint8Array | null {
    const place = this.messages.place(frame);
    const mask = this.options.mask ? true : undefined;
    if (frame.compressed === true) {
      if (place.position === 'whole' || place.position === 'first') this.compressedParts = [];
      this.compressedParts.push(payloadOf(frame));
      if (!frame.fin) return null;
      // RFC 6455 §5.4: a continuation has no type of its own; the message's first frame has it.
      const opcode = frame.type === 'continuation' ? opcodeOf(place.messageType ?? 'text') : frame.opcode;
      const content = this.compressedParts.length === 1 ? this.compressedParts[0]! : Buffer.concat(this.compressedParts);
      this.compressedParts = [];
      if (this.options.deflate) {
        return encodeFrame({ opcode, payload: deflateMessage(content), rsv1: true, ...(mask ? { mask } : {}) });
      }
      return encodeFrame({ opcode, payload: content, ...(mask ? { mask } : {}) });
    }
    return encodeFrame({
      opcode: frame.opcode,
      payload: payloadOf(frame),
      fin: frame.fin,
      rsv2: frame.rsv2,
      rsv3: frame.rsv3,
      ...(mask ? { mask } : {}),
    });
  }
}

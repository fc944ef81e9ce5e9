/**
 * Describes one direction of a WebSocket connection, frame by frame, for a recording.
 *
 * The observer is fed the raw bytes one peer sent after the handshake. It wraps a FrameParser
 * and adds what a frame means in the conversation: its message type, its text-ness, its
 * inflated content, and every protocol anomaly (AnomalyFlag). It only observes: a frame with
 * anomalies is still reported as it was, because the proxy forwards it regardless.
 *
 * How a compressed (permessage-deflate, RFC 7692) message is reported:
 * - Every frame of the message says `compressed: true`.
 * - Each fragment is inflated as it arrives (MessageInflater.inflateFragment) and carries what it
 *   inflated to: `payload` (at most maxPayload bytes), `size` (its real inflated size),
 *   `truncated`, `isText`. A sender that flushes after every fragment (`ws`, Python websockets)
 *   thus gets each fragment's own content on its frame. A fragment that does not end on a flush
 *   point yields nothing yet (empty payload, `size: 0`): its bytes are inflated with the next
 *   fragment, at the latest with the final one. Joining the payloads of a message's frames
 *   gives the message, compressed or not, and nothing is delayed: every frame is reported as it
 *   arrives. (Before per-fragment inflation, the final frame carried the whole message and
 *   earlier ones nothing: the same rule with every fragment's output held to the end.)
 * - Compressed bytes waiting for a flush point are bounded by maxPayload, and a frame whose
 *   payload was not kept whole (over maxPayload) cannot be inflated; inflating stops, too, once
 *   the message's output passes the inflater's maxInflatedSize (64 MiB by default, the message's
 *   zip-bomb bound). From that frame on, the message is not inflated: each of its frames reports
 *   an empty payload, `truncated: true` and `size` = the compressed bytes it accounts for (its
 *   own, plus those of earlier fragments still waiting).
 * - If the bytes are not valid DEFLATE data, the final frame carries the compressed bytes not
 *   inflated yet, `size` = their length, `isText: false` and the 'inflate-error' flag.
 * - With context takeover the sender's later messages may refer to the content of a message that
 *   was not inflated (or was interrupted), so from then on the direction cannot be inflated: one
 *   `{ type: 'error', error: { code: 'WS_INFLATE_UNAVAILABLE' } }` event follows the frame that
 *   lost the context, and every frame of each later compressed message carries its own raw
 *   compressed payload, `compressed: true`, `isText: false` and the 'inflate-error' flag.
 *   Without context takeover only the one message is affected.
 *
 * `isText` is judged on the payload as reported; for a truncated payload, on whether the kept
 * bytes can begin valid UTF-8 (the cut is ours, not the sender's). 'invalid-utf8' is streamed
 * over a message's fragments and flagged on the frame where the error shows.
 *
 * Memory is bounded for frames and messages of any size: the parser keeps at most maxPayload
 * bytes of a frame, and the compressed fragments waiting for a flush point never total more than
 * maxPayload.
 */

import { parseClosePayload } from './close-codes.js';
import { concat } from './bytes.js';
import { FrameParser } from './frame-parser.js';
import { MessageTracker } from './message-assembler.js';
import { frameTypeOf, isControlOpcode, Opcode, startsMessage } from './opcodes.js';
import { MessageInflater, type InflateResult } from './permessage-deflate.js';
import type { AnomalyFlag, DeflateParams, ObservedFrame, ParsedFrame, Sender, StreamError } from './types.js';
import { isValidUtf8, Utf8Validator } from './utf8.js';
import { isWireError } from './wire-error.js';

/** What one push can yield: an observed frame, or a stream-level error. */
export type ObserverEvent = { type: 'frame'; frame: ObservedFrame } | { type: 'error'; error: StreamError };

/** Options for {@link StreamObserver}. */
export interface StreamObserverOptions {
  /** The peer whose bytes this observer sees. */
  sender: Sender;
  /** What the handshake negotiated (see negotiatedDeflate), or null. */
  deflate: DeflateParams | null;
  /** Payload bytes kept per frame (and compressed bytes kept per message). */
  maxPayload: number;
}

const EMPTY = new Uint8Array(0);

/**
 * Observes the frames of one direction of a connection.
 *
 * @example
 *   const observer = new StreamObserver({ sender: 'client', deflate, maxPayload: 1 << 20 });
 *   socket.on('data', (chunk) => { for (const event of observer.push(chunk)) record(event); });
 */
export class StreamObserver {
  private readonly parser: FrameParser;
  private readonly sender: Sender;
  private readonly deflate: boolean;
  private readonly inflater: MessageInflater | null;
  private readonly maxPayload: number;

  /** A close frame was seen from this sender. */
  private closed = false;
  private unavailableReported = false;
  private pendingError: StreamError | null = null;

  // The data message in progress (RFC 6455 §5.4), if any: which frames continue which message is
  // the tracker's business; what this message needs to be checked and inflated is kept here.
  private readonly messages = new MessageTracker();
  private messageText = false;
  private messageCompressed = false;
  /** Compressed message shown raw: the inflater was unavailable when it began. */
  private messageRaw = false;
  /** Compressed message not inflated from some frame on (too big). */
  private messageAbandoned = false;
  /** Compressed payloads of the message's fragments not inflated yet (no flush point). */
  private compressedPieces: Uint8Array[] = [];
  private compressedKept = 0;
  /** Streamed UTF-8 check of an uncompressed text message; null once it cannot go on. */
  private utf8: Utf8Validator | null = null;
  private readonly validator = new Utf8Validator();

  constructor(options: StreamObserverOptions) {
    this.sender = options.sender;
    this.maxPayload = options.maxPayload;
    this.parser = new FrameParser({ maxRetain: options.maxPayload });
    this.deflate = options.deflate !== null;
    this.inflater =
      options.deflate === null
        ? null
        : new MessageInflater({
            noContextTakeover: options.sender === 'client' ? options.deflate.clientNoContextTakeover : options.deflate.serverNoContextTakeover,
            maxOutput: options.maxPayload,
          });
  }

  /**
   * Frees the inflater's zlib stream now rather than when the observer is collected. Pushing
   * more bytes after this still works (a new stream is opened), but the shared window is gone.
   */
  close(): void {
    this.inflater?.close();
  }

  /** True once the stream proved unparseable; later input is ignored. */
  get stopped(): boolean {
    return this.parser.stopped;
  }

  /** Bytes held right now (parser buffers plus kept compressed fragments). */
  get retainedBytes(): number {
    return this.parser.retainedBytes + this.compressedKept;
  }

  /**
   * Feeds the next bytes this direction carried. Payloads may be views of the chunks pushed
   * (see FrameParser), and the fragments of a compressed message are held until it ends: do not
   * modify a chunk after pushing it.
   *
   * @returns the frames these bytes completed, in order, with any stream errors among them.
   */
  push(chunk: Uint8Array): ObserverEvent[] {
    const parsed = this.parser.push(chunk);
    const events: ObserverEvent[] = [];
    for (const event of parsed) {
      if (event.type === 'error') {
        events.push(event);
        continue;
      }
      events.push({ type: 'frame', frame: this.observe(event.frame, event.wireSize) });
      if (this.pendingError !== null) {
        events.push({ type: 'error', error: this.pendingError });
        this.pendingError = null;
      }
    }
    return events;
  }

  private observe(parsed: ParsedFrame, wireSize: number): ObservedFrame {
    const header = parsed.header;
    const opcode = header.opcode;
    const type = frameTypeOf(opcode);
    const flags: AnomalyFlag[] = [];

    // RFC 6455 §5.2: "the minimal number of bytes MUST be used to encode the length".
    if (header.nonMinimalLength) flags.push('non-minimal-length');
    // RFC 6455 §5.1: a client MUST mask every frame; a server MUST NOT mask any.
    if (this.sender === 'client') {
      if (!header.masked) flags.push('unmasked-client-frame');
    } else if (header.masked) {
      flags.push('masked-server-frame');
    }
    // RFC 6455 §5.2: opcodes 0x3-0x7 and 0xB-0xF are reserved.
    if (type === 'reserved') flags.push('reserved-opcode');
    // RFC 6455 §5.2: RSV1-3 MUST be 0 unless an extension defines them. RFC 7692 §6: RSV1 is the
    // "Per-Message Compressed" bit, set on the first frame of a data message only.
    const opensMessage = startsMessage(opcode);
    if ((header.rsv1 && !(opensMessage && this.deflate)) || header.rsv2 || header.rsv3) {
      flags.push('reserved-bits');
    }
    // RFC 6455 §5.5: control frames have opcodes with the high bit set; they "MUST have a
    // payload length of 125 bytes or less and MUST NOT be fragmented".
    if (isControlOpcode(opcode)) {
      if (header.payloadLength > 125) flags.push('control-frame-too-long');
      if (!header.fin) flags.push('control-frame-fragmented');
    }
    // RFC 6455 §5.5.1: "The application MUST NOT send any more data frames after sending a
    // Close frame." Control frames are flagged too: after its close frame a sender only waits
    // for the connection to end (§7.1.2).
    if (this.closed) flags.push('frame-after-close');

    const frame: ObservedFrame = {
      type,
      opcode,
      fin: header.fin,
      rsv1: header.rsv1,
      rsv2: header.rsv2,
      rsv3: header.rsv3,
      masked: header.masked,
      maskKey: header.maskKey,
      compressed: false,
      payload: parsed.payload,
      size: header.payloadLength,
      wireSize,
      truncated: parsed.truncated,
      isText: false,
      flags,
    };

    if (opcode === Opcode.Close) {
      this.closed = true;
      const close = parseClosePayload(parsed.payload, parsed.truncated);
      if (close.code !== undefined) frame.closeCode = close.code;
      frame.closeReason = close.reason;
      for (const flag of close.flags) flags.push(flag);
    } else {
      const place = this.messages.place(frame);
      // RFC 6455 §5.4: a fragmented message's frames are not interleaved with other data frames.
      if (place.interrupted !== null) {
        flags.push('interrupted-message');
        this.dropMessage();
      }
      switch (place.position) {
        case 'whole':
        case 'first':
          this.beginMessage(opcode === Opcode.Text, header.rsv1 && this.inflater !== null);
          this.continueMessage(parsed, frame, true);
          break;
        case 'middle':
        case 'final':
          // RFC 6455 §5.4: a continuation frame continues a fragmented message.
          this.continueMessage(parsed, frame, false);
          break;
        case 'orphan':
          flags.push('unexpected-continuation');
          break;
        case 'control':
          // Ping, pong and reserved opcodes: no part of a message.
          break;
      }
    }
    return frame;
  }

  private beginMessage(text: boolean, compressed: boolean): void {
    this.messageText = text;
    this.messageCompressed = compressed;
    this.messageRaw = compressed && this.inflater?.available === false;
    this.messageAbandoned = false;
    this.utf8 = null;
  }

  /** Forgets an unfinished message; a compressed one takes the shared window with it. */
  private dropMessage(): void {
    if (this.messageCompressed && !this.messageRaw && !this.messageAbandoned) this.loseContext();
    this.endMessage();
  }

  private endMessage(): void {
    // Inflating copied the pieces, so the array can be reused.
    if (this.compressedPieces.length > 0) this.compressedPieces.length = 0;
    this.compressedKept = 0;
    this.utf8 = null;
  }

  private continueMessage(parsed: ParsedFrame, frame: ObservedFrame, first: boolean): void {
    const final = parsed.header.fin;
    if (this.messageCompressed) this.compressedFrame(parsed, frame, first, final);
    else if (this.messageText) this.textFrame(parsed.payload, parsed.truncated, frame, first, final);
    if (final) this.endMessage();
  }

  /**
   * A text frame's payload (as sent, or as its fragment inflated): UTF-8 is checked over the
   * whole message (RFC 6455 §8.1).
   */
  private textFrame(payload: Uint8Array, truncated: boolean, frame: ObservedFrame, first: boolean, final: boolean): void {
    if (first && final && !truncated) {
      // The common case: a whole message in one frame.
      frame.isText = isValidUtf8(payload);
      if (!frame.isText) frame.flags.push('invalid-utf8');
      return;
    }
    if (first) {
      this.validator.reset();
      this.utf8 = this.validator;
    }
    const utf8 = this.utf8;
    if (utf8 === null) {
      frame.isText = textOnItsOwn(payload, truncated);
      return;
    }
    const wasPending = utf8.pending;
    const valid = utf8.push(payload);
    if (!valid) {
      frame.flags.push('invalid-utf8');
      this.utf8 = null;
    } else if (truncated) {
      // The rest of this frame was not kept, so the check cannot go on.
      this.utf8 = null;
    } else if (final && !utf8.end()) {
      // RFC 6455 §8.1: the message ends in the middle of a code point.
      frame.flags.push('invalid-utf8');
    }
    frame.isText = valid && !wasPending && (truncated || !utf8.pending) ? true : textOnItsOwn(payload, truncated);
  }

  private compressedFrame(parsed: ParsedFrame, frame: ObservedFrame, first: boolean, final: boolean): void {
    frame.compressed = true;
    if (this.messageRaw) {
      frame.flags.push('inflate-error');
      return;
    }
    const wire = parsed.header.payloadLength;
    // Until the frame yields output, and when the message is not inflated, the payload is
    // empty: as text of a text message it is valid.
    frame.payload = EMPTY;
    frame.size = 0;
    frame.truncated = false;
    frame.isText = this.messageText;
    if (this.messageAbandoned) {
      frame.size = wire;
      frame.truncated = true;
      return;
    }
    if (parsed.truncated || this.compressedKept + parsed.payload.length > this.maxPayload) {
      this.abandonMessage(frame, this.compressedKept + wire);
      this.loseContext();
      return;
    }
    this.compressedPieces.push(parsed.payload);
    this.compressedKept += parsed.payload.length;

    const inflater = this.inflater as MessageInflater;
    let result: InflateResult | null;
    try {
      result = inflater.inflateFragment(this.compressedPieces, final);
    } catch (error) {
      if (isWireError(error, 'WS_INFLATE_TOO_LARGE')) {
        this.abandonMessage(frame, this.compressedKept);
      } else if (isWireError(error, 'WS_INFLATE_FAILED')) {
        frame.isText = false;
        frame.payload = concat(this.compressedPieces, this.compressedKept);
        frame.size = this.compressedKept;
        frame.flags.push('inflate-error');
      } else {
        throw error;
      }
      this.reportIfUnavailable();
      return;
    }
    if (result !== null) {
      // Inflating copied the pieces, so the array can be reused.
      this.compressedPieces.length = 0;
      this.compressedKept = 0;
      frame.payload = result.output;
      frame.size = result.size;
      frame.truncated = result.truncated;
    }
    if (this.messageText) this.textFrame(frame.payload, frame.truncated, frame, first, final);
  }

  /** From this frame on, the message is not inflated; `size` = the compressed bytes it accounts for. */
  private abandonMessage(frame: ObservedFrame, size: number): void {
    this.messageAbandoned = true;
    this.compressedPieces.length = 0;
    this.compressedKept = 0;
    this.utf8 = null;
    frame.size = size;
    frame.truncated = true;
  }

  private loseContext(): void {
    this.inflater?.skip();
    this.reportIfUnavailable();
  }

  private reportIfUnavailable(): void {
    if (this.unavailableReported || this.inflater === null || this.inflater.available) return;
    this.unavailableReported = true;
    this.pendingError = {
      code: 'WS_INFLATE_UNAVAILABLE',
      message:
        `a compressed ${this.sender} message was not inflated and the ${this.sender} uses ` +
        'context takeover: later compressed messages are recorded as sent (compressed)',
    };
  }
}

/**
 * Whether a payload is UTF-8 on its own; for a truncated payload, whether the kept bytes can
 * start valid UTF-8 (the cut is ours, not the sender's).
 */
function textOnItsOwn(payload: Uint8Array, truncated: boolean): boolean {
  return truncated ? new Utf8Validator().push(payload) : isValidUtf8(payload);
}

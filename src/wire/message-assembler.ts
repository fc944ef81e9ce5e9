/**
 * Messages out of frames: the one place that knows how RFC 6455 §5.4 fragments make a message.
 *
 * "A fragmented message consists of a single frame with the FIN bit clear and an opcode other
 * than 0, followed by zero or more frames with the FIN bit clear and the opcode set to 0, and
 * terminated by a single frame with the FIN bit set and an opcode of 0." Control frames "MAY be
 * injected in the middle of a fragmented message"; data frames of another message may not. Each
 * direction of a connection is its own sequence.
 *
 * Two layers, both I/O-free and keyed by a caller-chosen stream name (one per connection and
 * direction: see side.ts streamKey):
 * - MessageTracker says where each frame stands (whole message, first, middle or final fragment,
 *   control frame, or a continuation with no message to continue) and which message type it
 *   carries. It keeps one small entry per unfinished message. The hexdump's type tracking, the
 *   redactor, replay and the HAR export ask it.
 * - MessageAssembler builds on it and joins the fragments' payloads into messages, for
 *   `show --messages` and the demo server.
 *
 * They read only `type` and `fin` (and, to join, sizes, flags and a payload accessor), which both
 * the archive's frame entries and the stream observer's ObservedFrame have. Compressed
 * (permessage-deflate) messages need nothing special: the observer, and so the archive, put on
 * each fragment what it inflated to (stream-observer.ts; archives of older versions: the whole
 * message on the final frame, empty payloads before it), so joining the payloads gives the
 * message either way.
 *
 * Anomalies are reported by place, never thrown: a continuation with no message open is 'orphan'
 * (the recorder flagged it unexpected-continuation), and a text or binary frame while a message
 * is open reports the message it cut short in `interrupted` (flagged interrupted-message).
 */

import { concat } from './bytes.js';
import type { FrameType, MessageType } from './opcodes.js';
import type { AnomalyFlag } from './types.js';

/** What the tracker reads of a frame. */
export interface SequencedFrame {
  type: FrameType;
  fin: boolean;
}

/**
 * Where a frame stands in its stream's message sequence:
 * - `whole`: a text or binary frame with FIN set, a message on its own;
 * - `first`: a text or binary frame with FIN clear, opening a fragmented message;
 * - `middle`: a continuation with FIN clear inside an open message;
 * - `final`: the continuation with FIN set that completes the open message;
 * - `control`: a close, ping or pong frame, or a reserved opcode: outside the sequence, so it may
 *   come between fragments and changes nothing;
 * - `orphan`: a continuation with no message open (RFC 6455 §5.4: a protocol error).
 */
export type FramePosition = 'whole' | 'first' | 'middle' | 'final' | 'control' | 'orphan';

/** What {@link MessageTracker.place} says about one frame. */
export type FramePlace =
  | {
      position: 'whole' | 'first' | 'middle' | 'final';
      /** The type of the message this frame carries data of. */
      messageType: MessageType;
      /** An unfinished message this frame cut short (a new message began): its type, else null. */
      interrupted: MessageType | null;
    }
  | { position: 'control' | 'orphan'; messageType: null; interrupted: null };

const CONTROL: FramePlace = { position: 'control', messageType: null, interrupted: null };
const ORPHAN: FramePlace = { position: 'orphan', messageType: null, interrupted: null };

/**
 * Tracks the open message of each stream. Memory: one entry per unfinished message.
 *
 * @example
 *   const tracker = new MessageTracker();
 *   for (const frame of frames) {
 *     const place = tracker.place(frame, streamKey(frame.conn, frame.dir));
 *     if (place.messageType === 'binary') hexdump(frame);
 *   }
 */
export class MessageTracker {
  readonly #open = new Map<string, MessageType>();

  /**
   * Places the next frame of `stream` (frames of one stream in the order they were sent) and
   * moves the stream's state on.
   */
  place(frame: SequencedFrame, stream = ''): FramePlace {
    const open = this.#open.get(stream) ?? null;
    switch (frame.type) {
      case 'text':
      case 'binary':
        // RFC 6455 §5.4: a new data message while one is unfinished interrupts it.
        // Deleted first so that openStreams keeps the order messages began in.
        this.#open.delete(stream);
        if (!frame.fin) this.#open.set(stream, frame.type);
        return { position: frame.fin ? 'whole' : 'first', messageType: frame.type, interrupted: open };
      case 'continuation':
        // RFC 6455 §5.4: a continuation frame continues the open message; none is open: orphan.
        if (open === null) return ORPHAN;
        if (frame.fin) this.#open.delete(stream);
        return { position: frame.fin ? 'final' : 'middle', messageType: open, interrupted: null };
      default:
        // RFC 6455 §5.5: control frames may be injected in the middle of a fragmented message.
        return CONTROL;
    }
  }

  /** The type of the stream's unfinished message, or null. */
  openMessage(stream = ''): MessageType | null {
    return this.#open.get(stream) ?? null;
  }

  /** The stream ended: forgets its unfinished message and returns its type, or null. */
  end(stream = ''): MessageType | null {
    const open = this.#open.get(stream) ?? null;
    this.#open.delete(stream);
    return open;
  }

  /** Streams with an unfinished message, in the order those messages began. */
  get openStreams(): string[] {
    return [...this.#open.keys()];
  }
}

/** What the assembler reads of a frame, besides its payload. */
export interface AssembledFrame extends SequencedFrame {
  /** Payload bytes (after decompression), kept or not. */
  size: number;
  /** Bytes on the wire. */
  wireSize: number;
  compressed?: boolean | undefined;
  truncated?: boolean | undefined;
  flags?: readonly AnomalyFlag[] | undefined;
}

/** A data message, whole or as far as it got. */
export interface AssembledMessage<F> {
  type: MessageType;
  /** The stream it was sent on. */
  stream: string;
  /** Its first frame (the one with the text or binary opcode). */
  first: F;
  /** The frame that completed it, or the last that arrived when it is incomplete. */
  last: F;
  /** Frames it took: 1 for an unfragmented message. */
  fragments: number;
  /**
   * The joined payloads, at most maxBytes (see `truncated`). An unfragmented message's payload is
   * its frame's, as the accessor returns it, read only when asked for.
   */
  readonly payload: Uint8Array;
  /** Sum of the frames' sizes. */
  size: number;
  /** Sum of the frames' wire sizes. */
  wireSize: number;
  /** A frame was truncated, or the joined payload passed maxBytes. */
  truncated: boolean;
  /** A frame said it was compressed (permessage-deflate). */
  compressed: boolean;
  /** The frames' flags, each once, in the order first seen. */
  flags: AnomalyFlag[];
  /** True when it never got its final fragment (interrupted, or the stream ended). */
  incomplete: boolean;
}

/**
 * What one push yields, in order: a message it completed or cut short, or the frame itself when
 * it is no part of a message (a control frame, reserved opcode or orphan continuation).
 */
export type AssemblyEvent<F> = { type: 'message'; message: AssembledMessage<F> } | { type: 'frame'; frame: F; position: 'control' | 'orphan' };

/** Options for {@link MessageAssembler}. */
export interface MessageAssemblerOptions<F> {
  /** A frame's kept payload bytes. */
  payload: (frame: F) => Uint8Array;
  /** Payload bytes held per fragmented message (default 16 MiB); the rest is counted in `size`. */
  maxBytes?: number;
}

/** Default payload bytes kept per reassembled message (the archive's own default per frame). */
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

interface OpenMessage<F> {
  type: MessageType;
  stream: string;
  first: F;
  last: F;
  chunks: Uint8Array[];
  kept: number;
  fragments: number;
  size: number;
  wireSize: number;
  truncated: boolean;
  compressed: boolean;
  flags: AnomalyFlag[];
}

/**
 * Joins fragmented messages, per stream. Memory: one open message per stream, each holding at
 * most `maxBytes` of payload. Unfragmented messages are not copied.
 *
 * @example
 *   const assembler = new MessageAssembler({ payload: (frame) => frame.payload });
 *   for (const event of assembler.push(frame, 'client')) if (event.type === 'message') use(event.message);
 */
export class MessageAssembler<F extends AssembledFrame> {
  readonly #tracker = new MessageTracker();
  readonly #open = new Map<string, OpenMessage<F>>();
  readonly #payload: (frame: F) => Uint8Array;
  readonly #maxBytes: number;

  constructor(options: MessageAssemblerOptions<F>) {
    this.#payload = options.payload;
    this.#maxBytes = options.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  }

  /** Feeds the next frame of `stream`; returns what it completes (zero, one or two events). */
  push(frame: F, stream = ''): AssemblyEvent<F>[] {
    const place = this.#tracker.place(frame, stream);
    const events: AssemblyEvent<F>[] = [];
    if (place.interrupted !== null) this.#close(stream, true, events);
    switch (place.position) {
      case 'whole':
        events.push({ type: 'message', message: this.#whole(frame, place.messageType, stream) });
        break;
      case 'first':
        this.#open.set(stream, this.#start(frame, place.messageType, stream));
        break;
      case 'middle':
      case 'final': {
        const open = this.#open.get(stream);
        if (open !== undefined) this.#add(open, frame);
        if (place.position === 'final') this.#close(stream, false, events);
        break;
      }
      default:
        events.push({ type: 'frame', frame, position: place.position });
    }
    return events;
  }

  /** The stream ended: its unfinished message, incomplete, or nothing. */
  end(stream = ''): AssembledMessage<F>[] {
    this.#tracker.end(stream);
    const events: AssemblyEvent<F>[] = [];
    this.#close(stream, true, events);
    return events.flatMap((event) => (event.type === 'message' ? [event.message] : []));
  }

  /** The input ended: every unfinished message, incomplete, in the order they began. */
  finish(): AssembledMessage<F>[] {
    return [...this.#open.keys()].flatMap((stream) => this.end(stream));
  }

  #whole(frame: F, type: MessageType, stream: string): AssembledMessage<F> {
    const read = this.#payload;
    let payload: Uint8Array | null = null;
    return {
      type,
      stream,
      first: frame,
      last: frame,
      fragments: 1,
      get payload(): Uint8Array {
        payload ??= read(frame);
        return payload;
      },
      size: frame.size,
      wireSize: frame.wireSize,
      truncated: frame.truncated === true,
      compressed: frame.compressed === true,
      flags: [...new Set(frame.flags ?? [])],
      incomplete: false,
    };
  }

  #start(frame: F, type: MessageType, stream: string): OpenMessage<F> {
    const message: OpenMessage<F> = {
      type,
      stream,
      first: frame,
      last: frame,
      chunks: [],
      kept: 0,
      fragments: 0,
      size: 0,
      wireSize: 0,
      truncated: false,
      compressed: false,
      flags: [],
    };
    this.#add(message, frame);
    return message;
  }

  #add(message: OpenMessage<F>, frame: F): void {
    message.last = frame;
    message.fragments += 1;
    message.size += frame.size;
    message.wireSize += frame.wireSize;
    if (frame.truncated === true) message.truncated = true;
    if (frame.compressed === true) message.compressed = true;
    for (const flag of frame.flags ?? []) if (!message.flags.includes(flag)) message.flags.push(flag);
    const bytes = this.#payload(frame);
    const room = Math.max(0, this.#maxBytes - message.kept);
    if (bytes.length > room) message.truncated = true;
    const kept = bytes.length > room ? bytes.subarray(0, room) : bytes;
    if (kept.length > 0) {
      message.chunks.push(kept);
      message.kept += kept.length;
    }
  }

  #close(stream: string, incomplete: boolean, events: AssemblyEvent<F>[]): void {
    const open = this.#open.get(stream);
    if (open === undefined) return;
    this.#open.delete(stream);
    const { chunks, kept, ...rest } = open;
    events.push({ type: 'message', message: { ...rest, payload: concat(chunks, kept), incomplete } });
  }
}

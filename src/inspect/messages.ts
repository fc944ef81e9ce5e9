/**
 * Messages out of frames, with no I/O: what `wstape show --messages` prints. The assembling is
 * src/wire/message-assembler.ts's (which message a continuation frame belongs to when frames are
 * shown one by one is its MessageTracker, through MessageTypeTracker in hexdump.ts); this module
 * turns archive frame entries into its input and its messages into rows.
 *
 * RFC 6455 §5.4: a message is one text or binary frame with FIN set, or a text/binary frame with
 * FIN clear followed by continuation frames up to one with FIN set. Control frames may be
 * injected between the fragments; they are passed through at once, so rows come out in capture
 * order of the frame that completed them (a message's row is emitted when its final fragment
 * arrives, after any control frame that arrived in the middle of it).
 *
 * Compressed messages need no inflating here: the recorder keeps each permessage-deflate
 * fragment's inflated content on its frame (older archives: the whole message on the final frame
 * and empty payloads before it; see src/wire/stream-observer.ts and docs/FORMAT.md), so joining
 * the fragments' payloads gives the message, compressed or not, in either layout.
 *
 * Memory: one open message per connection and direction, each keeping at most `maxBytes`
 * (the rest is counted in `size` and marked `truncated`). Unfragmented messages are not copied.
 */
import type { FrameEntry } from '../format/schema.js';
import { MessageAssembler as WireMessageAssembler, type AssembledMessage, type AssemblyEvent } from '../wire/message-assembler.js';
import type { MessageType } from '../wire/opcodes.js';
import { DIRECTIONS, streamKey } from '../wire/side.js';

export { DEFAULT_MAX_MESSAGE_BYTES } from '../wire/message-assembler.js';

/** A frame entry as show prints it: without `kind`. */
export type FrameRow = Omit<FrameEntry, 'kind'> & { kind?: 'frame' };

/** What --messages adds to a data message's row. */
export interface MessageFields {
  /** How many frames the message took (1 for an unfragmented message). */
  fragments: number;
  /** The index of the message's final frame (`index` is its first frame's). */
  lastIndex: number;
  /** True when the message never got its final fragment (interrupted, or the connection ended). */
  incomplete?: true;
}

/** A row: a frame, or a data message (a frame row plus MessageFields). */
export type Row = FrameRow & Partial<MessageFields>;

/** A row, and the type of the message its payload belongs to (null for control frames). */
export interface InspectRow {
  row: Row;
  /** `text` or `binary`: the message's type, also for a continuation frame; null otherwise. */
  messageType: MessageType | null;
}

export interface MessageAssemblerOptions {
  /** Payload bytes kept per message; the rest is counted and the row marked truncated. */
  maxBytes?: number;
}

/** The kept payload bytes of a frame row. */
export function rowBytes(row: Pick<FrameRow, 'text' | 'data'>): Uint8Array {
  if (row.text !== undefined) return Buffer.from(row.text, 'utf8');
  if (row.data !== undefined) return Buffer.from(row.data, 'base64');
  return new Uint8Array(0);
}

/**
 * Reassembles fragmented messages, per connection and direction, into show's rows.
 *
 * @example
 *   const assembler = new MessageAssembler();
 *   for (const frame of frames) for (const { row } of assembler.push(frame)) print(row);
 *   for (const { row } of assembler.finish()) print(row); // messages the archive left unfinished
 */
export class MessageAssembler {
  readonly #messages: WireMessageAssembler<FrameRow>;

  constructor(options: MessageAssemblerOptions = {}) {
    this.#messages = new WireMessageAssembler<FrameRow>({
      payload: rowBytes,
      ...(options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {}),
    });
  }

  /** Feed one frame; returns the rows it completes, in order (zero, one or two). */
  push(frame: FrameRow): InspectRow[] {
    return this.#messages.push(frame, streamKey(frame.conn, frame.dir)).map(rowOf);
  }

  /** The connection ended: its unfinished messages, as incomplete rows. */
  end(conn: string): InspectRow[] {
    return DIRECTIONS.flatMap((dir) => this.#messages.end(streamKey(conn, dir))).map(messageRow);
  }

  /** The archive ended: every unfinished message, as incomplete rows, in the order they began. */
  finish(): InspectRow[] {
    const open = this.#messages.finish().sort((a, b) => a.first.elapsed - b.first.elapsed);
    return open.map(messageRow);
  }
}

function rowOf(event: AssemblyEvent<FrameRow>): InspectRow {
  // RFC 6455 §5.4: a continuation with no message open is a protocol error; the recorder
  // flagged it (unexpected-continuation) and it is shown as the frame it is, like control frames.
  if (event.type === 'frame') return { row: event.frame, messageType: null };
  return messageRow(event.message);
}

function messageRow(message: AssembledMessage<FrameRow>): InspectRow {
  const { first, last, incomplete } = message;
  // An unfragmented message is its frame, as recorded.
  if (message.fragments === 1 && !incomplete) {
    return { row: { ...first, fragments: 1, lastIndex: first.index }, messageType: message.type };
  }
  const payload = message.payload;
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.length);
  // The header fields are those of the message's first frame (its opcode, RSV1 for
  // compression, its mask); times are those of the frame that completed it.
  const row: Row = {
    conn: first.conn,
    index: first.index,
    time: last.time,
    elapsed: last.elapsed,
    dir: first.dir,
    type: message.type,
    opcode: first.opcode,
    fin: !incomplete,
    rsv1: first.rsv1,
    rsv2: first.rsv2,
    rsv3: first.rsv3,
    masked: first.masked,
    ...(first.mask !== undefined ? { mask: first.mask } : {}),
    ...(message.compressed ? { compressed: true } : {}),
    size: message.size,
    wireSize: message.wireSize,
    ...payloadFields(bytes, message.type, message.truncated),
    ...(message.truncated ? { truncated: true } : {}),
    ...(message.flags.length > 0 ? { flags: message.flags } : {}),
    fragments: message.fragments,
    lastIndex: last.index,
    ...(incomplete ? { incomplete: true as const } : {}),
  };
  return { row, messageType: message.type };
}

/** `text` when a text message's bytes are valid UTF-8 (allowing a character cut by truncation), else `data`. */
function payloadFields(bytes: Buffer, type: MessageType, truncated: boolean): { text: string } | { data: string } {
  if (type === 'text') {
    const text = decodeUtf8(bytes) ?? (truncated ? decodeCutUtf8(bytes) : null);
    if (text !== null) return { text };
  }
  return { data: bytes.toString('base64') };
}

const FATAL_DECODER = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return FATAL_DECODER.decode(bytes);
  } catch {
    return null;
  }
}

/** Valid UTF-8 once a character cut short at the end (at most 3 bytes) is dropped. */
function decodeCutUtf8(bytes: Uint8Array): string | null {
  for (let drop = 1; drop <= 3 && drop <= bytes.length; drop++) {
    const text = decodeUtf8(bytes.subarray(0, bytes.length - drop));
    if (text !== null) return text;
  }
  return null;
}

/**
 * The one table of WebSocket opcodes (RFC 6455 §5.2, §11.8) and the names frames go by.
 *
 * Every module that turns an opcode into a frame type, or asks whether a frame is a control or a
 * data frame, asks here: the stream observer, the HAR import, the demo, replay and the inspect
 * commands. The names are the archive's `type` values (docs/FORMAT.md), so they are stable: add,
 * never rename. Opcodes 0x3-0x7 and 0xB-0xF are reserved and all go by the one name 'reserved';
 * the frame's `opcode` field tells them apart.
 */

/**
 * RFC 6455 §5.2 / §11.8 (the IANA "WebSocket Opcode Registry"): the opcodes with a meaning.
 *
 * @example
 *   encodeFrame({ opcode: Opcode.Text, payload });
 */
export const Opcode = {
  /** %x0: a continuation frame. */
  Continuation: 0x0,
  /** %x1: a text frame. */
  Text: 0x1,
  /** %x2: a binary frame. */
  Binary: 0x2,
  /** %x8: a connection close. */
  Close: 0x8,
  /** %x9: a ping. */
  Ping: 0x9,
  /** %xA: a pong. */
  Pong: 0xa,
} as const;

/** An opcode with a meaning (not reserved). */
export type KnownOpcode = (typeof Opcode)[keyof typeof Opcode];

/** The frame types, in the order the archive schema lists them. */
export const FRAME_TYPES = ['text', 'binary', 'continuation', 'close', 'ping', 'pong', 'reserved'] as const;

/** What a frame is, by its opcode: the archive's `type` field. */
export type FrameType = (typeof FRAME_TYPES)[number];

/** The type of a data message (RFC 6455 §5.6): what its first frame's opcode says. */
export type MessageType = 'text' | 'binary';

/** Frames that carry message data (RFC 6455 §5.6), continuations included. */
export const DATA_FRAME_TYPES = ['text', 'binary', 'continuation'] as const;

/** Control frames (RFC 6455 §5.5). Reserved opcodes 0xB-0xF are control opcodes too, but unnamed. */
export const CONTROL_FRAME_TYPES = ['close', 'ping', 'pong'] as const;

/** A frame type with a known opcode. */
export type KnownFrameType = Exclude<FrameType, 'reserved'>;

// RFC 6455 §5.2: opcode meanings; 0x3-0x7 and 0xB-0xF are reserved.
const TYPES: readonly FrameType[] = [
  'continuation',
  'text',
  'binary',
  'reserved',
  'reserved',
  'reserved',
  'reserved',
  'reserved',
  'close',
  'ping',
  'pong',
  'reserved',
  'reserved',
  'reserved',
  'reserved',
  'reserved',
];

const OPCODES: Readonly<Record<KnownFrameType, KnownOpcode>> = {
  continuation: Opcode.Continuation,
  text: Opcode.Text,
  binary: Opcode.Binary,
  close: Opcode.Close,
  ping: Opcode.Ping,
  pong: Opcode.Pong,
};

/** The frame type of an opcode: 'reserved' for 0x3-0x7, 0xB-0xF and anything outside 0-15. */
export function frameTypeOf(opcode: number): FrameType {
  return TYPES[opcode] ?? 'reserved';
}

/** The opcode of a frame type that has one. */
export function opcodeOf(type: KnownFrameType): KnownOpcode {
  return OPCODES[type];
}

/** RFC 6455 §5.5: "Control frames are identified by opcodes where the most significant bit of the opcode is 1." */
export function isControlOpcode(opcode: number): boolean {
  return (opcode & 0x08) !== 0;
}

/** RFC 6455 §5.2: opcodes 0x3-0x7 (data) and 0xB-0xF (control) are "reserved for further" frames. */
export function isReservedOpcode(opcode: number): boolean {
  return frameTypeOf(opcode) === 'reserved';
}

/** True for the opcodes that begin a data message (RFC 6455 §5.6): text and binary. */
export function startsMessage(opcode: number): boolean {
  return opcode === Opcode.Text || opcode === Opcode.Binary;
}

/** True for frame types that carry message data: text, binary, continuation. */
export function isDataFrameType(type: FrameType): type is (typeof DATA_FRAME_TYPES)[number] {
  return type === 'text' || type === 'binary' || type === 'continuation';
}

/** True for the named control frame types: close, ping, pong. */
export function isControlFrameType(type: FrameType): type is (typeof CONTROL_FRAME_TYPES)[number] {
  return type === 'close' || type === 'ping' || type === 'pong';
}

/**
 * A frame type as a person reads it in a header line: the type, or `opcode 0x3` for a reserved
 * opcode (the name alone would not say which).
 */
export function frameTypeLabel(type: FrameType, opcode: number): string {
  return type === 'reserved' ? `opcode 0x${opcode.toString(16)}` : type;
}

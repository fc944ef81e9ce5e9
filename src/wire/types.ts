/**
 * Shared types of the I/O-free WebSocket codec (RFC 6455, RFC 7692).
 */

import type { FrameType } from './opcodes.js';
import type { Side } from './side.js';

/** Which peer sent the bytes a parser or observer is looking at (side.ts Side). */
export type Sender = Side;

/**
 * Named protocol anomalies, recorded on frames as `flags`: the one list, from which AnomalyFlag
 * and the archive schema's enum are derived; docs/FORMAT.md lists the same names (a test
 * checks). Stable names: add, never rename.
 */
export const ANOMALY_FLAGS = [
  'reserved-opcode', // RFC 6455 §5.2: opcodes 0x3-0x7 and 0xB-0xF are reserved
  'reserved-bits', // RFC 6455 §5.2: RSV1-3 set without a negotiated extension that defines them
  'control-frame-too-long', // RFC 6455 §5.5: control frame payload over 125 bytes
  'control-frame-fragmented', // RFC 6455 §5.5: control frame with FIN clear
  'unmasked-client-frame', // RFC 6455 §5.1: a client MUST mask
  'masked-server-frame', // RFC 6455 §5.1: a server MUST NOT mask
  'unexpected-continuation', // RFC 6455 §5.4: continuation with no message to continue
  'interrupted-message', // RFC 6455 §5.4: new data frame while a fragmented message is unfinished
  'invalid-utf8', // RFC 6455 §8.1: text message (or close reason) that is not valid UTF-8
  'invalid-close-code', // RFC 6455 §7.4: close code not allowed on the wire
  'invalid-close-payload', // RFC 6455 §5.5.1: close payload of exactly 1 byte
  'non-minimal-length', // RFC 6455 §5.2: "the minimal number of bytes MUST be used"
  'frame-after-close', // RFC 6455 §5.5.1: no data after a close frame
  'inflate-error', // RFC 7692: the compressed message did not inflate
] as const;

/** One of {@link ANOMALY_FLAGS}. */
export type AnomalyFlag = (typeof ANOMALY_FLAGS)[number];

/** A parsed frame header (RFC 6455 §5.2). */
export interface FrameHeader {
  fin: boolean;
  rsv1: boolean;
  rsv2: boolean;
  rsv3: boolean;
  opcode: number;
  masked: boolean;
  /** The 4-byte masking key, when masked. */
  maskKey: Uint8Array | null;
  /**
   * Declared payload length. A legal length above Number.MAX_SAFE_INTEGER (up to 2^63 - 1) is
   * Number.MAX_SAFE_INTEGER here, with `lengthTooLarge` set.
   */
  payloadLength: number;
  /** True when the declared length is above Number.MAX_SAFE_INTEGER (see payloadLength). */
  lengthTooLarge?: boolean;
  /** Header bytes on the wire (2 to 14). */
  headerLength: number;
  /** True when a 16- or 64-bit length encodes a value that fits a shorter form. */
  nonMinimalLength: boolean;
}

/** A complete frame as the parser yields it. */
export interface ParsedFrame {
  header: FrameHeader;
  /** The first `maxRetain` bytes of the payload, unmasked. */
  payload: Uint8Array;
  /** True when payload holds fewer bytes than header.payloadLength. */
  truncated: boolean;
}

/**
 * A frame as the stream observer describes it: the parsed frame plus its meaning in the
 * conversation (message type, decompressed payload, anomalies).
 */
export interface ObservedFrame {
  type: FrameType;
  opcode: number;
  fin: boolean;
  rsv1: boolean;
  rsv2: boolean;
  rsv3: boolean;
  masked: boolean;
  maskKey: Uint8Array | null;
  /** True when the payload was compressed on the wire (permessage-deflate). */
  compressed: boolean;
  /**
   * The payload kept for the archive: unmasked and, for a compressed message, the inflated
   * content. At most maxPayload bytes.
   */
  payload: Uint8Array;
  /** Real payload size after decompression (for a compressed message: see docs/FORMAT.md). */
  size: number;
  /** Bytes on the wire: header plus payload as sent. */
  wireSize: number;
  truncated: boolean;
  /** True when `payload` is (part of) a text message and valid UTF-8 on its own. */
  isText: boolean;
  /** Close frames: the code (undefined when the payload is empty) and reason. */
  closeCode?: number;
  closeReason?: string;
  flags: AnomalyFlag[];
}

/** The stream in one direction could not be parsed any further. Forwarding goes on. */
export interface StreamError {
  code: 'WS_STREAM_UNPARSEABLE' | 'WS_INFLATE_UNAVAILABLE';
  message: string;
}

/** Negotiated permessage-deflate parameters (RFC 7692 §7.1). */
export interface DeflateParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  /** 8-15; 15 when not stated. */
  serverMaxWindowBits: number;
  /** 8-15; 15 when not stated. */
  clientMaxWindowBits: number;
}

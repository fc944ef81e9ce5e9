/**
 * Builds RFC 6455 frames as bytes: the frames wstape sends itself (replay, a relay's changed and
 * injected messages) and the fixtures of the tests.
 *
 * It can also build frames no conforming peer would send (non-minimal lengths, a declared length
 * that disagrees with the payload, invalid close codes) because hostile fixtures need them.
 * The only outside call is node:crypto's randomFillSync, for a random masking key; masking itself
 * is mask.ts's word-at-a-time XOR, the one the parser unmasks with.
 */

import { randomFillSync } from 'node:crypto';
import { unmaskInto } from './mask.js';

/** Options for {@link encodeFrame}. */
export interface EncodeFrameOptions {
  /** 0x0-0xF (RFC 6455 §5.2). */
  opcode: number;
  payload?: Uint8Array;
  /** Default true. */
  fin?: boolean;
  rsv1?: boolean;
  rsv2?: boolean;
  rsv3?: boolean;
  /** A 4-byte masking key used as is, or true for a random key. Default: not masked. */
  mask?: Uint8Array | boolean;
  /** Length field form: the smallest that fits (default), or forced 16- or 64-bit. */
  lengthEncoding?: 'minimal' | 16 | 64;
  /**
   * Value written in the length field instead of payload.length, for hostile fixtures. The
   * payload bytes are written as given either way. A bigint may reach 2^64 - 1.
   */
  declaredLength?: number | bigint;
}

const EMPTY = new Uint8Array(0);
const MAX_64 = (1n << 64n) - 1n;

/**
 * Encodes one frame: header, masking key if any, then the (masked) payload.
 *
 * @throws RangeError for an opcode outside 0-15, a key that is not 4 bytes, or a length that
 *   does not fit the requested length encoding.
 */
export function encodeFrame(options: EncodeFrameOptions): Uint8Array {
  const { opcode } = options;
  if (!Number.isInteger(opcode) || opcode < 0 || opcode > 0x0f) {
    throw new RangeError(`opcode must be 0-15, got ${opcode}`);
  }
  const payload = options.payload ?? EMPTY;
  const key = maskKeyOf(options.mask);
  const declared = BigInt(options.declaredLength ?? payload.length);
  if (declared < 0n || declared > MAX_64) throw new RangeError('length must fit 64 bits');

  const encoding = options.lengthEncoding ?? 'minimal';
  let lengthBytes: 0 | 2 | 8;
  if (encoding === 16) lengthBytes = 2;
  else if (encoding === 64) lengthBytes = 8;
  else lengthBytes = lengthFieldBytes(Number(declared));
  if (lengthBytes === 0 && declared >= 126n) throw new RangeError('length needs more than 7 bits');
  if (lengthBytes === 2 && declared > 0xffffn) throw new RangeError('length needs more than 16 bits');

  const headerLength = 2 + lengthBytes + (key === null ? 0 : 4);
  const out = new Uint8Array(headerLength + payload.length);
  // RFC 6455 §5.2: FIN, RSV1-3, opcode; then MASK and the 7-bit length.
  out[0] =
    (options.fin === false ? 0 : 0x80) | (options.rsv1 === true ? 0x40 : 0) | (options.rsv2 === true ? 0x20 : 0) | (options.rsv3 === true ? 0x10 : 0) | opcode;
  const maskBit = key === null ? 0 : 0x80;
  if (lengthBytes === 0) {
    out[1] = maskBit | Number(declared);
  } else if (lengthBytes === 2) {
    out[1] = maskBit | 126;
    out[2] = Number(declared >> 8n);
    out[3] = Number(declared & 0xffn);
  } else {
    out[1] = maskBit | 127;
    new DataView(out.buffer, out.byteOffset).setBigUint64(2, declared);
  }

  let at = 2 + lengthBytes;
  if (key === null) {
    out.set(payload, at);
  } else {
    out.set(key, at);
    at += 4;
    // RFC 6455 §5.3: octet i of the payload is XORed with octet i MOD 4 of the key.
    unmaskInto(out.subarray(at), payload, key, 0);
  }
  return out;
}

/**
 * Header bytes of a frame with a `payloadLength`-byte payload, as {@link encodeFrame} writes it
 * by default: RFC 6455 §5.2's 2 bytes, plus 2 or 8 for an extended length ("the minimal number of
 * bytes MUST be used to encode the length"), plus 4 for a masking key. Used to count wire bytes
 * for frames that were never on the wire (a HAR import).
 *
 * @throws RangeError for a length that is not a non-negative safe integer.
 */
export function frameHeaderSize(payloadLength: number, masked: boolean): number {
  if (!Number.isSafeInteger(payloadLength) || payloadLength < 0) {
    throw new RangeError(`payload length must be a non-negative integer, got ${payloadLength}`);
  }
  return 2 + lengthFieldBytes(payloadLength) + (masked ? 4 : 0);
}

/** RFC 6455 §5.2: extended payload length bytes for a minimal encoding: 0 (<126), 2 (<=0xffff) or 8. */
function lengthFieldBytes(length: number): 0 | 2 | 8 {
  return length < 126 ? 0 : length <= 0xffff ? 2 : 8;
}

/**
 * Random masking keys come from a pool filled by the CSPRNG 2,048 keys at a time (as ws does):
 * one randomFillSync per frame costs more than masking a small frame. RFC 6455 §5.3 asks for
 * keys a third party cannot predict, which the CSPRNG's output is, pooled or not.
 */
const KEY_POOL = new Uint8Array(8192);
let keyPoolAt = KEY_POOL.length;

function randomKey(): Uint8Array {
  if (keyPoolAt === KEY_POOL.length) {
    randomFillSync(KEY_POOL);
    keyPoolAt = 0;
  }
  const key = KEY_POOL.slice(keyPoolAt, keyPoolAt + 4);
  keyPoolAt += 4;
  return key;
}

function maskKeyOf(mask: Uint8Array | boolean | undefined): Uint8Array | null {
  if (mask === undefined || mask === false) return null;
  if (mask === true) return randomKey();
  if (mask.length !== 4) throw new RangeError(`a masking key has 4 bytes, got ${mask.length}`);
  return mask;
}

/**
 * Encodes a close frame's payload (RFC 6455 §5.5.1): a 2-byte big-endian code, then the reason
 * in UTF-8. With no code the payload is empty. Codes and lengths are not checked, so invalid
 * close frames can be built on purpose.
 *
 * @throws RangeError for a reason without a code (it cannot be encoded) or a code outside 0-65535.
 */
export function encodeClosePayload(code?: number, reason = ''): Uint8Array {
  if (code === undefined) {
    if (reason !== '') throw new RangeError('a close reason needs a close code');
    return EMPTY;
  }
  if (!Number.isInteger(code) || code < 0 || code > 0xffff) {
    throw new RangeError(`close code must be 0-65535, got ${code}`);
  }
  const text = new TextEncoder().encode(reason);
  const out = new Uint8Array(2 + text.length);
  out[0] = code >> 8;
  out[1] = code & 0xff;
  out.set(text, 2);
  return out;
}

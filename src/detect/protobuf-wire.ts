/**
 * A schema-less decoder of the Protocol Buffers wire format (protobuf.dev/programming-guides/
 * encoding), in the spirit of `protoc --decode_raw`, strict enough to tell a protobuf message
 * from noise. I/O-free; no protobufjs.
 *
 * A byte range is a message when it parses, to its last byte, as records `tag value` where:
 * - the tag is a minimal varint of at most 5 bytes, wire type 0 (varint), 1 (i64), 2 (len) or
 *   5 (i32): groups (3, 4) are deprecated and 6, 7 do not exist;
 * - the field number is 1..MAX_FIELD (the format allows up to 2^29-1, but real schemas number
 *   their fields from 1 and rarely past a few thousand) and outside 19000-19999 (reserved);
 * - varints are minimal (no trailing 0x80 00 padding, which encoders never write) and at most
 *   10 bytes, the 10th being 0 or 1;
 * - a len value fits in what remains.
 *
 * A len value is shown as a string when it is printable UTF-8, else as a nested message when it
 * parses as one, else as bytes (base64). Nested messages are tried up to MAX_DEPTH levels.
 */

import { isUtf8 } from 'node:buffer';
import { bufferView } from './bytes.js';

/** Largest field number accepted (2^16 - 1; the format allows 2^29 - 1). */
export const MAX_FIELD = 0xffff;
const MAX_DEPTH = 16;

/** One decoded field. Numbers beyond 2^53 are decimal strings; NaN and infinities are strings. */
export type ProtoField =
  | { field: number; wire: 'varint'; value: number | string }
  | { field: number; wire: 'i64'; value: number | string; double: number | string }
  | { field: number; wire: 'i32'; value: number; float: number | string }
  | { field: number; wire: 'len'; string: string }
  | { field: number; wire: 'len'; message: ProtoField[] }
  | { field: number; wire: 'len'; bytes: string };

/**
 * Checks that bytes [start, end) are a message by the rules above, without allocating.
 * Returns the number of top-level fields, or -1.
 */
export function scanMessage(b: Uint8Array, start: number, end: number): number {
  let p = start;
  let fields = 0;
  while (p < end) {
    const tag = readTag(b, p, end);
    if (tag < 0) return -1;
    p = readEnd;
    switch (tag & 7) {
      case 0:
        p = skipVarint(b, p, end);
        break;
      case 1:
        p = p + 8 <= end ? p + 8 : -1;
        break;
      case 2: {
        const length = readLength(b, p, end);
        p = length < 0 ? -1 : readEnd + length;
        break;
      }
      case 5:
        p = p + 4 <= end ? p + 4 : -1;
        break;
      default:
        return -1;
    }
    if (p < 0) return -1;
    fields++;
  }
  return fields;
}

/** Decodes bytes [start, end), which scanMessage accepted, into fields. */
export function decodeMessage(b: Uint8Array, start: number, end: number, depth = 0): ProtoField[] {
  const out: ProtoField[] = [];
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let p = start;
  while (p < end) {
    const tag = readTag(b, p, end);
    p = readEnd;
    const field = Math.floor(tag / 8);
    switch (tag & 7) {
      case 0: {
        const next = skipVarint(b, p, end);
        out.push({ field, wire: 'varint', value: varintValue(b, p, next) });
        p = next;
        break;
      }
      case 1: {
        const low = view.getUint32(p, true);
        const high = view.getUint32(p + 4, true);
        const value = high < 0x200000 ? high * 0x100000000 + low : ((BigInt(high) << 32n) | BigInt(low)).toString();
        out.push({ field, wire: 'i64', value, double: finite(view.getFloat64(p, true)) });
        p += 8;
        break;
      }
      case 2: {
        const length = readLength(b, p, end);
        const from = readEnd;
        p = from + length;
        out.push(lenField(b, field, from, p, depth));
        break;
      }
      default: {
        out.push({ field, wire: 'i32', value: view.getUint32(p, true), float: finite(view.getFloat32(p, true)) });
        p += 4;
      }
    }
  }
  return out;
}

function lenField(b: Uint8Array, field: number, from: number, to: number, depth: number): ProtoField {
  const slice = bufferView(b.subarray(from, to));
  if (isPrintableUtf8(slice)) return { field, wire: 'len', string: slice.toString('utf8') };
  if (depth + 1 < MAX_DEPTH && scanMessage(b, from, to) > 0) {
    return { field, wire: 'len', message: decodeMessage(b, from, to, depth + 1) };
  }
  return { field, wire: 'len', bytes: slice.toString('base64') };
}

/** UTF-8 without C0 controls other than tab, LF, CR, and without DEL. Empty counts. */
function isPrintableUtf8(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i] as number;
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f) return false;
  }
  return isUtf8(bytes);
}

function finite(value: number): number | string {
  return Number.isFinite(value) ? value : String(value);
}

/** Offset just after the last tag or length read (saves allocating a pair per read). */
let readEnd = 0;

/** Reads a minimal varint of at most 5 bytes (32 bits) at `p` (sets readEnd); -1 when malformed. */
function readVarint32(b: Uint8Array, p: number, end: number): number {
  let value = 0;
  let multiplier = 1;
  for (let i = 0; i < 5; i++) {
    if (p + i >= end) return -1;
    const byte = b[p + i] as number;
    value += (byte & 0x7f) * multiplier;
    multiplier *= 128;
    if ((byte & 0x80) === 0) {
      if (i > 0 && byte === 0) return -1; // not minimal
      readEnd = p + i + 1;
      return value;
    }
  }
  return -1;
}

/** Reads a tag at `p` (sets readEnd); -1 when it breaks the rules. */
function readTag(b: Uint8Array, p: number, end: number): number {
  const value = readVarint32(b, p, end);
  if (value === -1) return -1;
  const field = Math.floor(value / 8);
  const wire = value & 7;
  if (field < 1 || field > MAX_FIELD || (field >= 19000 && field <= 19999)) return -1;
  if (wire !== 0 && wire !== 1 && wire !== 2 && wire !== 5) return -1;
  return value;
}

/** Reads a len prefix at `p` (sets readEnd); -1 when malformed or longer than what remains. */
function readLength(b: Uint8Array, p: number, end: number): number {
  const value = readVarint32(b, p, end);
  if (value === -1) return -1;
  return readEnd + value <= end ? value : -1;
}

/** Offset after the varint at `p`, or -1 when it is longer than 10 bytes or not minimal. */
function skipVarint(b: Uint8Array, p: number, end: number): number {
  for (let i = 0; i < 10; i++) {
    if (p + i >= end) return -1;
    const byte = b[p + i] as number;
    if ((byte & 0x80) === 0) {
      if (i > 0 && byte === 0) return -1;
      if (i === 9 && byte > 1) return -1; // more than 64 bits
      return p + i + 1;
    }
  }
  return -1;
}

function varintValue(b: Uint8Array, p: number, next: number): number | string {
  if (next - p <= 7) {
    let value = 0;
    let multiplier = 1;
    for (let i = p; i < next; i++) {
      value += ((b[i] as number) & 0x7f) * multiplier;
      multiplier *= 128;
    }
    return value;
  }
  let value = 0n;
  for (let i = next - 1; i >= p; i--) value = (value << 7n) | BigInt((b[i] as number) & 0x7f);
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
}

/**
 * MessagePack (github.com/msgpack/msgpack/blob/master/spec.md), claimed only under strict rules,
 * because almost any byte string starts with something that decodes as a MessagePack scalar:
 *
 * - binary messages of at most MAX_MSGPACK bytes;
 * - the whole payload is exactly one value, and that value is a map or an array;
 * - every str is valid UTF-8 (the spec says str holds UTF-8), 0xC1 (never used) does not occur;
 * - map keys are strings or integers;
 * - the only extension type is -1 (timestamp) with one of its three sizes; application-specific
 *   extensions are not claimed;
 * - nesting is at most MAX_DEPTH deep, and no container announces more items than bytes remain.
 *
 * A structural scan enforces all of this without allocating; only a payload that passes it is
 * decoded, by msgpackr, which is loaded on first use (so `wstape show` does not pay for it on
 * archives without binary messages). The decoded value is made JSON-safe: maps become objects
 * (non-string keys stringified), bin becomes { $bin: base64 }, 64-bit integers beyond 2^53 become
 * decimal strings, timestamps ISO strings, NaN and infinities strings.
 */

import { isUtf8 } from 'node:buffer';
import { createRequire } from 'node:module';
import { bufferView } from './bytes.js';
import { plural } from './json.js';
import type { Detection, Detector } from './types.js';

/** Binary messages above this size are not scanned as MessagePack. */
export const MAX_MSGPACK = 256 * 1024;
const MAX_DEPTH = 64;

export const msgpack: Detector = {
  id: 'msgpack',
  detect(bytes, context): Detection | null {
    if (context.type !== 'binary' || bytes.length === 0 || bytes.length > MAX_MSGPACK) return null;
    const first = bytes[0] as number;
    const isContainer = (first >= 0x80 && first <= 0x9f) || (first >= 0xdc && first <= 0xdf);
    if (!isContainer || scanValue(bytes, 0, 0) !== bytes.length) return null;
    let value: unknown;
    try {
      value = toJsonSafe(unpacker().unpack(bufferView(bytes)));
    } catch {
      return null;
    }
    const label = Array.isArray(value)
      ? `MessagePack array (${plural(value.length, 'item')})`
      : `MessagePack map (${plural(Object.keys(value as object).length, 'key')})`;
    return { id: 'msgpack', label, decoded: value };
  },
};

interface Unpacker {
  unpack(bytes: Uint8Array): unknown;
}
let cachedUnpacker: Unpacker | null = null;

function unpacker(): Unpacker {
  if (cachedUnpacker === null) {
    const { Unpackr } = createRequire(import.meta.url)('msgpackr') as typeof import('msgpackr');
    // Maps as Map (keys of any type survive), no msgpackr records, 64-bit integers as bigint.
    cachedUnpacker = new Unpackr({ mapsAsObjects: false, useRecords: false, int64AsType: 'bigint' });
  }
  return cachedUnpacker;
}

/**
 * Scans one value at `p` and returns the offset just after it, or -1 when the bytes break a rule
 * above. Allocation-free; recursion depth is bounded by MAX_DEPTH.
 */
export function scanValue(b: Uint8Array, p: number, depth: number): number {
  const end = b.length;
  if (p >= end) return -1;
  const t = b[p] as number;
  if (t <= 0x7f || t >= 0xe0) return p + 1; // positive / negative fixint
  if (t <= 0x8f) return scanMap(b, p + 1, t & 0x0f, depth);
  if (t <= 0x9f) return scanArray(b, p + 1, t & 0x0f, depth);
  if (t <= 0xbf) return scanStr(b, p + 1, t & 0x1f);
  switch (t) {
    case 0xc0:
    case 0xc2:
    case 0xc3:
      return p + 1; // nil, false, true
    case 0xc4:
      return p + 2 <= end ? scanBytes(b, p + 2, b[p + 1] as number) : -1;
    case 0xc5:
      return p + 3 <= end ? scanBytes(b, p + 3, u16(b, p + 1)) : -1;
    case 0xc6:
      return p + 5 <= end ? scanBytes(b, p + 5, u32(b, p + 1)) : -1;
    case 0xc7: // ext 8: only the 96-bit timestamp (length 12, type -1)
      return p + 3 <= end && b[p + 1] === 12 && b[p + 2] === 0xff ? scanBytes(b, p + 3, 12) : -1;
    case 0xca:
      return scanBytes(b, p + 1, 4);
    case 0xcb:
      return scanBytes(b, p + 1, 8);
    case 0xcc:
    case 0xd0:
      return scanBytes(b, p + 1, 1);
    case 0xcd:
    case 0xd1:
      return scanBytes(b, p + 1, 2);
    case 0xce:
    case 0xd2:
      return scanBytes(b, p + 1, 4);
    case 0xcf:
    case 0xd3:
      return scanBytes(b, p + 1, 8);
    case 0xd6:
      return p + 2 <= end && b[p + 1] === 0xff ? scanBytes(b, p + 2, 4) : -1; // timestamp 32
    case 0xd7:
      return p + 2 <= end && b[p + 1] === 0xff ? scanBytes(b, p + 2, 8) : -1; // timestamp 64
    case 0xd9:
      return p + 2 <= end ? scanStr(b, p + 2, b[p + 1] as number) : -1;
    case 0xda:
      return p + 3 <= end ? scanStr(b, p + 3, u16(b, p + 1)) : -1;
    case 0xdb:
      return p + 5 <= end ? scanStr(b, p + 5, u32(b, p + 1)) : -1;
    case 0xdc:
      return p + 3 <= end ? scanArray(b, p + 3, u16(b, p + 1), depth) : -1;
    case 0xdd:
      return p + 5 <= end ? scanArray(b, p + 5, u32(b, p + 1), depth) : -1;
    case 0xde:
      return p + 3 <= end ? scanMap(b, p + 3, u16(b, p + 1), depth) : -1;
    case 0xdf:
      return p + 5 <= end ? scanMap(b, p + 5, u32(b, p + 1), depth) : -1;
    default:
      return -1; // 0xc1 (never used), other ext types (0xc8, 0xc9, 0xd4, 0xd5, 0xd8)
  }
}

function u16(b: Uint8Array, p: number): number {
  return ((b[p] as number) << 8) | (b[p + 1] as number);
}

function u32(b: Uint8Array, p: number): number {
  return (b[p] as number) * 0x1000000 + (((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number));
}

function scanBytes(b: Uint8Array, p: number, length: number): number {
  return p + length <= b.length ? p + length : -1;
}

function scanStr(b: Uint8Array, p: number, length: number): number {
  const next = p + length;
  if (next > b.length) return -1;
  return length === 0 || isUtf8(b.subarray(p, next)) ? next : -1;
}

function scanArray(b: Uint8Array, p: number, count: number, depth: number): number {
  if (depth >= MAX_DEPTH || count > b.length - p) return -1;
  for (let i = 0; i < count && p >= 0; i++) p = scanValue(b, p, depth + 1);
  return p;
}

function scanMap(b: Uint8Array, p: number, count: number, depth: number): number {
  if (depth >= MAX_DEPTH || count * 2 > b.length - p) return -1;
  for (let i = 0; i < count && p >= 0; i++) {
    if (!isKey(b[p])) return -1;
    p = scanValue(b, p, depth + 1);
    if (p >= 0) p = scanValue(b, p, depth + 1);
  }
  return p;
}

/** str (fixstr, str 8/16/32) or integer (fixint, int/uint 8-64). */
function isKey(t: number | undefined): boolean {
  if (t === undefined) return false;
  return t <= 0x7f || t >= 0xe0 || (t >= 0xa0 && t <= 0xbf) || (t >= 0xcc && t <= 0xd3) || (t >= 0xd9 && t <= 0xdb);
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Turns msgpackr output into a value JSON.stringify renders without loss or throwing. */
export function toJsonSafe(value: unknown): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (value === undefined) return null;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'bigint') return value <= MAX_SAFE && value >= -MAX_SAFE ? Number(value) : value.toString();
  if (value instanceof Uint8Array) return { $bin: bufferView(value).toString('base64') };
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (Array.isArray(value)) return value.map(toJsonSafe);
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of value) {
      const name = typeof key === 'string' ? key : typeof key === 'object' && key !== null ? JSON.stringify(toJsonSafe(key)) : String(key);
      // defineProperty: a "__proto__" key must become a plain property, not the prototype.
      Object.defineProperty(out, name, { value: toJsonSafe(item), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      Object.defineProperty(out, key, { value: toJsonSafe(item), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  // What is left is a primitive: a string, number, boolean, undefined or symbol.
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- objects were handled above; what is left is a primitive
  return String(value);
}

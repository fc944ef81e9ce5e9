/** Byte helpers shared by the detectors: magic-number comparison and fixed-width reads. */

/** True when `bytes` holds `magic` at `offset`. */
export function hasBytes(bytes: Uint8Array, magic: readonly number[], offset = 0): boolean {
  if (bytes.length < offset + magic.length) return false;
  for (let i = 0; i < magic.length; i++) {
    if (bytes[offset + i] !== magic[i]) return false;
  }
  return true;
}

/** The ASCII codes of `text` (for magic numbers written as text, e.g. "%PDF-"). */
export function ascii(text: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) out.push(text.charCodeAt(i));
  return out;
}

/** Unsigned 16-bit big-endian at `offset`; the caller has checked the length. */
export function u16be(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] as number) << 8) | (bytes[offset + 1] as number);
}

/** Unsigned 16-bit little-endian at `offset`; the caller has checked the length. */
export function u16le(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] as number) | ((bytes[offset + 1] as number) << 8);
}

/** Unsigned 24-bit little-endian at `offset`; the caller has checked the length. */
export function u24le(bytes: Uint8Array, offset: number): number {
  return u16le(bytes, offset) + (bytes[offset + 2] as number) * 0x10000;
}

/** Unsigned 32-bit big-endian at `offset`; the caller has checked the length. */
export function u32be(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] as number) * 0x1000000 + (((bytes[offset + 1] as number) << 16) | ((bytes[offset + 2] as number) << 8) | (bytes[offset + 3] as number));
}

/** Unsigned 32-bit little-endian at `offset`; the caller has checked the length. */
export function u32le(bytes: Uint8Array, offset: number): number {
  return (bytes[offset + 3] as number) * 0x1000000 + (((bytes[offset + 2] as number) << 16) | ((bytes[offset + 1] as number) << 8) | (bytes[offset] as number));
}

/** A Buffer view of `bytes` (no copy), for base64 / latin1 / utf8 conversions. */
export function bufferView(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Index of the first byte at or after `from` that is not JSON whitespace, or `bytes.length`. */
export function skipWhitespace(bytes: Uint8Array, from = 0): number {
  let i = from;
  while (i < bytes.length) {
    const b = bytes[i] as number;
    if (b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09) break;
    i++;
  }
  return i;
}

/** Index just after the last byte before `end` that is not JSON whitespace (0 when none). */
export function trimEnd(bytes: Uint8Array, end = bytes.length): number {
  let i = end;
  while (i > 0) {
    const b = bytes[i - 1] as number;
    if (b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09) break;
    i--;
  }
  return i;
}

/**
 * Characters that must not reach a terminal raw: C0 and C1 controls (ESC, CSI U+009B...), DEL,
 * the line / paragraph separators and the bidirectional overrides (which reorder what follows).
 */
// eslint-disable-next-line no-control-regex -- matching control bytes (C0 controls, ANSI escapes) is the point
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** `text` with every unprintable character written as an escape (\n, \u001b...). Idempotent. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/** A short printable excerpt of `text` for labels: at most `max` characters, escaped. */
export function excerpt(text: string, max = 40): string {
  return printable(text.length > max ? `${text.slice(0, max - 1)}…` : text);
}

/**
 * UTF-8 validation (RFC 3629) for text messages, one-shot or streamed over fragments.
 *
 * RFC 6455 §5.6 and §8.1: a text message is UTF-8 as a whole; a fragment boundary may fall in
 * the middle of a code point, so fragments are validated as one stream. Invalid: overlong forms,
 * UTF-16 surrogates (U+D800-U+DFFF) and anything above U+10FFFF.
 *
 * The bulk of each push goes through node:buffer's native `isUtf8`; only the at most 3 bytes of
 * a code point cut by a boundary are checked here, byte by byte.
 */

import { isUtf8 } from 'node:buffer';

/** True when `bytes` are, as a whole, valid UTF-8 (RFC 3629). */
export function isValidUtf8(bytes: Uint8Array): boolean {
  return bytes.length === 0 || isUtf8(bytes);
}

/**
 * Validates UTF-8 pushed in pieces cut anywhere.
 *
 * @example
 *   const v = new Utf8Validator();
 *   const ok = v.push(a) && v.push(b) && v.end();
 */
export class Utf8Validator {
  /** Bytes of a code point started by an earlier push and not yet complete. */
  private readonly partial = new Uint8Array(4);
  private partialLength = 0;
  /** Length of the sequence `partial` starts. */
  private sequenceLength = 0;
  private failed = false;

  /** True while a code point is cut: the bytes so far are valid but end mid-sequence. */
  get pending(): boolean {
    return this.partialLength > 0;
  }

  /** True once invalid bytes were seen (sticky until reset). */
  get invalid(): boolean {
    return this.failed;
  }

  /**
   * Validates the next bytes.
   *
   * @returns false as soon as the bytes so far cannot be a prefix of valid UTF-8 (and from then
   *   on). A code point cut at the end is kept for the next push.
   */
  push(bytes: Uint8Array): boolean {
    if (this.failed) return false;
    const length = bytes.length;
    let i = 0;

    // Finish a code point that the previous push cut.
    while (this.partialLength > 0 && i < length) {
      const byte = bytes[i++] as number;
      if (!continues(this.partial[0] as number, this.partialLength, byte)) return this.fail();
      this.partial[this.partialLength++] = byte;
      if (this.partialLength === this.sequenceLength) this.partialLength = 0;
    }
    if (i === length) return true;

    // Find a code point cut at the end: its lead byte is among the last 3 bytes.
    let tail = length;
    for (let back = 1; back <= 3 && length - back >= i; back++) {
      const byte = bytes[length - back] as number;
      if ((byte & 0xc0) === 0x80) continue;
      const needed = sequenceLengthOf(byte);
      if (needed > back) tail = length - back;
      break;
    }

    if (tail > i && !isUtf8(bytes.subarray(i, tail))) return this.fail();
    if (tail === length) return true;

    // Keep the cut code point, checking each of its bytes as far as it goes.
    const lead = bytes[tail] as number;
    this.partial[0] = lead;
    this.sequenceLength = sequenceLengthOf(lead);
    this.partialLength = 1;
    for (let j = tail + 1; j < length; j++) {
      const byte = bytes[j] as number;
      if (!continues(lead, this.partialLength, byte)) return this.fail();
      this.partial[this.partialLength++] = byte;
    }
    return true;
  }

  /** Ends the stream: true when everything pushed was valid and no code point is left cut. */
  end(): boolean {
    if (this.partialLength > 0) this.failed = true;
    return !this.failed;
  }

  /** Forgets everything, ready for a new message. */
  reset(): void {
    this.partialLength = 0;
    this.sequenceLength = 0;
    this.failed = false;
  }

  private fail(): false {
    this.failed = true;
    this.partialLength = 0;
    return false;
  }
}

/**
 * The length of the sequence a lead byte starts (RFC 3629 §4), or 1 for bytes that cannot lead
 * a multi-byte sequence (ASCII, stray continuation bytes, 0xC0, 0xC1, 0xF5-0xFF); invalid ones
 * are then rejected by the bulk check.
 */
function sequenceLengthOf(lead: number): number {
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 1;
}

/**
 * Whether `byte` may sit at `position` (1-3) of the sequence started by `lead` (RFC 3629 §4,
 * UTF8-2 to UTF8-4). The second byte's range excludes overlongs (E0, F0), surrogates (ED) and
 * code points above U+10FFFF (F4).
 */
function continues(lead: number, position: number, byte: number): boolean {
  if (position > 1) return byte >= 0x80 && byte <= 0xbf;
  switch (lead) {
    case 0xe0:
      return byte >= 0xa0 && byte <= 0xbf;
    case 0xed:
      return byte >= 0x80 && byte <= 0x9f;
    case 0xf0:
      return byte >= 0x90 && byte <= 0xbf;
    case 0xf4:
      return byte >= 0x80 && byte <= 0x8f;
    default:
      return byte >= 0x80 && byte <= 0xbf;
  }
}

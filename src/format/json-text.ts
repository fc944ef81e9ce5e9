/**
 * A JSON string literal straight from ASCII bytes, for large text payloads on the recorder's hot
 * path. JSON.stringify looks at every character of a string on its own (about 1.5 ns each on the
 * bench machine: 100-150 µs for a 64 KiB text frame, the largest share of issue 13's profile at
 * that size); most of a large payload needs no escaping, so this scans the bytes four at a time
 * for the few that do (RFC 8259 §7: `"`, `\` and the control characters below 0x20) and copies
 * the runs between them. A payload with many of them (short JSON messages are mostly quotes)
 * is left to JSON.stringify: the scan gives up as soon as it has seen more than `maxSpecials`.
 */

/** What JSON.stringify writes for each byte below 0x20 (\b, \t, \n, \f, \r, else \u00XX). */
const CONTROL = Array.from({ length: 0x20 }, (_, code) => JSON.stringify(String.fromCharCode(code)).slice(1, -1));

const EMPTY_WORDS = new Int32Array(0);

const isSpecial = (byte: number): boolean => byte < 0x20 || byte === 0x22 || byte === 0x5c;

/**
 * JSON.stringify(bytes decoded as ASCII), or null when more than `maxSpecials` bytes need
 * escaping. `bytes` must be ASCII (buffer.isAscii): other bytes would be copied as Latin-1.
 */
export function asciiJsonString(bytes: Uint8Array, maxSpecials: number): string | null {
  const specials: number[] = [];
  const length = bytes.length;
  let i = 0;
  // Byte by byte up to a 4-byte boundary of the underlying memory, then a word at a time.
  for (; i < length && ((bytes.byteOffset + i) & 3) !== 0; i++) if (isSpecial(bytes[i]!)) specials.push(i);
  // (Short input may end before the boundary: then there are no words.)
  const count = ((bytes.byteOffset + i) & 3) === 0 ? (length - i) >>> 2 : 0;
  const words = count > 0 ? new Int32Array(bytes.buffer, bytes.byteOffset + i, count) : EMPTY_WORDS;
  for (let w = 0; w < count; w++) {
    const x = words[w]!;
    // Per byte, the high bit is set where the byte is below 0x20, equal to 0x22 or to 0x5c: the
    // "has a zero byte" trick, (v - 0x01…) & ~v & 0x80…, on x, x ^ '"' and x ^ '\'; exact for
    // ASCII bytes (high bit clear), and a false hit is only checked byte by byte below.
    const quote = x ^ 0x22222222;
    const backslash = x ^ 0x5c5c5c5c;
    if ((((x - 0x20202020) & ~x) | ((quote - 0x01010101) & ~quote) | ((backslash - 0x01010101) & ~backslash)) & 0x80808080) {
      const at = i + (w << 2);
      for (let j = at; j < at + 4; j++) if (isSpecial(bytes[j]!)) specials.push(j);
      if (specials.length > maxSpecials) return null;
    }
  }
  for (let j = i + (count << 2); j < length; j++) if (isSpecial(bytes[j]!)) specials.push(j);
  if (specials.length > maxSpecials) return null;

  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, length);
  let out = '"';
  let from = 0;
  for (const at of specials) {
    const byte = buffer[at]!;
    out += buffer.toString('latin1', from, at) + (byte === 0x22 ? '\\"' : byte === 0x5c ? '\\\\' : CONTROL[byte]!);
    from = at + 1;
  }
  return out + buffer.toString('latin1', from, length) + '"';
}

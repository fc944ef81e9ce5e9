/**
 * RFC 6455 §5.3 masking, shared by the parser (unmasking what a client sent) and the encoder
 * (masking what wstape sends to a server): the same XOR both ways.
 */

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Copies `source` into `target` (same length) XORed with the 4-byte `key`, starting at key byte
 * `keyOffset` (RFC 6455 §5.3: octet i is XORed with octet i MOD 4 of the key).
 *
 * Copies first (a memcpy), then XORs 4 bytes at a time over the 4-byte aligned part of `target`.
 */
export function unmaskInto(target: Uint8Array, source: Uint8Array, key: Uint8Array, keyOffset: number): void {
  target.set(source);
  const length = source.length;
  let i = 0;
  if (length >= 16) {
    // Bytes before the first 4-byte boundary of the underlying memory.
    for (; ((target.byteOffset + i) & 3) !== 0; i++) {
      target[i] = (target[i] as number) ^ (key[(keyOffset + i) & 3] as number);
    }
    const k0 = key[(keyOffset + i) & 3] as number;
    const k1 = key[(keyOffset + i + 1) & 3] as number;
    const k2 = key[(keyOffset + i + 2) & 3] as number;
    const k3 = key[(keyOffset + i + 3) & 3] as number;
    // Int32 rather than Uint32: the values stay small integers for V8, about twice as fast.
    const words = new Int32Array(target.buffer, target.byteOffset + i, (length - i) >>> 2);
    const mask = LITTLE_ENDIAN ? k0 | (k1 << 8) | (k2 << 16) | (k3 << 24) : (k0 << 24) | (k1 << 16) | (k2 << 8) | k3;
    const count = words.length;
    let w = 0;
    for (; w + 4 <= count; w += 4) {
      words[w] = (words[w] as number) ^ mask;
      words[w + 1] = (words[w + 1] as number) ^ mask;
      words[w + 2] = (words[w + 2] as number) ^ mask;
      words[w + 3] = (words[w + 3] as number) ^ mask;
    }
    for (; w < count; w++) words[w] = (words[w] as number) ^ mask;
    i += count << 2;
  }
  for (; i < length; i++) {
    target[i] = (target[i] as number) ^ (key[(keyOffset + i) & 3] as number);
  }
}

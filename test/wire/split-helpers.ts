/**
 * Feeding one byte sequence to an incremental parser cut in different ways, as STYLE.md asks:
 * whole, one byte at a time, at every 2-way split point, and at random 3-way splits.
 */

import fc from 'fast-check';
import { expect } from 'vitest';

/** Cuts `bytes` at the given increasing offsets. */
export function cut(bytes: Uint8Array, points: readonly number[]): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  let start = 0;
  for (const point of points) {
    pieces.push(bytes.subarray(start, point));
    start = point;
  }
  pieces.push(bytes.subarray(start));
  return pieces;
}

/** One byte per piece. */
export function bytewise(bytes: Uint8Array): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i++) pieces.push(bytes.subarray(i, i + 1));
  return pieces;
}

/**
 * The 2-way split points to try: all of them for small inputs, otherwise the first and last
 * `edge` offsets and a sample in between (every split of a 64 KiB frame would be quadratic).
 */
export function splitPoints(length: number, edge = 64, samples = 64): number[] {
  if (length <= 2 * edge + samples) return Array.from({ length: length + 1 }, (_, i) => i);
  const points = new Set<number>();
  for (let i = 0; i <= edge; i++) {
    points.add(i);
    points.add(length - i);
  }
  for (let i = 1; i < samples; i++) points.add(Math.floor((length * i) / samples));
  return [...points].sort((a, b) => a - b);
}

/**
 * Checks that feeding `bytes` whole, byte by byte, at every 2-way split and at random 3-way
 * splits gives the same result as feeding it whole. `run` builds a fresh parser, feeds the
 * pieces and returns something comparable with toEqual.
 */
export function expectSplitInvariant<T>(bytes: Uint8Array, run: (pieces: Uint8Array[]) => T, options: { bytewise?: boolean; runs?: number } = {}): T {
  const whole = run([bytes]);
  if (options.bytewise !== false) expect(run(bytewise(bytes))).toEqual(whole);
  for (const point of splitPoints(bytes.length)) {
    expect(run(cut(bytes, [point]))).toEqual(whole);
  }
  fc.assert(
    fc.property(fc.integer({ min: 0, max: bytes.length }), fc.integer({ min: 0, max: bytes.length }), (a, b) => {
      const points = a <= b ? [a, b] : [b, a];
      expect(run(cut(bytes, points))).toEqual(whole);
    }),
    { numRuns: options.runs ?? 100 },
  );
  return whole;
}

/** Joins byte arrays. */
export function join(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Bytes from hex like "f2 48 cd". */
export function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  return Uint8Array.from(clean.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** A plain Uint8Array copy (Buffer and Uint8Array do not compare equal in toEqual). */
export function plain(bytes: Uint8Array): Uint8Array {
  return Uint8Array.from(bytes);
}

/** Hex of bytes: large byte arrays compare fast as strings (toEqual on typed arrays is slow). */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
}

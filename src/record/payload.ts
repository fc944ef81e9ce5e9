import { isUtf8 } from 'node:buffer';
import type { Body } from '../format/schema.js';

/** Bytes as a Buffer view (no copy). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * A captured HTTP body for the archive: text when it is valid UTF-8, base64 otherwise.
 * `size` is the real size; `kept` may be shorter when the body was capped.
 */
export function bodyRecord(kept: Uint8Array, size: number): Body {
  const buffer = asBuffer(kept);
  const body: Body = { size };
  if (isUtf8(buffer)) body.text = buffer.toString('utf8');
  else body.data = buffer.toString('base64');
  if (kept.length < size) body.truncated = true;
  return body;
}

/**
 * Accumulates up to `limit` bytes of a stream and counts the rest, so a body of any size costs
 * at most `limit` bytes of memory.
 */
export class CappedBuffer {
  private readonly chunks: Uint8Array[] = [];
  private kept = 0;
  size = 0;

  constructor(private readonly limit: number) {}

  push(bytes: Uint8Array): void {
    this.size += bytes.length;
    if (this.kept >= this.limit || bytes.length === 0) return;
    const take = Math.min(bytes.length, this.limit - this.kept);
    // Copy: the caller's chunk belongs to a socket buffer that is reused after forwarding.
    this.chunks.push(Uint8Array.prototype.slice.call(bytes, 0, take));
    this.kept += take;
  }

  bytes(): Uint8Array {
    return Buffer.concat(this.chunks, this.kept);
  }
}

/** Two byte runs as one (without copying when either is empty). */
export function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  return Buffer.concat([a, b]);
}

/**
 * An observed frame (stream-observer.ts) as the archive's frame entry (docs/FORMAT.md), with no
 * I/O: what the relay core records for every frame on the forwarding path, so it is kept cheap
 * (no copies beyond the payload's one string; issue 13).
 */
import { isAscii } from 'node:buffer';
import type { FrameEntry } from '../format/schema.js';
import type { Direction } from '../wire/side.js';
import type { ObservedFrame } from '../wire/types.js';
import type { Stamp } from './clock.js';
import { asBuffer } from './payload.js';

/** Where and when the frame was seen, and whether its strings are ASCII (asciiEntry). */
export interface FrameEntryContext {
  conn: string;
  dir: Direction;
  stamp: Stamp;
  ascii: boolean;
}

/** The frame's entry, without its index (numbered when it is written). */
export function frameEntry(frame: ObservedFrame, where: FrameEntryContext): Omit<FrameEntry, 'index'> {
  const entry: Omit<FrameEntry, 'index'> = {
    kind: 'frame',
    conn: where.conn,
    time: where.stamp.time,
    elapsed: where.stamp.elapsed,
    dir: where.dir,
    type: frame.type,
    opcode: frame.opcode,
    fin: frame.fin,
    rsv1: frame.rsv1,
    rsv2: frame.rsv2,
    rsv3: frame.rsv3,
    masked: frame.masked,
    size: frame.size,
    wireSize: frame.wireSize,
  };
  if (frame.maskKey) entry.mask = asBuffer(frame.maskKey).toString('hex');
  if (frame.compressed) {
    entry.compressed = true;
    // Per-fragment inflation (stream-observer.ts): said on the frames of a fragmented message,
    // where it differs from what older versions wrote (docs/FORMAT.md).
    if (!frame.fin || frame.type === 'continuation') entry.fragmentInflated = true;
  }
  const payload = asBuffer(frame.payload);
  if (frame.type === 'close') {
    if (frame.closeCode !== undefined) entry.code = frame.closeCode;
    if (frame.closeCode !== undefined || frame.closeReason) entry.reason = frame.closeReason ?? '';
    // Keep the raw payload too when the reason could not be read as text.
    if (frame.flags.includes('invalid-utf8') || frame.flags.includes('invalid-close-payload')) {
      entry.data = payload.toString('base64');
    }
  } else if (frame.isText) {
    // ASCII decodes the same as Latin-1, which is a plain copy (UTF-8 decoding is not).
    entry.text = payload.toString(where.ascii ? 'latin1' : 'utf8');
  } else if (payload.length > 0 || frame.size > 0) {
    entry.data = payload.toString('base64');
  } else {
    entry.data = '';
  }
  if (frame.truncated) entry.truncated = true;
  if (frame.flags.length > 0) entry.flags = [...frame.flags];
  return entry;
}

/**
 * Whether a frame's entry holds only ASCII strings: its text, or its close reason, comes from the
 * payload; base64 and every other field (ids, times, hex, flags) are ASCII anyway. The archive
 * writer then copies the entry's line instead of encoding it (AppendHint.ascii).
 */
export function asciiEntry(frame: ObservedFrame): boolean {
  return !(frame.isText || frame.type === 'close') || isAscii(frame.payload);
}

/**
 * JPEG: SOI (FF D8) followed by a marker (FF). The size comes from the first SOFn segment, found
 * by walking the segments (ITU T.81 §B.1.1.3); the walk stops at SOS or after SCAN_LIMIT bytes.
 */

import { u16be } from './bytes.js';
import type { Detection, Detector } from './types.js';

/** How far into the payload the segment walk looks for the frame header. */
const SCAN_LIMIT = 64 * 1024;

export const jpeg: Detector = {
  id: 'jpeg',
  detect(bytes): Detection | null {
    if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8 || bytes[2] !== 0xff) return null;
    const size = frameSize(bytes);
    if (size === null) return { id: 'jpeg', label: 'JPEG image' };
    return { id: 'jpeg', label: `JPEG image ${size.width}x${size.height}`, decoded: size };
  },
};

function frameSize(bytes: Uint8Array): { width: number; height: number } | null {
  const limit = Math.min(bytes.length, SCAN_LIMIT);
  let p = 2;
  while (p + 4 <= limit) {
    if (bytes[p] !== 0xff) return null;
    const marker = bytes[p + 1] as number;
    if (marker === 0xff) {
      p++; // fill byte (§B.1.1.2)
      continue;
    }
    // Markers without a length: TEM, RSTn.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      p += 2;
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return null; // SOS / EOI before any SOF
    const length = u16be(bytes, p + 2);
    // SOF0-SOF15 except DHT (C4), JPG (C8) and DAC (CC): P, Y (height), X (width).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (p + 9 > bytes.length) return null;
      return { width: u16be(bytes, p + 7), height: u16be(bytes, p + 5) };
    }
    if (length < 2) return null;
    p += 2 + length;
  }
  return null;
}

/**
 * WebP: a RIFF container of form type "WEBP". The size comes from the first chunk: VP8X (extended
 * canvas), VP8L (lossless bitstream header) or "VP8 " (lossy key frame header).
 */

import { ascii, hasBytes, u16le, u24le, u32le } from './bytes.js';
import type { Detection, Detector } from './types.js';

const RIFF = ascii('RIFF');
const WEBP = ascii('WEBP');
const VP8 = ascii('VP8 ');
const VP8L = ascii('VP8L');
const VP8X = ascii('VP8X');

export const webp: Detector = {
  id: 'webp',
  detect(bytes): Detection | null {
    if (!hasBytes(bytes, RIFF) || !hasBytes(bytes, WEBP, 8)) return null;
    const size = imageSize(bytes);
    if (size === null) return { id: 'webp', label: 'WebP image' };
    return { id: 'webp', label: `WebP image ${size.width}x${size.height}`, decoded: size };
  },
};

function imageSize(bytes: Uint8Array): { width: number; height: number } | null {
  if (hasBytes(bytes, VP8X, 12) && bytes.length >= 30) {
    return { width: u24le(bytes, 24) + 1, height: u24le(bytes, 27) + 1 };
  }
  if (hasBytes(bytes, VP8L, 12) && bytes.length >= 25 && bytes[20] === 0x2f) {
    const bits = u32le(bytes, 21);
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (hasBytes(bytes, VP8, 12) && bytes.length >= 30 && hasBytes(bytes, [0x9d, 0x01, 0x2a], 23)) {
    return { width: u16le(bytes, 26) & 0x3fff, height: u16le(bytes, 28) & 0x3fff };
  }
  return null;
}

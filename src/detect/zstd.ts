/**
 * Zstandard (RFC 8878 §3.1.1): magic 28 B5 2F FD, then the frame header descriptor whose
 * reserved bit (bit 3) must be zero.
 */

import { hasBytes } from './bytes.js';
import type { Detection, Detector } from './types.js';

const MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

export const zstd: Detector = {
  id: 'zstd',
  detect(bytes): Detection | null {
    if (bytes.length < 6 || !hasBytes(bytes, MAGIC)) return null;
    // §3.1.1.1.1.4: "Reserved Bit ... must be set to zero."
    if (((bytes[4] as number) & 0x08) !== 0) return null;
    return { id: 'zstd', label: 'Zstandard data' };
  },
};

/** PNG: the 8-byte signature, then the IHDR chunk for the size (PNG spec §5.2, §11.2.2). */

import { ascii, hasBytes, u32be } from './bytes.js';
import type { Detection, Detector } from './types.js';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const IHDR = ascii('IHDR');

export const png: Detector = {
  id: 'png',
  detect(bytes): Detection | null {
    if (!hasBytes(bytes, SIGNATURE)) return null;
    // §11.2.2: IHDR comes first, its data is 13 bytes: width, height (4 bytes each, big-endian).
    if (bytes.length >= 24 && u32be(bytes, 8) === 13 && hasBytes(bytes, IHDR, 12)) {
      const width = u32be(bytes, 16);
      const height = u32be(bytes, 20);
      return { id: 'png', label: `PNG image ${width}x${height}`, decoded: { width, height } };
    }
    return { id: 'png', label: 'PNG image' };
  },
};

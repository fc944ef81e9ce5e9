/** GIF: "GIF87a" or "GIF89a", then the logical screen width and height (little-endian). */

import { ascii, hasBytes, u16le } from './bytes.js';
import type { Detection, Detector } from './types.js';

const GIF87 = ascii('GIF87a');
const GIF89 = ascii('GIF89a');

export const gif: Detector = {
  id: 'gif',
  detect(bytes): Detection | null {
    if (!hasBytes(bytes, GIF89) && !hasBytes(bytes, GIF87)) return null;
    if (bytes.length < 10) return { id: 'gif', label: 'GIF image' };
    const width = u16le(bytes, 6);
    const height = u16le(bytes, 8);
    return { id: 'gif', label: `GIF image ${width}x${height}`, decoded: { width, height } };
  },
};

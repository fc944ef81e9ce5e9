/**
 * gzip (RFC 1952 §2.3): ID1 ID2 = 1F 8B, CM = 8 (deflate, the only method defined), and the
 * reserved FLG bits 5-7 zero. The original file name (FNAME) goes into the label when present.
 */

import { excerpt } from './bytes.js';
import type { Detection, Detector } from './types.js';

const FEXTRA = 0x04;
const FNAME = 0x08;
const RESERVED = 0xe0;

export const gzip: Detector = {
  id: 'gzip',
  detect(bytes): Detection | null {
    if (bytes.length < 10 || bytes[0] !== 0x1f || bytes[1] !== 0x8b || bytes[2] !== 0x08) return null;
    const flags = bytes[3] as number;
    // RFC 1952 §2.3.1.2: a compliant decompressor must give an error if a reserved bit is set.
    if ((flags & RESERVED) !== 0) return null;
    const name = fileName(bytes, flags);
    return { id: 'gzip', label: name === null ? 'gzip data' : `gzip data (${name})` };
  },
};

function fileName(bytes: Uint8Array, flags: number): string | null {
  if ((flags & FNAME) === 0) return null;
  let p = 10;
  if ((flags & FEXTRA) !== 0) {
    if (p + 2 > bytes.length) return null;
    p += 2 + ((bytes[p] as number) | ((bytes[p + 1] as number) << 8));
  }
  const end = bytes.indexOf(0, p);
  if (end < 0 || end - p > 255) return null;
  // §2.3.1: the name is ISO 8859-1 (LATIN-1).
  let name = '';
  for (let i = p; i < end; i++) name += String.fromCharCode(bytes[i] as number);
  return excerpt(name, 80);
}

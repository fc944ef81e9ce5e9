/** PDF (ISO 32000 §7.5.2): the header "%PDF-" followed by the version, e.g. "%PDF-1.7". */

import { ascii, hasBytes } from './bytes.js';
import type { Detection, Detector } from './types.js';

const HEADER = ascii('%PDF-');

export const pdf: Detector = {
  id: 'pdf',
  detect(bytes): Detection | null {
    if (!hasBytes(bytes, HEADER)) return null;
    const major = bytes[5];
    const minor = bytes[7];
    if (major === undefined || minor === undefined || bytes[6] !== 0x2e) return null;
    if (major < 0x30 || major > 0x39 || minor < 0x30 || minor > 0x39) return null;
    const version = `${String.fromCharCode(major)}.${String.fromCharCode(minor)}`;
    return { id: 'pdf', label: `PDF document ${version}` };
  },
};

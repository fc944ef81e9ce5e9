/**
 * ZIP (APPNOTE.TXT §4.3): a local file header "PK\3\4" (its file name goes into the label), an
 * empty archive's end-of-central-directory record "PK\5\6", or a spanned archive "PK\7\8".
 * Office documents, JARs and APKs are ZIP archives too and are reported as such.
 */

import { excerpt, hasBytes, u16le } from './bytes.js';
import type { Detection, Detector } from './types.js';

const LOCAL = [0x50, 0x4b, 0x03, 0x04];
const EMPTY = [0x50, 0x4b, 0x05, 0x06];
const SPANNED = [0x50, 0x4b, 0x07, 0x08];

export const zip: Detector = {
  id: 'zip',
  detect(bytes): Detection | null {
    if (hasBytes(bytes, LOCAL) && bytes.length >= 30) {
      const nameLength = u16le(bytes, 26);
      if (nameLength > 0 && nameLength <= 255 && 30 + nameLength <= bytes.length) {
        const name = Buffer.from(bytes.subarray(30, 30 + nameLength)).toString('utf8');
        return { id: 'zip', label: `ZIP archive (first entry "${excerpt(name, 80)}")` };
      }
      return { id: 'zip', label: 'ZIP archive' };
    }
    if (hasBytes(bytes, EMPTY) && bytes.length >= 22) return { id: 'zip', label: 'ZIP archive (empty)' };
    if (hasBytes(bytes, SPANNED) && bytes.length >= 8) return { id: 'zip', label: 'ZIP archive (spanned)' };
    return null;
  },
};

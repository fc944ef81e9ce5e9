/**
 * zlib (RFC 1950 §2.2): CMF then FLG. Two bytes are a weak signature (text starting "x^" passes),
 * so a header that passes is confirmed by inflating at most TRIAL_INPUT bytes of the stream: random
 * bytes after a valid-looking header fail within a few symbols (bad block type, bad code lengths,
 * a distance too far back).
 */

import { constants, inflateSync } from 'node:zlib';
import type { Detection, Detector } from './types.js';

/** Bytes of the stream fed to the trial inflate (the output is at most ~1032x that). */
const TRIAL_INPUT = 256;
const LEVELS = ['fastest', 'fast', 'default', 'maximum'] as const;

export const zlib: Detector = {
  id: 'zlib',
  detect(bytes): Detection | null {
    if (bytes.length < 3) return null;
    const cmf = bytes[0] as number;
    const flg = bytes[1] as number;
    // §2.2: CM = 8 is deflate (the only method zlib defines); CINFO > 7 is not allowed with CM 8.
    if ((cmf & 0x0f) !== 8 || cmf >> 4 > 7) return null;
    // §2.2: "FCHECK ... must be such that CMF and FLG, when viewed as a 16-bit unsigned integer
    // stored in MSB order (CMF*256 + FLG), is a multiple of 31."
    if ((cmf * 256 + flg) % 31 !== 0) return null;
    // FDICT: a preset dictionary is almost never used on the wire and cannot be inflated here.
    if ((flg & 0x20) !== 0) return null;
    // RFC 1951 §3.2.3: BTYPE 11 is reserved (an error).
    if (((bytes[2] as number) & 0x06) === 0x06) return null;
    if (!inflates(bytes)) return null;
    const window = 1 << ((cmf >> 4) + 8);
    const level = LEVELS[flg >> 6] ?? 'default';
    return { id: 'zlib', label: `zlib data (${window / 1024}K window, ${level} compression)` };
  },
};

function inflates(bytes: Uint8Array): boolean {
  try {
    // Z_SYNC_FLUSH: a stream cut at TRIAL_INPUT bytes is not an error, only bad data is.
    inflateSync(bytes.subarray(0, TRIAL_INPUT), { finishFlush: constants.Z_SYNC_FLUSH });
    return true;
  } catch {
    return false;
  }
}

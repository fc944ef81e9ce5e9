/**
 * WebAssembly binary (Core spec §5.5.16): magic "\0asm" then a 4-byte version. Version 1 with
 * layer 0 is a core module; the component model uses layer 1 in the upper half.
 */

import { hasBytes, u16le } from './bytes.js';
import type { Detection, Detector } from './types.js';

const MAGIC = [0x00, 0x61, 0x73, 0x6d];

export const wasm: Detector = {
  id: 'wasm',
  detect(bytes): Detection | null {
    if (bytes.length < 8 || !hasBytes(bytes, MAGIC)) return null;
    const version = u16le(bytes, 4);
    const layer = u16le(bytes, 6);
    if (layer === 0) return { id: 'wasm', label: `WebAssembly module v${version}` };
    if (layer === 1) return { id: 'wasm', label: `WebAssembly component (version ${version})` };
    return null;
  },
};

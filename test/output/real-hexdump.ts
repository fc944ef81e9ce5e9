/**
 * The real `hexdump -C` (util-linux; Debian/Ubuntu package bsdextrautils), which hexdumpC must
 * match byte for byte. It is required, not optional: without it the tests fail with a message
 * saying what to install (CI installs it).
 */
import { execFileSync } from 'node:child_process';

export const INSTALL_HEXDUMP = 'hexdump not found: install it (Debian/Ubuntu: apt-get install bsdextrautils)';

function which(command: string): string | null {
  try {
    return execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

export const HEXDUMP = which('hexdump');

/** True when `file` (libmagic) is installed. */

/** What `hexdump -C` prints for the bytes (as latin1, so every byte maps to one character). */
export function realHexdump(bytes: Uint8Array): string {
  if (HEXDUMP === null) throw new Error(INSTALL_HEXDUMP);
  return execFileSync(HEXDUMP, ['-C'], { input: bytes, encoding: 'latin1' });
}

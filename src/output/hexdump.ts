/**
 * The canonical hex+ASCII layout of `hexdump -C`, byte for byte, and the header line
 * `wstape hexdump` prints above each frame's dump. No I/O.
 *
 *   00000000  89 50 4e 47 0d 0a 1a 0a  00 00 00 0d 49 48 44 52  |.PNG........IHDR|
 *   00000010  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|
 *   *
 *   00000040  01 02                                             |..|
 *   00000042
 *
 * The rules, as hexdump applies them (checked against the real tool in the tests):
 * - each line: the offset as 8 (or more) lowercase hex digits, two spaces, 16 byte slots of
 *   `xx ` with one more space after the eighth, one space, then `|ASCII|` with 0x20-0x7e shown
 *   as themselves and every other byte as `.`. A short last line pads the missing slots.
 * - a full 16-byte line identical to the line before it is not printed; a run of them becomes a
 *   single `*` line. A short last line is never collapsed.
 * - after the data, a line with the total length as the offset. Empty input prints nothing.
 */
import type { FrameEntry } from '../format/schema.js';
import { frameTypeLabel } from '../wire/opcodes.js';
import { arrowOf } from '../wire/side.js';
import { formatSize } from './units.js';

const BYTES_PER_LINE = 16;
/** Width of the hex part of a line: 16 slots of 3 columns plus the space between the halves. */
const HEX_WIDTH = BYTES_PER_LINE * 3 + 1;

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));
const ASCII = Array.from({ length: 256 }, (_, byte) => (byte >= 0x20 && byte <= 0x7e ? String.fromCharCode(byte) : '.'));

function offsetText(offset: number): string {
  return offset.toString(16).padStart(8, '0');
}

function formatLine(bytes: Uint8Array, start: number, end: number): string {
  let hex = '';
  let ascii = '';
  for (let i = start; i < end; i++) {
    const byte = bytes[i] as number;
    hex += `${HEX[byte]} `;
    if (i - start === 7) hex += ' ';
    ascii += ASCII[byte];
  }
  return `${offsetText(start)}  ${hex.padEnd(HEX_WIDTH)} |${ascii}|\n`;
}

function sameLine(bytes: Uint8Array, a: number, b: number): boolean {
  for (let i = 0; i < BYTES_PER_LINE; i++) if (bytes[a + i] !== bytes[b + i]) return false;
  return true;
}

/**
 * The `hexdump -C` output for `bytes` in pieces of at most `linesPerChunk` lines (each ending in
 * "\n"), so a multi-megabyte payload can be written with backpressure instead of built as one
 * string. Concatenated, the pieces are exactly hexdumpC(bytes).
 */
export function* hexdumpChunks(bytes: Uint8Array, linesPerChunk = 1024): Generator<string> {
  if (bytes.length === 0) return;
  let chunk = '';
  let lines = 0;
  let starred = false;
  const push = (line: string): string | null => {
    chunk += line;
    if (++lines < linesPerChunk) return null;
    const full = chunk;
    chunk = '';
    lines = 0;
    return full;
  };
  for (let start = 0; start < bytes.length; start += BYTES_PER_LINE) {
    const end = Math.min(start + BYTES_PER_LINE, bytes.length);
    const full = end - start === BYTES_PER_LINE;
    if (full && start > 0 && sameLine(bytes, start, start - BYTES_PER_LINE)) {
      if (!starred) {
        starred = true;
        const out = push('*\n');
        if (out !== null) yield out;
      }
      continue;
    }
    starred = false;
    const out = push(formatLine(bytes, start, end));
    if (out !== null) yield out;
  }
  chunk += `${offsetText(bytes.length)}\n`;
  yield chunk;
}

/** Exactly what `hexdump -C` prints for `bytes` ("" for no bytes). */
export function hexdumpC(bytes: Uint8Array): string {
  let out = '';
  for (const chunk of hexdumpChunks(bytes)) out += chunk;
  return out;
}

/** The header line above a frame's dump, without colour: `c1 #4 <-- binary 1.2 KiB`. */
export function hexdumpHeader(frame: FrameEntry, keptBytes: number): string {
  const parts = [`${frame.conn} #${frame.index}`, arrowOf(frame.dir), frameTypeLabel(frame.type, frame.opcode), formatSize(frame.size)];
  if (frame.type === 'close' && frame.code !== undefined) parts.push(`(code ${frame.code})`);
  if (frame.truncated === true) parts.push(`(truncated: first ${formatSize(keptBytes)} kept)`);
  if (!frame.fin) parts.push('[frag]');
  if (frame.compressed === true) parts.push('[deflate]');
  for (const flag of frame.flags ?? []) parts.push(`[!${flag}]`);
  return parts.join(' ');
}

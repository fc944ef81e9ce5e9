/**
 * The pretty form of `wstape show`: the arrow view of frame-line.ts, plus what only a reader of a
 * finished archive wants and the live view has no room for. A row may take several lines:
 *
 *   [10:30:01.002] c1 <-- BINARY 33 B (PNG image 1x1)
 *     00000000  89 50 4e 47 0d 0a 1a 0a  00 00 00 0d 49 48 44 52  |.PNG........IHDR|
 *     00000010  00 00 00 01 00 00 00 01  08 06 00 00 00 1f 15 c4  |................|
 *   [10:30:01.010] c1 <-- BINARY 14 B (MessagePack map)
 *     = {"op":"tick","n":3}
 *     00000000  82 a2 6f 70 a4 74 69 63  6b a1 6e 03              |..op.tick.n.|
 *   [10:30:02.000] c1 --> {                        (--pretty-json)
 *                           "type": "join"
 *                         }
 *
 * Binary payloads show their size, the detected format's label, the decoded value when a decoder
 * produced one, and the first lines of a `hexdump -C` dump. Text, control and close frames are
 * the arrow view's single line (JSON coloured on a terminal), or with --pretty-json a JSON
 * document re-indented under the line. Everything from the wire is escaped (payload.ts).
 */
import type { Detection } from '../detect/types.js';
import type { MessageType } from '../wire/opcodes.js';
import { protocolTag } from '../detect/tags.js';
import { hexdumpC } from './hexdump.js';
import { protocolJsonBlock } from './protocol-json.js';
import { stripAnsi, type Palette } from './colors.js';
import { formatFrameLine, frameLineParts, joinParts, type FrameLike, type LineOptions } from './frame-line.js';
import { highlightJson, isJsonDocument, paintJsonToken, reindentJson } from './json-view.js';
import { escapeText, payloadPrefix } from './payload.js';
import { formatSize } from './units.js';

export interface ShowRowOptions extends LineOptions {
  /** Re-indent JSON text payloads (and decoded values) over several lines. */
  prettyJson?: boolean;
  /** Lines of hex dump under a binary payload (16 bytes each). Default 4; 0 for none. */
  hexLines?: number;
}

/** What show learnt about a row besides the row itself. */
export interface ShowRowInfo {
  /** The type of the message the row's payload belongs to (continuations: their message's). */
  messageType: MessageType | null;
  /** What content detection found in the payload, if anything. */
  detection?: Detection | null | undefined;
}

export const DEFAULT_HEX_LINES = 4;

/**
 * Detection ids of file formats recognised by their magic numbers. Their label already says what
 * the decoded value holds (`PNG image 1x1`), so the pretty form does not repeat it.
 */
export const FILE_FORMAT_IDS: ReadonlySet<string> = new Set(['png', 'jpeg', 'gif', 'webp', 'gzip', 'zlib', 'zstd', 'zip', 'pdf', 'wasm']);
/** Binary blocks are indented this much: a `hexdump -C` line (78 columns) then fits in 80. */
const BLOCK_INDENT = '  ';

/** JSON text for a decoded value; BigInt (protobuf int64) as a decimal string, Map as an object. */
export function decodedJson(value: unknown, indent?: number): string {
  return (
    JSON.stringify(
      value,
      (_key, item: unknown) => {
        if (typeof item === 'bigint') return item.toString();
        if (item instanceof Map) return Object.fromEntries(item) as unknown;
        if (item instanceof Set) return [...item] as unknown[];
        return item;
      },
      indent,
    ) ?? 'undefined'
  );
}

/** A row of `show` in the pretty form: one line, or several joined with "\n" (no final newline). */
export function formatShowRow(row: FrameLike, info: ShowRowInfo, options: ShowRowOptions): string {
  const binary = row.type === 'binary' || (row.type === 'continuation' && info.messageType === 'binary');
  if (binary) return binaryBlock(row, info, options);
  // A subprotocol packet (Socket.IO, STOMP, graphql...) is tagged; --pretty-json indents its JSON.
  const tag = protocolTag(info.detection);
  if (tag !== null && options.prettyJson === true && row.text !== undefined && row.fin && row.truncated !== true) {
    const block = protocolJsonBlock({ ...row, text: row.text }, info.detection!, { ...options, tag });
    if (block !== null) return block;
  }
  if (tag === null && options.prettyJson === true && isWholeJsonText(row, info)) return prettyJsonBlock(row, options);
  return formatFrameLine(row, tag !== null ? { ...options, tag } : options);
}

/** A complete text message (or single-frame one) whose payload is a JSON object or array. */
function isWholeJsonText(row: FrameLike, info: ShowRowInfo): row is FrameLike & { text: string } {
  return row.type === 'text' && info.messageType === 'text' && row.fin && row.truncated !== true && row.text !== undefined && isJsonDocument(row.text);
}

/** Valid JSON text re-indented, escaped and coloured, one string per line. */
function prettyJsonLines(text: string, p: Palette): string[] {
  return reindentJson(text).map((tokens) => tokens.map((token) => paintJsonToken({ kind: token.kind, text: escapeText(token.text) }, p)).join(''));
}

function prettyJsonBlock(row: FrameLike & { text: string }, options: ShowRowOptions): string {
  const { head, markers, palette: p } = frameLineParts(row, options);
  const [first = '', ...rest] = prettyJsonLines(row.text, p);
  // The lines after the first line up under the payload's column.
  const pad = ' '.repeat(stripAnsi(head).length + 1);
  return [joinParts([head, first, ...markers]), ...rest.map((line) => pad + line)].join('\n');
}

function binaryBlock(row: FrameLike, info: ShowRowInfo, options: ShowRowOptions): string {
  const { head, markers, width, palette: p } = frameLineParts(row, options);
  const name = row.type === 'binary' ? p.blue('BINARY') : p.magenta('CONT');
  const label = info.detection != null ? p.cyan(`(${escapeText(info.detection.label)})`) : '';
  const lines = [joinParts([head, name, p.dim(formatSize(row.size)), label, ...markers])];

  const decoded = info.detection != null && !FILE_FORMAT_IDS.has(info.detection.id) ? info.detection.decoded : undefined;
  if (decoded !== undefined) {
    if (options.prettyJson === true) {
      const [first = '', ...rest] = prettyJsonLines(decodedJson(decoded), p);
      lines.push(`${BLOCK_INDENT}= ${first}`, ...rest.map((line) => `${BLOCK_INDENT}  ${line}`));
    } else {
      lines.push(`${BLOCK_INDENT}= ${cutLine(decodedJson(decoded), Math.max(24, width + stripAnsi(head).length - 4), p)}`);
    }
  }

  const hexLines = options.hexLines ?? DEFAULT_HEX_LINES;
  if (hexLines > 0 && row.size > 0) {
    const dump = hexdumpC(payloadPrefix(row, hexLines * 16)).split('\n');
    // The dump ends with the total length as an offset line: not the payload's, so leave it out.
    for (const line of dump.slice(0, Math.min(hexLines, dump.length - 2))) {
      lines.push(BLOCK_INDENT + (line === '*' ? line : p.dim(line.slice(0, 8)) + line.slice(8)));
    }
  }
  return lines.join('\n');
}

/** JSON text on one line, escaped, cut to `width` columns with `…`, coloured. */
function cutLine(text: string, width: number, p: Palette): string {
  const escaped = escapeText(text.length > width * 4 ? text.slice(0, width * 4) : text);
  if (escaped.length <= width) return highlightJson(escaped, p);
  return `${highlightJson(escaped.slice(0, width - 1), p)}…`;
}

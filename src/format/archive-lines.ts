/**
 * The archive's line layout, with no I/O: how the writer turns a header, entries and a trailer
 * into lines, and how the reader tells those lines apart again.
 *
 * An archive is one JSON document written append-only, one entry per line, so that it can be
 * streamed and `tail -f`'d while it grows and is valid JSON once the recording stopped cleanly:
 *
 *     {"format":"wstape","version":1,...,"entries":[      <- header line
 *     {"kind":"connection",...}                           <- first entry: no comma
 *     ,{"kind":"frame",...}                               <- every later entry: leading comma
 *     ],"stoppedAt":"...","summary":{...}}                <- trailer line, written on clean stop
 *
 * JSON.stringify never emits a raw newline (it escapes them inside strings), so each value stays on
 * one line. docs/FORMAT.md describes the layout for people reading archives with other tools.
 */
import { asciiJsonString } from './json-text.js';
import type { ArchiveHeader, ArchiveTrailer, Entry } from './schema.js';

/** What the header line ends with; the entries array it opens is closed by the trailer line. */
export const ENTRIES_OPEN = ',"entries":[';

/** How every archive this wstape writes begins (the writer puts these fields first). */
export const HEADER_START = '{"format":"wstape"';

/**
 * The header line: the header object's JSON without its closing brace, then `,"entries":[`.
 * `format` and `version` come first whatever order the caller built the object in, so a reader
 * can recognise a wstape archive (and its version) from the first bytes.
 */
export function headerLine(header: ArchiveHeader): string {
  const { format, version, ...rest } = header;
  return JSON.stringify({ format, version, ...rest }).slice(0, -1) + ENTRIES_OPEN + '\n';
}

/** Payloads from this size on are spliced into the line instead of going through stringify. */
const SPLICE_PAYLOAD_FROM = 1024;

/** Text payloads from this size on are escaped from their bytes when few need it (json-text.ts). */
const ESCAPE_TEXT_FROM = 4096;

/**
 * One entry's line: `{...}` for the first entry, `,{...}` for every later one. `textBytes`: the
 * ASCII bytes a frame's `text` was decoded from, when the caller has them (the recorder does).
 */
export function entryLine(entry: Entry, first: boolean, textBytes?: Uint8Array): string {
  return (first ? '' : ',') + entryJson(entry, textBytes) + '\n';
}

/**
 * JSON.stringify(entry), faster for large frame payloads: base64 `data` needs no escaping, so it
 * is appended as is rather than scanned character by character with the rest of the entry; a
 * large ASCII `text` with little to escape is escaped from its bytes (json-text.ts). Either
 * moves to the end of the object, which JSON does not mind.
 */
function entryJson(entry: Entry, textBytes: Uint8Array | undefined): string {
  if (entry.kind !== 'frame') return JSON.stringify(entry);
  if (entry.data !== undefined && entry.data.length >= SPLICE_PAYLOAD_FROM) {
    const { data, ...rest } = entry;
    return `${JSON.stringify(rest).slice(0, -1)},"data":"${data}"}`;
  }
  if (entry.text !== undefined && textBytes !== undefined && textBytes.length >= ESCAPE_TEXT_FROM && textBytes.length === entry.text.length) {
    // At most one byte in 64 to escape: past that, JSON.stringify is as fast.
    const literal = asciiJsonString(textBytes, textBytes.length >>> 6);
    if (literal !== null) {
      const { text: _text, ...rest } = entry;
      return `${JSON.stringify(rest).slice(0, -1)},"text":${literal}}`;
    }
  }
  return JSON.stringify(entry);
}

/** The trailer line: `]` closes the entries array, then the trailer's fields close the document. */
export function trailerLine(trailer: ArchiveTrailer): string {
  return '],' + JSON.stringify(trailer).slice(1) + '\n';
}

/** A line of an archive, classified and JSON-parsed but not yet validated against the schema. */
export type ArchiveLine =
  | { type: 'header'; value: Record<string, unknown> }
  | { type: 'entry'; value: unknown; leadingComma: boolean }
  | { type: 'trailer'; value: Record<string, unknown> }
  | { type: 'blank' }
  | { type: 'damaged'; reason: string };

/**
 * Classify one line (without its "\n") and parse its JSON. Line 1 must be the header line; any
 * other line is an entry, the trailer, or blank. A line that is none of these, or whose JSON does
 * not parse, is `damaged`: the reader decides whether that means a truncated final line (crash)
 * or real damage.
 */
export function parseArchiveLine(line: string, lineNumber: number): ArchiveLine {
  let text = line.endsWith('\r') ? line.slice(0, -1) : line; // tolerate CRLF checkouts
  if (lineNumber === 1 && text.startsWith('\uFEFF')) text = text.slice(1);
  if (text.trim() === '') return { type: 'blank' };

  if (lineNumber === 1) {
    if (!text.endsWith(ENTRIES_OPEN)) return { type: 'damaged', reason: 'not a wstape header line' };
    const value = parseJson(text.slice(0, -ENTRIES_OPEN.length) + '}');
    if (!isPlainObject(value)) return { type: 'damaged', reason: 'the header is not valid JSON' };
    return { type: 'header', value };
  }

  if (text.startsWith(']')) {
    const rest = text.slice(1).trimStart();
    // `]}` would be a trailer without fields; the writer always writes some, but it is valid JSON.
    const value = rest === '}' ? {} : rest.startsWith(',') ? parseJson('{' + rest.slice(1)) : undefined;
    if (!isPlainObject(value)) return { type: 'damaged', reason: 'the closing line is not valid JSON' };
    return { type: 'trailer', value };
  }

  const leadingComma = text.startsWith(',');
  const body = leadingComma ? text.slice(1) : text;
  if (!body.startsWith('{')) return { type: 'damaged', reason: 'not an entry (an entry line starts with "{" or ",{")' };
  const value = parseJson(body);
  if (value === undefined) return { type: 'damaged', reason: 'not valid JSON' };
  return { type: 'entry', value, leadingComma };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Splits a byte stream into lines on "\n", holding only the current unfinished line. A line may
 * span any number of chunks (payload lines can be tens of megabytes), so bytes are joined before
 * they are decoded: a UTF-8 character split across chunks survives.
 */
export class LineSplitter {
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;

  /** Bytes held for the line that has not ended yet. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** Feed a chunk; returns the lines it completed, without their "\n". */
  push(bytes: Uint8Array): Buffer[] {
    const chunk = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const lines: Buffer[] = [];
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(0x0a, start);
      if (newline === -1) break;
      const piece = chunk.subarray(start, newline);
      if (this.#pending.length === 0) {
        lines.push(piece);
      } else {
        this.#pending.push(piece);
        lines.push(Buffer.concat(this.#pending, this.#pendingBytes + piece.byteLength));
        this.#pending = [];
        this.#pendingBytes = 0;
      }
      start = newline + 1;
    }
    if (start < chunk.byteLength) {
      this.#pending.push(chunk.subarray(start));
      this.#pendingBytes += chunk.byteLength - start;
    }
    return lines;
  }

  /** The bytes after the last "\n" (a final line without one), or null when there are none. */
  end(): Buffer | null {
    if (this.#pendingBytes === 0) return null;
    const rest = Buffer.concat(this.#pending, this.#pendingBytes);
    this.#pending = [];
    this.#pendingBytes = 0;
    return rest;
  }
}

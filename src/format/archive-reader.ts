/**
 * Reading an archive from disk: the header at open, then the entries streamed line by line, so
 * memory stays constant however large the archive is. Decisions about what each line means live
 * in archive-decode.ts; this file only moves bytes.
 *
 * Also reads an archive someone reformatted (pretty-printed by jq or an editor) as a whole JSON
 * document, when it is small enough to hold in memory.
 */
import { createReadStream } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { cliError, isCliError, type CliError } from '../errors.js';
import { checkVersionFromText, decodeHeader, describeNotArchive, EntryDecoder, looksLikeWstape, splitDocument, type Migration } from './archive-decode.js';
import { isPlainObject, LineSplitter, parseArchiveLine } from './archive-lines.js';
import type { ArchiveHeader, ArchiveTrailer, Entry } from './schema.js';

export interface ArchiveReader {
  readonly path: string;
  /** The header, validated. */
  readonly header: ArchiveHeader;
  /** The entries, validated, in the order they were recorded. Single use. */
  entries(): AsyncGenerator<Entry>;
  /** The closing fields, once entries() finished, when the recording was closed cleanly. */
  readonly trailer: ArchiveTrailer | null;
  /** True once entries() finished and the closing line was seen. */
  readonly complete: boolean;
}

export interface OpenArchiveOptions {
  /** Called with one-line warnings, e.g. that the archive was not closed cleanly. */
  onWarning?: (message: string) => void;
  /** Validate each entry against the schema (default true). */
  validate?: boolean;
  /**
   * A fast pre-filter on an entry line's raw bytes: true means the caller cannot want this
   * entry, so it is neither decoded nor parsed (`show` uses it for --dir, --type and --conn over
   * gigabyte archives). It must only say true for entry lines.
   */
  skipLine?: (line: Buffer) => boolean;
}

/** The header line is short; a first line longer than this is not one. */
const MAX_HEADER_BYTES = 1024 * 1024;
/** A reformatted archive is parsed whole only up to this size. */
const MAX_DOCUMENT_BYTES = 64 * 1024 * 1024;
/** Longest entry line read; longer ones cannot become a JavaScript string anyway. */
const MAX_LINE_BYTES = 256 * 1024 * 1024;
const MAX_READ_CHUNK_BYTES = 1024 * 1024;
const PREFIX_BYTES = 64 * 1024;

/**
 * Open an archive and read its header. Throws CliError: ERR_FILE (cannot read it),
 * ERR_ARCHIVE_FORMAT (not a wstape archive), ERR_ARCHIVE_VERSION (written by a newer wstape),
 * ERR_ARCHIVE_DAMAGED (empty, header incomplete or invalid). entries() may later throw
 * ERR_ARCHIVE_DAMAGED for a damaged line in the middle; a truncated last line is not damage.
 */
export async function openArchive(path: string, options: OpenArchiveOptions = {}): Promise<ArchiveReader> {
  return openSource(await fileSource(path), options);
}

/**
 * Read an archive held in memory, exactly as openArchive reads a file; `name` stands for the path
 * in messages. For archives that do not come from a file, and for tests that cut archives short.
 */
export async function openArchiveBytes(name: string, bytes: Uint8Array, options: OpenArchiveOptions = {}): Promise<ArchiveReader> {
  return openSource(bytesSource(name, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)), options);
}

/** Where an archive's bytes come from: a file, streamed, or a buffer. */
interface Source {
  name: string;
  size: number;
  /** The first line, read up to MAX_HEADER_BYTES. */
  head: FirstLine;
  /** The bytes from `start` to the end, in chunks. Stops reading when iteration stops. */
  chunks(start: number): AsyncIterable<Uint8Array>;
  /** The whole archive, for a reformatted one (only called when size <= MAX_DOCUMENT_BYTES). */
  readAll(): Promise<Buffer>;
}

async function openSource(source: Source, options: OpenArchiveOptions): Promise<ArchiveReader> {
  const settings = { onWarning: options.onWarning ?? (() => {}), validate: options.validate ?? true, skipLine: options.skipLine };
  const { name, head } = source;
  const text = head.bytes.toString('utf8');
  const empty = text.trim() === '' && !head.terminated && !head.capped;
  if (empty) throw emptyFile(name);

  const line = parseArchiveLine(text, 1);
  if (line.type === 'header') {
    const { header, steps } = decodeHeader(name, line.value);
    return new Reader(name, header, settings, (decoder) => streamLines(source, head.consumed, decoder, settings.skipLine), steps);
  }

  // Not a header line: a reformatted archive, a newer layout, a cut-short header, or another file.
  const prefix = head.prefix.toString('utf8');
  checkVersionFromText(name, prefix);
  if (source.size > MAX_DOCUMENT_BYTES) {
    if (looksLikeWstape(prefix))
      throw cliError('ERR_ARCHIVE_DAMAGED', `${name} line 1 is not a wstape header line, and the file is too large to read as one JSON document`);
    throw describeNotArchive(name, head.prefix);
  }
  return openDocument(source, await source.readAll(), settings);
}

async function fileSource(path: string): Promise<Source> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw fileError(path, error);
  }
  let head: FirstLine;
  let size: number;
  try {
    const stat = await handle.stat();
    if (stat.isDirectory()) throw cliError('ERR_FILE', `cannot read ${path}: it is a directory`);
    size = stat.size;
    head = await readFirstLine(handle);
  } catch (error) {
    throw isCliError(error) ? error : fileError(path, error);
  } finally {
    await handle.close().catch(() => {});
  }
  return {
    name: path,
    size,
    head,
    async *chunks(start) {
      // Small archives get a small buffer: tests and `show` open many of them.
      const highWaterMark = Math.min(MAX_READ_CHUNK_BYTES, Math.max(64 * 1024, size - start + 1));
      const stream = createReadStream(path, { start, highWaterMark });
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) yield chunk;
      } catch (error) {
        throw fileError(path, error);
      } finally {
        stream.destroy();
      }
    },
    async readAll() {
      try {
        return await readFile(path);
      } catch (error) {
        throw fileError(path, error);
      }
    },
  };
}

function bytesSource(name: string, bytes: Buffer): Source {
  const newline = bytes.subarray(0, MAX_HEADER_BYTES).indexOf(0x0a);
  const prefix = bytes.subarray(0, PREFIX_BYTES);
  const head: FirstLine =
    newline === -1
      ? {
          bytes: bytes.subarray(0, MAX_HEADER_BYTES),
          terminated: false,
          consumed: Math.min(bytes.length, MAX_HEADER_BYTES),
          capped: bytes.length >= MAX_HEADER_BYTES,
          prefix,
        }
      : { bytes: bytes.subarray(0, newline), terminated: true, consumed: newline + 1, capped: false, prefix };
  return {
    name,
    size: bytes.length,
    head,
    // eslint-disable-next-line @typescript-eslint/require-await -- an async generator so that it is one AsyncIterable with the streaming readers
    async *chunks(start) {
      if (start < bytes.length) yield bytes.subarray(start);
    },
    readAll: () => Promise.resolve(bytes),
  };
}

interface FirstLine {
  bytes: Buffer;
  terminated: boolean;
  /** Bytes the line takes in the file, its "\n" included. */
  consumed: number;
  /** True when the read stopped at MAX_HEADER_BYTES without finding a newline. */
  capped: boolean;
  /** The file's first bytes (up to 64 KiB), newlines or not: enough to recognise a reformatted archive. */
  prefix: Buffer;
}

async function readFirstLine(handle: FileHandle): Promise<FirstLine> {
  const chunks: Buffer[] = [];
  let total = 0;
  let prefix: Buffer | undefined;
  while (total < MAX_HEADER_BYTES) {
    const buffer = Buffer.alloc(PREFIX_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, total);
    if (bytesRead === 0) break;
    const chunk = buffer.subarray(0, bytesRead);
    prefix ??= chunk;
    const newline = chunk.indexOf(0x0a);
    if (newline !== -1) {
      chunks.push(chunk.subarray(0, newline));
      return { bytes: Buffer.concat(chunks), terminated: true, consumed: total + newline + 1, capped: false, prefix };
    }
    chunks.push(chunk);
    total += bytesRead;
  }
  const capped = total >= MAX_HEADER_BYTES;
  return { bytes: Buffer.concat(chunks), terminated: false, consumed: total, capped, prefix: prefix ?? Buffer.alloc(0) };
}

/** Read a reformatted archive as one JSON document (it is small: checked by the caller). */
function openDocument(source: Source, bytes: Buffer, settings: Settings): ArchiveReader {
  const { name } = source;
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  if (text.trim() === '') throw emptyFile(name);
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    if (looksLikeWstape(text)) throw headerIncomplete(name);
    throw describeNotArchive(name, bytes.subarray(0, 4096));
  }
  if (!isPlainObject(value) || value.format === undefined) throw describeNotArchive(name, bytes.subarray(0, 4096), { value });
  const parts = splitDocument(name, value);
  const { header, steps } = decodeHeader(name, parts.header);
  // eslint-disable-next-line @typescript-eslint/require-await -- an async generator so that it is one AsyncIterable with the streaming readers
  const fromDocument = async function* (decoder: EntryDecoder): AsyncGenerator<Entry> {
    for (const [index, raw] of parts.entries.entries()) yield decoder.value(raw, `entry ${index + 1}`);
    if (parts.trailer !== null) decoder.setTrailer(parts.trailer, 'closing fields');
  };
  return new Reader(name, header, settings, fromDocument, steps);
}

function emptyFile(path: string): CliError {
  return cliError('ERR_ARCHIVE_DAMAGED', `${path} is empty (nothing was recorded, or the recorder stopped before writing its header)`);
}

function headerIncomplete(path: string): CliError {
  return cliError('ERR_ARCHIVE_DAMAGED', `${path} line 1 is damaged: the header is incomplete or not valid JSON`);
}

interface Settings {
  onWarning: (message: string) => void;
  validate: boolean;
  skipLine: ((line: Buffer) => boolean) | undefined;
}

type EntrySource = (decoder: EntryDecoder) => AsyncGenerator<Entry>;

class Reader implements ArchiveReader {
  readonly path: string;
  readonly header: ArchiveHeader;
  readonly #settings: Settings;
  readonly #source: EntrySource;
  readonly #steps: Migration[];
  #used = false;
  #trailer: ArchiveTrailer | null = null;
  #complete = false;

  constructor(path: string, header: ArchiveHeader, settings: Settings, source: EntrySource, steps: Migration[]) {
    this.path = path;
    this.header = header;
    this.#settings = settings;
    this.#source = source;
    this.#steps = steps;
  }

  get trailer(): ArchiveTrailer | null {
    return this.#trailer;
  }

  get complete(): boolean {
    return this.#complete;
  }

  async *entries(): AsyncGenerator<Entry> {
    if (this.#used) throw new Error('ArchiveReader.entries() can only be called once');
    this.#used = true;
    const decoder = new EntryDecoder(this.path, this.#steps, { validate: this.#settings.validate });
    yield* this.#source(decoder);
    this.#trailer = decoder.trailer;
    this.#complete = decoder.trailer !== null;
    if (!this.#complete) {
      const partial = decoder.lastLineIncomplete ? ', and its last line is incomplete' : '';
      this.#settings.onWarning(
        `${this.path} was not closed cleanly (the recorder stopped without finishing it, or is still recording${partial}); ` +
          `read the ${decoder.count} complete ${decoder.count === 1 ? 'entry' : 'entries'} it holds`,
      );
    }
  }
}

/** The entries of a line-per-entry archive, read from the byte after the header line. */
async function* streamLines(source: Source, start: number, decoder: EntryDecoder, skipLine: ((line: Buffer) => boolean) | undefined): AsyncGenerator<Entry> {
  const splitter = new LineSplitter();
  let lineNumber = 1;
  for await (const chunk of source.chunks(start)) {
    for (const line of splitter.push(chunk)) {
      lineNumber++;
      if (skipLine?.(line) === true) {
        decoder.skip(lineNumber);
        continue;
      }
      const entry = decoder.line(line.toString('utf8'), lineNumber);
      if (entry !== null) yield entry;
    }
    if (splitter.pendingBytes > MAX_LINE_BYTES) {
      throw cliError('ERR_ARCHIVE_DAMAGED', `${source.name} line ${lineNumber + 1} is damaged: it is longer than ${MAX_LINE_BYTES / 1024 / 1024} MiB`);
    }
  }
  const rest = splitter.end();
  if (rest !== null) {
    // A last line without "\n" is kept when it is complete (a file cut just before its final
    // newline, or edited by hand); a partial one is what a crash leaves and is ignored.
    const entry = decoder.line(rest.toString('utf8'), lineNumber + 1);
    if (entry !== null) yield entry;
  }
}

function isSystemError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string';
}

function fileError(path: string, error: unknown): CliError {
  const code = isSystemError(error) ? error.code : undefined;
  const why =
    code === 'ENOENT'
      ? 'ENOENT (no such file)'
      : code === 'EACCES'
        ? 'EACCES (permission denied)'
        : code === 'EISDIR'
          ? 'it is a directory'
          : (code ?? String(error));
  return cliError('ERR_FILE', `cannot read ${path}: ${why}`);
}

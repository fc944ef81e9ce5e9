/**
 * Reading an archive from disk: the header at open, then the entries streamed line by line, so
 * memory stays constant however large the archive is. Decisions about what each line means live
 * in archive-decode.ts; this file only moves bytes.
 *
 * Also reads an archive someone reformatted (pretty-printed by jq or an editor) as a whole JSON
 * document, when it is small enough to hold in memory.
 *
 * The archive may come from a pipe, a FIFO or standard input (`-`) as well as a regular file:
 * those are read once, front to back, with no seeking. Every line is read up to a limit
 * (MAX_HEADER_BYTES for the first, MAX_LINE_BYTES for the others), so an input that never ends a
 * line (`/dev/zero`) stops with ERR_ARCHIVE_DAMAGED instead of growing memory without bound.
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
  /** Bytes of the archive read so far (the header line included), for progress. */
  readonly bytesRead: number;
  /** Bytes in the archive; NaN when that cannot be known before reading (a pipe, standard input). */
  readonly size: number;
}

export interface OpenArchiveOptions {
  /** Called with one-line warnings, e.g. that the archive was not closed cleanly. */
  onWarning?: (message: string) => void;
  /** Validate each entry against the schema (default true). */
  validate?: boolean;
  /**
   * A fast pre-filter on an entry line's raw bytes, made once the header is read (it may depend
   * on who wrote the archive): true means the caller cannot want this entry, so it is neither
   * decoded nor parsed (`show` uses it for --dir, --type, --conn and a literal --grep over
   * gigabyte archives). It must only say true for entry lines.
   */
  skipLine?: SkipLineFactory;
  /** Longest entry line read (default MAX_LINE_BYTES); tests set a small one. */
  maxLineBytes?: number;
  /** What `-` reads (default process.stdin); tests pass their own stream. */
  stdin?: AsyncIterable<Uint8Array>;
  /** Called as entries() reads each chunk, with the bytes read so far (for a progress line). */
  onBytes?: (bytesRead: number) => void;
}

/** Makes the line pre-filter for an archive from its header; undefined for none. */
export type SkipLineFactory = (header: ArchiveHeader) => ((line: Buffer) => boolean) | undefined;

/** The file name that stands for standard input. */
export const STDIN_NAME = '-';

/**
 * The header line is short (its longest field, `recorder.target`, is one command-line argument,
 * at most 128 KiB on Linux); a first line longer than this is not one.
 */
export const MAX_HEADER_BYTES = 1024 * 1024;
/** A reformatted archive is parsed whole only up to this size. */
const MAX_DOCUMENT_BYTES = 64 * 1024 * 1024;
/**
 * Longest entry line read: 1 GiB. The longest line the recorder can write is an HTTP exchange
 * with both bodies at the --max-payload limit (64 MiB, MAX_PAYLOAD_LIMIT in
 * src/record/targets.ts) kept as text in which every byte is JSON-escaped to six (`\u0000`):
 * 2 × 6 × 64 MiB = 768 MiB, plus two heads of at most 64 KiB each, also escaped (768 KiB).
 * Base64 (`data`) is only 4/3 of the payload. docs/FORMAT.md says the same.
 */
export const MAX_LINE_BYTES = 1024 * 1024 * 1024;
const MAX_READ_CHUNK_BYTES = 1024 * 1024;
const PREFIX_BYTES = 64 * 1024;

/**
 * Open an archive and read its header. Throws CliError: ERR_FILE (cannot read it),
 * ERR_ARCHIVE_FORMAT (not a wstape archive), ERR_ARCHIVE_VERSION (written by a newer wstape),
 * ERR_ARCHIVE_DAMAGED (empty, header incomplete or invalid). entries() may later throw
 * ERR_ARCHIVE_DAMAGED for a damaged line in the middle; a truncated last line is not damage.
 */
export async function openArchive(path: string, options: OpenArchiveOptions = {}): Promise<ArchiveReader> {
  if (path === STDIN_NAME) return openSource(await streamSource('standard input', options.stdin ?? (process.stdin as AsyncIterable<Uint8Array>)), options);
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
  /** Bytes in the archive; NaN when it cannot be known before reading (a pipe). */
  size: number;
  /** The first line, read up to MAX_HEADER_BYTES. */
  head: FirstLine;
  /** The bytes from `start` to the end, in chunks. Stops reading when iteration stops. */
  chunks(start: number): AsyncIterable<Uint8Array>;
  /** The whole archive, for a reformatted one; null when it is longer than `limit` bytes. */
  readAll(limit: number): Promise<Buffer | null>;
}

async function openSource(source: Source, options: OpenArchiveOptions): Promise<ArchiveReader> {
  const settings: Settings = {
    onWarning: options.onWarning ?? (() => {}),
    validate: options.validate ?? true,
    skipLine: undefined,
    maxLineBytes: options.maxLineBytes ?? MAX_LINE_BYTES,
    onBytes: options.onBytes,
  };
  const { name, head } = source;
  const text = head.bytes.toString('utf8');
  const empty = text.trim() === '' && !head.terminated && !head.capped;
  if (empty) throw emptyFile(name);

  const line = parseArchiveLine(text, 1);
  if (line.type === 'header') {
    const { header, steps } = decodeHeader(name, line.value);
    settings.skipLine = options.skipLine?.(header);
    const reader: Reader = new Reader(name, header, settings, (decoder) => streamLines(source, head.consumed, decoder, settings, reader.count), steps, {
      size: source.size,
      read: head.consumed,
    });
    return reader;
  }

  // Not a header line: a reformatted archive, a newer layout, a cut-short header, or another file.
  const prefix = head.prefix.toString('utf8');
  checkVersionFromText(name, prefix);
  // A first line that goes on past MAX_HEADER_BYTES can only be an archive if it is one whole
  // JSON document (`jq -c .` writes one line); anything else is not worth reading further.
  if (head.capped && !/^\uFEFF?\s*\{/.test(prefix)) throw lineTooLong(name, 1, MAX_HEADER_BYTES);
  const tooLarge = (): CliError => {
    if (looksLikeWstape(prefix))
      return cliError('ERR_ARCHIVE_DAMAGED', `${name} line 1 is not a wstape header line, and the file is too large to read as one JSON document`);
    return describeNotArchive(name, head.prefix);
  };
  if (source.size > MAX_DOCUMENT_BYTES) throw tooLarge();
  const bytes = await source.readAll(MAX_DOCUMENT_BYTES);
  if (bytes === null) throw tooLarge();
  return openDocument(source, bytes, settings);
}

function lineTooLong(name: string, lineNumber: number, limit: number): CliError {
  return cliError('ERR_ARCHIVE_DAMAGED', `${name} line ${lineNumber} is longer than ${limit} bytes: not a wstape archive`);
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
    if (!stat.isFile()) {
      // A pipe, a FIFO (`show <(cat a.wstape.json)`) or a device: read once, front to back.
      const stream = handle.createReadStream({ highWaterMark: MAX_READ_CHUNK_BYTES });
      return await streamSource(path, stream, () => stream.destroy());
    }
    size = stat.size;
    head = await readFirstLine(handle);
  } catch (error) {
    await handle.close().catch(() => {});
    throw isCliError(error) ? error : fileError(path, error);
  }
  await handle.close().catch(() => {});
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
    async readAll(limit) {
      if (size > limit) return null;
      try {
        const bytes = await readFile(path);
        return bytes.length > limit ? null : bytes;
      } catch (error) {
        throw fileError(path, error);
      }
    },
  };
}

/**
 * An archive read once from a stream (standard input, a pipe, a FIFO): the first line is taken
 * from the front of it, and chunks() goes on from there. `close` releases the stream when
 * reading stops early.
 */
async function streamSource(name: string, stream: AsyncIterable<Uint8Array>, close: () => void = () => {}): Promise<Source> {
  const iterator = stream[Symbol.asyncIterator]();
  const next = async (): Promise<Buffer | null> => {
    try {
      const result = await iterator.next();
      return result.done === true ? null : Buffer.from(result.value.buffer, result.value.byteOffset, result.value.byteLength);
    } catch (error) {
      close();
      throw fileError(name, error);
    }
  };
  // Gather the first line, up to MAX_HEADER_BYTES: whatever more a chunk held stays in `front`.
  let front: Buffer = Buffer.alloc(0);
  let ended = false;
  while (front.length < MAX_HEADER_BYTES && !front.subarray(0, MAX_HEADER_BYTES).includes(0x0a)) {
    const chunk = await next();
    if (chunk === null) {
      ended = true;
      break;
    }
    front = front.length === 0 ? chunk : Buffer.concat([front, chunk]);
  }
  const head = firstLineOf(front);
  let started = false;
  return {
    name,
    size: ended ? front.length : NaN,
    head,
    async *chunks(start) {
      if (started || start !== head.consumed) throw new Error('a stream archive is read once, from the end of its first line');
      started = true;
      try {
        if (start < front.length) yield front.subarray(start);
        for (let chunk = ended ? null : await next(); chunk !== null; chunk = await next()) yield chunk;
      } finally {
        close();
      }
    },
    async readAll(limit) {
      const chunks: Buffer[] = [front];
      let total = front.length;
      for (let chunk = ended ? null : await next(); chunk !== null && total <= limit; chunk = await next()) {
        chunks.push(chunk);
        total += chunk.length;
      }
      close();
      return total > limit ? null : Buffer.concat(chunks, total);
    },
  };
}

/** The first line of bytes held in memory, as readFirstLine finds it in a file. */
function firstLineOf(bytes: Buffer): FirstLine {
  const newline = bytes.subarray(0, MAX_HEADER_BYTES).indexOf(0x0a);
  const prefix = bytes.subarray(0, PREFIX_BYTES);
  if (newline !== -1) return { bytes: bytes.subarray(0, newline), terminated: true, consumed: newline + 1, capped: false, prefix };
  const consumed = Math.min(bytes.length, MAX_HEADER_BYTES);
  return { bytes: bytes.subarray(0, consumed), terminated: false, consumed, capped: bytes.length >= MAX_HEADER_BYTES, prefix };
}

function bytesSource(name: string, bytes: Buffer): Source {
  const head = firstLineOf(bytes);
  return {
    name,
    size: bytes.length,
    head,
    // eslint-disable-next-line @typescript-eslint/require-await -- an async generator so that it is one AsyncIterable with the streaming readers
    async *chunks(start) {
      if (start < bytes.length) yield bytes.subarray(start);
    },
    readAll: (limit) => Promise.resolve(bytes.length > limit ? null : bytes),
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
    for (const [index, raw] of parts.entries.entries()) {
      const entry = decoder.value(raw, `entry ${index + 1}`);
      if (entry !== null) yield entry;
    }
    if (parts.trailer !== null) decoder.setTrailer(parts.trailer, 'closing fields');
  };
  return new Reader(name, header, settings, fromDocument, steps, { size: source.size, read: bytes.length });
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
  maxLineBytes: number;
  onBytes: ((bytesRead: number) => void) | undefined;
}

type EntrySource = (decoder: EntryDecoder) => AsyncGenerator<Entry>;

/** How far reading got: what the progress line shows. */
interface ByteCount {
  size: number;
  read: number;
}

class Reader implements ArchiveReader {
  readonly path: string;
  readonly header: ArchiveHeader;
  readonly #settings: Settings;
  readonly #source: EntrySource;
  readonly #steps: Migration[];
  #used = false;
  #trailer: ArchiveTrailer | null = null;
  #complete = false;
  readonly count: ByteCount;

  constructor(path: string, header: ArchiveHeader, settings: Settings, source: EntrySource, steps: Migration[], count: ByteCount) {
    this.path = path;
    this.header = header;
    this.#settings = settings;
    this.#source = source;
    this.#steps = steps;
    this.count = count;
  }

  get bytesRead(): number {
    return this.count.read;
  }

  get size(): number {
    return this.count.size;
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
    const decoder = new EntryDecoder(this.path, this.#steps, { validate: this.#settings.validate, onWarning: this.#settings.onWarning });
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
async function* streamLines(source: Source, start: number, decoder: EntryDecoder, settings: Settings, count: ByteCount): AsyncGenerator<Entry> {
  const { skipLine, maxLineBytes, onBytes } = settings;
  const splitter = new LineSplitter();
  let lineNumber = 1;
  for await (const chunk of source.chunks(start)) {
    count.read += chunk.length;
    onBytes?.(count.read);
    for (const line of splitter.push(chunk)) {
      lineNumber++;
      if (line.length > maxLineBytes) throw lineTooLong(source.name, lineNumber, maxLineBytes);
      if (skipLine?.(line) === true) {
        decoder.skip(lineNumber);
        continue;
      }
      const entry = decoder.line(line.toString('utf8'), lineNumber);
      if (entry !== null) yield entry;
    }
    // Checked after every chunk (at most MAX_READ_CHUNK_BYTES), so the line held never grows much
    // past the limit, whatever the input.
    if (splitter.pendingBytes > maxLineBytes) throw lineTooLong(source.name, lineNumber + 1, maxLineBytes);
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

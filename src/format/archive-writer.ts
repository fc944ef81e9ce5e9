/**
 * Writes an archive append-only, one entry per line (layout in archive-lines.ts).
 *
 * Crash safety comes from the order of operations, not from fsync: the recorder calls flush()
 * before it forwards the bytes a frame arrived in, so every forwarded frame's record has already
 * reached write(2) and survives the process being SIGKILLed (the kernel holds it). One write
 * per batch, not per frame: append() only queues, and flush() writes the whole queue at once.
 *
 * A failing disk must not take the proxy down with it: write errors are recorded in `error`, the
 * writer stops writing, and append/flush/close never throw. The recorder reports `error`. Which
 * entries the file holds stays exact even then: `onWritten` hears of each entry whose line reached
 * write(2) whole (or all but its final newline, which readers accept), also when a full disk cut
 * a batch short, so a summary can count what the archive holds rather than what was appended.
 */
import * as nodeFs from 'node:fs';
import { cliError, type CliError } from '../errors.js';
import { entryLine, headerLine, trailerLine } from './archive-lines.js';
import type { ArchiveHeader, ArchiveTrailer, Entry } from './schema.js';

/** The file system calls the writer makes; tests pass fakes to simulate a full disk. */
export interface WriterFs {
  openSync(path: string, flags: string, mode: number): number;
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number): number;
  fsyncSync(fd: number): void;
  closeSync(fd: number): void;
}

export interface ArchiveWriterOptions {
  /** Replace an existing file; without it, open() refuses to touch one (default false). */
  overwrite?: boolean;
  /** Queue size, in UTF-16 code units of queued JSON, above which append() flushes by itself. */
  maxQueued?: number;
  fs?: WriterFs;
  /** Called after each write with the entries whose lines it completed, in order. */
  onWritten?: (entries: readonly Entry[]) => void;
}

/** What the caller knows about an entry it appends (the recorder's hot path). */
export interface AppendHint {
  /** The entry's JSON is ASCII (its strings are): the line is then copied, not UTF-8 encoded. */
  ascii?: boolean;
  /** The caller calls flush() right after: no write is scheduled for later. */
  flushing?: boolean;
  /** A frame's text as the ASCII bytes it was decoded from (a large one is escaped from them). */
  textBytes?: Uint8Array;
}

/** Batches up to this many bytes are encoded into a buffer kept from one flush to the next. */
const SCRATCH_MAX = 1024 * 1024;

/** 1 MiB of queued lines (counted in string length: close enough for a bound). */
const DEFAULT_MAX_QUEUED = 1024 * 1024;
/** Marks a queued line appended as JSON (appendJson). */
const AS_JSON = Symbol('json');

export class ArchiveWriter {
  readonly #path: string;
  readonly #fd: number;
  readonly #fs: WriterFs;
  readonly #maxQueued: number;
  #queue: string[] = [];
  #queuedLength = 0;
  /** Every queued line was appended as ASCII (AppendHint.ascii). */
  #queuedAscii = true;
  /** Per queued line: its entry, null for the header, JSON for an entry queued as its text (appendJson). */
  #queuedEntries: Array<Entry | null | typeof AS_JSON> = [];
  readonly #onWritten: ((entries: readonly Entry[]) => void) | undefined;
  #appended = 0;
  #entriesWritten = 0;
  #entriesDropped = 0;
  #bytesWritten = 0;
  #error: CliError | null = null;
  #closed = false;
  #immediate: NodeJS.Immediate | null = null;
  /** Where batches are encoded (#encode); at most SCRATCH_MAX bytes, held while the writer lives. */
  #scratch: Buffer = Buffer.alloc(0);

  private constructor(path: string, fd: number, fs: WriterFs, maxQueued: number, onWritten: ((entries: readonly Entry[]) => void) | undefined) {
    this.#path = path;
    this.#fd = fd;
    this.#fs = fs;
    this.#maxQueued = maxQueued;
    this.#onWritten = onWritten;
  }

  /**
   * Create the archive and write its header line. The file is created with mode 0600, since
   * archives can hold credentials (cookies, tokens in frames). Throws CliError ERR_WRITE when the
   * file exists (unless `overwrite`), cannot be created, or the header cannot be written; any
   * later write failure is recorded in `error` instead.
   */
  static open(path: string, header: ArchiveHeader, options: ArchiveWriterOptions = {}): ArchiveWriter {
    const fs = options.fs ?? nodeFs;
    let fd: number;
    try {
      fd = fs.openSync(path, options.overwrite === true ? 'w' : 'wx', 0o600);
    } catch (error) {
      const code = errorCode(error);
      const why = code === 'EEXIST' ? 'the file already exists; wstape never overwrites an archive, so choose another name (--out)' : describeCode(code, error);
      throw cliError('ERR_WRITE', `cannot write ${path}: ${why}`);
    }
    const writer = new ArchiveWriter(path, fd, fs, options.maxQueued ?? DEFAULT_MAX_QUEUED, options.onWritten);
    writer.#enqueue(headerLine(header), null);
    // The header's strings (a --target URL, a header read back by `wstape redact`) may be any text.
    writer.#queuedAscii = false;
    writer.flush();
    if (writer.#error !== null) {
      writer.#closeFd();
      throw writer.#error;
    }
    return writer;
  }

  get path(): string {
    return this.#path;
  }

  /** The first write error, once one happened; nothing is written after it. */
  get error(): CliError | null {
    return this.#error;
  }

  /** Entries that reached write(2). */
  get entriesWritten(): number {
    return this.#entriesWritten;
  }

  /** Entries lost: queued when a write failed, or appended after it or after close(). */
  get entriesDropped(): number {
    return this.#entriesDropped;
  }

  /** Bytes that reached write(2), header and closing line included. */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Queue one entry. It reaches the file at the next flush(): the caller's, the one append makes
   * itself when the queue passes its bound, or at the latest one scheduled with setImmediate,
   * which runs before the event loop next waits for I/O. Never throws.
   */
  append(entry: Entry, hint?: AppendHint): void {
    if (this.#closed || this.#error !== null) {
      this.#entriesDropped++;
      return;
    }
    let line: string;
    try {
      line = entryLine(entry, this.#appended === 0, hint?.textBytes);
    } catch {
      // e.g. a payload too large to become one string: lose this entry (counted), not the recording.
      this.#entriesDropped++;
      return;
    }
    this.#appended++;
    this.#enqueue(line, entry);
    if (hint?.ascii !== true) this.#queuedAscii = false;
    if (this.#queuedLength > this.#maxQueued) this.flush();
    else if (this.#immediate === null && hint?.flushing !== true) this.#immediate = setImmediate(() => this.flush());
  }

  /**
   * Queue one entry given as its JSON, exactly the text append() would write for it (entryLine's,
   * without the leading comma and the newline): for copying entries serialised before, e.g. the
   * sorted runs of `wstape import`, without parsing and stringifying them again. The caller
   * vouches that it is a valid entry. Counted in entriesWritten, not given to onWritten.
   */
  appendJson(json: string): void {
    if (this.#closed || this.#error !== null) {
      this.#entriesDropped++;
      return;
    }
    const line = (this.#appended === 0 ? '' : ',') + json + '\n';
    this.#appended++;
    this.#enqueue(line, AS_JSON);
    // Any text may be in it: the batch is encoded as UTF-8, not copied as ASCII.
    this.#queuedAscii = false;
    if (this.#queuedLength > this.#maxQueued) this.flush();
    else if (this.#immediate === null) this.#immediate = setImmediate(() => this.flush());
  }

  /** Write everything queued, with one write(2) call (more only if the kernel takes part). Never throws. */
  flush(): void {
    if (this.#immediate !== null) {
      clearImmediate(this.#immediate);
      this.#immediate = null;
    }
    if (this.#queue.length === 0) return;
    const lines = this.#queue;
    // ASCII is its own UTF-8: latin1 copies it byte for byte, without the encoder's work.
    const data = this.#encode(lines.length === 1 ? (lines[0] ?? '') : lines.join(''), this.#queuedAscii ? 'latin1' : 'utf8');
    const queued = this.#queuedEntries;
    this.#queue = [];
    this.#queuedLength = 0;
    this.#queuedAscii = true;
    this.#queuedEntries = [];
    const written = this.#error === null ? this.#writeAll(data) : 0;
    // Usually every line; after a short write that ended in an error, the lines it completed.
    const complete = written === data.length ? lines.length : completeLines(lines, written);
    const entries: Entry[] = [];
    let asJson = 0;
    for (let i = 0; i < queued.length; i++) {
      const entry = queued[i];
      if (!entry) continue; // the header line
      if (i >= complete) this.#entriesDropped++;
      else if (entry === AS_JSON) asJson++;
      else entries.push(entry);
    }
    this.#entriesWritten += entries.length + asJson;
    if (entries.length > 0) this.#onWritten?.(entries);
  }

  /**
   * Finish the archive: flush, write the closing line, fsync, close. Idempotent; never throws.
   * Without a clean close() the archive stays readable, and readers warn that it is unfinished.
   */
  close(trailer: ArchiveTrailer): void {
    if (this.#closed) return;
    this.flush();
    const closing = Buffer.from(trailerLine(trailer), 'utf8');
    if (this.#error === null && this.#writeAll(closing) === closing.length) {
      try {
        this.#fs.fsyncSync(this.#fd);
      } catch (error) {
        // A pipe or character device cannot be fsynced; nothing is lost by that.
        const code = errorCode(error);
        if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EROFS') this.#fail(error);
      }
    }
    this.#closeFd();
  }

  /**
   * The bytes of `text`, in a buffer reused from one flush to the next while batches stay under
   * SCRATCH_MAX: a fresh buffer per batch costs, past glibc's mmap threshold (128 KiB), a new
   * mapping and a page fault per 4 KiB page every time (issue 13's profile of 64 KiB frames).
   * Valid until the next call.
   */
  #encode(text: string, encoding: 'latin1' | 'utf8'): Buffer {
    const bytes = encoding === 'latin1' ? text.length : Buffer.byteLength(text, 'utf8');
    if (bytes > SCRATCH_MAX) return Buffer.from(text, encoding);
    if (this.#scratch.length < bytes) this.#scratch = Buffer.allocUnsafeSlow(Math.min(SCRATCH_MAX, Math.max(bytes, 2 * this.#scratch.length)));
    const written = this.#scratch.write(text, 0, bytes, encoding);
    return this.#scratch.subarray(0, written);
  }

  #enqueue(line: string, entry: Entry | null | typeof AS_JSON): void {
    this.#queue.push(line);
    this.#queuedLength += line.length;
    this.#queuedEntries.push(entry);
  }

  /** Write all of `data`, as far as the file takes it; returns how many bytes reached write(2). */
  #writeAll(data: Buffer): number {
    let offset = 0;
    while (offset < data.length) {
      let written: number;
      try {
        written = this.#fs.writeSync(this.#fd, data, offset, data.length - offset);
      } catch (error) {
        this.#fail(error);
        return offset;
      }
      if (written <= 0) {
        this.#fail(new Error('write made no progress'));
        return offset;
      }
      offset += written;
      this.#bytesWritten += written;
    }
    return offset;
  }

  #fail(error: unknown): void {
    this.#error ??= cliError('ERR_WRITE', `cannot write ${this.#path}: ${describeCode(errorCode(error), error)}`);
  }

  #closeFd(): void {
    this.#closed = true;
    if (this.#immediate !== null) {
      clearImmediate(this.#immediate);
      this.#immediate = null;
    }
    try {
      this.#fs.closeSync(this.#fd);
    } catch (error) {
      this.#fail(error);
    }
  }
}

/**
 * How many of `lines` the first `bytes` bytes of their UTF-8 concatenation hold in full, counting a
 * line that lacks only its final newline: readers accept such a last line (docs/FORMAT.md).
 */
function completeLines(lines: readonly string[], bytes: number): number {
  let end = 0;
  for (let i = 0; i < lines.length; i++) {
    end += Buffer.byteLength(lines[i] ?? '', 'utf8');
    if (end - 1 > bytes) return i;
  }
  return lines.length;
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

const CODE_MEANINGS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'its directory does not exist',
  EISDIR: 'it is a directory',
  EROFS: 'the file system is read-only',
  EBADF: 'the file is no longer open',
  EIO: 'input/output error',
};

function describeCode(code: string | undefined, error: unknown): string {
  if (code === undefined) return error instanceof Error ? error.message : String(error);
  const meaning = CODE_MEANINGS[code];
  return meaning === undefined ? code : `${code} (${meaning})`;
}

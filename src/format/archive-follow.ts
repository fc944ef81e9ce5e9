/**
 * Following an archive while `wstape record` appends to it (`wstape show --follow`): the file is
 * read from the last offset every `pollMs` until its closing line appears, like `tail -f`, with
 * the same line semantics and validation as the streaming reader (archive-decode.ts).
 *
 * Polling rather than fs.watch: watch events are coalesced, dropped on network file systems and
 * differ between platforms, while a read that returns nothing costs one syscall. The recorder
 * flushes whole lines in batches; a line cut between two reads is held (LineSplitter) until its
 * "\n" arrives, so a partial line is never mistaken for damage. A complete line that is not an
 * entry is held back as the reader does: damage if anything follows it.
 *
 * Memory: the current unfinished line only.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { cliError, isCliError, type CliError } from '../errors.js';
import { decodeHeader, EntryDecoder, looksLikeWstape, type Migration } from './archive-decode.js';
import { LineSplitter, parseArchiveLine } from './archive-lines.js';
import { openArchive } from './archive-reader.js';
import type { ArchiveHeader, ArchiveTrailer, Entry } from './schema.js';

export interface FollowOptions {
  /** How often to look for new bytes, in milliseconds. Default 150. */
  pollMs?: number;
  /** Stops following (Ctrl-C): the generator returns after the current read. */
  signal?: AbortSignal;
  /** Called once when the file does not exist yet and following waits for it. */
  onWaiting?: () => void;
  /** One-line warnings (a reformatted archive is read whole, and so on). */
  onWarning?: (message: string) => void;
  /** Validate each entry against the schema (default true). */
  validate?: boolean;
}

/**
 * What following yields: the header once, then entries as they are appended; `caught-up` each
 * time the end of the file is reached after new bytes (the first one marks the end of what was
 * there when following started); `end` with the trailer when the closing line appears, after
 * which the generator returns.
 */
export type FollowEvent =
  { type: 'header'; header: ArchiveHeader } | { type: 'entry'; entry: Entry } | { type: 'caught-up' } | { type: 'end'; trailer: ArchiveTrailer | null };

const DEFAULT_POLL_MS = 150;
const READ_CHUNK_BYTES = 1024 * 1024;
/** Longest entry line read, as in archive-reader.ts. */
const MAX_LINE_BYTES = 256 * 1024 * 1024;
/** The header line is short; a first line longer than this is not one. */
const MAX_HEADER_BYTES = 1024 * 1024;

/**
 * Follow the archive at `path` until its closing line appears or `signal` aborts. Waits for the
 * file (and its header line) to appear. Throws CliError as openArchive does: ERR_FILE,
 * ERR_ARCHIVE_FORMAT, ERR_ARCHIVE_VERSION, ERR_ARCHIVE_DAMAGED (including a file that shrank
 * while it was followed).
 */
export async function* followArchive(path: string, options: FollowOptions = {}): AsyncGenerator<FollowEvent> {
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const signal = options.signal;
  const handle = await waitForFile(path, pollMs, options);
  if (handle === null) return;
  let reformatted = false;
  try {
    const splitter = new LineSplitter();
    let offset = 0;
    let lineNumber = 0;
    let decoder: EntryDecoder | null = null;
    let readSinceIdle = true;
    const buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES);
    for (;;) {
      if (signal?.aborted === true) return;
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(buffer, 0, buffer.length, offset));
      } catch (error) {
        throw fileError(path, error);
      }
      if (bytesRead === 0) {
        if ((await handle.stat()).size < offset) {
          throw cliError('ERR_ARCHIVE_DAMAGED', `${path} shrank while it was followed (truncated or replaced); start again`);
        }
        if (readSinceIdle && decoder === null && offset > 0 && !(await startsLikeWstape(handle))) {
          // A first line without its "\n" that is no wstape header (text, binary, another
          // format): not worth waiting for; the reader says what it is.
          reformatted = true;
          break;
        }
        if (readSinceIdle && decoder !== null) yield { type: 'caught-up' };
        readSinceIdle = false;
        await sleep(pollMs, signal);
        continue;
      }
      offset += bytesRead;
      readSinceIdle = true;
      // A copy of just the bytes read: the splitter keeps references to the pending line's bytes.
      for (const line of splitter.push(Buffer.from(buffer.subarray(0, bytesRead)))) {
        lineNumber++;
        const text = line.toString('utf8');
        if (decoder === null) {
          const header = headerOf(path, text);
          if (header === null) {
            reformatted = true;
            break;
          }
          decoder = new EntryDecoder(path, header.steps, {
            validate: options.validate ?? true,
            ...(options.onWarning ? { onWarning: options.onWarning } : {}),
          });
          yield { type: 'header', header: header.header };
          continue;
        }
        const entry = decoder.line(text, lineNumber);
        if (entry !== null) yield { type: 'entry', entry };
        if (decoder.trailer !== null) {
          yield { type: 'end', trailer: decoder.trailer };
          return;
        }
      }
      if (reformatted) break;
      const limit = decoder === null ? MAX_HEADER_BYTES : MAX_LINE_BYTES;
      if (splitter.pendingBytes > limit) throw lineTooLong(path, lineNumber + 1, decoder === null);
    }
  } finally {
    await handle.close().catch(() => {});
  }
  // Line 1 is complete and not a header line: a reformatted (so finished) archive, or not an
  // archive at all. The reader knows how to read the one and what to say about the other.
  const reader = await openArchive(path, {
    onWarning: options.onWarning ?? (() => {}),
    ...(options.validate !== undefined ? { validate: options.validate } : {}),
  });
  yield { type: 'header', header: reader.header };
  for await (const entry of reader.entries()) yield { type: 'entry', entry };
  yield { type: 'caught-up' };
  yield { type: 'end', trailer: reader.trailer };
}

/** True when the file's first bytes could be (the beginning of) a wstape header line. */
async function startsLikeWstape(handle: FileHandle): Promise<boolean> {
  const buffer = Buffer.alloc(64 * 1024);
  const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
  return looksLikeWstape(buffer.subarray(0, bytesRead).toString('utf8'));
}

/** The header of line 1, or null when line 1 is not a header line. */
function headerOf(path: string, text: string): { header: ArchiveHeader; steps: Migration[] } | null {
  const line = parseArchiveLine(text, 1);
  if (line.type !== 'header') return null;
  return decodeHeader(path, line.value);
}

/** Open the file, waiting (polling) while it does not exist; null when aborted first. */
async function waitForFile(path: string, pollMs: number, options: FollowOptions): Promise<FileHandle | null> {
  let told = false;
  for (;;) {
    if (options.signal?.aborted === true) return null;
    try {
      const handle = await open(path, 'r');
      const stat = await handle.stat();
      if (stat.isDirectory()) {
        await handle.close();
        throw cliError('ERR_FILE', `cannot read ${path}: it is a directory`);
      }
      return handle;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw isCliError(error) ? error : fileError(path, error);
    }
    if (!told) {
      told = true;
      options.onWaiting?.();
    }
    await sleep(pollMs, options.signal);
  }
}

/** Resolve after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted === true) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

function lineTooLong(path: string, lineNumber: number, header: boolean): CliError {
  if (header) return cliError('ERR_ARCHIVE_DAMAGED', `${path} line 1 is not a wstape header line`);
  return cliError('ERR_ARCHIVE_DAMAGED', `${path} line ${lineNumber} is damaged: it is longer than ${MAX_LINE_BYTES / 1024 / 1024} MiB`);
}

function fileError(path: string, error: unknown): CliError {
  const code = (error as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'ENOENT (no such file)' : code === 'EACCES' ? 'EACCES (permission denied)' : (code ?? String(error));
  return cliError('ERR_FILE', `cannot read ${path}: ${why}`);
}

/**
 * The recording session: one archive, one clock, the id counters, the running totals, and the
 * listeners that print the live view. Relays hand it entries; it never throws into them (a write
 * failure is reported once and recording stops, but forwarding goes on).
 *
 * Two sets of counts: `totals`, what passed through (every entry appended), and `archived`, what
 * the archive file holds (entries whose line reached write(2)). They differ only after a write
 * failure such as a full disk; the closing summary is `archived`.
 */
import type { RecorderErrorCode } from '../format/error-codes.js';
import type { ArchiveHeader, ArchiveTrailer, Entry } from '../format/schema.js';
import type { CliError } from '../errors.js';
import { ARCHIVE_FORMAT, ARCHIVE_VERSION } from '../format/schema.js';
import { ArchiveWriter, type AppendHint } from '../format/archive-writer.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from '../version.js';
import { RecordingClock, type Stamp } from './clock.js';

export interface RecorderOptions {
  /** Archive path. */
  path: string;
  maxPayload: number;
  recorderInfo: NonNullable<ArchiveHeader['recorder']>;
  /** Overwrite an existing file (tests, and the demo's fixed path). */
  overwrite?: boolean;
  /**
   * `record --redact`: entries pass through it before they are written (and shown). It may hold
   * a fragmented text message back until its last frame, to redact the whole message.
   */
  redactor?: EntryFilter;
}

/** Something that rewrites entries in order, possibly holding some back (src/redact/redactor.ts). */
export interface EntryFilter {
  push(entry: Entry): Entry[];
  flush(): Entry[];
  /** The archive header too (the recorder's --target URL may carry a token). */
  redactHeader?(header: ArchiveHeader): ArchiveHeader;
}

export type EntryListener = (entry: Entry) => void;

/** The counts of a recording: connections, exchanges, tunnels, frames, wire bytes, errors. */
export type ArchiveSummary = ArchiveTrailer['summary'];

export class Recorder {
  readonly clock = new RecordingClock();
  readonly maxPayload: number;
  readonly path: string;
  private readonly writer: ArchiveWriter;
  private readonly redactor: EntryFilter | undefined;
  private readonly listeners: EntryListener[] = [];
  private readonly counters = { c: 0, h: 0, t: 0 };
  private closed = false;
  private trailer: ArchiveTrailer | undefined;
  private writeErrorReported = false;
  /** What passed through: every entry appended, written or not. */
  readonly totals: ArchiveSummary = emptySummary();
  /** What the archive file holds: the entries that reached write(2). */
  readonly archived: ArchiveSummary = emptySummary();
  /** Called once if the archive cannot be written (disk full, file removed...). */
  onWriteError: ((error: Error) => void) | undefined;

  constructor(options: RecorderOptions) {
    this.path = options.path;
    this.maxPayload = options.maxPayload;
    const header: ArchiveHeader = {
      format: ARCHIVE_FORMAT,
      version: ARCHIVE_VERSION,
      creator: { name: PACKAGE_NAME, version: PACKAGE_VERSION },
      startedAt: this.clock.startedAt.toISOString(),
      recorder: options.recorderInfo,
    };
    this.writer = ArchiveWriter.open(options.path, options.redactor?.redactHeader?.(header) ?? header, {
      overwrite: options.overwrite ?? false,
      onWritten: (entries) => {
        for (const entry of entries) count(this.archived, entry);
      },
    });
    this.redactor = options.redactor;
  }

  /** A new id: c1, c2... for WebSocket connections, h1... for HTTP exchanges, t1... for tunnels. */
  nextId(prefix: 'c' | 'h' | 't'): string {
    this.counters[prefix] += 1;
    return `${prefix}${this.counters[prefix]}`;
  }

  now(): Stamp {
    return this.clock.now();
  }

  onEntry(listener: EntryListener): void {
    this.listeners.push(listener);
  }

  /**
   * Queue an entry. It reaches the file at the next flush() (or the end of this loop turn).
   * `hint` (archive-writer.ts) is what the caller knows of it: said of the entry as given, so
   * it is dropped when a redactor may change the entry.
   */
  append(entry: Entry, hint?: AppendHint): void {
    if (this.closed) return;
    count(this.totals, entry);
    if (this.redactor) {
      for (const redacted of this.redactor.push(entry)) this.write(redacted);
    } else {
      this.write(entry, hint);
    }
  }

  /**
   * Record that something went wrong, as an error entry written at once: `where` names the
   * connection (and direction) it concerns, when there is one. Failures are data, never thrown.
   */
  error(code: RecorderErrorCode, message: string, where: { conn?: string; dir?: 'out' | 'in' } = {}): void {
    this.append({
      kind: 'error',
      ...this.now(),
      ...(where.conn !== undefined ? { conn: where.conn } : {}),
      ...(where.dir !== undefined ? { dir: where.dir } : {}),
      code,
      message,
    });
    this.flush();
  }

  private write(entry: Entry, hint?: AppendHint): void {
    this.writer.append(entry, hint);
    for (const listener of this.listeners) listener(entry);
  }

  /** Write everything queued: called before the bytes the entries describe are forwarded. */
  flush(): void {
    if (this.closed) return;
    this.writer.flush();
    this.checkWriter();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The first error writing the archive (ERR_WRITE), once there was one; nothing is written after it. */
  get writeError(): CliError | null {
    return this.writer.error;
  }

  /** Entries that did not reach the archive: appended after a write error, or cut off by it. */
  get entriesLost(): number {
    return this.writer.entriesDropped;
  }

  /**
   * Finish the archive: trailer, fsync, close. Idempotent. The trailer's summary counts what the
   * archive holds, so it is taken after everything queued was written.
   */
  close(): ArchiveTrailer {
    if (!this.closed) {
      if (this.redactor) for (const held of this.redactor.flush()) this.write(held);
      this.closed = true;
      this.writer.flush();
      this.trailer = { stoppedAt: new Date().toISOString(), summary: { ...this.archived } };
      this.writer.close(this.trailer);
      this.checkWriter();
    }
    this.trailer ??= { stoppedAt: new Date().toISOString(), summary: { ...this.archived } };
    return this.trailer;
  }

  private checkWriter(): void {
    const error = this.writer.error;
    if (error && !this.writeErrorReported) {
      this.writeErrorReported = true;
      this.onWriteError?.(error);
    }
  }
}

function emptySummary(): ArchiveSummary {
  return { connections: 0, exchanges: 0, tunnels: 0, frames: 0, bytes: 0, errors: 0 };
}

function count(summary: ArchiveSummary, entry: Entry): void {
  switch (entry.kind) {
    case 'connection':
      summary.connections += 1;
      break;
    case 'http':
      summary.exchanges += 1;
      break;
    case 'tunnel':
      summary.tunnels += 1;
      break;
    case 'frame':
      summary.frames += 1;
      break;
    case 'end':
      summary.bytes += entry.bytesIn + entry.bytesOut;
      break;
    case 'error':
      summary.errors += 1;
      break;
  }
}

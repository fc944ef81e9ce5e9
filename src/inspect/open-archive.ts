/**
 * Opening an archive for a read-only use (list, show, hexdump, stats, export, replay, diff,
 * redact): the reader's warnings go to stderr as one line each, errors propagate to the entry
 * point, and, when asked, a progress line (src/output/progress.ts) follows the bytes read.
 */
import { openArchive, type ArchiveReader, type SkipLineFactory } from '../format/archive-reader.js';
import { warn, type Io } from '../io.js';
import { progressWanted, startProgress, type Progress } from '../output/progress.js';

export interface ReadingOptions {
  skipLine?: SkipLineFactory;
  /**
   * Show progress while entries() reads (on a terminal, for a large archive): `label` names the
   * command, `quiet` is its --quiet, `liveStdout` says it prints to stdout as it reads.
   */
  progress?: { label: string; quiet?: boolean | undefined; liveStdout?: boolean | undefined };
}

/**
 * Open an archive for reading. Reader warnings (such as an archive that was never closed) go to
 * stderr as they come; errors (ERR_FILE, ERR_ARCHIVE_*) propagate to the entry point, which
 * prints one line and exits 2.
 */
export async function openForReading(
  file: string,
  io: Pick<Io, 'stderr'> & Partial<Pick<Io, 'stdout' | 'env'>>,
  options: ReadingOptions = {},
): Promise<ArchiveReader> {
  const { progress: wanted, ...rest } = options;
  let progress: Progress | null = null;
  const reader = await openArchive(file, {
    ...rest,
    onWarning: (message) => {
      progress?.clear();
      warn(io, message);
    },
    onBytes: (read) => progress?.update(read),
  });
  if (wanted === undefined) return reader;
  const withEnv = { ...io, env: io.env ?? {} };
  if (!progressWanted(withEnv, { ...wanted, total: reader.size })) return reader;
  const line = startProgress(withEnv, { ...wanted, total: reader.size });
  progress = line;
  // The line is erased however reading ends: at the end, at an error, or when the caller stops.
  return {
    path: reader.path,
    header: reader.header,
    async *entries() {
      try {
        yield* reader.entries();
      } finally {
        line.done();
      }
    },
    get trailer() {
      return reader.trailer;
    },
    get complete() {
      return reader.complete;
    },
    get bytesRead() {
      return reader.bytesRead;
    },
    get size() {
      return reader.size;
    },
  };
}

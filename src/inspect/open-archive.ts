/**
 * Opening an archive for a read-only use (list, show, hexdump, stats, export, replay): the
 * reader's warnings go to stderr as one line each, errors propagate to the entry point.
 */
import { openArchive, type ArchiveReader } from '../format/archive-reader.js';
import { warn, type Io } from '../io.js';

/**
 * Open an archive for reading. Reader warnings (such as an archive that was never closed) go to
 * stderr as they come; errors (ERR_FILE, ERR_ARCHIVE_*) propagate to the entry point, which
 * prints one line and exits 2.
 */
export async function openForReading(file: string, io: Pick<Io, 'stderr'>, options: { skipLine?: (line: Buffer) => boolean } = {}): Promise<ArchiveReader> {
  return openArchive(file, { onWarning: (message) => warn(io, message), ...options });
}

/**
 * What the archive-reading commands (list, show) share: opening an archive with warnings on
 * stderr, writing lines to stdout with backpressure, and the FILE positional.
 */
import { FRAME_TYPES, splitList } from './frame-filter.js';
import type { Argv } from 'yargs';
import { openArchive, type ArchiveReader } from '../format/archive-reader.js';
import type { Io, OutputStream } from '../io.js';

/** Print a warning as one line on stderr: `wstape: warning: ...`. */
export function warn(io: Io, message: string): void {
  io.stderr.write(`wstape: warning: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
}

/**
 * Open an archive for a read-only command. Reader warnings (such as an archive that was never
 * closed) go to stderr as they come; errors (ERR_FILE, ERR_ARCHIVE_*) propagate to the entry
 * point, which prints one line and exits 2.
 */
export async function openForReading(file: string, io: Io, options: { skipLine?: (line: Buffer) => boolean } = {}): Promise<ArchiveReader> {
  return openArchive(file, { onWarning: (message) => warn(io, message), ...options });
}

/**
 * Write a chunk and, when the stream's buffer is full, wait for it to drain, so a command piped
 * into a slow reader holds a bounded amount of output in memory.
 */
export async function writeOut(stream: OutputStream, chunk: string | Uint8Array): Promise<void> {
  if (stream.write(chunk) || stream.once === undefined) return;
  await new Promise<void>((resolve) => {
    stream.once?.('drain', () => resolve());
  });
}

/** The terminal's width when the stream is one, else undefined. */
export function terminalColumns(stream: OutputStream): number | undefined {
  if (stream.isTTY !== true) return undefined;
  const columns = (stream as { columns?: unknown }).columns;
  return typeof columns === 'number' && columns > 0 ? columns : undefined;
}

/** The `<file>` positional every archive-reading command takes. */
export function fileArgument<T>(yargs: Argv<T>): Argv<T & { file: string }> {
  return yargs.positional('file', {
    describe: 'The archive to read (a .wstape.json file written by wstape record)',
    type: 'string',
    demandOption: true,
    normalize: true,
  }) as Argv<T & { file: string }>;
}

/** A repeatable option's values, each possibly comma-separated, as one flat list (yargs coerce). */
export function toList(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  return splitList((Array.isArray(value) ? value : [value]).map(String));
}

/** The last value of a string option given more than once (yargs makes an array of them). */
export function lastValue(value: unknown): string | undefined {
  const item: unknown = Array.isArray(value) ? value[value.length - 1] : value;
  return item === undefined ? undefined : String(item);
}

/** Which frames a filter option keeps, for the help text of commands that word it differently. */
export type FilterOptionHelp = Partial<Record<'conn' | 'dir' | 'grep' | 'since' | 'until', string>>;

/**
 * The frame filter options that show, export and friends share (--conn, --dir, --type, --grep,
 * -i, --since, --until), declared once so they parse the same everywhere.
 */
export function frameFilterOptions<T>(yargs: Argv<T>, help: FilterOptionHelp = {}) {
  return yargs
    .option('conn', {
      describe: help.conn ?? 'Only this connection id (repeat, or use commas, for several)',
      type: 'string',
      coerce: toList,
    })
    .option('dir', {
      describe: help.dir ?? 'Only one direction: out (client to server) or in (server to client)',
      type: 'string',
      choices: ['out', 'in'] as const,
    })
    .option('type', {
      describe: `Only these frame types, comma-separated: ${FRAME_TYPES.join(', ')}; or data (text,binary,continuation), control (close,ping,pong)`,
      type: 'string',
      coerce: toList,
    })
    .option('grep', {
      describe: help.grep ?? 'Only frames whose payload matches this regular expression (binary payloads are matched as latin1)',
      type: 'string',
      coerce: lastValue,
    })
    .option('ignore-case', {
      alias: 'i',
      describe: 'Make --grep case-insensitive',
      type: 'boolean',
    })
    .option('since', {
      describe: help.since ?? 'Only frames at or after this time: seconds from the recording start (12.5) or ISO 8601 (2026-11-25T10:30:05Z)',
      type: 'string',
      coerce: lastValue,
    })
    .option('until', {
      describe: help.until ?? 'Only frames at or before this time (same forms as --since)',
      type: 'string',
      coerce: lastValue,
    });
}

/**
 * The yargs pieces the archive-reading commands share: the FILE positional, list-valued options
 * and the frame filter options. Nothing here does I/O; opening archives is
 * src/inspect/open-archive.ts, backpressured writes are in src/io.ts.
 */
import path from 'node:path';
import type { Argv } from 'yargs';
import { FRAME_TYPES, splitList } from '../inspect/frame-filter.js';

/** The FILE that means standard input. */
export const STDIN_FILE = '-';

/**
 * A FILE positional's value, normalised; `-` (standard input) kept as it is. yargs re-parses a
 * positional as `--file VALUE`, which turns a lone `-` into "" (it reads as an option with no
 * value), so "" means `-` here: an empty file name could not name a file anyway.
 */
export function fileValue(value: unknown): string {
  const text = String(lastValue(value) ?? '');
  return text === '' || text === STDIN_FILE ? STDIN_FILE : path.normalize(text);
}

/** The `<file>` positional every archive-reading command takes; `-` reads standard input. */
export function fileArgument<T>(yargs: Argv<T>): Argv<T & { file: string }> {
  return yargs.positional('file', {
    describe: 'The archive to read (a .wstape.json file written by wstape record), or - for standard input',
    type: 'string',
    demandOption: true,
    coerce: fileValue,
  });
}

/** A repeatable option's values, each possibly comma-separated, as one flat list (yargs coerce). */
export function toList(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  return splitList((Array.isArray(value) ? value : [value]).map(String));
}

/** The last value of a string option given more than once (yargs makes an array of them). */
export function lastValue(value: unknown): string | undefined {
  const item: unknown = Array.isArray(value) ? value[value.length - 1] : value;
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- yargs gives strings, numbers or booleans here
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

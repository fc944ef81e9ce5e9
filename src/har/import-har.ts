/**
 * `wstape import`: a HAR from Chrome/Edge DevTools, mitmproxy, HTTP Toolkit, Playwright or
 * `wstape export`, written as a wstape archive, without holding either: the HAR is read twice
 * as a token stream (har-tokens.ts), first to validate it and learn each entry's start and clock
 * (har-scan.ts), then to convert it a message at a time (from-har.ts), and the entries made are
 * put in time order by an external sort (entry-sorter.ts) as they are written. Nothing is written
 * until both passes are done, so a bad HAR leaves no archive. The yargs side is
 * src/commands/import.ts.
 */
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path, { basename } from 'node:path';
import { EXIT_OK, cliError, isCliError } from '../errors.js';
import { ArchiveWriter } from '../format/archive-writer.js';
import type { ArchiveHeader, ArchiveTrailer, FrameEntry } from '../format/schema.js';
import { sameFile, warn, type Io } from '../io.js';
import { startProgress } from '../output/progress.js';
import { PACKAGE_VERSION } from '../version.js';
import { EntrySorter } from './entry-sorter.js';
import { archiveEnds, HarConverter, planImport, type ImportCounts } from './from-har.js';
import { HarScanner } from './har-scan.js';
import { walkHarFile, type HarVisitor } from './har-tokens.js';

export interface ImportOptions {
  file: string;
  /** The archive to write; default FILE with `.wstape.json` in place of `.har`. */
  out?: string | undefined;
  /** Replace OUT when it exists. */
  force?: boolean | undefined;
  /** No progress line. */
  quiet?: boolean | undefined;
}

/** `session.har` → `session.wstape.json`; `capture.json` → `capture.wstape.json`. */
export function defaultArchivePath(file: string): string {
  if (/\.har$/i.test(file)) return file.replace(/\.har$/i, '.wstape.json');
  if (/\.json$/i.test(file) && !/\.wstape\.json$/i.test(file)) return file.replace(/\.json$/i, '.wstape.json');
  return `${file}.wstape.json`;
}

/** A file error as one line: `cannot read X: ENOENT (no such file)`. */
function readError(path: string, error: unknown): Error {
  const code = (error as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOENT'
      ? 'ENOENT (no such file)'
      : code === 'EISDIR'
        ? 'it is a directory'
        : code === 'EACCES'
          ? 'EACCES (permission denied)'
          : String(code ?? error);
  return cliError('ERR_FILE', `cannot read ${path}: ${why}`);
}

/** One pass over the HAR; JSON and file errors as ERR_HAR and ERR_FILE lines. */
async function walk(file: string, visitor: HarVisitor, onBytes: (read: number) => void): Promise<void> {
  try {
    await walkHarFile(file, visitor, onBytes);
  } catch (error) {
    if (isCliError(error)) throw error;
    if (error instanceof SyntaxError) throw cliError('ERR_HAR', `${file} is not a HAR file: not JSON (${error.message})`);
    if (error instanceof RangeError) throw cliError('ERR_HAR', `${file} is not a HAR file wstape can import: ${error.message}`);
    throw readError(file, error);
  }
}

/**
 * The sorted entries into the archive, as the JSON they were sorted as (no second parse). A frame
 * whose `index` is its position in its connection (a HAR without wstape's frame details) was made
 * with index 0, which comes right after `kind` and `conn` (the schema's order, which validation
 * gives every made entry): that 0 becomes the position, counted in the connection's order here.
 */
function writeArchive(out: string, header: ArchiveHeader, trailer: ArchiveTrailer, sorter: EntrySorter, overwrite: boolean): void {
  const writer = ArchiveWriter.open(out, header, { overwrite });
  const positions = new Map<string, number>();
  for (const { json, conn } of sorter.sorted()) {
    if (conn === '') {
      writer.appendJson(json);
      continue;
    }
    const position = positions.get(conn) ?? 0;
    positions.set(conn, position + 1);
    const placeholder = `{"kind":"frame","conn":${JSON.stringify(conn)},"index":0,`;
    if (json.startsWith(placeholder)) writer.appendJson(`${placeholder.slice(0, -2)}${position},${json.slice(placeholder.length)}`);
    else writer.append({ ...(JSON.parse(json) as FrameEntry), index: position });
  }
  writer.close(trailer);
  if (writer.error !== null) throw writer.error;
}

const plural = (count: number, one: string, many: string): string => `${count} ${count === 1 ? one : many}`;

/** Run `wstape import`; returns the exit code. */
export async function runImport(options: ImportOptions, io: Io): Promise<number> {
  const out = options.out ?? defaultArchivePath(options.file);
  if (sameFile(path.resolve(io.cwd, options.file), path.resolve(io.cwd, out))) {
    throw cliError('ERR_USAGE', `will not write the archive over ${options.file} itself: pick another --out`);
  }
  // Checked before the HAR is read, with the same words as `wstape export`.
  if (options.force !== true && existsSync(path.resolve(io.cwd, out))) {
    throw cliError('ERR_WRITE', `cannot write ${out}: the file already exists (pick another name, or add --force)`);
  }
  let size: number;
  try {
    const info = await stat(options.file);
    if (info.isDirectory()) throw Object.assign(new Error('EISDIR'), { code: 'EISDIR' });
    size = info.size;
  } catch (error) {
    throw readError(options.file, error);
  }
  // One line per pass: `wstape import (checking): ...`, then `wstape import (converting): ...`.
  let progress = startProgress(io, { label: 'import (checking)', total: size, quiet: options.quiet });
  const onWarning = (message: string): void => {
    progress.clear();
    warn(io, message);
  };
  const sorter = new EntrySorter();
  let result: { creator: string | null; counts: ImportCounts };
  try {
    const scanner = new HarScanner(options.file);
    await walk(options.file, scanner, (read) => progress.update(read));
    const scan = scanner.finish();
    progress.done();
    progress = startProgress(io, { label: 'import (converting)', total: size, quiet: options.quiet });
    const plan = planImport(scan);
    const converter = new HarConverter(scan, plan, sorter, onWarning);
    await walk(options.file, converter, (read) => progress.update(read));
    converter.finish();
    progress.done();
    const { header, trailer } = archiveEnds(scan, plan, converter.counts, converter.totals, PACKAGE_VERSION);
    writeArchive(out, header, trailer, sorter, options.force === true);
    result = { creator: scan.log.creator?.name ?? null, counts: converter.counts };
  } finally {
    progress.done();
    sorter.dispose();
  }

  const { connections, frames, exchanges, failedConnections } = result.counts;
  const what = [
    `${plural(connections, 'WebSocket connection', 'WebSocket connections')} (${plural(frames, 'frame', 'frames')})`,
    ...(failedConnections > 0 ? [`${plural(failedConnections, 'WebSocket', 'WebSockets')} that never connected`] : []),
    plural(exchanges, 'HTTP exchange', 'HTTP exchanges'),
  ];
  const from = result.creator !== null && result.creator !== '' ? ` (written by ${result.creator})` : '';
  io.stderr.write(`wstape: imported ${what.join(' and ')} from ${basename(options.file)}${from} into ${out}\n`);
  if (connections + exchanges + failedConnections === 0) warn(io, `${options.file} holds no entries`);
  return EXIT_OK;
}

/**
 * `wstape import`: a HAR from Chrome/Edge DevTools, mitmproxy, HTTP Toolkit, Playwright or
 * `wstape export`, written as a wstape archive. The conversion is from-har.ts; this reads the
 * file, writes the archive and reports what it imported. The yargs side is
 * src/commands/import.ts.
 */
import { createReadStream, existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path, { basename } from 'node:path';
import { EXIT_OK, cliError } from '../errors.js';
import { ArchiveWriter } from '../format/archive-writer.js';
import { sameFile, warn, type Io } from '../io.js';
import { startProgress } from '../output/progress.js';
import { PACKAGE_VERSION } from '../version.js';
import { harToArchive } from './from-har.js';
import { parseHarText } from './har-schema.js';

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

/** The HAR's text, read in chunks with a progress line (on a terminal, for a large file). */
async function readText(path: string, io: Io, quiet: boolean | undefined): Promise<string> {
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw Object.assign(new Error('EISDIR'), { code: 'EISDIR' });
    const progress = startProgress(io, { label: 'import', total: info.size, quiet });
    const chunks: Buffer[] = [];
    let read = 0;
    try {
      for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
        chunks.push(chunk);
        read += chunk.length;
        progress.update(read);
      }
    } finally {
      progress.done();
    }
    return Buffer.concat(chunks, read).toString('utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'ENOENT (no such file)'
        : code === 'EISDIR'
          ? 'it is a directory'
          : code === 'EACCES'
            ? 'EACCES (permission denied)'
            : String(code ?? error);
    throw cliError('ERR_FILE', `cannot read ${path}: ${why}`);
  }
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
  const har = parseHarText(await readText(options.file, io, options.quiet), options.file);
  const result = harToArchive(har, { version: PACKAGE_VERSION, onWarning: (message) => warn(io, message) });

  const writer = ArchiveWriter.open(out, result.header, { overwrite: options.force === true });
  for (const entry of result.entries) writer.append(entry);
  writer.close(result.trailer);
  if (writer.error !== null) throw writer.error;

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

/**
 * `wstape export FILE --format har|md [-o OUT] [show filters] [--redact [--rule SPEC]...]`: an
 * archive, or the part of it the filters select, as a HAR 1.2 file that Chrome DevTools, HTTP
 * Toolkit and other HAR tools open (src/har/to-har.ts, docs/HAR.md), or as a Markdown transcript
 * to paste into a bug report (src/share/markdown.ts).
 *
 * The show filters apply (`--conn`, `--dir`, `--type`, `--grep`, `-i`, `--since`, `--until`);
 * what they mean for connections and HTTP exchanges is in src/har/export-scope.ts. `--redact`
 * runs the entries through the redaction engine (src/redact/) before they are converted.
 *
 * Streaming: HAR entries are written as they are completed (a WebSocket connection at its end
 * entry), so memory holds the open connections, not the archive. The Markdown transcript keeps
 * a bounded number of lines per connection. Output goes to stdout, or to `-o OUT`, written
 * under a temporary name and renamed when complete, created readable by its owner only (0600):
 * exports hold what the archive holds, cookies and tokens included.
 */
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { cliError } from '../errors.js';
import { processIo, sameFile, type Io } from '../io.js';
import { EXPORT_FORMATS, runExport, type ExportOptions } from '../share/export-archive.js';
import { DEFAULT_MAX_FRAMES } from '../share/markdown.js';
import { TIME_FORMATS } from '../output/frame-line.js';
import { QUIET_OPTION } from '../output/progress.js';
import { fileArgument, lastValue, frameFilterOptions } from './common.js';

/** Repeated values as a list, commas kept (a --rule regex may contain them). */
function toArray(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  return (Array.isArray(value) ? value : [value]).map(String);
}

/** Refuse an --out that is the archive being read (even with --force): the export would replace it. */
export function checkExportTarget(options: Pick<ExportOptions, 'file' | 'out'>, io: Pick<Io, 'cwd'>): void {
  if (options.out === undefined) return;
  if (sameFile(path.resolve(io.cwd, options.file), path.resolve(io.cwd, options.out))) {
    throw cliError('ERR_USAGE', `will not write the export over ${options.file} itself: pick another --out`);
  }
}

export const exportCommand: CommandModule<object, ExportOptions> = {
  command: 'export <file>',
  builder: (yargs) =>
    frameFilterOptions(fileArgument(yargs), {
      conn: 'Only this connection or exchange id (repeat, or use commas, for several)',
      dir: 'Only frames in one direction: out (client to server) or in (server to client)',
      grep: 'Only frames (HAR: messages) whose payload matches this regular expression',
      since: 'Only what happened at or after this time: seconds from the recording start (12.5) or ISO 8601',
      until: 'Only what happened at or before this time (same forms as --since)',
    })
      .option('format', {
        alias: 'f',
        describe:
          'har: HAR 1.2 (Chrome DevTools, HTTP Toolkit, ...); md: a Markdown transcript; html: one self-contained page with a viewer. Default: md for an --out ending in .md, html for .html, else har',
        type: 'string',
        choices: EXPORT_FORMATS,
      })
      .option('out', {
        alias: 'o',
        describe: 'Write to this file (created 0600) instead of stdout',
        type: 'string',
        coerce: lastValue,
      })
      .option('force', {
        describe: 'Replace --out when it exists',
        type: 'boolean',
      })
      .option('quiet', QUIET_OPTION)
      .option('redact', {
        describe: 'Replace credentials (auth headers, cookies, tokens, JWTs, secret JSON fields) with [REDACTED] first',
        type: 'boolean',
      })
      .option('rule', {
        describe: 'Another redaction rule (repeatable; implies --redact): header:NAME, query:NAME, json:KEY-REGEX, regex:PATTERN',
        type: 'string',
        coerce: toArray,
      })
      .option('max-frames', {
        describe: `Markdown: frame lines per connection, the first and last halves (default ${DEFAULT_MAX_FRAMES})`,
        type: 'number',
      })
      .option('time', {
        describe: 'Markdown: utc (default), clock (local time of day) or rel (seconds since the start); HTML: how the page first shows times (default clock)',
        type: 'string',
        choices: TIME_FORMATS,
      })
      .example('$0 export session.wstape.json -o session.har', 'Open it in Chrome DevTools: Network panel, Import HAR')
      .example('$0 export session.wstape.json --format md --conn c2 --redact > bug.md', 'A transcript of one connection for an issue')
      .example('$0 export session.wstape.json --grep error -i --since 30 -o part.har', 'Only the messages that matter')
      .example('$0 export session.wstape.json --redact -o report.html', 'A page to attach to a bug report: open it in any browser'),
  handler: async (argv) => {
    const io = processIo();
    checkExportTarget(argv, io);
    process.exitCode = await runExport(argv, io);
  },
};

/**
 * The entry point: parses argv with yargs, dispatches to one module per command, and is the only
 * place that calls process.exit, through the error-code table in errors.ts.
 */
import yargs from 'yargs';
import { isCliError } from './errors.js';
import { PACKAGE_VERSION } from './version.js';
import { recordCommand } from './commands/record.js';
import { listCommand } from './commands/list.js';
import { showCommand } from './commands/show.js';
import { demoCommand } from './commands/demo.js';
import { caCommand } from './commands/ca.js';
import { replayCommand } from './commands/replay.js';
import { hexdumpCommand } from './commands/hexdump.js';
import { statsCommand } from './commands/stats.js';
import { diffCommand } from './commands/diff.js';
import { redactCommand } from './commands/redact.js';
import { exportCommand } from './commands/export.js';
import { importCommand } from './commands/import.js';

/** Exit codes, documented in the README. */
export const EXIT_OK = 0;
export const EXIT_DIFFERENT = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERNAL = 70;

export async function main(argv: string[]): Promise<void> {
  // An EPIPE on stdout (`wstape show x | head`) is not an error worth a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(EXIT_OK);
  });

  const parser = yargs(argv)
    .scriptName('wstape')
    // `--no-intercept PATTERN` is an option of its own, not the negation of `--intercept`.
    .parserConfiguration({ 'boolean-negation': false })
    .usage('$0 <command> [options]\n\nRecord, inspect and replay WebSocket and HTTP traffic.')
    .command(demoCommand)
    .command(recordCommand)
    .command(listCommand)
    .command(showCommand)
    .command(hexdumpCommand)
    .command(statsCommand)
    .command(replayCommand)
    .command(diffCommand)
    .command(exportCommand)
    .command(importCommand)
    .command(redactCommand)
    .command(caCommand)
    .demandCommand(1, 'Name a command, e.g. wstape demo, record, list, show or replay. See wstape --help.')
    .strict()
    .recommendCommands()
    .version(PACKAGE_VERSION)
    .help()
    .alias('h', 'help')
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .epilogue('Exit codes: 0 ok, 1 difference found, 2 bad input or usage, 3 cannot listen or write, 70 internal error.')
    .fail((message, error) => {
      if (error) throw error;
      process.stderr.write(`wstape: ${message}\n`);
      process.stderr.write('Run "wstape --help" for usage.\n');
      process.exit(EXIT_USAGE);
    });

  try {
    await parser.parseAsync();
    // Commands set process.exitCode; the loop exits when their work is done.
  } catch (error) {
    if (isCliError(error)) {
      process.stderr.write(`wstape: ${error.message}\n`);
      process.exit(error.exitCode);
    }
    process.stderr.write(`wstape: internal error; please report it with the command you ran.\n`);
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(EXIT_INTERNAL);
  }
}

/**
 * `wstape import FILE.har [-o OUT] [--force]`: a HAR from Chrome/Edge DevTools, mitmproxy, HTTP
 * Toolkit, Playwright or `wstape export` as a wstape archive, so `list`, `show`, `stats`, `diff`
 * and `replay` work on it. The conversion is src/har/from-har.ts; docs/HAR.md lists the mapping
 * and what a HAR cannot say.
 *
 * A file that is not a HAR the importer can read is refused before anything is written, with one
 * line naming the JSON path of the first problem (ERR_HAR, exit code 2), e.g.
 * `log.entries[3].request.headers: expected an array, got an object`.
 */
import type { CommandModule } from 'yargs';
import { runImport, type ImportOptions } from '../har/import-har.js';
import { processIo } from '../io.js';
import { QUIET_OPTION } from '../output/progress.js';

export const importCommand: CommandModule<object, ImportOptions> = {
  command: 'import <file>',
  builder: (yargs) =>
    yargs
      .positional('file', {
        describe: 'The HAR file to read',
        type: 'string',
        demandOption: true,
        normalize: true,
      })
      .option('out', {
        alias: 'o',
        describe: 'The archive to write (default: FILE with .wstape.json in place of .har)',
        type: 'string',
        normalize: true,
      })
      .option('force', {
        describe: 'Replace --out when it exists',
        type: 'boolean',
      })
      .option('quiet', QUIET_OPTION)
      .example('$0 import session.har', 'Writes session.wstape.json')
      .example('$0 import session.har -o s.wstape.json && $0 show s.wstape.json --conn c1', 'Then read it like any recording'),
  handler: async (argv) => {
    process.exitCode = await runImport(argv, processIo());
  },
};

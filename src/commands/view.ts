/**
 * `wstape view FILE [--port N] [--open]`: the browser viewer, served on 127.0.0.1 with a token in
 * its URL, following the archive as `wstape record` writes it (src/share/live-viewer.ts).
 */
import type { CommandModule } from 'yargs';
import { processIo } from '../io.js';
import { runView, type ViewOptions } from '../share/live-viewer.js';
import { fileValue, lastValue } from './common.js';

export const viewCommand: CommandModule<object, ViewOptions> = {
  command: 'view <file>',
  builder: (yargs) =>
    yargs
      .positional('file', {
        describe: 'The archive, finished or still being recorded (it is waited for if it does not exist yet)',
        type: 'string',
        demandOption: true,
        coerce: fileValue,
      })
      .option('port', {
        alias: 'p',
        type: 'string',
        coerce: (value: unknown) => {
          const last = lastValue(value);
          return last === undefined ? undefined : Number(last);
        },
        describe: 'Port on 127.0.0.1 (default: a free one)',
      })
      .option('open', { type: 'boolean', describe: "Open the page with the system's browser opener (xdg-open, open) when there is one" })
      .example('$0 view session.wstape.json --open', 'Browse an archive')
      .example(
        '$0 record --target ws://localhost:9000 -o live.wstape.json & $0 view live.wstape.json',
        'Watch a recording as it runs (or: wstape record --view)',
      ),
  handler: async (argv) => {
    process.exitCode = await runView(argv, processIo());
  },
};

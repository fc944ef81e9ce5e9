/**
 * `wstape close ID [--code N] [--reason TEXT] [--abort] [--recorder PORT|ARCHIVE]`: close an open
 * connection of a running `wstape record` with a close handshake on both sides, or drop it
 * (`--abort`: both peers see 1006), through its control channel (src/control/). `--list` prints
 * the open connections instead.
 */
import type { CommandModule } from 'yargs';
import { askRecorder, printOpen } from '../control/client.js';
import { closeProblem, type ControlRequest } from '../control/protocol.js';
import { EXIT_OK, cliError } from '../errors.js';
import { processIo, type Io } from '../io.js';
import { lastValue } from './common.js';

export interface CloseOptions {
  conn?: string;
  code?: number;
  reason?: string;
  abort?: boolean;
  recorder?: string;
  list?: boolean;
}

/** Run `wstape close`; returns the exit code. */
export async function runClose(options: CloseOptions, io: Io): Promise<number> {
  if (options.list) return printOpen(options.recorder, io);
  const conn = options.conn;
  if (conn === undefined || conn === '')
    throw cliError('ERR_USAGE', 'name the connection to close, e.g. wstape close c1 (wstape close --list shows the open ones)');
  let request: ControlRequest;
  if (options.abort) {
    if (options.code !== undefined || options.reason !== undefined)
      throw cliError('ERR_USAGE', '--abort sends no close frame, so it takes no --code or --reason');
    request = { version: 1, op: 'abort', conn };
  } else {
    const code = options.code ?? 1000;
    const reason = options.reason ?? '';
    const problem = closeProblem(code, reason);
    if (problem !== undefined) throw cliError('ERR_USAGE', problem);
    request = { version: 1, op: 'close', conn, code, reason };
  }
  const { recorder } = await askRecorder(options.recorder, request, io);
  const what = request.op === 'abort' ? 'aborted' : `closed with ${request.code}${request.reason === '' ? '' : ` "${request.reason}"`}`;
  io.stderr.write(`wstape: ${conn} ${what} (port ${recorder.port})\n`);
  return EXIT_OK;
}

export const closeCommand: CommandModule<object, CloseOptions> = {
  command: 'close [conn]',
  builder: (yargs) =>
    yargs
      .positional('conn', { describe: 'The connection id, as in the live view and the archive (c1, c2...)', type: 'string', coerce: lastValue })
      .option('code', {
        type: 'number',
        coerce: (value: unknown) => (value === undefined ? undefined : Number(lastValue(value))),
        describe: 'The close code both peers get (default 1000); 1000-1003, 1007-1014 or 3000-4999',
      })
      .option('reason', { type: 'string', describe: 'The close reason (at most 123 bytes of UTF-8)', coerce: lastValue })
      .option('abort', { type: 'boolean', describe: 'Drop both TCP connections without a close frame (each peer sees 1006)' })
      .option('recorder', {
        type: 'string',
        describe: 'Which running recorder: its port, or the archive it writes (default: the only one running)',
        coerce: lastValue,
      })
      .option('list', { type: 'boolean', default: false, describe: 'Print the open connections (ID and URL) and exit' })
      .example('$0 close c1', 'close c1 on both sides with 1000')
      .example('$0 close c1 --code 1011 --reason "server restart"', 'what a crashing server would send')
      .example('$0 close c1 --abort --recorder 8080', 'drop the TCP connections (the peers see 1006)'),
  handler: async (argv) => {
    process.exitCode = await runClose(argv, processIo());
  },
};

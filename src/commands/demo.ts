/**
 * `wstape demo`: the self-contained tour. Starts a built-in chat server, records a scripted
 * session through the recording proxy while printing the live view, leaves the archive, and
 * prints the commands to explore it.
 */
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { EXIT_OK } from '../errors.js';
import { processIo, type Io } from '../io.js';
import { startChatServer } from '../demo/chat-server.js';
import { runDemoSession } from '../demo/demo-client.js';
import { startRecording, summaryLine } from '../record/recording.js';

export interface DemoOptions {
  out: string;
  quiet: boolean;
}

export async function runDemo(options: DemoOptions, io: Io): Promise<number> {
  const server = await startChatServer();
  const session = await startRecording({ host: '127.0.0.1', port: 0, out: options.out, quiet: options.quiet, maxPayload: '16MiB' }, io, { overwrite: true });
  io.stderr.write(`wstape demo: chat server on ws://127.0.0.1:${server.port}/chat, recording proxy on ${session.url}\n`);
  io.stderr.write(`wstape demo: a scripted client connects through the proxy (as HTTP_PROXY=${session.url} would)\n\n`);
  try {
    await runDemoSession(session.port, server.port);
  } finally {
    const trailer = await session.stop(1000);
    await server.close();
    io.stderr.write(`\n${summaryLine(trailer, session.path)}\n`);
  }
  const file = path.relative(io.cwd, session.path) || session.path;
  io.stderr.write(
    [
      '',
      'Explore it:',
      `  npx wstape list ${file}                        # connections and exchanges`,
      `  npx wstape show ${file}                        # every frame, both directions`,
      `  npx wstape show ${file} --dir out --type text  # what the client said`,
      `  npx wstape show ${file} --json | head -3       # one JSON object per frame`,
      `  npx wstape stats ${file}                       # round trips, silences, why it closed`,
      `  npx wstape replay ${file} --as server --port 9000   # a mock of the chat server`,
      `  npx wstape export ${file} --format md          # a transcript for a bug report`,
      '',
      'Record your own app: npx wstape record, then point it at HTTP_PROXY=http://127.0.0.1:8080',
      '',
    ].join('\n'),
  );
  return EXIT_OK;
}

export const demoCommand: CommandModule<object, DemoOptions> = {
  command: 'demo',
  builder: (yargs: Argv) =>
    yargs
      .option('out', { alias: 'o', type: 'string', default: 'wstape-demo.wstape.json', describe: 'Archive path (overwritten)' })
      .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Do not print the live view' })
      .example('$0 demo', 'record the demo session to wstape-demo.wstape.json'),
  handler: async (argv) => {
    process.exitCode = await runDemo(argv, processIo());
  },
};

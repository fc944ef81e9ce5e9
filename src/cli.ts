/**
 * The entry point: a table of commands, each loaded only when it runs, so `wstape show` does not
 * pay for node-forge, the HAR schemas or the recording proxy (changesets does the same). It is the
 * only place that calls process.exit, through the exit codes in errors.ts.
 *
 * How a command is found without loading the others: when argv[0] names a command (or an alias),
 * only that module is imported and registered, so its `--help` is the full one. Otherwise (no
 * command, top-level `--help`, a typo) every module is imported, so the help lists them all.
 * `--version` alone is answered before yargs is loaded. A usage failure (a mistyped command or
 * option, a bad value) is one line with the nearest known name and the command's own --help
 * (cli-suggest.ts), never the usage dump.
 */
import type { Argv, CommandModule } from 'yargs';
import { usageLine } from './cli-suggest.js';
import { EXIT_DIFFERENT, EXIT_INTERNAL, EXIT_IO, EXIT_OK, EXIT_USAGE, isCliError } from './errors.js';
import { PACKAGE_VERSION } from './version.js';

/** One command as the entry point knows it before its module is loaded. */
export interface CommandEntry {
  name: string;
  aliases?: readonly string[];
  /** The one line shown by `wstape --help`; the single place each command is described. */
  describe: string;
  /** Import the command's module and return its yargs definition. */
  load: () => Promise<CommandModule>;
}

/** yargs types a module by its options; the table holds modules of different options alike. */
function untyped<Options>(module: CommandModule<object, Options>): CommandModule {
  return module as unknown as CommandModule;
}

/** Every command, in the order `wstape --help` lists them. */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'demo',
    describe: 'Record a scripted session against a built-in chat server and show what wstape sees',
    load: async () => untyped((await import('./commands/demo.js')).demoCommand),
  },
  {
    name: 'record',
    describe: 'Run a recording proxy: relay WebSocket and HTTP traffic unchanged and write it to an archive',
    load: async () => untyped((await import('./commands/record.js')).recordCommand),
  },
  {
    name: 'send',
    describe: 'Inject a message into an open connection of a running recorder (towards the client or the server)',
    load: async () => untyped((await import('./commands/send.js')).sendCommand),
  },
  {
    name: 'close',
    describe: 'Close (with a code) or abort an open connection of a running recorder',
    load: async () => untyped((await import('./commands/close.js')).closeCommand),
  },
  {
    name: 'list',
    describe: 'List the connections, HTTP exchanges and tunnels in an archive',
    load: async () => untyped((await import('./commands/list.js')).listCommand),
  },
  {
    name: 'show',
    describe: 'Print the frames (or whole messages) of an archive, with filters; --follow a running recording',
    load: async () => untyped((await import('./commands/show.js')).showCommand),
  },
  {
    name: 'hexdump',
    describe: 'Dump frame payloads as hexdump -C does (binary frames by default), or write them raw',
    load: async () => untyped((await import('./commands/hexdump.js')).hexdumpCommand),
  },
  {
    name: 'stats',
    describe: 'Per WebSocket connection: traffic, ping round trips, silences, anomalies, and why it closed',
    load: async () => untyped((await import('./commands/stats.js')).statsCommand),
  },
  {
    name: 'replay',
    describe: 'Replay a recorded session: as a mock of the server, or as the client against a real server',
    load: async () => untyped((await import('./commands/replay.js')).replayCommand),
  },
  {
    name: 'diff',
    describe: 'Compare the WebSocket conversations of two archives (exit 1 when they differ)',
    load: async () => untyped((await import('./commands/diff.js')).diffCommand),
  },
  {
    name: 'export',
    describe: 'Write an archive (or the part the filters select) as HAR for browser devtools, Markdown or a self-contained HTML viewer for a bug report',
    load: async () => untyped((await import('./commands/export.js')).exportCommand),
  },
  {
    name: 'view',
    describe: 'Browse an archive in a browser, live while it is being recorded (served on 127.0.0.1 with a token)',
    load: async () => untyped((await import('./commands/view.js')).viewCommand),
  },
  {
    name: 'import',
    describe: 'Turn a HAR file (Chrome, Edge, mitmproxy, HTTP Toolkit, Playwright) into a wstape archive',
    load: async () => untyped((await import('./commands/import.js')).importCommand),
  },
  {
    name: 'redact',
    describe: 'Replace secrets (auth headers, cookies, tokens, passwords, JWTs) in an archive before sharing it',
    load: async () => untyped((await import('./commands/redact.js')).redactCommand),
  },
  {
    name: 'ca',
    describe: 'The root CA for TLS interception: print, inspect or replace it',
    load: async () => untyped((await import('./commands/ca.js')).caCommand),
  },
];

/** The entry whose name or alias is `word`, if any. */
export function findCommand(word: string | undefined): CommandEntry | undefined {
  if (word === undefined) return undefined;
  return COMMANDS.find((entry) => entry.name === word || (entry.aliases ?? []).includes(word));
}

/** The modules to register for this argv: the named command only, or all of them. */
async function loadCommands(argv: readonly string[]): Promise<Array<{ entry: CommandEntry; module: CommandModule }>> {
  const named = findCommand(argv[0]);
  const entries = named !== undefined ? [named] : COMMANDS;
  return Promise.all(entries.map(async (entry) => ({ entry, module: await entry.load() })));
}

export async function main(argv: string[]): Promise<void> {
  // An EPIPE on stdout (`wstape show x | head`) is not an error worth a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(EXIT_OK);
  });
  if (argv.length === 1 && argv[0] === '--version') {
    process.stdout.write(`${PACKAGE_VERSION}\n`);
    return;
  }

  try {
    const [{ default: yargs }, commands] = await Promise.all([import('yargs'), loadCommands(argv)]);
    let parser: Argv = yargs(argv)
      .scriptName('wstape')
      // `--no-intercept PATTERN` is an option of its own, not the negation of `--intercept`.
      .parserConfiguration({ 'boolean-negation': false })
      .usage('$0 <command> [options]\n\nRecord, inspect and replay WebSocket and HTTP traffic.');
    skipHelpCache(parser);
    for (const { entry, module } of commands) {
      // Registered without its handler, which runs below once parsing is done, outside yargs.
      const { handler: _handler, ...definition } = module;
      parser = parser.command({ ...definition, describe: entry.describe, ...(entry.aliases ? { aliases: [...entry.aliases] } : {}) } as CommandModule);
    }
    parser = parser
      .demandCommand(1, 'Name a command, e.g. wstape demo, record, list, show or replay. See wstape --help.')
      .strict()
      .recommendCommands()
      .version(PACKAGE_VERSION)
      .help()
      .alias('h', 'help')
      .wrap(Math.min(100, process.stdout.columns ?? 100))
      .epilogue(
        `Exit codes: ${EXIT_OK} ok, ${EXIT_DIFFERENT} difference found or nothing matched, ${EXIT_USAGE} bad input or usage, ` +
          `${EXIT_IO} cannot listen or write, ${EXIT_INTERNAL} internal error.`,
      )
      .fail((message, error) => {
        if (error) throw error;
        // One line: what was mistyped, the nearest known name, and the command's own --help.
        const named = findCommand(argv[0]);
        const module = commands.find(({ entry }) => entry === named)?.module;
        process.stderr.write(`wstape: ${usageLine(argv, message, COMMANDS, module)}\n`);
        process.exit(EXIT_USAGE);
      });
    const parsed = await parser.parseAsync();
    const ran = commands.find(({ entry }) => parsed._[0] === entry.name || (entry.aliases ?? []).includes(String(parsed._[0])));
    // Commands set process.exitCode; the loop exits when their work is done.
    if (ran !== undefined) await ran.module.handler(parsed);
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

/** The part of yargs's internals that `skipHelpCache` reaches; absent in a yargs without it. */
interface YargsInternals {
  getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } };
}

/**
 * yargs lays out the whole help text of a command before it calls the command's handler, in case
 * the handler fails and wants to print it (cacheHelpMessage in yargs/build/lib/command.js). Our
 * handlers run after parsing and never print help, and that layout (string-width over every
 * option) is 30 to 80 ms of a short command such as `show`. `--help` itself does not use the
 * cache, so it is unchanged. If a yargs release renames the internals, this does nothing.
 */
export function skipHelpCache(parser: Argv): void {
  const usage = (parser as unknown as YargsInternals).getInternalMethods?.().getUsageInstance?.();
  if (usage !== undefined && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => {};
}

/**
 * Parse an argv with a real command module, the way the CLI does, and return the options its
 * handler would get (the handler itself is not run).
 */
import yargs from 'yargs';
import type { CommandModule } from 'yargs';

export async function parseCommand<Options>(command: CommandModule<object, Options>, argv: string[]): Promise<Options> {
  let captured: Options | undefined;
  await yargs(argv)
    // As in src/cli.ts: `--no-x` options are options of their own.
    .parserConfiguration({ 'boolean-negation': false })
    .command({ ...command, handler: (args) => void (captured = args as Options) })
    .strict()
    .exitProcess(false)
    .fail((message, error) => {
      throw error ?? new Error(message);
    })
    .parseAsync();
  if (captured === undefined) throw new Error('handler not called');
  return captured;
}

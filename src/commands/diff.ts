/**
 * `wstape diff A B [--conn-a ID] [--conn-b ID] [--ignore SPEC]... [--timing-tolerance MS] [--json]`:
 * compare the WebSocket conversations of two archives, frame by frame, each direction aligned on
 * its own (the logic, and the `--json` fields, are in replay/diff.ts; what counts as the same
 * frame is in replay/match.ts).
 *
 * By default the WebSocket connections of A and B are paired in order (the first connection of A
 * with the first of B, ...) and a connection without a partner is a difference; `--conn-a` and
 * `--conn-b` compare exactly those two (one alone names the same id in both archives).
 *
 * An archive of a session wstape changed (hooks, flags, `wstape send`) holds what arrived and
 * what was delivered: `--view-a`/`--view-b` (src/inspect/views.ts) choose, so the same archive
 * given twice, `--view-a arrived --view-b delivered`, shows what wstape changed.
 *
 * Exit code: 0 when no difference was found, 1 when one was, 2 on bad usage or a bad archive.
 *
 * The run (loading, comparing, printing) is in replay/diff-archives.ts.
 */
import type { CommandModule } from 'yargs';
import { processIo } from '../io.js';
import { QUIET_OPTION } from '../output/progress.js';
import { ARCHIVE_VIEWS } from '../inspect/views.js';
import { runDiff, type DiffOptions } from '../replay/diff-archives.js';

export { runDiff, type DiffOptions } from '../replay/diff-archives.js';

/** Repeated values as one list (no comma splitting: patterns and paths may contain commas). */
function toArray(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  return (Array.isArray(value) ? value : [value]).map(String);
}

export const diffCommand: CommandModule<object, DiffOptions> = {
  command: 'diff <a> <b>',
  builder: (yargs) =>
    yargs
      .positional('a', { describe: 'The first archive (the expected side)', type: 'string', demandOption: true, normalize: true })
      .positional('b', { describe: 'The second archive (the actual side)', type: 'string', demandOption: true, normalize: true })
      .option('conn-a', {
        describe: 'Compare only this connection of A (alone: the same id in both)',
        type: 'string',
      })
      .option('conn-b', {
        describe: 'Compare only this connection of B (alone: the same id in both)',
        type: 'string',
      })
      .option('ignore', {
        describe:
          "Leave out of the comparison: a JSONPath into JSON payloads ('$.ts', '$.items[*].id', '$..requestId') or re:REGEX (masked in text payloads); repeat for several",
        type: 'string',
        coerce: toArray,
      })
      .option('timing-tolerance', {
        describe: 'Also report frames whose gap from the previous frame moved by more than this many milliseconds',
        type: 'number',
      })
      .option('view-a', {
        describe: 'A session wstape changed: read A as what arrived from the peers, or what was delivered to them',
        choices: ARCHIVE_VIEWS,
        default: 'delivered',
      })
      .option('view-b', {
        describe: 'The same for B',
        choices: ARCHIVE_VIEWS,
        default: 'delivered',
      })
      .option('quiet', QUIET_OPTION)
      .option('json', {
        describe: 'One JSON object per difference per line (stable fields: see the README)',
        type: 'boolean',
        default: false,
      })
      .example('$0 diff before.wstape.json after.wstape.json', 'What changed between two recordings')
      .example("$0 diff a.wstape.json b.wstape.json --ignore '$.ts' --ignore 're:[0-9a-f]{8}-[0-9a-f-]{27}'", 'Ignore a timestamp field and UUIDs')
      .example('$0 diff a.wstape.json b.wstape.json --conn-a c2 --conn-b c1 --json | jq .kind', 'Two chosen connections, as JSON lines')
      .example('$0 diff a.wstape.json b.wstape.json --timing-tolerance 50', 'Also flag frames that came 50 ms earlier or later')
      .example('$0 diff s.wstape.json s.wstape.json --view-a arrived --view-b delivered', 'What wstape changed (hooks, flags) in a session'),
  handler: async (argv) => {
    process.exitCode = await runDiff(argv, processIo());
  },
};

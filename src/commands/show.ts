/**
 * `wstape show FILE [--conn ID] [--dir out|in] [--type LIST] [--grep REGEX] [--json]`: the frames
 * of an archive in the arrow view, one per line, or as JSON lines.
 *
 * Streaming: each frame is filtered and printed as it is read, so memory stays constant however
 * large the archive is. The filters live in frame-filter.ts.
 *
 * `--json` prints each frame entry as archived, minus its `kind` field, one per line: conn, index,
 * time, elapsed, dir, type, opcode, fin, rsv1, rsv2, rsv3, masked, mask?, compressed?, size,
 * wireSize, text | data, truncated?, code?, reason?, flags? (docs/FORMAT.md describes each).
 */
import type { CommandModule } from 'yargs';
import type { FrameEntry } from '../format/schema.js';
import { processIo, useColor, type Io } from '../io.js';
import { DEFAULT_MAX_WIDTH, formatFrameLine, type LineOptions } from '../output/frame-line.js';
import { fileArgument, openForReading, terminalColumns, writeOut } from './common.js';
import { FRAME_TYPES, buildFrameFilter, frameMatches, splitList } from './frame-filter.js';

export interface ShowOptions {
  file: string;
  /** Connection ids; each item may be a comma list. */
  conn?: string[] | undefined;
  dir?: 'out' | 'in' | undefined;
  /** Frame type names; each item may be a comma list. Validated by runShow. */
  type?: string[] | undefined;
  /** A JavaScript regular expression. Validated by runShow. */
  grep?: string | undefined;
  json: boolean;
}

/** A frame as `show --json` prints it: the archive's frame entry without `kind`. */
export type ShowJsonFrame = Omit<FrameEntry, 'kind'>;

/** The `show --json` object for a frame entry. */
export function frameToJson(frame: FrameEntry): ShowJsonFrame {
  const { kind: _kind, ...rest } = frame;
  return rest;
}

/** Run `wstape show`; returns the exit code. Bad filters throw ERR_USAGE before reading. */
export async function runShow(options: ShowOptions, io: Io): Promise<number> {
  const filter = buildFrameFilter(options);
  const reader = await openForReading(options.file, io);
  const lineOptions: LineOptions = {
    color: useColor(io.stdout, io.env),
    maxWidth: terminalColumns(io.stdout) ?? DEFAULT_MAX_WIDTH,
  };
  for await (const entry of reader.entries()) {
    if (entry.kind !== 'frame' || !frameMatches(entry, filter)) continue;
    const line = options.json ? JSON.stringify(frameToJson(entry)) : formatFrameLine(entry, lineOptions);
    await writeOut(io.stdout, `${line}\n`);
  }
  return 0;
}

/** Repeated or comma-separated values as one flat list. */
function toList(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  return splitList((Array.isArray(value) ? value : [value]).map(String));
}

export const showCommand: CommandModule<object, ShowOptions> = {
  command: 'show <file>',
  describe: 'Print the frames of an archive, one per line, with filters',
  builder: (yargs) =>
    fileArgument(yargs)
      .option('conn', {
        describe: 'Only this connection id (repeat, or use commas, for several)',
        type: 'string',
        coerce: toList,
      })
      .option('dir', {
        describe: 'Only one direction: out (client to server) or in (server to client)',
        type: 'string',
        choices: ['out', 'in'] as const,
      })
      .option('type', {
        describe: `Only these frame types, comma-separated: ${FRAME_TYPES.join(', ')}`,
        type: 'string',
        coerce: toList,
      })
      .option('grep', {
        describe: 'Only frames whose payload matches this regular expression (binary payloads are matched as latin1)',
        type: 'string',
      })
      .option('json', {
        describe: 'One JSON object per frame per line (the archived frame without "kind")',
        type: 'boolean',
        default: false,
      })
      .example('$0 show session.wstape.json', 'All frames in the arrow view')
      .example('$0 show session.wstape.json --conn c2 --dir in --type text', 'Text frames the server sent on c2')
      .example('$0 show session.wstape.json --grep \'"type":"error"\' --json | jq .text', 'Frames mentioning an error, as JSON'),
  handler: async (argv) => {
    process.exitCode = await runShow(argv, processIo());
  },
};

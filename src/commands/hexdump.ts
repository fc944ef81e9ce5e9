/**
 * `wstape hexdump FILE [--conn ID] [--index N] [--dir out|in] [--type LIST] [--grep RE] [--raw]`:
 * frame payloads in the canonical `hexdump -C` layout, or as raw bytes for piping.
 *
 * Which frames:
 * - without --index: every frame the filters select (as in `show`); without --type, binary frames
 *   and the continuation frames of binary messages, that is every binary payload.
 * - with --index N (which needs exactly one --conn, since frame numbers count within a
 *   connection): that one frame, of any type unless --type says otherwise. Reading stops there.
 *   A frame that does not exist, or that the other filters reject, is ERR_USAGE.
 *
 * Output: for each frame a header line, `c1 #4 <-- binary 1.2 KiB` (dim on a TTY), then exactly
 * what `hexdump -C` prints for its payload (nothing for an empty payload), then a blank line.
 * A payload the archive kept only in part is dumped as kept, and the header says so:
 * `c1 #4 <-- binary 1.0 MiB (truncated: first 64.0 KiB kept)`.
 * With --index (exactly one frame) there is no header and no blank line: the output is byte for
 * byte what `hexdump -C` prints for the payload, so it can be diffed against the real tool; a
 * truncated payload is then said on stderr, as with --raw.
 *
 * `--raw`: the payload bytes themselves, nothing else, one frame after the other (so several
 * fragments come out as their message). Truncated payloads are written as kept, with a warning
 * on stderr. Raw bytes are not written to a terminal, where they could be control sequences: on
 * a TTY `--raw` refuses (ERR_USAGE) unless the payloads are printable text without control
 * characters, or `--force` is given. Redirect or pipe it instead (`> payload.bin`, `| file -`).
 *
 * Streaming: frames are read, dumped and forgotten one at a time; a large payload is written in
 * pieces with backpressure.
 */
import type { CommandModule } from 'yargs';
import { EXIT_OK, cliError } from '../errors.js';
import type { FrameEntry } from '../format/schema.js';
import { framePayload, MessageTypeTracker } from '../inspect/frame-payload.js';
import { hexdumpChunks, hexdumpHeader } from '../output/hexdump.js';
import { processIo, useColor, warn, writeOut, type Io, type OutputStream } from '../io.js';
import { makePalette } from '../output/colors.js';
import { printableText } from '../output/payload.js';
import { formatSize } from '../output/units.js';
import { fileArgument, toList } from './common.js';
import { openForReading } from '../inspect/open-archive.js';
import { FRAME_TYPES, buildFrameFilter, frameMatches, splitList } from '../inspect/frame-filter.js';

export interface HexdumpOptions {
  file: string;
  /** Connection ids; each item may be a comma list. */
  conn?: string[] | undefined;
  /** One frame's number within its connection (needs exactly one --conn). */
  index?: number | undefined;
  dir?: 'out' | 'in' | undefined;
  /** Frame type names; each item may be a comma list. Default: binary payloads. */
  type?: string[] | undefined;
  grep?: string | undefined;
  /** Write the payload bytes instead of the dump. */
  raw: boolean;
  /** With --raw: write to a terminal even when the payload is not printable text. */
  force: boolean;
}

/** Write bytes and wait for 'drain' when the stream's buffer is full. */
async function writeBytes(stream: OutputStream, bytes: Uint8Array): Promise<void> {
  if (stream.write(bytes) || stream.once === undefined) return;
  await new Promise<void>((resolve) => {
    stream.once?.('drain', () => resolve());
  });
}

/** Bytes that are safe to show on a terminal as they are: printable UTF-8 text (or nothing). */
function safeForTerminal(bytes: Uint8Array): boolean {
  return bytes.length === 0 || printableText(bytes) !== null;
}

function checkIndexOptions(options: HexdumpOptions): { conn: string; index: number } | null {
  if (options.index === undefined) return null;
  if (!Number.isSafeInteger(options.index) || options.index < 0) {
    throw cliError('ERR_USAGE', `--index must be a frame number (0 or more), not ${String(options.index)}`);
  }
  const conns = splitList(options.conn ?? []);
  if (conns.length !== 1) {
    throw cliError('ERR_USAGE', '--index needs exactly one --conn: frame numbers count within a connection (see wstape list)');
  }
  return { conn: conns[0] as string, index: options.index };
}

/** Run `wstape hexdump`; returns the exit code. Bad options throw ERR_USAGE before reading. */
export async function runHexdump(options: HexdumpOptions, io: Io): Promise<number> {
  const target = checkIndexOptions(options);
  const filter = buildFrameFilter(options);
  // Without --type (and without --index) only binary payloads: binary frames and their continuations.
  const binaryOnly = options.type === undefined && target === null;
  const p = makePalette(useColor(io.stdout, io.env));
  const guardTerminal = options.raw && io.stdout.isTTY === true && !options.force;

  const reader = await openForReading(options.file, io);
  const messages = new MessageTypeTracker();
  let dumped = 0;
  let framesInTarget = 0;
  let targetFrame: FrameEntry | null = null;

  for await (const entry of reader.entries()) {
    if (entry.kind !== 'frame') continue;
    const messageType = messages.observe(entry);
    if (target !== null) {
      if (entry.conn !== target.conn) continue;
      framesInTarget++;
      if (entry.index !== target.index) continue;
      targetFrame = entry;
      if (!frameMatches(entry, filter)) break;
    } else {
      if (!frameMatches(entry, filter)) continue;
      if (binaryOnly && messageType !== 'binary') continue;
    }

    const bytes = framePayload(entry);
    if (options.raw) {
      if (guardTerminal && !safeForTerminal(bytes)) {
        throw cliError(
          'ERR_USAGE',
          `refusing to write the binary payload of ${entry.conn} #${entry.index} to a terminal; ` +
            'redirect or pipe it (> payload.bin, | file -, | xxd), or add --force',
        );
      }
      if (entry.truncated === true) {
        warn(io, `${entry.conn} #${entry.index}: the archive keeps only the first ${formatSize(bytes.length)} of ${formatSize(entry.size)}; wrote those`);
      }
      await writeBytes(io.stdout, bytes);
    } else if (target !== null) {
      // One frame: nothing but the dump, so `diff <(hexdump -C payload.bin) <(wstape hexdump ...)` is empty.
      if (entry.truncated === true) {
        warn(io, `${entry.conn} #${entry.index}: the archive keeps only the first ${formatSize(bytes.length)} of ${formatSize(entry.size)}; dumped those`);
      }
      for (const chunk of hexdumpChunks(bytes)) await writeOut(io.stdout, chunk);
    } else {
      await writeOut(io.stdout, `${p.dim(hexdumpHeader(entry, bytes.length))}\n`);
      for (const chunk of hexdumpChunks(bytes)) await writeOut(io.stdout, chunk);
      await writeOut(io.stdout, '\n');
    }
    dumped++;
    if (target !== null) break;
  }

  if (target !== null && dumped === 0) {
    const where = `${target.conn} #${target.index}`;
    if (targetFrame !== null) {
      throw cliError('ERR_USAGE', `${where} is a ${targetFrame.dir} ${targetFrame.type} frame, which the other filters (--dir, --type, --grep) leave out`);
    }
    const has = framesInTarget === 0 ? `there is no connection ${target.conn} with frames` : `${target.conn} has frames #0 to #${framesInTarget - 1}`;
    throw cliError('ERR_USAGE', `no frame ${where} in ${options.file}: ${has}`);
  }
  if (target === null && dumped === 0) {
    warn(io, binaryOnly ? 'no binary frames matched (add --type to dump other frame types)' : 'no frames matched the filters');
  }
  return EXIT_OK;
}

export const hexdumpCommand: CommandModule<object, HexdumpOptions> = {
  command: 'hexdump <file>',
  builder: (yargs) =>
    fileArgument(yargs)
      .option('conn', {
        describe: 'Only this connection id (repeat, or use commas, for several)',
        type: 'string',
        coerce: toList,
      })
      .option('index', {
        describe: 'Only the frame with this number in its connection (needs one --conn); any type; dumped without a header, as hexdump -C prints it',
        type: 'number',
      })
      .option('dir', {
        describe: 'Only one direction: out (client to server) or in (server to client)',
        type: 'string',
        choices: ['out', 'in'] as const,
      })
      .option('type', {
        describe: `Only these frame types, comma-separated: ${FRAME_TYPES.join(', ')} (default: binary payloads)`,
        type: 'string',
        coerce: toList,
      })
      .option('grep', {
        describe: 'Only frames whose payload matches this regular expression (binary payloads are matched as latin1)',
        type: 'string',
      })
      .option('raw', {
        describe: 'Write the payload bytes themselves (to a file or a pipe, not a terminal)',
        type: 'boolean',
        default: false,
      })
      .option('force', {
        describe: 'With --raw: write to a terminal even when the payload is not printable text',
        type: 'boolean',
        default: false,
      })
      .example('$0 hexdump session.wstape.json', 'Every binary payload')
      .example('$0 hexdump session.wstape.json --conn c1 --index 4', 'Frame #4 of c1, whatever its type: exactly what hexdump -C prints, no header')
      .example('$0 hexdump session.wstape.json --conn c1 --index 4 --raw | file -', 'What the payload is')
      .example('$0 hexdump session.wstape.json --type text,binary --dir in --grep PNG', 'Server payloads mentioning PNG'),
  handler: async (argv) => {
    process.exitCode = await runHexdump(argv, processIo());
  },
};

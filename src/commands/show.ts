/**
 * `wstape show FILE [filters] [--messages] [--format pretty|json|raw] [--follow]`: the frames (or
 * reassembled messages) of an archive in the arrow view, as JSON lines, or as raw payload bytes.
 *
 * Streaming: each entry is read, filtered and printed in turn, so memory stays constant however
 * large the archive is; only `--tail N` keeps N rows, and `--messages` the unfinished message of
 * each connection and direction. `--follow` reads a recording that is still being written, until
 * its closing line appears (archive-follow.ts).
 *
 * The pipeline, per frame: message reassembly (--messages, src/inspect/messages.ts) or message
 * typing (a continuation is judged as its message's type), then the filters (frame-filter.ts),
 * then --hide-heartbeats, then --limit / --tail, then content detection and output. Detection
 * needs the connection's subprotocol, tracked from connection entries while streaming.
 *
 * `--format json` prints each row as the archived frame entry minus its `kind` (conn, index, time,
 * elapsed, dir, type, opcode, fin, rsv1-3, masked, mask?, compressed?, size, wireSize,
 * text | data, truncated?, code?, reason?, flags?), then with --messages `fragments`, `lastIndex`
 * and `incomplete?`, then `detected?` (the Detection id) and `decoded?` (the decoded value).
 * README "Machine-readable output" is the contract: add fields, never rename.
 */
import type { CommandModule } from 'yargs';
import { EXIT_NO_MATCH, EXIT_OK, cliError } from '../errors.js';
import type { Detection, DetectContext } from '../detect/types.js';
import { followArchive } from '../format/archive-follow.js';
import type { ArchiveHeader, Entry, FrameEntry } from '../format/schema.js';
import { framePayload, MessageTypeTracker } from '../inspect/frame-payload.js';
import { MessageAssembler, rowBytes, type InspectRow, type Row } from '../inspect/messages.js';
import { processIo, useColor, terminalColumns, warn, writeOut, type Io } from '../io.js';
import { DEFAULT_MAX_WIDTH, TIME_FORMATS, type TimeFormat } from '../output/frame-line.js';
import { decodedJson, FILE_FORMAT_IDS, formatShowRow, type ShowRowOptions } from '../output/show-row.js';
import { QUIET_OPTION } from '../output/progress.js';
import { fileArgument, frameFilterOptions, STDIN_FILE } from './common.js';
import { openForReading } from '../inspect/open-archive.js';
import { buildFrameFilter, frameLineSkipper, frameMatches, type FrameFilter, type FrameFilterSpec } from '../inspect/frame-filter.js';
import { WhereMatcher } from '../inspect/where.js';
import { ConnectionIds } from '../inspect/conn-ids.js';
import { ConnectionNotes } from '../output/connection-notes.js';

export type ShowFormat = 'pretty' | 'json' | 'raw';
export const SHOW_FORMATS: readonly ShowFormat[] = ['pretty', 'json', 'raw'];

export interface ShowOptions extends FrameFilterSpec {
  file: string;
  /** No progress line. */
  quiet?: boolean | undefined;
  /** Connection ids; each item may be a comma list. */
  conn?: string[] | undefined;
  /** Frame type names or the groups data, control; each item may be a comma list. */
  type?: string[] | undefined;
  /** `--json`: the same as `--format json`. */
  json?: boolean | undefined;
  format?: ShowFormat | undefined;
  /** Print only the first N rows that pass the filters, then stop reading. */
  limit?: number | undefined;
  /** Print only the last N rows that pass the filters. */
  tail?: number | undefined;
  /** One row per message: fragmented messages reassembled. */
  messages?: boolean | undefined;
  /** Leave out ping/pong frames and protocol keep-alives (Engine.IO, graphql, STOMP...). */
  hideHeartbeats?: boolean | undefined;
  /** Pretty form: re-indent JSON payloads over several lines. */
  prettyJson?: boolean | undefined;
  time?: TimeFormat | undefined;
  /** A .proto file and a message type in it: binary messages are decoded as that type. */
  proto?: string | undefined;
  message?: string | undefined;
  /** Keep reading while the archive grows, until the recording is closed. */
  follow?: boolean | undefined;
  /** `--where EXPR`: only rows the expression holds for (docs/WHERE.md); ANDed with the filters. */
  where?: string | undefined;
}

/** What the caller of runShow controls besides the options. */
export interface ShowRuntime {
  /** Stops --follow (Ctrl-C); runShow then returns 0. */
  signal?: AbortSignal;
  /** --follow polling interval in milliseconds. */
  pollMs?: number;
}

/** A row as `show --format json` prints it. */
export type ShowJsonFrame = Omit<FrameEntry, 'kind'> & {
  fragments?: number;
  lastIndex?: number;
  incomplete?: true;
  detected?: string;
  decoded?: unknown;
};

/** The `show --json` object for a frame entry or message row, with what detection found. */
export function frameToJson(frame: FrameEntry | Row, detection?: Detection | null): ShowJsonFrame {
  const { kind: _kind, ...rest } = frame;
  const json: ShowJsonFrame = rest;
  if (detection != null) {
    json.detected = detection.id;
    if (detection.decoded !== undefined) json.decoded = detection.decoded;
  }
  return json;
}

/** `--format`, with `--json` as its alias; both at once must agree. */
export function resolveFormat(options: Pick<ShowOptions, 'json' | 'format'>): ShowFormat {
  if (options.format !== undefined && !SHOW_FORMATS.includes(options.format)) {
    throw cliError('ERR_USAGE', `unknown --format "${String(options.format)}"; use ${SHOW_FORMATS.join(', ')}`);
  }
  if (options.json === true) {
    if (options.format !== undefined && options.format !== 'json')
      throw cliError('ERR_USAGE', `--json is --format json; it cannot be combined with --format ${options.format}`);
    return 'json';
  }
  return options.format ?? 'pretty';
}

function checkCount(value: number | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < 1) throw cliError('ERR_USAGE', `${flag} takes a whole number of rows, 1 or more`);
  return value;
}

/** Detection as show uses it: the registry, plus a typed protobuf decoder from --proto. */
interface Detect {
  detect(bytes: Uint8Array, context: DetectContext): Detection | null;
  isHeartbeat(bytes: Uint8Array, context: DetectContext): boolean;
  /** The subprotocol detectors only: what the pretty form tags text rows with. */
  detectProtocol(bytes: Uint8Array, context: DetectContext): Detection | null;
}

/** The registry is loaded only when a row needs it, so `show --format raw` does not pay for it. */
async function loadDetect(options: ShowOptions): Promise<Detect> {
  const registry = await import('../detect/registry.js');
  if (options.proto === undefined || options.message === undefined) return registry;
  const decode = await registry.loadProtoDecoder(options.proto, options.message);
  const label = `${options.message.replace(/^\./, '')} (protobuf)`;
  return {
    isHeartbeat: registry.isHeartbeat,
    detectProtocol: registry.detectProtocol,
    detect(bytes, context) {
      const found = registry.detect(bytes, context);
      if (context.type !== 'binary' || bytes.length === 0 || (found !== null && FILE_FORMAT_IDS.has(found.id))) return found;
      // A file format recognised by its magic number stands; anything else is read as TYPE.
      try {
        return { id: 'protobuf', label, decoded: decode(bytes) };
      } catch {
        // Not a valid message of that type: whatever the registry found stands.
        return found;
      }
    },
  };
}

/** A row that passed the filters, with what detection needs to judge it later. */
interface Pending extends InspectRow {
  subprotocol: string | null;
}

/** An archive's events as show reads them: entries, and for --follow when it caught up. */
type SourceEvent = { type: 'entry'; entry: Entry } | { type: 'caught-up' };

async function* archiveEvents(options: ShowOptions, io: Io, runtime: ShowRuntime, filter: FrameFilter): AsyncGenerator<SourceEvent> {
  if (options.follow !== true) {
    // Skip lines that cannot match without parsing them. Not by type when a frame's message
    // matters: --messages reassembles it, and a continuation is judged by its first frame.
    const byType = options.messages !== true && filter.types !== undefined && !filter.types.has('continuation');
    // wstape writes each line with JSON.stringify, which lets a literal --grep skip lines too.
    const skipLine = (header: ArchiveHeader) => frameLineSkipper(filter, { byType, stringified: header.creator.name === 'wstape' });
    const progress = { label: 'show', quiet: options.quiet, liveStdout: true };
    const reader = await openForReading(options.file, io, { skipLine, progress });
    for await (const entry of reader.entries()) yield { type: 'entry', entry };
    return;
  }
  if (options.file === STDIN_FILE) throw cliError('ERR_USAGE', '--follow reads a file as the recorder writes it; it cannot follow standard input (-)');
  const events = followArchive(options.file, {
    ...(runtime.signal !== undefined ? { signal: runtime.signal } : {}),
    ...(runtime.pollMs !== undefined ? { pollMs: runtime.pollMs } : {}),
    onWaiting: () => io.stderr.write(`wstape: waiting for ${options.file} to appear (Ctrl-C stops)\n`),
    onWarning: (message) => warn(io, message),
  });
  for await (const event of events) {
    // The header and the trailer ('end', after which the generator returns) are not rows.
    if (event.type === 'entry' || event.type === 'caught-up') yield event;
  }
}

/** Run `wstape show`; returns the exit code. Bad options throw ERR_USAGE before reading. */
export async function runShow(options: ShowOptions, io: Io, runtime: ShowRuntime = {}): Promise<number> {
  const filter = buildFrameFilter(options);
  const format = resolveFormat(options);
  const limit = checkCount(options.limit, '--limit');
  const tail = checkCount(options.tail, '--tail');
  if (limit !== undefined && tail !== undefined) throw cliError('ERR_USAGE', '--limit and --tail cannot be combined');
  if ((options.proto === undefined) !== (options.message === undefined)) {
    throw cliError('ERR_USAGE', '--proto FILE and --message TYPE go together: the .proto file and the message type in it');
  }
  if (options.time !== undefined && !TIME_FORMATS.includes(options.time)) {
    throw cliError('ERR_USAGE', `unknown --time "${String(options.time)}"; use ${TIME_FORMATS.join(', ')}`);
  }
  const where = options.where !== undefined ? new WhereMatcher(options.where) : null;
  const hideHeartbeats = options.hideHeartbeats === true;
  const detector = format !== 'raw' || hideHeartbeats ? await loadDetect(options) : null;

  const lineOptions: ShowRowOptions = {
    color: format === 'pretty' && useColor(io.stdout, io.env),
    maxWidth: terminalColumns(io.stdout) ?? DEFAULT_MAX_WIDTH,
    ...(options.time !== undefined ? { time: options.time } : {}),
    ...(options.prettyJson === true ? { prettyJson: true } : {}),
  };

  // The pretty view's `===` lines: which URL each connection is, and how it ended.
  const notes = format === 'pretty' ? new ConnectionNotes({ filter, hideHeartbeats, where: where !== null, line: lineOptions }) : null;
  const printNotes = async (lines: string[]): Promise<void> => {
    for (const line of lines) await writeOut(io.stdout, `${line}\n`);
  };

  const print = async ({ row, messageType, subprotocol }: Pending): Promise<void> => {
    if (format === 'raw') {
      // The payload as kept; a close frame archived with only code and reason gets them back.
      await writeOut(io.stdout, framePayload(row));
      return;
    }
    // The pretty form shows what detection found on binary payloads only: text rows skip it.
    const wanted = messageType !== null && detector !== null && (format === 'json' || messageType === 'binary');
    // Text rows get only the subprotocol detectors, for their tag ([socket.io EVENT "chat"]).
    const tagged = !wanted && format === 'pretty' && messageType === 'text' && detector !== null && row.fin && row.type === 'text';
    const detection = wanted
      ? detector.detect(rowBytes(row), { type: messageType, subprotocol })
      : tagged
        ? detector.detectProtocol(rowBytes(row), { type: messageType, subprotocol })
        : null;
    if (format === 'json') {
      await writeOut(io.stdout, `${decodedJson(frameToJson(row, detection))}\n`);
    } else {
      if (notes !== null) await printNotes(notes.beforeRow(row.conn));
      await writeOut(io.stdout, `${formatShowRow(row, { messageType, detection }, lineOptions)}\n`);
    }
  };

  const rows = new RowSink({ filter, where, hideHeartbeats, detector, limit, tail, print });
  const subprotocols = new Map<string, string | null>();
  const assembler = options.messages === true ? new MessageAssembler() : null;
  const typer = new MessageTypeTracker();
  const connections = new ConnectionIds();
  // Entries are in capture order, so with an --until in seconds nothing after it can match.
  const stopAfter = filter.until?.kind === 'elapsed' ? filter.until.seconds + 1 : Infinity;
  let readToEnd = true;

  const events = archiveEvents(options, io, runtime, filter);
  for await (const event of events) {
    if (event.type === 'caught-up') {
      await rows.caughtUp();
      continue;
    }
    const entry = event.entry;
    where?.observe(entry);
    connections.observe(entry);
    if (entry.elapsed > stopAfter) {
      readToEnd = false;
      break;
    }
    let produced: InspectRow[] = [];
    if (entry.kind === 'connection') {
      subprotocols.set(entry.id, entry.subprotocol);
      // With --tail, rows wait in a ring; their connections' lines come with them (beforeRow).
      if (notes !== null) {
        await printNotes(notes.connection(entry, rows.printsNow()));
      }
    } else if (entry.kind === 'frame') {
      notes?.frame(entry.conn);
      produced = assembler !== null ? assembler.push(entry) : [{ row: entry, messageType: typer.observe(entry) }];
    } else if (entry.kind === 'end' && assembler !== null) {
      produced = assembler.end(entry.conn);
    }
    const conn = entry.kind === 'frame' || entry.kind === 'end' ? entry.conn : null;
    const subprotocol = conn === null ? null : (subprotocols.get(conn) ?? null);
    for (const item of produced) {
      if (!(await rows.add({ ...item, subprotocol }))) {
        readToEnd = false;
        break;
      }
    }
    if (!readToEnd) break;
    if (entry.kind === 'end') {
      subprotocols.delete(entry.conn);
      if (notes !== null) {
        await printNotes(notes.end(entry, rows.printsNow()));
      }
    }
  }
  // Stopped (--limit, --until, Ctrl-C): what is still unfinished is not incomplete, just not read.
  if (readToEnd && runtime.signal?.aborted !== true && assembler !== null) {
    for (const item of assembler.finish()) if (!(await rows.add({ ...item, subprotocol: subprotocols.get(item.row.conn) ?? null }))) break;
  }
  await rows.caughtUp();
  // Read to the end: a --conn naming no connection is a typo, not a quiet one (as stats says it).
  const unknownConns = readToEnd && runtime.signal?.aborted !== true ? connections.warning(filter.conns, options.file) : null;
  if (unknownConns !== null) {
    warn(io, unknownConns);
    return EXIT_NO_MATCH;
  }
  return EXIT_OK;
}

/**
 * Where rows go once produced: the filters, --hide-heartbeats, --limit (returns false to stop
 * reading) and --tail (a ring of the last N rows, printed when the archive ends or, with
 * --follow, when reading first catches up with the recorder; after that rows print as they come).
 */
interface RowSinkOptions {
  filter: FrameFilter;
  where: WhereMatcher | null;
  hideHeartbeats: boolean;
  detector: Detect | null;
  limit: number | undefined;
  tail: number | undefined;
  print: (item: Pending) => Promise<void>;
}

class RowSink {
  readonly #options: RowSinkOptions;
  #printed = 0;
  #ring: Pending[] | null;
  #ringStart = 0;

  constructor(options: RowSinkOptions) {
    this.#options = options;
    this.#ring = options.tail !== undefined ? [] : null;
  }

  /** Take a row; false once --limit is reached and reading should stop. */
  async add(item: Pending): Promise<boolean> {
    const { filter, limit } = this.#options;
    if (!frameMatches(item.row, filter) || this.#options.where?.matches(item.row) === false || this.#isHiddenHeartbeat(item)) return true;
    if (this.#ring !== null) {
      this.#keep(this.#ring, item);
      return true;
    }
    await this.#options.print(item);
    this.#printed++;
    return limit === undefined || this.#printed < limit;
  }

  /** True when a row given now would be printed now (not kept for --tail). */
  printsNow(): boolean {
    return this.#ring === null;
  }

  /** Print what --tail kept; from now on rows print as they come. */
  async caughtUp(): Promise<void> {
    const ring = this.#ring;
    if (ring === null) return;
    this.#ring = null;
    for (let i = 0; i < ring.length; i++) await this.#options.print(ring[(this.#ringStart + i) % ring.length]!);
  }

  #keep(ring: Pending[], item: Pending): void {
    const size = this.#options.tail ?? 1;
    if (ring.length < size) {
      ring.push(item);
      return;
    }
    ring[this.#ringStart] = item;
    this.#ringStart = (this.#ringStart + 1) % size;
  }

  #isHiddenHeartbeat({ row, messageType, subprotocol }: Pending): boolean {
    if (!this.#options.hideHeartbeats) return false;
    if (row.type === 'ping' || row.type === 'pong') return true;
    // Keep-alives are whole messages of one frame; fragments and unfinished messages are not.
    if (messageType === null || row.type === 'continuation' || !row.fin || this.#options.detector === null) return false;
    return this.#options.detector.isHeartbeat(rowBytes(row), { type: messageType, subprotocol });
  }
}

export const showCommand: CommandModule<object, ShowOptions> = {
  command: 'show <file>',
  builder: (yargs) =>
    frameFilterOptions(fileArgument(yargs))
      .option('limit', {
        describe: 'Print the first N matching rows, then stop',
        type: 'number',
      })
      .option('tail', {
        describe: 'Print the last N matching rows (with --follow: then keep following)',
        type: 'number',
      })
      .option('messages', {
        describe: 'One row per message: fragmented messages reassembled, with their fragment count',
        type: 'boolean',
      })
      .option('hide-heartbeats', {
        describe: 'Leave out ping/pong frames and protocol keep-alives (Engine.IO, graphql-transport-ws, STOMP, ...)',
        type: 'boolean',
      })
      .option('format', {
        describe: 'pretty: the arrow view; json: one object per line; raw: the payload bytes, back to back',
        type: 'string',
        choices: SHOW_FORMATS,
      })
      .option('quiet', QUIET_OPTION)
      .option('json', {
        describe: 'The same as --format json',
        type: 'boolean',
        default: false,
      })
      .option('pretty-json', {
        describe: 'Pretty form: indent JSON payloads over several lines',
        type: 'boolean',
      })
      .option('time', {
        describe: 'Pretty form: clock (local time of day), utc (ISO 8601), rel (seconds since the start)',
        type: 'string',
        choices: TIME_FORMATS,
      })
      .option('proto', {
        describe: 'A .proto file: decode binary messages as --message TYPE',
        type: 'string',
        normalize: true,
        implies: 'message',
      })
      .option('message', {
        describe: 'The protobuf message type in --proto, e.g. chat.Event',
        type: 'string',
        implies: 'proto',
      })
      .option('where', {
        describe: 'Only rows this expression holds for, e.g. \'dir == "in" && json.type == "error"\' (see docs/WHERE.md)',
        type: 'string',
      })
      .option('follow', {
        alias: 'f',
        describe: 'Keep reading as a running `wstape record` appends, until it closes the archive (Ctrl-C stops)',
        type: 'boolean',
      })
      .conflicts('limit', 'tail')
      .example('$0 show session.wstape.json', 'All frames in the arrow view')
      .example('$0 show session.wstape.json --conn c2 --dir in --type text', 'Text frames the server sent on c2')
      .example('$0 show session.wstape.json --messages --hide-heartbeats --pretty-json', 'Whole messages, keep-alives left out, JSON indented')
      .example('$0 show session.wstape.json --grep error -i --since 30 --until 45', 'Frames mentioning "error" in any case, 30-45 s into the recording')
      .example('$0 show session.wstape.json --json | jq -r \'select(.detected=="msgpack") | .decoded\'', 'Decoded MessagePack payloads')
      .example('$0 show session.wstape.json --conn c1 --dir in --type binary --format raw > payloads.bin', "The raw bytes of c1's binary frames")
      .example('$0 show -f live.wstape.json --type text', 'Follow a recording while it runs'),
  handler: async (argv) => {
    const controller = new AbortController();
    const stop = (): void => controller.abort();
    // Ctrl-C ends --follow normally (exit 0); without --follow the default (exit) is right.
    if (argv.follow === true) {
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    }
    try {
      process.exitCode = await runShow(argv, processIo(), { signal: controller.signal });
    } finally {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
    }
  },
};

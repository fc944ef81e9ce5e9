/**
 * `wstape replay FILE --as server|client`: a recorded session, played again.
 */
import type { Argv, CommandModule } from 'yargs';
import { EXIT_DIFFERENT, EXIT_OK, cliError } from '../errors.js';
import { HookChain } from '../intervene/chain.js';
import { ARCHIVE_VIEWS, type ArchiveView } from '../inspect/views.js';
import { addInterventionOptions, interventionHooks, type InterventionOptions } from './intervention-options.js';
import { processIo, untilSignal, useColor, type Io } from '../io.js';
import { makePalette } from '../output/colors.js';
import { compileReplayFaults, parseReplayFaults } from '../replay/faults.js';
import { compileIgnores } from '../replay/match.js';
import { MockServer } from '../replay/mock-server.js';
import type { Divergence, PlayerResult } from '../replay/player.js';
import { pickConversation, loadRecording, pathOf, type Conversation } from '../replay/recording.js';
import { replayAsClient } from '../replay/replay-client.js';
import { parseMaxPayload, parsePort } from '../record/targets.js';

export interface ReplayOptions extends Omit<InterventionOptions, 'closeAfter' | 'abortAfter'> {
  /** A session wstape changed: replay what was delivered (default) or what arrived. */
  view?: ArchiveView;
  file: string;
  as: 'server' | 'client';
  /** A number, or the text given on the command line (checked by parsePort). */
  port: number | string;
  host: string;
  conn?: string;
  speed: number;
  asap: boolean;
  strict: boolean;
  ignore?: string[];
  once: boolean;
  target?: string;
  out?: string;
  /** Milliseconds, or the text given (checked by parseTimeout). */
  timeout: number | string;
  insecure: boolean;
  upstreamCa?: string[];
  maxPayload: string | number;
  /** The fault shorthands (src/replay/faults.ts checks them), as given. */
  abortAfter?: string | number;
  closeAfter?: string | number;
  closeCode?: string | number;
  closeReason?: string;
  latency?: string | number;
  /** --no-pong (its own option: the CLI parses with boolean negation off). */
  noPong?: boolean;
  slowRead?: string | number;
}

/** --timeout: whole milliseconds, 1 or more (the last one when given twice). */
export function parseTimeout(value: unknown): number {
  const last: unknown = Array.isArray(value) ? value[value.length - 1] : value;
  const text = typeof last === 'number' ? String(last) : typeof last === 'string' ? last.trim() : '';
  const ms = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(Number.isSafeInteger(ms) && ms >= 1)) throw cliError('ERR_USAGE', `--timeout must be a whole number of milliseconds, 1 or more, got "${text}"`);
  return ms;
}

/** The speed factor: --asap is no gaps at all. */
function speedOf(options: ReplayOptions): number {
  if (options.asap) return Infinity;
  if (!(options.speed > 0)) throw cliError('ERR_USAGE', `--speed must be a number above 0, got ${options.speed}`);
  return options.speed;
}

/** The first divergence, both sides, as people read it. */
export function formatDivergence(conversation: Conversation, divergence: Divergence, color: boolean): string {
  const p = makePalette(color);
  const where = divergence.recordedIndex === null ? 'after the end of the recording' : `at recorded frame #${divergence.recordedIndex}`;
  const lines = [
    `${p.red('divergence')} on ${conversation.connection.id} (${conversation.connection.url}) ${where}: ${divergence.mismatch.reason} differs`,
    `  expected: ${divergence.mismatch.expected}`,
    `  actual:   ${divergence.mismatch.actual}`,
  ];
  for (const change of divergence.mismatch.changes ?? []) {
    lines.push(
      `  ${change.path}: ${change.kind === 'added' ? '(absent)' : JSON.stringify(change.from)} → ${change.kind === 'removed' ? '(absent)' : JSON.stringify(change.to)}`,
    );
  }
  return lines.join('\n');
}

function summarize(conversation: Conversation, result: PlayerResult): string {
  const missing = result.missing > 0 ? `, ${result.missing} expected frames did not come` : '';
  const ended =
    result.endedBy === undefined
      ? ''
      : result.endedBy.action === 'abort'
        ? ', then dropped the connection (a hook or flag)'
        : `, then closed it with ${result.endedBy.code} (a hook or flag)`;
  return `${conversation.connection.id} ${pathOf(conversation.connection.url)}: sent ${result.sent} frames, received ${result.received}${missing}${ended}`;
}

export async function runReplay(options: ReplayOptions, io: Io): Promise<number> {
  const speed = speedOf(options);
  const rules = compileIgnores(options.ignore ?? []);
  const maxPayload = parseMaxPayload(options.maxPayload);
  const port = parsePort(options.port);
  const timeoutMs = parseTimeout(options.timeout);
  const faults = parseReplayFaults({
    abortAfter: options.abortAfter,
    closeAfter: options.closeAfter,
    closeCode: options.closeCode,
    closeReason: options.closeReason,
    latency: options.latency,
    noPong: options.noPong,
    slowRead: options.slowRead,
  });
  // The flags come last in the chain (after any --script, once replay takes them): the counts of
  // --abort-after and --close-after rely on it, a message that reaches them is sent.
  const flags = compileReplayFaults(faults, options.as === 'server' ? 'in' : 'out');
  // --close-after and --abort-after are replay's own (counts of the messages it sends).
  const intervention = await interventionHooks({ ...options, closeAfter: undefined, abortAfter: undefined }, io.cwd);
  const chained = [...intervention.hooks, ...(flags ? [flags] : [])];
  const hooks = chained.length > 0 ? new HookChain(chained, intervention.timeoutMs) : null;
  const slowRead = faults.slowReadBytesPerSecond !== undefined ? { slowReadBytesPerSecond: faults.slowReadBytesPerSecond } : {};
  const recording = await loadRecording(options.file, io, options.view ?? 'delivered');
  const color = useColor(io.stderr, io.env);
  const chosen = options.conn !== undefined ? pickConversation(recording, options.conn) : undefined;

  if (options.as === 'client') {
    const conversation = chosen ?? recording.conversations[0];
    if (!conversation) throw cliError('ERR_USAGE', `${options.file} holds no WebSocket connection to replay`);
    const result = await replayAsClient(
      {
        conversation,
        ...(options.target !== undefined ? { target: options.target } : {}),
        ...(options.out !== undefined ? { out: options.out } : {}),
        speed,
        strict: options.strict,
        rules,
        timeoutMs,
        maxPayload,
        insecure: options.insecure,
        upstreamCa: options.upstreamCa ?? [],
        hooks,
        ...slowRead,
      },
      io,
    );
    io.stderr.write(`wstape: replayed ${summarize(conversation, result)}\n`);
    if (result.archive) io.stderr.write(`wstape: new session recorded to ${result.archive}\n`);
    if (result.divergence) {
      io.stderr.write(`${formatDivergence(conversation, result.divergence, color)}\n`);
      return options.strict ? EXIT_DIFFERENT : EXIT_OK;
    }
    if (options.strict && result.missing > 0) return EXIT_DIFFERENT;
    return EXIT_OK;
  }

  if (recording.conversations.length === 0 && recording.exchanges.length === 0) {
    throw cliError('ERR_USAGE', `${options.file} holds nothing to serve`);
  }
  let diverged = false;
  let resolveOnce: (() => void) | null = null;
  const done = new Promise<void>((resolve) => (resolveOnce = resolve));
  const server = new MockServer({
    recording,
    host: options.host,
    port,
    ...(chosen ? { conversation: chosen } : {}),
    speed,
    strict: options.strict,
    rules,
    maxPayload,
    hooks,
    ...slowRead,
    onWarning: (line) => io.stderr.write(`${line}\n`),
    onSession: (conversation, result) => {
      io.stderr.write(`wstape: served ${summarize(conversation, result)}\n`);
      if (result.divergence) {
        diverged = true;
        io.stderr.write(`${formatDivergence(conversation, result.divergence, color)}\n`);
      }
      if (options.once) resolveOnce?.();
    },
    onHttp: (head, served) => {
      io.stderr.write(`wstape: ${head.method} ${head.target} -> ${served?.response ? served.response.status : '404 (not recorded)'}\n`);
    },
  });
  const address = await server.listen();
  const base = `ws://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  io.stderr.write(`wstape: replaying ${options.file} as a server on ${base}\n`);
  for (const conversation of chosen ? [chosen] : recording.conversations) {
    io.stderr.write(`wstape:   ${base}${pathOf(conversation.connection.url)}  (${conversation.connection.id}, ${conversation.frames.length} frames)\n`);
  }
  if (!options.once) io.stderr.write('wstape: Ctrl-C stops\n');
  await Promise.race([done, untilSignal().signalled]);
  await server.close();
  return diverged && options.strict ? EXIT_DIFFERENT : EXIT_OK;
}

export const replayCommand: CommandModule<object, ReplayOptions> = {
  command: 'replay <file>',
  builder: (yargs: Argv) =>
    addInterventionOptions(yargs, ['closeAfter', 'abortAfter'])
      .positional('file', { type: 'string', demandOption: true, describe: 'The archive to replay' })
      .option('as', { choices: ['server', 'client'] as const, demandOption: true, describe: 'Play the recorded server (a mock) or the recorded client' })
      .option('port', { alias: 'p', type: 'string', default: '8080', describe: 'As server: port to listen on, 0 to 65535 (0 picks a free one)' })
      .option('host', { type: 'string', default: '127.0.0.1', describe: 'As server: address to listen on' })
      .option('conn', { type: 'string', describe: 'Replay this connection only (e.g. c2)' })
      .option('speed', { type: 'number', default: 1, describe: 'Scale the recorded gaps: 2 is twice as fast' })
      .option('asap', { type: 'boolean', default: false, describe: 'No gaps: send each frame as soon as lockstep allows' })
      .option('strict', { type: 'boolean', default: false, describe: "The peer's frames must match the recording; exit 1 on a divergence" })
      .option('ignore', {
        type: 'string',
        array: true,
        describe: 'With --strict: a JSONPath to ignore ($.ts, $.items[*].id) or re:PATTERN for text (repeatable)',
      })
      .option('once', { type: 'boolean', default: false, describe: 'As server: serve one WebSocket session, then exit' })
      .option('target', { type: 'string', describe: 'As client: connect here instead of the recorded URL (ws:// or wss://)' })
      .option('out', { alias: 'o', type: 'string', describe: 'As client: record the new session to this archive' })
      .option('timeout', { type: 'string', default: '10000', describe: 'As client: longest wait for each reply, in ms (1 or more)' })
      .option('insecure', { alias: 'k', type: 'boolean', default: false, describe: 'As client: do not verify the server certificate' })
      .option('upstream-ca', { type: 'string', array: true, describe: 'As client: also trust this CA file (PEM)' })
      .option('max-payload', { type: 'string', default: '16MiB', describe: 'As client: payload bytes kept in the new archive (up to 64MiB)' })
      .option('view', {
        choices: ARCHIVE_VIEWS,
        default: 'delivered',
        describe: 'An archive of a changed session: replay what its receivers got (delivered) or what its peers sent (arrived)',
      })
      // Faults (docs/HOOKS.md). No defaults: yargs would count a defaulted option as given.
      .option('abort-after', { type: 'string', describe: 'Fault: drop the TCP connection after sending N messages (the peer sees 1006)' })
      .option('close-after', { type: 'string', describe: 'Fault: close the connection after sending N messages (see --close-code)' })
      .option('close-code', { type: 'string', describe: 'With --close-after: the close code (default 1000), e.g. 1011' })
      .option('close-reason', { type: 'string', describe: 'With --close-after: the close reason (up to 123 bytes)' })
      .option('latency', { type: 'string', describe: 'Fault: delay each message sent by MS[~JITTER], e.g. 50ms~20ms (30 to 70 ms) or 50' })
      .option('no-pong', { type: 'boolean', describe: "Fault: do not answer the peer's pings (a keep-alive timeout test)" })
      .option('slow-read', { type: 'string', describe: "Fault: read the peer's bytes at most this fast, bytes per second (65536, 64k, 1MiB)" })
      .example('$0 replay bug.wstape.json --as server --port 9000', 'a mock of the recorded server on ws://127.0.0.1:9000')
      .example('$0 replay bug.wstape.json --as client --out again.wstape.json', 're-drive the real server, record the new session')
      .example('$0 replay bug.wstape.json --as client --strict --ignore "$.ts"', 'CI: exit 1 if the server now answers differently')
      .example('$0 replay bug.wstape.json --as server --close-after 3 --close-code 1011', 'the mock sends 3 messages, then closes with 1011')
      .example(
        '$0 replay bug.wstape.json --as server --latency 50ms~20ms --no-pong',
        'a slow server that stops answering pings',
      ) as unknown as Argv<ReplayOptions>,
  handler: async (argv) => {
    process.exitCode = await runReplay(argv, processIo());
  },
};

/**
 * `wstape send --conn ID --to client|server [--binary] MESSAGE|@FILE|@- [--recorder PORT|ARCHIVE]`:
 * inject a message into an open connection of a running `wstape record`, through its control
 * channel (src/control/). `--list [--json]` prints the open connections instead.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { askRecorder, printOpen } from '../control/client.js';
import { MAX_REQUEST_BYTES, type ControlRequest } from '../control/protocol.js';
import { EXIT_OK, cliError, isCliError } from '../errors.js';
import { processIo, type Io } from '../io.js';
import { isValidUtf8 } from '../wire/utf8.js';
import { lastValue } from './common.js';

export interface SendOptions {
  /** The text, `@FILE` for a file's contents, `@-` for standard input, or `@@...` for text that begins with "@". */
  message?: string;
  conn?: string;
  to?: 'client' | 'server';
  binary?: boolean;
  recorder?: string;
  list?: boolean;
  json?: boolean;
}

/** The command io plus what `@-` reads (default process.stdin). */
export type SendIo = Io & { stdin?: AsyncIterable<Uint8Array> };

/** The largest file `@FILE` reads: its base64 must fit in one request. */
const MAX_FILE_BYTES = Math.floor((MAX_REQUEST_BYTES - 1024) / 4) * 3;

/** Standard input, whole, up to the size one request carries. */
async function readStdin(stdin: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    size += chunk.length;
    if (size > MAX_FILE_BYTES) throw cliError('ERR_USAGE', `standard input is over ${MAX_FILE_BYTES} bytes; wstape send takes at most that`);
    chunks.push(chunk);
  }
  const bytes = Buffer.concat(chunks);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The bytes or text MESSAGE stands for. */
async function payloadOf(message: string, io: SendIo): Promise<Uint8Array | string> {
  if (message.startsWith('@@')) return message.slice(1);
  if (!message.startsWith('@')) return message;
  if (message === '@-') return readStdin(io.stdin ?? (process.stdin as AsyncIterable<Uint8Array>));
  const cwd = io.cwd;
  const file = path.resolve(cwd, message.slice(1));
  let bytes: Buffer;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw cliError('ERR_FILE', `${message.slice(1)} is not a file`);
    if (info.size > MAX_FILE_BYTES) throw cliError('ERR_USAGE', `${message.slice(1)} is ${info.size} bytes; wstape send takes at most ${MAX_FILE_BYTES}`);
    bytes = await readFile(file);
  } catch (error) {
    if (isCliError(error)) throw error;
    throw cliError('ERR_FILE', `cannot read ${message.slice(1)}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Run `wstape send`; returns the exit code. */
export async function runSend(options: SendOptions, io: SendIo): Promise<number> {
  if (options.list) return printOpen(options.recorder, io, options.json === true);
  if (options.json) throw cliError('ERR_USAGE', '--json goes with --list (the open connections as JSON lines)');
  if (options.conn === undefined || options.conn === '')
    throw cliError('ERR_USAGE', 'name the connection with --conn, e.g. --conn c1 (wstape send --list shows the open ones)');
  if (options.to === undefined) throw cliError('ERR_USAGE', 'say where the message goes: --to client or --to server');
  if (options.message === undefined) throw cliError('ERR_USAGE', 'give the message: text, @FILE for the contents of a file, or @- for standard input');
  const payload = await payloadOf(options.message, io);
  const dir = options.to === 'client' ? 'in' : 'out';
  let request: ControlRequest;
  if (options.binary) {
    const bytes = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
    request = { version: 1, op: 'send', conn: options.conn, dir, type: 'binary', base64: Buffer.from(bytes).toString('base64') };
  } else {
    // RFC 6455 §8.1: a text message must be valid UTF-8, or the peer fails the connection (1007).
    if (typeof payload !== 'string' && !isValidUtf8(payload))
      throw cliError('ERR_USAGE', `${options.message === '@-' ? 'standard input' : options.message.slice(1)} is not UTF-8 text; send it with --binary`);
    const text = typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8');
    request = { version: 1, op: 'send', conn: options.conn, dir, type: 'text', text };
  }
  const { recorder } = await askRecorder(options.recorder, request, io);
  const size = request.type === 'text' ? Buffer.byteLength(request.text) : Buffer.from(request.base64, 'base64').length;
  io.stderr.write(`wstape: sent a ${size}-byte ${request.type} message to the ${options.to} on ${options.conn} (port ${recorder.port})\n`);
  return EXIT_OK;
}

export const sendCommand: CommandModule<object, SendOptions> = {
  command: 'send [message]',
  builder: (yargs) =>
    yargs
      .positional('message', {
        describe: 'The message: text, @FILE for the contents of a file, @- for standard input (@@ for text that starts with @)',
        type: 'string',
        coerce: lastValue,
      })
      .option('conn', { type: 'string', describe: 'The connection id, as in the live view and the archive (c1, c2...)', coerce: lastValue })
      .option('to', { type: 'string', choices: ['client', 'server'] as const, describe: 'Who gets the message' })
      .option('binary', { type: 'boolean', default: false, describe: 'Send a binary message (the bytes of @FILE, or of the text)' })
      .option('recorder', {
        type: 'string',
        describe: 'Which running recorder: its port, or the archive it writes (default: the only one running)',
        coerce: lastValue,
      })
      .option('list', { type: 'boolean', default: false, describe: 'Print the open connections (ID and URL) and exit' })
      .option('json', { type: 'boolean', default: false, describe: 'With --list: one JSON object per open connection ({"id","url"})' })
      .example(`$0 send --conn c1 --to client '{"type":"kick"}'`, 'inject a text message towards the client')
      .example('$0 send --conn c2 --to server --binary @frame.bin', "send a file's bytes to the server as a binary message")
      .example('$0 send --recorder 8080 --list', 'the open connections of the recorder on port 8080')
      .example(`jq -c '.payload' msg.json | $0 send --conn c1 --to server @-`, 'send what another command prints'),
  handler: async (argv) => {
    process.exitCode = await runSend(argv, processIo());
  },
};

/**
 * The `wstape send` / `wstape close` end of the control channel: find the recorder (registry.ts),
 * check that its socket is private to this user before connecting, send one request line, read
 * one response line, and turn a failure into a one-line CliError.
 */
import { lstat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { EXIT_OK, cliError } from '../errors.js';
import { writeOut, type Io } from '../io.js';
import { MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, encodeLine, parseResponse, type ControlRequest, type ControlResponse, type OpenList } from './protocol.js';
import { findRecorder, privacyProblem, resolveHome, type FoundRecorder } from './registry.js';

/** How long to wait for a recorder's answer. */
const DEFAULT_TIMEOUT_MS = 10_000;
/** An error line lists at most this many open connections. */
const LISTED_IN_ERRORS = 10;

/** The recorder on port 8080 (session.wstape.json). */
export function recorderName(recorder: FoundRecorder): string {
  return `the recorder on port ${recorder.port} (${recorder.archivePath})`;
}

/** `c1 ws://a/b, c2 ws://c/d and 3 more`, or "none". */
export function describeOpen(open: OpenList, limit = LISTED_IN_ERRORS): string {
  if (open.total === 0) return 'none';
  const shown = open.connections.slice(0, limit).map((connection) => `${connection.id} ${connection.url}`);
  const more = open.total - shown.length;
  return `${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

/** Refuse a socket (or its folder) that another user owns or could open. */
async function checkSocket(socketPath: string): Promise<void> {
  for (const [file, kind] of [
    [path.dirname(socketPath), 'folder'],
    [socketPath, 'socket'],
  ] as const) {
    let info;
    try {
      info = await lstat(file);
    } catch (error) {
      throw cliError(
        'ERR_RECORDER',
        `the control socket ${socketPath} is gone (${(error as NodeJS.ErrnoException).code ?? String(error)}); has the recorder stopped?`,
      );
    }
    const problem = privacyProblem(file, info, kind);
    if (problem !== undefined) throw cliError('ERR_CONTROL', `refusing to connect: ${problem}`);
  }
}

/**
 * Send one request to a recorder and return its response (ok or not). Throws ERR_CONTROL when the
 * socket is not private or the answer is not a response, ERR_RECORDER when nobody answers.
 */
export async function controlRequest(recorder: FoundRecorder, request: ControlRequest, options: { timeoutMs?: number } = {}): Promise<ControlResponse> {
  const line = encodeLine(request);
  if (Buffer.byteLength(line) > MAX_REQUEST_BYTES)
    throw cliError('ERR_USAGE', `the message is too large for the control channel (over ${MAX_REQUEST_BYTES / 1024 / 1024} MiB as a request)`);
  await checkSocket(recorder.socketPath);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const text = await new Promise<string>((resolve, reject) => {
    const socket = net.createConnection(recorder.socketPath);
    const chunks: Buffer[] = [];
    let length = 0;
    const fail = (error: Error): void => {
      socket.destroy();
      reject(error);
    };
    socket.setTimeout(timeoutMs, () => fail(cliError('ERR_CONTROL', `${recorderName(recorder)} did not answer within ${timeoutMs} ms`)));
    socket.on('connect', () => socket.end(line));
    socket.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length > MAX_RESPONSE_BYTES) return fail(cliError('ERR_CONTROL', `${recorderName(recorder)} sent a response over ${MAX_RESPONSE_BYTES} bytes`));
      chunks.push(chunk);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED' || error.code === 'ENOENT') {
        fail(cliError('ERR_RECORDER', `${recorderName(recorder)} is not answering on its control socket; has it stopped?`));
      } else {
        fail(cliError('ERR_CONTROL', `cannot talk to ${recorderName(recorder)}: ${error.code ?? error.message}`));
      }
    });
    // 'end' when the recorder closes its side; 'close' also when it resets: whatever came is read.
    const done = (): void => {
      socket.setTimeout(0);
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    socket.on('end', done);
    socket.on('close', done);
  });
  const newline = text.indexOf('\n');
  const response = parseResponse(newline < 0 ? text : text.slice(0, newline));
  if (response === undefined) {
    throw cliError(
      'ERR_CONTROL',
      `${recorderName(recorder)} sent an answer this wstape does not understand${text === '' ? ' (none)' : ''}; is it another wstape version?`,
    );
  }
  return response;
}

/**
 * Find the recorder (`--recorder PORT|ARCHIVE`, or the only one running), send it the request,
 * and return what is open there. A failed request is a CliError: ERR_CONNECTION for an unknown
 * connection id (listing the open ones), ERR_CONTROL for anything else the recorder refused.
 */
export async function askRecorder(
  selector: string | undefined,
  request: ControlRequest,
  io: Pick<Io, 'env' | 'cwd'>,
): Promise<{ recorder: FoundRecorder; open: OpenList }> {
  const recorder = await findRecorder(resolveHome(io.env, io.cwd), selector, io.cwd);
  const response = await controlRequest(recorder, request);
  if (response.ok) return { recorder, open: response.open };
  if (response.error.code === 'unknown-connection' && request.op !== 'list') {
    throw cliError('ERR_CONNECTION', `no open connection ${request.conn} on ${recorderName(recorder)}; open: ${describeOpen(response.open)}`);
  }
  throw cliError('ERR_CONTROL', `${recorderName(recorder)} refused the request: ${response.error.message}`);
}

/**
 * `--list`: print the open connections of the recorder, one `ID<TAB>URL` per line, or with `json`
 * one `{"id","url"}` object per line; returns the exit code.
 */
export async function printOpen(recorder: string | undefined, io: Io, json = false): Promise<number> {
  const { recorder: found, open } = await askRecorder(recorder, { version: 1, op: 'list' }, io);
  if (open.total === 0) io.stderr.write(`wstape: no WebSocket connection is open on ${recorderName(found)}\n`);
  for (const connection of open.connections) {
    const line = json ? JSON.stringify({ id: connection.id, url: connection.url }) : `${connection.id}\t${connection.url}`;
    await writeOut(io.stdout, `${line}\n`);
  }
  if (open.total > open.connections.length) io.stderr.write(`wstape: and ${open.total - open.connections.length} more\n`);
  return EXIT_OK;
}

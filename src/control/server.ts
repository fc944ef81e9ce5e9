/**
 * The recorder's end of the control channel: a Unix socket (0600, in a 0700 folder) that
 * `wstape send` and `wstape close` connect to, one request per connection (protocol.ts), acted on
 * through the session's LiveConnections. It must never take the recorder down: a bad, oversized
 * or slow request gets an error response, a LiveConnection that throws an error response too.
 */
import { lstatSync, unlinkSync } from 'node:fs';
import { chmod, lstat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { cliError, isCliError } from '../errors.js';
import type { LiveConnections } from '../intervene/live.js';
import {
  CONTROL_PROTOCOL_VERSION,
  MAX_LISTED,
  MAX_REQUEST_BYTES,
  encodeLine,
  parseRequest,
  type ControlFailure,
  type ControlRequest,
  type ControlResponse,
  type OpenList,
} from './protocol.js';
import {
  preparePrivateFolder,
  privacyProblem,
  registryPathFor,
  removeQuietly,
  runFolder,
  socketPathFor,
  writeRegistryFile,
  type RecorderInfo,
} from './registry.js';

export interface ControlServerOptions {
  live: LiveConnections;
  /** The recorder's bound port (names its files, and `--recorder PORT` finds it). */
  port: number;
  /** The archive it writes (`--recorder ARCHIVE` finds it). */
  archivePath: string;
  /** The wstape home ($WSTAPE_HOME or ~/.wstape; see registry.ts resolveHome). */
  home: string;
  /** Refuse request lines longer than this (default MAX_REQUEST_BYTES, 64 MiB). */
  maxRequestBytes?: number;
  /** Drop a client that has not sent its whole request in this long (default 30 s). */
  requestTimeoutMs?: number;
}

export interface ControlServer {
  readonly socketPath: string;
  readonly registryPath: string;
  /** Stop listening and remove the socket and the registry file. */
  close(): Promise<void>;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/**
 * The files of the control servers still open in this process, removed when it exits without
 * closing them (process.exit, an uncaught exception), so they do not wait for the next lookup to
 * be found stale. One 'exit' listener for all of them.
 */
const leftAtExit = new Set<string>();
let exitListener = false;

function removeAtExit(...files: string[]): void {
  for (const file of files) leftAtExit.add(file);
  if (exitListener) return;
  exitListener = true;
  process.on('exit', () => {
    for (const file of leftAtExit) {
      try {
        unlinkSync(file);
      } catch {
        // already gone
      }
    }
  });
}

/**
 * Listen on the control socket and publish the registry file. Throws ERR_CONTROL when the run
 * folder cannot be made private or the socket cannot be bound; after that, nothing it does throws.
 */
export async function startControlServer(options: ControlServerOptions): Promise<ControlServer> {
  const maxRequestBytes = options.maxRequestBytes ?? MAX_REQUEST_BYTES;
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  await preparePrivateFolder(runFolder(options.home));
  const socketPath = await socketPathFor(options.home, process.pid, options.port);
  const registryPath = registryPathFor(options.home, process.pid, options.port);
  await removeStaleSocket(socketPath);

  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    serve(socket, { live: options.live, socketPath, maxRequestBytes, requestTimeoutMs });
  });
  // After listening, an error here (there are hardly any for a Unix socket server) must not crash the recorder.
  server.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => reject(cliError('ERR_CONTROL', `cannot listen on ${socketPath}: ${error.code ?? error.message}`));
    server.once('error', onError);
    server.listen(socketPath, () => {
      server.removeListener('error', onError);
      resolve();
    });
  });
  const closeServer = (): Promise<void> =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
  try {
    // The folder is 0700 so nobody else can reach the socket meanwhile; the socket is made 0600 too
    // (bind(2) gives it the umask's mode), and checked, as the client will check it.
    await chmod(socketPath, 0o600);
    const problem = privacyProblem(socketPath, await lstat(socketPath), 'socket');
    if (problem !== undefined) throw cliError('ERR_CONTROL', problem);
    const info: RecorderInfo = {
      version: CONTROL_PROTOCOL_VERSION,
      pid: process.pid,
      port: options.port,
      archivePath: path.resolve(options.archivePath),
      socketPath,
      startedAt: new Date().toISOString(),
    };
    await writeRegistryFile(registryPath, info);
    removeAtExit(registryPath, socketPath);
  } catch (error) {
    await closeServer();
    await removeQuietly(socketPath);
    throw isCliError(error)
      ? error
      : cliError('ERR_CONTROL', `cannot set up the control socket ${socketPath}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }

  let closing: Promise<void> | null = null;
  return {
    socketPath,
    registryPath,
    close: () => {
      closing ??= (async () => {
        // The registry file first: from then on no client finds this recorder.
        await removeQuietly(registryPath);
        await closeServer();
        await removeQuietly(socketPath);
        leftAtExit.delete(registryPath);
        leftAtExit.delete(socketPath);
      })();
      return closing;
    },
  };
}

/** A socket left at our path by an earlier process with our pid: ours to remove; anything else is refused. */
async function removeStaleSocket(socketPath: string): Promise<void> {
  let info;
  try {
    info = await lstat(socketPath);
  } catch {
    return;
  }
  const uid = process.getuid?.();
  if (!info.isSocket() || (uid !== undefined && info.uid !== uid)) {
    throw cliError('ERR_CONTROL', `cannot use ${socketPath} for the control socket: ${privacyProblem(socketPath, info, 'socket') ?? 'something is there'}`);
  }
  await removeQuietly(socketPath);
}

interface ServeContext {
  live: LiveConnections;
  socketPath: string;
  maxRequestBytes: number;
  requestTimeoutMs: number;
}

/** Read one request line from a client, answer it, end the connection. */
function serve(socket: net.Socket, context: ServeContext): void {
  const chunks: Buffer[] = [];
  let length = 0;
  let answered = false;
  const answer = (response: ControlResponse): void => {
    if (answered) return;
    answered = true;
    socket.removeAllListeners('data');
    socket.pause();
    socket.setTimeout(0);
    socket.end(encodeLine(response));
  };
  // A client that went away is nothing to report.
  socket.on('error', () => socket.destroy());
  socket.setTimeout(context.requestTimeoutMs, () => {
    answer(failure(context.live, { code: 'timeout', message: `no whole request within ${context.requestTimeoutMs} ms` }));
    socket.destroySoon();
  });
  // The socket's mode is what keeps other users out (there is no SO_PEERCRED in Node): if someone
  // widened it, or the folder, refuse to act until it is private again.
  const problem = socketProblem(context.socketPath);
  if (problem !== undefined) {
    answer(failure(context.live, { code: 'refused', message: `the control socket is not private (${problem}); refusing requests until it is` }));
    return;
  }
  const finish = (line: string): void => answer(respond(context.live, line));
  socket.on('data', (chunk: Buffer) => {
    const newline = chunk.indexOf(0x0a);
    const used = newline < 0 ? chunk.length : newline;
    if (length + used > context.maxRequestBytes) {
      answer(failure(context.live, { code: 'too-large', message: `the request is over ${context.maxRequestBytes} bytes` }));
      // Stop reading the rest of it; the response is flushed first.
      socket.destroySoon();
      return;
    }
    chunks.push(newline < 0 ? chunk : chunk.subarray(0, newline));
    length += used;
    if (newline >= 0) finish(Buffer.concat(chunks, length).toString('utf8'));
  });
  // A request without its newline, ended by the client (`printf ... | nc -U`), is still a request.
  socket.on('end', () => {
    if (answered) return;
    if (length === 0) answer(failure(context.live, { code: 'bad-request', message: 'empty request' }));
    else finish(Buffer.concat(chunks, length).toString('utf8'));
  });
}

function socketProblem(socketPath: string): string | undefined {
  try {
    return (
      privacyProblem(path.dirname(socketPath), lstatSync(path.dirname(socketPath)), 'folder') ?? privacyProblem(socketPath, lstatSync(socketPath), 'socket')
    );
  } catch (error) {
    return `cannot check it: ${(error as NodeJS.ErrnoException).code ?? String(error)}`;
  }
}

function openList(live: LiveConnections): OpenList {
  const all = live.list();
  return { total: all.length, connections: all.slice(0, MAX_LISTED).map((connection) => ({ id: connection.id, url: connection.url })) };
}

function failure(live: LiveConnections, error: ControlFailure): ControlResponse {
  return { version: CONTROL_PROTOCOL_VERSION, ok: false, error, open: openList(live) };
}

/** The response to one request line; whatever happens, a response. */
export function respond(live: LiveConnections, line: string): ControlResponse {
  const request = parseRequest(line);
  if (!('op' in request)) return failure(live, request);
  try {
    act(live, request);
  } catch (error) {
    if (error instanceof UnknownConnection) return failure(live, { code: 'unknown-connection', message: error.message });
    return failure(live, { code: 'failed', message: error instanceof Error ? error.message : String(error) });
  }
  return { version: CONTROL_PROTOCOL_VERSION, ok: true, open: openList(live) };
}

class UnknownConnection extends Error {}

function act(live: LiveConnections, request: ControlRequest): void {
  if (request.op === 'list') return;
  const connection = live.get(request.conn);
  if (connection === undefined) throw new UnknownConnection(`no open connection ${request.conn}`);
  switch (request.op) {
    case 'send':
      connection.send(request.dir, request.type === 'text' ? request.text : new Uint8Array(Buffer.from(request.base64, 'base64')), 'control');
      return;
    case 'close':
      connection.close(request.code, request.reason, 'control');
      return;
    case 'abort':
      connection.abort('control');
      return;
  }
}

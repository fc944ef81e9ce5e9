/**
 * Plumbing for the control channel tests: a temporary WSTAPE_HOME, a LiveConnection that keeps
 * what it was asked to do, a control server around it, and one raw request over node:net.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startControlServer, type ControlServer, type ControlServerOptions } from '../../src/control/server.js';
import type { Actor, Direction } from '../../src/intervene/hooks.js';
import { LiveConnections, type LiveConnection } from '../../src/intervene/live.js';
import { parseResponse, type ControlResponse } from '../../src/control/protocol.js';

export type Call = ['send', Direction, string | Uint8Array, Actor] | ['close', number, string, Actor] | ['abort', Actor];

export interface FakeConnection extends LiveConnection {
  calls: Call[];
}

export function fakeConnection(id: string, url = `ws://example.test/${id}`): FakeConnection {
  const calls: Call[] = [];
  return {
    id,
    url,
    calls,
    send: (dir, payload, by) => void calls.push(['send', dir, payload, by]),
    close: (code, reason, by) => void calls.push(['close', code, reason, by]),
    abort: (by) => void calls.push(['abort', by]),
  };
}

const dirs: string[] = [];

/** A fresh folder to be WSTAPE_HOME (and cwd); removed by cleanup(). */
export function tempHome(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wstape-control-'));
  dirs.push(dir);
  return dir;
}

const servers: ControlServer[] = [];

/** A control server in this process, as a recorder on `port` writing `archive` would run it. */
export async function fakeRecorder(
  home: string,
  connections: LiveConnection[],
  options: Partial<ControlServerOptions> & { port?: number } = {},
): Promise<{ server: ControlServer; live: LiveConnections; port: number; archivePath: string }> {
  const live = options.live ?? new LiveConnections();
  for (const connection of connections) live.add(connection);
  const port = options.port ?? 41000 + servers.length;
  const archivePath = options.archivePath ?? path.join(home, `rec-${port}.wstape.json`);
  const server = await startControlServer({ ...options, live, port, archivePath, home });
  servers.push(server);
  return { server, live, port, archivePath };
}

export async function cleanup(): Promise<void> {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Write `bytes` to a socket as they are (no client-side checks), end, and read the response. */
export function rawRequest(socketPath: string, bytes: string | Uint8Array, options: { end?: boolean } = {}): Promise<ControlResponse | undefined> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(socketPath);
    let text = '';
    socket.on('connect', () => {
      if (options.end === false) socket.write(bytes);
      else socket.end(bytes);
    });
    socket.on('data', (chunk) => (text += String(chunk)));
    // The server may stop reading an oversized request and reset: what it answered first counts.
    socket.on('error', (error: NodeJS.ErrnoException) => (text === '' ? reject(error) : undefined));
    socket.on('close', () => resolve(parseResponse(text.split('\n')[0] ?? '')));
  });
}

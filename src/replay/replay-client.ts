/**
 * `replay --as client`: re-drive a real server with a recorded client's side of a conversation.
 *
 * The replayed connection runs through an in-process recorder in reverse mode, so the new session
 * is written by the same code as any recording (same archive format, ready for `show` and
 * `diff`), and what is compared with the recording is what the server really sent.
 */
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startRecording } from '../record/recording.js';
import { cliError } from '../errors.js';
import type { HookChain } from '../intervene/chain.js';
import type { Io } from '../io.js';
import { ResponseParser, headerValue, type ResponseHead } from '../http/http-parser.js';
import { acceptKey, newClientKey } from '../wire/handshake.js';
import { negotiatedDeflate } from '../wire/permessage-deflate.js';
import { StreamObserver } from '../wire/stream-observer.js';
import { frameView } from './mock-server.js';
import type { IgnoreRules } from './match.js';
import { ConversationPlayer, type PlayerResult } from './player.js';
import type { Conversation } from './recording.js';
import { SlowReader } from './slow-read.js';

export interface ReplayClientOptions {
  conversation: Conversation;
  /** Another server to drive instead of the recorded URL (ws:// or wss://). */
  target?: string;
  /** Where to write the new session; without it the recording is made in a temp dir and removed. */
  out?: string;
  speed: number;
  strict: boolean;
  rules: IgnoreRules;
  /** Longest wait for each reply from the server, in ms. */
  timeoutMs: number;
  maxPayload: number;
  insecure: boolean;
  upstreamCa: string[];
  /** --script hooks and the fault flags; null or absent: none. */
  hooks?: HookChain | null;
  /** --slow-read: read the server's WebSocket bytes at most this fast. */
  slowReadBytesPerSecond?: number;
}

export interface ReplayClientResult extends PlayerResult {
  archive: string | null;
}

/** Headers of the recorded request that belong to that one connection, not to a replay. */
const NOT_REPLAYED = new Set([
  'host',
  'connection',
  'upgrade',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'content-length',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-extensions',
  'sec-websocket-accept',
]);

/** The URL to connect to: --target (its path, or the recorded one when it has none). */
export function replayUrl(recordedUrl: string, target: string | undefined): URL {
  const recorded = new URL(recordedUrl);
  if (target === undefined) return recorded;
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw cliError('ERR_USAGE', `--target must be a ws:// or wss:// URL, got "${target}"`);
  }
  if (!['ws:', 'wss:'].includes(url.protocol)) throw cliError('ERR_USAGE', `--target must be a ws:// or wss:// URL, got "${target}"`);
  if (url.pathname === '/' && url.search === '') {
    url.pathname = recorded.pathname;
    url.search = recorded.search;
  }
  return url;
}

export async function replayAsClient(options: ReplayClientOptions, io: Io): Promise<ReplayClientResult> {
  const { conversation } = options;
  const url = replayUrl(conversation.connection.url, options.target);
  const tempDir = options.out === undefined ? mkdtempSync(path.join(os.tmpdir(), 'wstape-replay-')) : null;
  const archive = options.out ?? path.join(tempDir!, 'replay.wstape.json');
  const recorder = await startRecording(
    {
      host: '127.0.0.1',
      port: 0,
      out: archive,
      quiet: true,
      maxPayload: options.maxPayload,
      target: `${url.protocol}//${url.host}`,
      insecure: options.insecure,
      upstreamCa: options.upstreamCa,
    },
    io,
  );
  try {
    const socket = net.connect(recorder.port, '127.0.0.1');
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const key = newClientKey();
    const usedDeflate = conversation.connection.permessageDeflate !== null;
    const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`];
    for (const [name, value] of conversation.connection.request.headers) {
      if (!NOT_REPLAYED.has(name.toLowerCase())) lines.push(`${name}: ${value}`);
    }
    lines.push('Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${key}`, 'Sec-WebSocket-Version: 13');
    // Each message is compressed on its own, so no context takeover is needed on our side.
    if (usedDeflate) lines.push('Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover');
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);

    const { head, rest } = await readHandshake(socket, options.timeoutMs);
    if (head.status !== 101) {
      throw cliError('ERR_REPLAY', `${url.href} answered the handshake with ${head.status} ${head.statusText}, not 101`);
    }
    if (headerValue(head.headers, 'sec-websocket-accept') !== acceptKey(key)) {
      throw cliError('ERR_REPLAY', `${url.href} sent a wrong Sec-WebSocket-Accept`);
    }
    const deflate = negotiatedDeflate(headerValue(head.headers, 'sec-websocket-extensions'));
    const observer = new StreamObserver({ sender: 'server', deflate, maxPayload: options.maxPayload });
    const player: ConversationPlayer = new ConversationPlayer(
      conversation,
      {
        side: 'client',
        speed: options.speed,
        strict: options.strict,
        rules: options.rules,
        deflate: deflate !== null,
        timeoutMs: options.timeoutMs,
        hooks: options.hooks ?? null,
      },
      {
        send: (bytes) => {
          if (!socket.destroyed) socket.write(bytes);
        },
        drop: () => socket.destroy(),
        finish: () => socket.end(),
        warn: (line) => io.stderr.write(`${line}\n`),
      },
    );
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const parse = (bytes: Uint8Array): void => {
      for (const event of observer.push(bytes)) {
        if (event.type !== 'frame') continue;
        player.peerFrame(frameView(event.frame));
        // --strict as a client: stop at the first divergence.
        if (options.strict && player.firstDivergence) player.stop();
      }
    };
    const rate = options.slowReadBytesPerSecond;
    const slow = rate === undefined ? null : new SlowReader(socket, rate, parse);
    if (slow) socket.once('close', () => slow.stop());
    const onBytes = slow ? (bytes: Uint8Array): void => slow.push(bytes) : parse;
    if (rest.length > 0) onBytes(rest);
    socket.on('data', onBytes);
    socket.on('end', () => player.peerGone());
    socket.on('error', () => player.peerGone());
    socket.on('close', () => player.peerGone());
    const result = await player.play();
    if (result.divergence) socket.destroy();
    // Give the server its recorded chance to close the connection, then end ours.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, Math.min(options.timeoutMs, 2000))))]);
    clearTimeout(timer);
    socket.destroy();
    observer.close();
    await recorder.stop(500);
    return { ...result, archive: options.out === undefined ? null : archive };
  } finally {
    await recorder.stop(0);
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  }
}

/** Read the server's answer to the handshake, and whatever frames came with it. */
async function readHandshake(socket: net.Socket, timeoutMs: number): Promise<{ head: ResponseHead; rest: Uint8Array }> {
  const parser = new ResponseParser();
  parser.expect('GET');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(cliError('ERR_REPLAY', `no answer to the handshake within ${timeoutMs} ms`)), timeoutMs);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      socket.removeListener('data', onData);
      reject(error);
    };
    const onData = (chunk: Buffer): void => {
      for (const event of parser.push(chunk)) {
        if (event.type === 'error') return fail(cliError('ERR_REPLAY', `the server's handshake answer is not HTTP: ${event.message}`));
        if (event.type === 'head') {
          clearTimeout(timer);
          socket.removeListener('data', onData);
          // A 101 detaches the parser at its head; anything after it is WebSocket frames.
          resolve({ head: event.head, rest: event.head.status === 101 ? parser.takeDetachedBytes() : new Uint8Array(0) });
          return;
        }
      }
    };
    socket.on('data', onData);
    socket.once('close', () => fail(cliError('ERR_REPLAY', 'the server closed the connection during the handshake')));
  });
}

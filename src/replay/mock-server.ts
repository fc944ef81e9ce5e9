/**
 * `replay --as server`: a mock of the recorded server. A WebSocket client that connects to a
 * recorded path gets the recorded handshake answer and then the server's side of that
 * conversation, in lockstep with what the client sends; HTTP requests get the recorded responses
 * (matched on method, path and query).
 */
import net from 'node:net';
import { cliError } from '../errors.js';
import type { HttpEntry } from '../format/schema.js';
import type { HookChain } from '../intervene/chain.js';
import { RequestParser, headerHasToken, headerValue, type RequestHead } from '../http/http-parser.js';
import { acceptKey } from '../wire/handshake.js';
import { parseExtensions } from '../wire/permessage-deflate.js';
import { StreamObserver } from '../wire/stream-observer.js';
import type { DeflateParams, ObservedFrame } from '../wire/types.js';
import type { IgnoreRules } from './match.js';
import { ConversationPlayer, type PlayerResult } from './player.js';
import { pathOf, type Conversation, type Recording } from './recording.js';
import { SlowReader } from './slow-read.js';

export interface MockServerOptions {
  recording: Recording;
  host: string;
  port: number;
  /** Serve only this connection (--conn), to every client. */
  conversation?: Conversation;
  speed: number;
  strict: boolean;
  rules: IgnoreRules;
  maxPayload: number;
  /** Called when a WebSocket session ends. */
  onSession?: (conversation: Conversation, result: PlayerResult) => void;
  /** Called for each HTTP request: what was served (or null for a 404). */
  onHttp?: (head: RequestHead, served: HttpEntry | null) => void;
  /** --script hooks and the fault flags, for every WebSocket session; null or absent: none. */
  hooks?: HookChain | null;
  /** --slow-read: read each client's WebSocket bytes at most this fast. */
  slowReadBytesPerSecond?: number;
  /** One line for stderr: a hook failed, or asked for what a replay cannot do. */
  onWarning?: (line: string) => void;
}

/** Headers of the recorded 101 that belong to that handshake only, recomputed for each client. */
const HANDSHAKE_HEADERS = new Set(['sec-websocket-accept', 'sec-websocket-extensions', 'sec-websocket-protocol', 'content-length', 'transfer-encoding']);

export class MockServer {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly cursors = new Map<string, number>();

  constructor(private readonly options: MockServerOptions) {
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
  }

  async listen(): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          cliError(
            'ERR_LISTEN',
            `cannot listen on ${this.options.host}:${this.options.port}: ${error.code === 'EADDRINUSE' ? 'the port is in use' : (error.code ?? error.message)}`,
          ),
        ),
      );
      this.server.listen(this.options.port, this.options.host, () => resolve(this.server.address() as net.AddressInfo));
    });
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const requests = new RequestParser();
    let current: { head: RequestHead } | null = null;
    const onData = (chunk: Buffer): void => handle(requests.push(chunk));
    const handle = (events: ReturnType<RequestParser['push']>): void => {
      for (const event of events) {
        if (event.type === 'head') current = { head: event.head };
        else if (event.type === 'error') {
          socket.end(simpleResponse(400, 'Bad Request', `wstape replay: ${event.message}\n`));
          return;
        } else if (event.type === 'end' && current) {
          const head = current.head;
          current = null;
          if (headerHasToken(head.headers, 'connection', 'upgrade') && (headerValue(head.headers, 'upgrade') ?? '').toLowerCase() === 'websocket') {
            socket.removeListener('data', onData);
            this.startWebSocket(socket, head, requests.takeDetachedBytes());
            return;
          }
          this.serveHttp(socket, head);
          if (headerHasToken(head.headers, 'connection', 'close')) {
            socket.end();
            return;
          }
          handle(requests.resume());
          return;
        }
      }
    };
    socket.on('data', onData);
  }

  /** The next recorded conversation for this path: in recording order, the last one repeating. */
  private nextConversation(target: string): Conversation | null {
    if (this.options.conversation) return this.options.conversation;
    const all = this.options.recording.conversations;
    const pathname = target.split('?')[0];
    let candidates = all.filter((conversation) => pathOf(conversation.connection.url) === target);
    if (candidates.length === 0) candidates = all.filter((conversation) => pathOf(conversation.connection.url).split('?')[0] === pathname);
    if (candidates.length === 0) return null;
    const key = `ws ${candidates[0]!.connection.url}`;
    const position = this.cursors.get(key) ?? 0;
    this.cursors.set(key, position + 1);
    return candidates[Math.min(position, candidates.length - 1)]!;
  }

  private startWebSocket(socket: net.Socket, head: RequestHead, early: Uint8Array): void {
    const conversation = this.nextConversation(head.target);
    const key = headerValue(head.headers, 'sec-websocket-key');
    if (!conversation || key === undefined) {
      const paths = [...new Set(this.options.recording.conversations.map((c) => pathOf(c.connection.url)))];
      socket.end(
        simpleResponse(404, 'Not Found', `wstape replay: no recorded WebSocket connection for ${head.target}; recorded paths: ${paths.join(', ') || 'none'}\n`),
      );
      return;
    }
    const recorded = conversation.connection;
    const deflate = negotiateDeflate(recorded.permessageDeflate !== null, headerValue(head.headers, 'sec-websocket-extensions'));
    const offered = (headerValue(head.headers, 'sec-websocket-protocol') ?? '').split(',').map((p) => p.trim());
    const lines = [`HTTP/1.1 101 ${recorded.response.statusText || 'Switching Protocols'}`];
    for (const [name, value] of recorded.response.headers) {
      if (!HANDSHAKE_HEADERS.has(name.toLowerCase())) lines.push(`${name}: ${value}`);
    }
    // RFC 6455 §4.2.2: the accept key answers this client's key, not the recorded one.
    lines.push(`Sec-WebSocket-Accept: ${acceptKey(key)}`);
    if (recorded.subprotocol && offered.includes(recorded.subprotocol)) lines.push(`Sec-WebSocket-Protocol: ${recorded.subprotocol}`);
    if (deflate) lines.push(`Sec-WebSocket-Extensions: ${deflateResponse(deflate)}`);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);

    const observer = new StreamObserver({ sender: 'client', deflate, maxPayload: this.options.maxPayload });
    const player = new ConversationPlayer(
      conversation,
      {
        side: 'server',
        speed: this.options.speed,
        strict: this.options.strict,
        rules: this.options.rules,
        deflate: deflate !== null,
        hooks: this.options.hooks ?? null,
      },
      {
        send: (bytes) => {
          if (!socket.destroyed) socket.write(bytes);
        },
        drop: () => socket.destroy(),
        finish: () => socket.end(),
        warn: (line) => this.options.onWarning?.(line),
      },
    );
    const parse = (bytes: Uint8Array): void => {
      for (const event of observer.push(bytes)) if (event.type === 'frame') player.peerFrame(frameView(event.frame));
    };
    const rate = this.options.slowReadBytesPerSecond;
    const slow = rate === undefined ? null : new SlowReader(socket, rate, parse);
    if (slow) socket.on('close', () => slow.stop());
    const onBytes = slow ? (bytes: Uint8Array): void => slow.push(bytes) : parse;
    if (early.length > 0) onBytes(early);
    socket.on('data', onBytes);
    socket.on('end', () => {
      player.peerGone();
      socket.end();
    });
    socket.on('close', () => {
      player.peerGone();
      observer.close();
    });
    void player.play().then((result) => this.options.onSession?.(conversation, result));
  }

  private serveHttp(socket: net.Socket, head: RequestHead): void {
    const exchange = this.nextExchange(head);
    this.options.onHttp?.(head, exchange);
    if (!exchange || !exchange.response) {
      const known = [...new Set(this.options.recording.exchanges.map((entry) => `${entry.request.method} ${pathOf(entry.url)}`))];
      socket.write(
        simpleResponse(
          404,
          'Not Found',
          `wstape replay: no recorded response for ${head.method} ${head.target}; recorded: ${known.join(', ') || 'none'}\n`,
          true,
        ),
      );
      return;
    }
    const response = exchange.response;
    const body = response.body
      ? response.body.text !== undefined
        ? Buffer.from(response.body.text, 'utf8')
        : Buffer.from(response.body.data ?? '', 'base64')
      : Buffer.alloc(0);
    const lines = [`HTTP/1.1 ${response.status} ${response.statusText}`];
    for (const [name, value] of response.headers) {
      const lower = name.toLowerCase();
      if (lower !== 'content-length' && lower !== 'transfer-encoding' && lower !== 'connection') lines.push(`${name}: ${value}`);
    }
    lines.push(`Content-Length: ${body.length}`);
    socket.write(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]));
  }

  private nextExchange(head: RequestHead): HttpEntry | null {
    const candidates = this.options.recording.exchanges.filter(
      (entry) => entry.request.method === head.method && pathOf(entry.url) === head.target && entry.response !== null,
    );
    if (candidates.length === 0) return null;
    const key = `http ${head.method} ${head.target}`;
    const position = this.cursors.get(key) ?? 0;
    this.cursors.set(key, position + 1);
    return candidates[Math.min(position, candidates.length - 1)]!;
  }
}

/** A frame as the matcher compares it (the archive's view of it). */
export function frameView(frame: ObservedFrame): { type: ObservedFrame['type']; fin: boolean; text?: string; data?: string; code?: number; reason?: string } {
  const payload = Buffer.from(frame.payload.buffer, frame.payload.byteOffset, frame.payload.byteLength);
  if (frame.type === 'close')
    return { type: 'close', fin: frame.fin, ...(frame.closeCode !== undefined ? { code: frame.closeCode } : {}), reason: frame.closeReason ?? '' };
  if (frame.isText) return { type: frame.type, fin: frame.fin, text: payload.toString('utf8') };
  return { type: frame.type, fin: frame.fin, data: payload.toString('base64') };
}

/**
 * RFC 7692 §7.1: accept the client's permessage-deflate offer when the recording used it. The
 * mock compresses each message on its own (server_no_context_takeover, which a server may add).
 */
export function negotiateDeflate(recordedWithDeflate: boolean, offer: string | undefined): DeflateParams | null {
  if (!recordedWithDeflate || offer === undefined) return null;
  const element = parseExtensions(offer).find((extension) => extension.name === 'permessage-deflate');
  if (!element) return null;
  return {
    serverNoContextTakeover: true,
    clientNoContextTakeover: element.params.client_no_context_takeover !== undefined,
    serverMaxWindowBits: 15,
    clientMaxWindowBits: 15,
  };
}

function deflateResponse(params: DeflateParams): string {
  return `permessage-deflate; server_no_context_takeover${params.clientNoContextTakeover ? '; client_no_context_takeover' : ''}`;
}

function simpleResponse(status: number, statusText: string, body: string, keepAlive = false): Buffer {
  const payload = Buffer.from(body, 'utf8');
  return Buffer.concat([
    Buffer.from(
      `HTTP/1.1 ${status} ${statusText}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${payload.length}\r\n${keepAlive ? '' : 'connection: close\r\n'}\r\n`,
      'latin1',
    ),
    payload,
  ]);
}

/**
 * One client connection speaking HTTP/1.x to the recorder: requests are relayed to their upstream
 * and recorded as exchanges, one at a time (a pipelined request waits for the previous response,
 * which keeps request/response matching exact and lets keep-alive requests change upstreams).
 *
 * A successful WebSocket upgrade hands both sockets to a WebSocketRelay; a CONNECT opens a tunnel
 * whose first bytes decide what it is (plaintext HTTP is recorded, TLS passes through). A stream
 * that stops parsing as HTTP is still relayed, byte for byte, as an opaque tunnel.
 */
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import type { HttpEntry, HttpResponseRecord } from '../format/schema.js';
import {
  RequestParser,
  ResponseParser,
  headerHasToken,
  headerValue,
  type HttpEvent,
  type RequestHead,
  type ResponseHead,
} from '../http/http-parser.js';
import { negotiatedDeflate } from '../wire/permessage-deflate.js';
import type { LeafProvider } from './client-tls.js';
import { forward } from './backpressure.js';
import { CappedBuffer, bodyRecord, concatBytes } from './payload.js';
import { openTunnel, sniffTunnel } from './connect-tunnel.js';
import type { Recorder } from './recorder.js';
import {
  connectUpstream,
  describeUpstreamError,
  formatAuthority,
  parseAbsoluteTarget,
  parseAuthority,
  recordedUrl,
  readyEvent,
  rewriteRequestHead,
  type UpstreamAddress,
  type UpstreamTls,
} from './upstream.js';
import { WebSocketRelay } from './websocket-relay.js';

/** Something the proxy can stop when recording ends. */
export interface Stoppable {
  shutdown(): void;
}

export interface TlsSettings {
  /** Leaf certificates for interception; the root CA is loaded (or created) on first use. */
  leaves: () => Promise<LeafProvider>;
  /** Hosts whose TLS passes through untouched (--no-intercept). */
  passThrough: (host: string) => boolean;
  /** Upstream verification: --insecure and --upstream-ca. */
  insecure: boolean;
  extraCa: string[];
}

export interface ProxyContext {
  recorder: Recorder;
  tls: TlsSettings;
  /** Track a live session or relay; returns the function to call when it is done. */
  track(item: Stoppable): () => void;
}

/** Where this connection's requests go. */
export type Route =
  /** Forward proxy: absolute-form requests name their upstream; CONNECT opens tunnels. */
  | { kind: 'forward' }
  /** Reverse proxy (--target) or inside a CONNECT tunnel: one upstream for everything. */
  | {
      kind: 'fixed';
      mode: 'reverse' | 'connect';
      address: UpstreamAddress;
      rewriteHost: boolean;
      /** TLS to the upstream (wss://, https://); absent for plaintext. */
      tls?: UpstreamTls;
      /** An upstream connection that is already open (or opening). */
      connected?: Socket;
    };

interface Exchange {
  stamp: { time: string; elapsed: number };
  started: bigint;
  head: RequestHead;
  url: string;
  address: UpstreamAddress;
  mode: HttpEntry['mode'];
  upgrade: boolean;
  requestBody: CappedBuffer;
  response: ResponseHead | null;
  responseBody: CappedBuffer;
  /** Bytes of the response already sent to the client (a 502 is only possible before any). */
  responseStarted: boolean;
}

export class HttpSession implements Stoppable {
  private readonly ctx: ProxyContext;
  private readonly recorder: Recorder;
  private readonly client: Duplex & { remoteAddress?: string; remotePort?: number };
  private readonly route: Route;
  private readonly requests = new RequestParser();
  private responses = new ResponseParser();
  private upstream: Socket | null = null;
  private upstreamKey = '';
  private upstreamConnected = false;
  private exchange: Exchange | null = null;
  /** Set once the sockets were handed to another relay; this session is then inert. */
  private handedOff = false;
  private readonly untrack: () => void;
  private readonly onClientData = (chunk: Buffer): void => this.handleRequestEvents(this.requests.push(chunk));
  private readonly onClientEnd = (): void => this.clientEnded();
  private readonly onClientGone = (): void => this.teardown();

  constructor(ctx: ProxyContext, client: Duplex, route: Route, initialBytes: Uint8Array = new Uint8Array(0)) {
    this.ctx = ctx;
    this.recorder = ctx.recorder;
    this.client = client;
    this.route = route;
    this.untrack = ctx.track(this);
    if (route.kind === 'fixed' && route.connected) this.adoptUpstream(route.connected, route.address);
    client.on('data', this.onClientData);
    client.on('end', this.onClientEnd);
    client.on('error', this.onClientGone);
    client.on('close', this.onClientGone);
    if (initialBytes.length > 0) this.handleRequestEvents(this.requests.push(initialBytes));
    if (!this.handedOff) {
      client.resume();
      this.upstream?.resume();
    }
  }

  shutdown(): void {
    this.client.destroy();
    this.upstream?.destroy();
  }

  // ---- client → upstream -------------------------------------------------------------------

  private handleRequestEvents(events: Array<HttpEvent<RequestHead>>): void {
    for (const event of events) {
      if (this.handedOff) return;
      switch (event.type) {
        case 'head':
          this.startExchange(event.head, event.raw);
          break;
        case 'body':
          if (!this.exchange || !this.upstream) break;
          this.exchange.requestBody.push(event.data);
          this.forward(this.upstream, event.raw, this.client);
          break;
        case 'end':
          // The request is complete; the parser waits (detached) until the response ends.
          break;
        case 'error':
          this.requestParseFailed(event.message, event.rest);
          return;
      }
    }
  }

  private startExchange(head: RequestHead, raw: Uint8Array): void {
    if (this.route.kind === 'forward' && head.method === 'CONNECT') {
      this.openConnectTunnel(head);
      return;
    }
    let address: UpstreamAddress;
    let originForm = head.target;
    let headBytes = raw;
    let mode: HttpEntry['mode'];
    let secure = false;
    if (this.route.kind === 'forward') {
      const absolute = parseAbsoluteTarget(head.target);
      if (!absolute) {
        this.refuse(400, 'Bad Request', 'wstape record is a proxy: send absolute-URI requests (set HTTP_PROXY), or start it with --target URL to use it as a reverse proxy.');
        return;
      }
      if (absolute.scheme === 'https' || absolute.scheme === 'wss') {
        this.refuse(501, 'Not Implemented', `wstape cannot fetch ${absolute.scheme}:// URLs sent as absolute-URI requests; clients should use CONNECT.`);
        return;
      }
      address = absolute.address;
      originForm = absolute.originForm;
      mode = 'forward';
      headBytes = rewriteRequestHead(raw, head, { target: originForm });
    } else {
      address = this.route.address;
      mode = this.route.mode;
      secure = this.route.tls !== undefined;
      if (this.route.rewriteHost) headBytes = rewriteRequestHead(raw, head, { host: formatAuthority(address, secure ? 443 : 80) });
    }

    const upgrade = headerHasToken(head.headers, 'connection', 'upgrade') && headerValue(head.headers, 'upgrade') !== undefined;
    const websocket = upgrade && (headerValue(head.headers, 'upgrade') ?? '').toLowerCase() === 'websocket';
    this.exchange = {
      stamp: this.recorder.now(),
      started: process.hrtime.bigint(),
      head,
      url: recordedUrl(address, originForm, websocket, secure),
      address,
      mode,
      upgrade,
      requestBody: new CappedBuffer(this.recorder.maxPayload),
      response: null,
      responseBody: new CappedBuffer(this.recorder.maxPayload),
      responseStarted: false,
    };
    const upstream = this.ensureUpstream(address);
    this.responses.expect(head.method);
    this.forward(upstream, headBytes, this.client);
  }

  /** Reuse the keep-alive upstream when it goes to the same place; otherwise connect anew. */
  private ensureUpstream(address: UpstreamAddress): Socket {
    const key = `${address.host}:${address.port}`;
    const current = this.upstream;
    if (current && this.upstreamKey === key && !current.destroyed && !current.readableEnded) return current;
    this.upstream?.destroy();
    const socket = connectUpstream(address, this.route.kind === 'fixed' ? this.route.tls : undefined);
    this.adoptUpstream(socket, address);
    return socket;
  }

  private adoptUpstream(socket: Socket, address: UpstreamAddress): void {
    this.upstream = socket;
    this.upstreamKey = `${address.host}:${address.port}`;
    this.upstreamConnected = !(socket instanceof tls.TLSSocket) && !socket.connecting;
    if (!this.upstreamConnected) {
      socket.once(readyEvent(socket), () => {
        if (this.upstream === socket) this.upstreamConnected = true;
      });
    }
    this.responses = new ResponseParser();
    socket.on('data', (chunk: Buffer) => {
      if (this.upstream === socket && !this.handedOff) this.handleResponseEvents(this.responses.push(chunk), chunk);
    });
    socket.on('end', () => {
      if (this.upstream === socket && !this.handedOff) this.upstreamEnded(socket);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (this.upstream === socket && !this.handedOff) this.upstreamFailed(socket, error);
    });
    socket.on('close', () => {
      if (this.upstream === socket && !this.handedOff) this.upstreamFailed(socket, null);
    });
  }

  // ---- upstream → client -------------------------------------------------------------------

  private handleResponseEvents(events: Array<HttpEvent<ResponseHead>>, chunk: Uint8Array): void {
    const upstream = this.upstream!;
    for (const event of events) {
      if (this.handedOff) return;
      const exchange = this.exchange;
      if (!exchange) {
        // The server talks without being asked: not HTTP as we know it; relay it opaquely.
        const rest = event.type === 'head' || event.type === 'body' ? event.raw : chunk;
        this.becomeOpaque('unsolicited response bytes', new Uint8Array(0), rest);
        return;
      }
      switch (event.type) {
        case 'head':
          if (event.head.status === 101 && exchange.upgrade) {
            exchange.response = event.head;
            this.switchToWebSocket(exchange, event.raw);
            return;
          }
          exchange.responseStarted = true;
          if (event.head.status >= 100 && event.head.status < 200) {
            // Interim response (100 Continue, 103 Early Hints): relayed, the real one follows.
            this.forward(this.client, event.raw, upstream);
            break;
          }
          exchange.response = event.head;
          this.forward(this.client, event.raw, upstream);
          break;
        case 'body':
          exchange.responseBody.push(event.data);
          this.forward(this.client, event.raw, upstream);
          break;
        case 'end':
          this.finishExchange(exchange);
          break;
        case 'error':
          this.recordError('HTTP_PARSE', `response from ${exchange.url}: ${event.message}`);
          this.becomeOpaque(event.message, new Uint8Array(0), event.rest);
          return;
      }
    }
  }

  private finishExchange(exchange: Exchange, error?: string): void {
    this.exchange = null;
    const entry: HttpEntry = {
      kind: 'http',
      id: this.recorder.nextId('h'),
      ...this.exchangeRecord(exchange),
      response: exchange.response ? responseRecord(exchange.response) : null,
      duration: Number(process.hrtime.bigint() - exchange.started) / 1e6,
    };
    if (exchange.requestBody.size > 0) entry.request.body = bodyRecord(exchange.requestBody.bytes(), exchange.requestBody.size);
    if (entry.response && exchange.responseBody.size > 0) {
      entry.response.body = bodyRecord(exchange.responseBody.bytes(), exchange.responseBody.size);
    }
    if (error !== undefined) entry.error = error;
    this.recorder.append(entry);
    this.recorder.flush();

    const response = exchange.response;
    const closeAfter =
      error !== undefined ||
      !response ||
      headerHasToken(exchange.head.headers, 'connection', 'close') ||
      headerHasToken(response.headers, 'connection', 'close') ||
      (response.httpVersion === '1.0' && !headerHasToken(response.headers, 'connection', 'keep-alive'));
    if (closeAfter) {
      if (!this.client.writableEnded) this.client.end();
      this.upstream?.end();
      return;
    }
    // Both parsers detached at the end of their message; the next exchange starts now.
    const stray = this.responses.resume();
    if (stray.length > 0) {
      this.handleResponseEvents(stray, new Uint8Array(0));
      return;
    }
    this.handleRequestEvents(this.requests.resume());
  }

  private switchToWebSocket(exchange: Exchange, responseHead: Uint8Array): void {
    const response = exchange.response!;
    const upstream = this.upstream!;
    this.handOff();
    const id = this.recorder.nextId('c');
    const extensions = headerValue(response.headers, 'sec-websocket-extensions') ?? null;
    const deflate = negotiatedDeflate(extensions ?? undefined);
    this.recorder.append({
      kind: 'connection',
      id,
      ...this.exchangeRecord(exchange),
      response: responseRecord(response),
      subprotocol: headerValue(response.headers, 'sec-websocket-protocol') ?? null,
      extensions,
      permessageDeflate: deflate,
    });
    this.recorder.flush();
    this.client.write(responseHead);
    const relay = new WebSocketRelay({
      recorder: this.recorder,
      id,
      client: this.client,
      upstream,
      deflate,
      clientBytes: this.requests.takeDetachedBytes(),
      serverBytes: this.responses.takeDetachedBytes(),
      onDone: () => untrack(),
    });
    const untrack = this.ctx.track(relay);
  }

  // ---- CONNECT ----------------------------------------------------------------------------

  private openConnectTunnel(head: RequestHead): void {
    const address = parseAuthority(head.target, 443);
    if (!address) {
      this.refuse(400, 'Bad Request', `CONNECT needs host:port, got "${head.target}".`);
      return;
    }
    this.handOff();
    const upstream = connectUpstream(address);
    const fail = (error: NodeJS.ErrnoException): void => {
      const { code, reason } = describeUpstreamError(error, address, false);
      this.recordError(code, `CONNECT ${head.target}: ${reason}`);
      writeSimpleResponse(this.client, 502, 'Bad Gateway', `wstape: ${reason}\n`);
    };
    upstream.once('error', fail);
    upstream.once('connect', () => {
      upstream.removeListener('error', fail);
      this.client.write('HTTP/1.1 200 Connection established\r\n\r\n');
      sniffTunnel(this.ctx, this.client, upstream, address, this.requests.takeDetachedBytes());
    });
  }

  // ---- endings and failures ---------------------------------------------------------------

  private clientEnded(): void {
    if (this.handedOff) return;
    // A client that half-closes after its request still gets the response.
    if (this.exchange) this.upstream?.end();
    else {
      this.upstream?.end();
      this.client.end();
    }
  }

  private upstreamEnded(socket: Socket): void {
    const pending = this.exchange;
    for (const event of this.responses.finish()) {
      // A body delimited by the end of the connection is complete now.
      if (event.type === 'end' && pending) this.finishExchange(pending);
    }
    if (pending && this.exchange === pending) {
      this.upstreamFailed(socket, null);
    } else if (this.upstream === socket) {
      // An idle keep-alive connection closed by the server: the next request reconnects.
      this.upstream = null;
      socket.end();
    }
  }

  private upstreamFailed(socket: Socket, error: NodeJS.ErrnoException | null): void {
    if (this.upstream === socket) this.upstream = null;
    const exchange = this.exchange;
    if (!exchange) return;
    const { code, reason } = error
      ? describeUpstreamError(error, exchange.address, this.upstreamConnected)
      : {
          code: this.upstreamConnected ? ('UPSTREAM_CLOSED' as const) : ('UPSTREAM_CONNECT' as const),
          reason: `${formatAuthority(exchange.address, 0)} closed the connection before the response was complete`,
        };
    this.recordError(code, `${exchange.head.method} ${exchange.url}: ${reason}`);
    if (!exchange.responseStarted) {
      writeSimpleResponse(this.client, 502, 'Bad Gateway', `wstape: ${reason}\n`);
      this.finishExchange(exchange, reason);
    } else {
      this.finishExchange(exchange, reason);
      this.client.destroy();
    }
  }

  private requestParseFailed(message: string, rest: Uint8Array): void {
    this.recordError('HTTP_PARSE', `request from ${this.clientLabel()}: ${message}`);
    if (this.upstream && this.route.kind === 'fixed') {
      // Not HTTP, but we know where it goes: relay it untouched.
      this.becomeOpaque(message, rest, new Uint8Array(0));
      return;
    }
    this.refuse(400, 'Bad Request', `wstape: ${message}`);
  }

  /** Answer the client ourselves and close (nothing was sent upstream for this request). */
  private refuse(status: number, statusText: string, message: string): void {
    this.handOff();
    this.upstream?.destroy();
    writeSimpleResponse(this.client, status, statusText, `${message}\n`);
  }

  /** From here on, relay bytes both ways without parsing, as a tunnel entry. */
  private becomeOpaque(reason: string, clientBytes: Uint8Array, serverBytes: Uint8Array): void {
    const upstream = this.upstream;
    const address = this.exchange?.address ?? parseAuthority(this.upstreamKey, 80);
    this.handOff();
    if (!upstream || !address) {
      this.client.destroy();
      return;
    }
    openTunnel(this.ctx, this.client, upstream, address, {
      reason: `not HTTP: ${reason}`,
      secure: false,
      clientBytes: concatBytes(clientBytes, this.requests.takeDetachedBytes()),
      serverBytes,
    });
  }

  /** Stop listening on both sockets: another relay owns them now (or they are closing). */
  private handOff(): void {
    if (this.handedOff) return;
    this.handedOff = true;
    // Paused until the next owner attaches its listeners and resumes, so no byte is dropped.
    this.client.pause();
    this.upstream?.pause();
    this.client.removeListener('data', this.onClientData);
    this.client.removeListener('end', this.onClientEnd);
    this.client.removeListener('error', this.onClientGone);
    this.client.removeListener('close', this.onClientGone);
    this.upstream?.removeAllListeners('data');
    this.upstream?.removeAllListeners('end');
    this.upstream?.removeAllListeners('close');
    // Keep an error listener: an unhandled 'error' would crash the recorder.
    this.upstream?.removeAllListeners('error');
    this.upstream?.on('error', () => {});
    this.client.on('error', () => {});
    this.untrack();
  }

  private teardown(): void {
    if (this.handedOff) return;
    if (this.exchange && !this.exchange.response) {
      this.finishExchange(this.exchange, 'the client closed the connection before the response');
    }
    this.handOff();
    this.upstream?.destroy();
  }

  private forward(to: Duplex, bytes: Uint8Array, from: Duplex): void {
    forward(from, to, bytes);
  }

  private recordError(code: string, message: string): void {
    this.recorder.append({ kind: 'error', ...this.recorder.now(), code, message });
    this.recorder.flush();
  }

  /** What connection and http entries share: when, where, and the request as the client sent it. */
  private exchangeRecord(exchange: Exchange): Pick<HttpEntry, 'time' | 'elapsed' | 'url' | 'mode' | 'client' | 'server' | 'request'> {
    const { head } = exchange;
    return {
      time: exchange.stamp.time,
      elapsed: exchange.stamp.elapsed,
      url: exchange.url,
      mode: exchange.mode,
      client: this.clientEndpoint(),
      server: { host: exchange.address.host, port: exchange.address.port },
      request: { method: head.method, target: head.target, httpVersion: head.httpVersion, headers: head.headers },
    };
  }

  private clientEndpoint(): { address: string; port: number } {
    return { address: this.client.remoteAddress ?? '', port: this.client.remotePort ?? 0 };
  }

  private clientLabel(): string {
    const { address, port } = this.clientEndpoint();
    return `${address}:${port}`;
  }
}

/** A complete response from the recorder itself (errors, refusals); closes the connection. */
export function writeSimpleResponse(client: Duplex, status: number, statusText: string, body: string): void {
  if (client.destroyed || client.writableEnded) return;
  const payload = Buffer.from(body, 'utf8');
  client.end(
    Buffer.concat([
      Buffer.from(
        `HTTP/1.1 ${status} ${statusText}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${payload.length}\r\nconnection: close\r\n\r\n`,
        'latin1',
      ),
      payload,
    ]),
  );
}

function responseRecord(response: ResponseHead): HttpResponseRecord {
  return { status: response.status, statusText: response.statusText, httpVersion: response.httpVersion, headers: response.headers };
}

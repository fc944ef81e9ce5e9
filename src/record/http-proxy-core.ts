/**
 * The decisions of one client connection to the recording proxy, with no I/O: a sans-io state
 * machine in the shape of wsproto's Connection and mitmproxy's layers. The socket adapter
 * (http-session.ts) feeds it events (bytes from the client or the upstream, an upstream that
 * connected, ended or failed, a client that went away) and carries out the actions it returns:
 * connect an upstream, write bytes to a side, close a side, record an entry, or hand both sockets
 * to a WebSocket relay, an opaque tunnel or TLS interception. The core never touches a socket, a
 * timer or a file, so every path below is tested with literal bytes (test/record/http-proxy-core).
 *
 * What it decides:
 * - Requests are relayed one at a time (a pipelined request waits for the previous response,
 *   which keeps request/response matching exact and lets keep-alive requests change upstreams).
 * - A 101 to an upgrade request hands the connection to a WebSocket relay.
 * - A CONNECT is answered 200 once its upstream is open; then the tunnel's first bytes decide:
 *   a TLS ClientHello is intercepted (or passes through for --no-intercept hosts), plaintext is
 *   parsed as HTTP in this same core, and a server that speaks first makes an opaque tunnel.
 * - A stream that stops parsing as HTTP (either way), or response bytes nobody asked for, is
 *   still relayed byte for byte, as an opaque tunnel.
 * - An HTTP message whose framing is ambiguous (the shapes request smuggling uses) or whose head
 *   is too large is never forwarded: the client gets 400 or 431 for a request, 502 for a response.
 * - Resource limits: while a request waits for its response, bytes the client sends after it
 *   (pipelined requests, WebSocket frames before the 101) are held, and the client is paused
 *   until the response ends, so one chunk is the most the core ever holds. A request head must
 *   complete within the header timeout (else 408), a response head within the same time once it
 *   has begun (else 504), and a connection idle between requests is closed after the idle
 *   timeout. The core asks for timers with actions; the adapter runs them and reports them back.
 * - Loops: an upstream that turns out to be this recorder's own listening socket (a --target or
 *   a request naming the recorder, by any of its names) is refused with 508 before a byte goes.
 */
import type { RecorderErrorCode } from '../format/error-codes.js';
import type { ConnectionEntry, HttpEntry, HttpResponseRecord, TunnelEntry } from '../format/schema.js';
import {
  RequestParser,
  ResponseParser,
  headerHasToken,
  headerValue,
  type HttpErrorCode,
  type HttpEvent,
  type RequestHead,
  type ResponseHead,
} from '../http/http-parser.js';
import { negotiatedDeflate } from '../wire/permessage-deflate.js';
import type { DeflateParams } from '../wire/types.js';
import type { Stamp } from './clock.js';
import { CappedBuffer, bodyRecord, concatBytes } from './payload.js';
import {
  describeUpstreamError,
  formatAuthority,
  parseAbsoluteTarget,
  parseAuthority,
  recordedUrl,
  rewriteRequestHead,
  type SocketError,
  type UpstreamAddress,
  type UpstreamTls,
} from './upstream-address.js';

/** Where a client connection's requests go. */
export type HttpRoute =
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
    };

/** The two sockets of a proxied connection. */
export type Peer = 'client' | 'upstream';

/** What happened on the sockets; the adapter feeds these to {@link HttpProxyCore.handle}. */
export type ProxyEvent =
  | { type: 'client-bytes'; bytes: Uint8Array }
  /** The client half-closed (FIN): it sends nothing more but may still read. */
  | { type: 'client-ended' }
  /** The client's socket is gone (closed or failed). */
  | { type: 'client-closed' }
  /**
   * The upstream asked for by the last `connect` is ready (TCP connected, TLS handshake done);
   * `remote` is the address it reached, for loop detection.
   */
  | { type: 'upstream-connected'; remote?: SocketAddress }
  | { type: 'upstream-bytes'; bytes: Uint8Array }
  /** The upstream half-closed (FIN). */
  | { type: 'upstream-ended' }
  /** The upstream's socket failed (`error`) or closed without one (`null`). */
  | { type: 'upstream-failed'; error: SocketError | null }
  /** A timer the core asked for (`set-timer`) ran out. */
  | { type: 'timeout'; timer: ProxyTimer };

/**
 * The timers the core asks for.
 * - `request-head`: part of a request head has arrived; the rest must within the header timeout.
 * - `response-head`: the same for the response head, once its first byte arrived.
 * - `idle`: the connection waits for a request with nothing received.
 */
export type ProxyTimer = 'request-head' | 'response-head' | 'idle';

/** An address as a socket reports it (`remoteAddress`, `remotePort`). */
export interface SocketAddress {
  address: string;
  port: number;
}

/** What the adapter must do, in order. */
export type ProxyAction =
  /** Open a new upstream connection, dropping the current one if there is one. */
  | { type: 'connect'; address: UpstreamAddress; tls: UpstreamTls | undefined }
  /** Write bytes to one side, as they are (backpressure pauses the other side). */
  | { type: 'write'; to: Peer; bytes: Uint8Array }
  /** Stop reading from one side (the core holds what it sent), or read again. */
  | { type: 'pause' | 'resume'; side: Peer }
  /** Start (or restart) a timer that reports `timeout` after `ms`; `clear-timer` cancels it. */
  | { type: 'set-timer'; timer: ProxyTimer; ms: number }
  | { type: 'clear-timer'; timer: ProxyTimer }
  /** Close one side: `end` after what was written, or `destroy` at once. */
  | { type: 'close'; side: Peer; how: 'end' | 'destroy'; reason: string }
  /** Append an entry to the archive (and flush). */
  | { type: 'record'; entry: ConnectionEntry | HttpEntry | TunnelEntry }
  /** Append an error entry to the archive (and flush). */
  | { type: 'error'; code: RecorderErrorCode; message: string }
  /** Hand both sockets to a WebSocket relay for connection `id`; the core is done. */
  | { type: 'websocket'; id: string; deflate: DeflateParams | null; clientBytes: Uint8Array; serverBytes: Uint8Array; connection: ConnectionEntry }
  /** Hand both sockets to an opaque tunnel relay for tunnel `id`; the core is done. */
  | { type: 'tunnel'; id: string; clientBytes: Uint8Array; serverBytes: Uint8Array }
  /** Intercept the client's TLS (the ClientHello is `hello`) over the open upstream; the core is done. */
  | { type: 'intercept-tls'; address: UpstreamAddress; hello: Uint8Array }
  /** Nothing more to decide: stop listening to both sockets (they are closing). */
  | { type: 'release' };

/** What the core needs of the recorder: time, ids and the payload cap (Recorder is one). */
export interface CoreRecorder {
  now(): Stamp;
  nextId(prefix: 'c' | 'h' | 't'): string;
  readonly maxPayload: number;
}

export interface HttpProxyCoreOptions {
  recorder: CoreRecorder;
  route: HttpRoute;
  /** The client's address, as the archive shows it. */
  client: { address: string; port: number };
  /** Hosts whose TLS passes through a CONNECT tunnel untouched (--no-intercept). */
  passThrough: (host: string) => boolean;
  /** A fixed route's upstream is already open (`connected`) or opening (`connecting`). */
  upstream?: 'connected' | 'connecting';
  /** Whether an upstream's remote address is this recorder's own listening socket. */
  isOwnAddress?: (remote: SocketAddress) => boolean;
  /** Time limits in milliseconds; 0 (or absent) turns one off. */
  limits?: ProxyLimits;
}

export interface ProxyLimits {
  /** A request head, or a response head once begun, must complete within this. */
  headerTimeoutMs?: number;
  /** A connection that waits for a request with nothing received is closed after this. */
  idleTimeoutMs?: number;
}

/** The defaults `wstape record` uses (--header-timeout, --idle-timeout). */
export const DEFAULT_LIMITS: Required<ProxyLimits> = { headerTimeoutMs: 30_000, idleTimeoutMs: 60_000 };

interface Exchange {
  stamp: Stamp;
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

/** The upstream connection the core asked for last. */
interface Upstream {
  address: UpstreamAddress;
  connected: boolean;
}

const enum State {
  /** Relaying HTTP requests and responses. */
  Http,
  /** The last response said the connection closes; waiting for the sockets to go. */
  Closing,
  /** A CONNECT's upstream is opening; the client's next bytes wait in the request parser. */
  TunnelConnecting,
  /** A CONNECT was answered 200; the first bytes either way decide what the tunnel carries. */
  TunnelSniffing,
  /** Both sockets were handed to another relay, or are closing: nothing left to decide. */
  Done,
}

const EMPTY = new Uint8Array(0);
/** How many stray CR/LF bytes between responses are tolerated before the stream counts as not HTTP. */
const MAX_BLANK_LINES = 64;
const CONNECTION_ESTABLISHED = Buffer.from('HTTP/1.1 200 Connection established\r\n\r\n', 'latin1');

/** The HTTP/1.x proxy session of one client connection, as a pure state machine. */
export class HttpProxyCore {
  private readonly recorder: CoreRecorder;
  private readonly client: { address: string; port: number };
  private readonly passThrough: (host: string) => boolean;
  private readonly isOwnAddress: (remote: SocketAddress) => boolean;
  private readonly limits: Required<ProxyLimits>;
  private route: HttpRoute;
  private state = State.Http;
  private requests = new RequestParser();
  private responses = new ResponseParser();
  private upstream: Upstream | null = null;
  private exchange: Exchange | null = null;
  /** The CONNECT request being served, while its tunnel opens. */
  private connectHead: RequestHead | null = null;
  /** CR/LF bytes the server sent between responses (see unsolicited()). */
  private blankLines: Uint8Array = EMPTY;
  /** Whether the client is paused because the core holds bytes it sent (see holdClient()). */
  private clientHeld = false;
  /** The timers running now, as the core asked for them. */
  private readonly timers = new Set<ProxyTimer>();
  private actions: ProxyAction[] = [];

  constructor(options: HttpProxyCoreOptions) {
    this.recorder = options.recorder;
    this.client = options.client;
    this.passThrough = options.passThrough;
    this.isOwnAddress = options.isOwnAddress ?? (() => false);
    this.limits = { headerTimeoutMs: options.limits?.headerTimeoutMs ?? 0, idleTimeoutMs: options.limits?.idleTimeoutMs ?? 0 };
    this.route = options.route;
    if (options.upstream && options.route.kind === 'fixed') {
      this.upstream = { address: options.route.address, connected: options.upstream === 'connected' };
    }
  }

  /** True once the sockets belong to another relay or are closing; later events are ignored. */
  get done(): boolean {
    return this.state === State.Done;
  }

  /**
   * The actions to begin with, before any event: the idle timer of a connection that has sent
   * nothing yet. Call once, right after construction.
   */
  start(): ProxyAction[] {
    this.actions = [];
    this.updateLimits();
    return this.actions;
  }

  /** Feed one event; returns the actions it calls for, in order. */
  handle(event: ProxyEvent): ProxyAction[] {
    this.actions = [];
    if (this.state !== State.Done) {
      this.dispatch(event);
      this.updateLimits();
    }
    return this.actions;
  }

  private dispatch(event: ProxyEvent): void {
    switch (event.type) {
      case 'client-bytes':
        if (this.state === State.TunnelSniffing) this.sniff(concatBytes(this.requests.takeDetachedBytes(), event.bytes), EMPTY);
        else this.handleRequestEvents(this.requests.push(event.bytes));
        break;
      case 'client-ended':
        this.clientEnded();
        break;
      case 'client-closed':
        this.clientClosed();
        break;
      case 'upstream-connected':
        if (!this.upstream) break;
        this.upstream.connected = true;
        if (event.remote && this.isOwnAddress(event.remote)) this.loopDetected(event.remote);
        else if (this.state === State.TunnelConnecting) this.tunnelOpened();
        break;
      case 'upstream-bytes':
        if (!this.upstream) break;
        if (this.state === State.TunnelSniffing) this.sniff(this.requests.takeDetachedBytes(), event.bytes);
        else if (this.state === State.Http && !this.exchange) this.unsolicited(event.bytes);
        else this.handleResponseEvents(this.responses.push(event.bytes));
        break;
      case 'upstream-ended':
        if (this.upstream) this.upstreamEnded();
        break;
      case 'upstream-failed':
        if (this.upstream) this.upstreamFailed(event.error);
        break;
      case 'timeout':
        this.timers.delete(event.timer);
        this.timedOut(event.timer);
        break;
    }
  }

  // ---- client → upstream -------------------------------------------------------------------

  private handleRequestEvents(events: Array<HttpEvent<RequestHead>>): void {
    for (const event of events) {
      if (this.state !== State.Http) return;
      switch (event.type) {
        case 'head':
          this.startExchange(event.head, event.raw);
          break;
        case 'body':
          if (!this.exchange || !this.upstream) break;
          this.exchange.requestBody.push(event.data);
          this.write('upstream', event.raw);
          break;
        case 'end':
          // The request is complete; the parser waits (detached) until the response ends.
          break;
        case 'error':
          this.requestParseFailed(event.code, event.message, event.rest);
          return;
      }
    }
  }

  private startExchange(head: RequestHead, raw: Uint8Array): void {
    this.blankLines = EMPTY;
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
        this.refuse(
          400,
          'Bad Request',
          'wstape record is a proxy: send absolute-URI requests (set HTTP_PROXY), or start it with --target URL to use it as a reverse proxy.',
        );
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

    const upgradeTo = headerValue(head.headers, 'upgrade');
    const upgrade = headerHasToken(head.headers, 'connection', 'upgrade') && upgradeTo !== undefined;
    const websocket = upgrade && (upgradeTo ?? '').toLowerCase() === 'websocket';
    this.exchange = {
      stamp: this.recorder.now(),
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
    this.ensureUpstream(address);
    this.responses.expect(head.method);
    this.write('upstream', headBytes);
  }

  /** Reuse the keep-alive upstream when it goes to the same place; otherwise connect anew. */
  private ensureUpstream(address: UpstreamAddress): void {
    const current = this.upstream;
    if (current && current.address.host === address.host && current.address.port === address.port) return;
    this.connect(address, this.route.kind === 'fixed' ? this.route.tls : undefined);
  }

  private connect(address: UpstreamAddress, tls: UpstreamTls | undefined): void {
    this.upstream = { address, connected: false };
    this.responses = new ResponseParser();
    this.actions.push({ type: 'connect', address, tls });
  }

  // ---- upstream → client -------------------------------------------------------------------

  private handleResponseEvents(events: Array<HttpEvent<ResponseHead>>): void {
    for (const event of events) {
      const exchange = this.exchange;
      if (this.state !== State.Http || !exchange) return;
      switch (event.type) {
        case 'head':
          if (event.head.status === 101 && exchange.upgrade) {
            exchange.response = event.head;
            this.switchToWebSocket(exchange, event.raw);
            return;
          }
          exchange.responseStarted = true;
          // An interim response (100 Continue, 103 Early Hints) is relayed; the real one follows.
          if (event.head.status >= 200) exchange.response = event.head;
          this.write('client', event.raw);
          break;
        case 'body':
          exchange.responseBody.push(event.data);
          this.write('client', event.raw);
          break;
        case 'end':
          this.finishExchange(exchange);
          break;
        case 'error':
          this.responseParseFailed(exchange, event.code, event.message, event.rest);
          return;
      }
    }
  }

  /**
   * The server sent bytes while no request was waiting: not HTTP as we know it, so relay the rest
   * of the connection opaquely. Blank lines between responses are tolerated, as the parser does.
   */
  private unsolicited(incoming: Uint8Array): void {
    const bytes = concatBytes(this.blankLines, incoming);
    if (bytes.length <= MAX_BLANK_LINES && bytes.every((byte) => byte === 0x0d || byte === 0x0a)) {
      // Held, not forwarded, like the blank lines the parser skips before a status line; if more
      // unsolicited bytes follow, they lead the opaque stream so no byte is lost.
      this.blankLines = bytes;
      return;
    }
    this.blankLines = EMPTY;
    this.becomeOpaque('unsolicited response bytes', EMPTY, bytes);
  }

  private finishExchange(exchange: Exchange, error?: string): void {
    this.finishExchangeEntry(exchange, error);
    const response = exchange.response;
    const closeAfter =
      error !== undefined ||
      !response ||
      headerHasToken(exchange.head.headers, 'connection', 'close') ||
      headerHasToken(response.headers, 'connection', 'close') ||
      (response.httpVersion === '1.0' && !headerHasToken(response.headers, 'connection', 'keep-alive'));
    if (closeAfter) {
      this.state = State.Closing;
      this.close('client', 'end', 'the exchange ends the connection');
      if (this.upstream) this.close('upstream', 'end', 'the exchange ends the connection');
      return;
    }
    // Both parsers detached at the end of their message; the next exchange starts now. Response
    // bytes beyond the end of the response were sent before any request asked for them.
    const stray = this.responses.takeDetachedBytes();
    this.responses.resume();
    if (stray.length > 0) {
      this.unsolicited(stray);
      if (this.state !== State.Http) return;
    }
    this.handleRequestEvents(this.requests.resume());
  }

  /** Record the exchange as it stands and forget it. */
  private finishExchangeEntry(exchange: Exchange, error?: string): void {
    this.exchange = null;
    const entry: HttpEntry = {
      kind: 'http',
      id: this.recorder.nextId('h'),
      ...this.exchangeRecord(exchange),
      response: exchange.response ? responseRecord(exchange.response) : null,
      duration: Math.round((this.recorder.now().elapsed - exchange.stamp.elapsed) * 1e6) / 1e3,
    };
    if (exchange.requestBody.size > 0) entry.request.body = bodyRecord(exchange.requestBody.bytes(), exchange.requestBody.size);
    if (entry.response && exchange.responseBody.size > 0) {
      entry.response.body = bodyRecord(exchange.responseBody.bytes(), exchange.responseBody.size);
    }
    if (error !== undefined) entry.error = error;
    this.actions.push({ type: 'record', entry });
  }

  private switchToWebSocket(exchange: Exchange, responseHead: Uint8Array): void {
    const response = exchange.response!;
    const id = this.recorder.nextId('c');
    const extensions = headerValue(response.headers, 'sec-websocket-extensions') ?? null;
    const deflate = negotiatedDeflate(extensions ?? undefined);
    const connection: ConnectionEntry = {
      kind: 'connection',
      id,
      ...this.exchangeRecord(exchange),
      response: responseRecord(response),
      subprotocol: headerValue(response.headers, 'sec-websocket-protocol') ?? null,
      extensions,
      permessageDeflate: deflate,
    };
    this.actions.push({ type: 'record', entry: connection });
    this.write('client', responseHead);
    this.handOff({
      type: 'websocket',
      id,
      connection,
      deflate,
      clientBytes: this.requests.takeDetachedBytes(),
      serverBytes: this.responses.takeDetachedBytes(),
    });
  }

  // ---- CONNECT ----------------------------------------------------------------------------

  private openConnectTunnel(head: RequestHead): void {
    const address = parseAuthority(head.target, 443);
    if (!address) {
      this.refuse(400, 'Bad Request', `CONNECT needs host:port, got "${head.target}".`);
      return;
    }
    // A keep-alive upstream of earlier requests is not the tunnel's: the connect replaces it.
    this.connectHead = head;
    this.state = State.TunnelConnecting;
    this.connect(address, undefined);
  }

  private tunnelOpened(): void {
    this.state = State.TunnelSniffing;
    this.write('client', CONNECTION_ESTABLISHED);
    // Bytes the client sent after its CONNECT head, before the 200, wait in the request parser.
    const early = this.requests.takeDetachedBytes();
    if (early.length > 0) this.sniff(early, EMPTY);
  }

  /**
   * The first bytes through an answered CONNECT decide what the tunnel carries: a TLS ClientHello
   * is intercepted (or passes through), plaintext is HTTP, and a server speaking first is opaque.
   */
  private sniff(clientBytes: Uint8Array, serverBytes: Uint8Array): void {
    const address = this.upstream!.address;
    // RFC 8446 §5.1: a TLS record starts with content type 22 (handshake).
    const isTls = clientBytes.length > 0 && clientBytes[0] === 0x16;
    if (clientBytes.length > 0 && !isTls) {
      this.state = State.Http;
      this.route = { kind: 'fixed', mode: 'connect', address, rewriteHost: false };
      this.connectHead = null;
      this.requests = new RequestParser();
      this.handleRequestEvents(this.requests.push(clientBytes));
    } else if (isTls && !this.passThrough(address.host)) {
      this.handOff({ type: 'intercept-tls', address, hello: clientBytes });
    } else {
      this.openTunnel(isTls ? 'no-intercept' : 'server spoke first', isTls, clientBytes, serverBytes);
    }
  }

  // ---- endings and failures ---------------------------------------------------------------

  private clientEnded(): void {
    if (this.state !== State.Http && this.state !== State.Closing) return;
    // A client that half-closes after its request still gets the response.
    if (this.upstream) this.close('upstream', 'end', 'the client half-closed');
    if (!this.exchange) this.close('client', 'end', 'the client half-closed between requests');
  }

  private clientClosed(): void {
    if (this.exchange && !this.exchange.response) {
      this.finishExchange(this.exchange, 'the client closed the connection before the response');
    }
    if (this.upstream) this.close('upstream', 'destroy', 'the client is gone');
    this.release();
  }

  private upstreamEnded(): void {
    if (this.state === State.TunnelConnecting || this.state === State.TunnelSniffing) return;
    const pending = this.exchange;
    for (const event of this.responses.finish()) {
      // A body delimited by the end of the connection is complete now.
      if (event.type === 'end' && pending) this.finishExchange(pending);
    }
    if (pending && this.exchange === pending) {
      this.upstreamFailed(null);
    } else if (this.upstream && this.state !== State.Done) {
      // An idle keep-alive connection closed by the server: the next request reconnects.
      this.upstream = null;
      this.close('upstream', 'end', 'the upstream closed an idle connection');
    }
  }

  private upstreamFailed(error: SocketError | null): void {
    const upstream = this.upstream!;
    this.upstream = null;
    if (this.state === State.TunnelConnecting) {
      this.connectFailed(upstream, error);
      return;
    }
    if (this.state === State.TunnelSniffing) {
      this.close('client', 'destroy', 'the tunnel closed before either side spoke');
      this.release();
      return;
    }
    const exchange = this.exchange;
    if (!exchange) return;
    const { code, reason } = error
      ? describeUpstreamError(error, exchange.address, upstream.connected)
      : {
          code: upstream.connected ? ('UPSTREAM_CLOSED' as const) : ('UPSTREAM_CONNECT' as const),
          reason: `${formatAuthority(exchange.address, 0)} closed the connection before the response was complete`,
        };
    this.error(code, `${exchange.head.method} ${exchange.url}: ${reason}`);
    if (!exchange.responseStarted) {
      this.respond(502, 'Bad Gateway', `wstape: ${reason}`);
      this.finishExchange(exchange, reason);
    } else {
      this.finishExchange(exchange, reason);
      this.close('client', 'destroy', 'the upstream failed in the middle of the response');
    }
  }

  private connectFailed(upstream: Upstream, error: SocketError | null): void {
    const { code, reason } = describeUpstreamError(error ?? { message: 'closed before connecting' }, upstream.address, false);
    this.error(code, `CONNECT ${this.connectHead!.target}: ${reason}`);
    this.respond(502, 'Bad Gateway', `wstape: ${reason}`);
    this.release();
  }

  private requestParseFailed(code: HttpErrorCode, message: string, rest: Uint8Array): void {
    this.error(code, `request from ${this.client.address}:${this.client.port}: ${message}`);
    if (code === 'HTTP_PARSE' && this.upstream && this.route.kind === 'fixed' && !this.exchange) {
      // Not HTTP, but we know where it goes: relay it untouched.
      this.becomeOpaque(message, rest, EMPTY);
      return;
    }
    // HTTP the next hop could read differently, or in the middle of a request already sent:
    // nothing more goes upstream.
    if (code === 'HTTP_HEAD_TOO_LARGE') this.refuse(431, 'Request Header Fields Too Large', `wstape: ${message}`);
    else this.refuse(400, 'Bad Request', `wstape: ${message}`);
  }

  private responseParseFailed(exchange: Exchange, code: HttpErrorCode, message: string, rest: Uint8Array): void {
    this.error(code, `response from ${exchange.url}: ${message}`);
    if (code === 'HTTP_PARSE' && !exchange.responseStarted) {
      // Not HTTP: still relay it, byte for byte, as a tunnel.
      this.becomeOpaque(message, EMPTY, rest);
      return;
    }
    this.abandonExchange(exchange, 502, 'Bad Gateway', message);
  }

  /**
   * The exchange cannot go on (a response the client must not see, a timeout): the client gets
   * `status` if nothing of the response reached it yet (else it is cut off), the exchange is
   * recorded with the reason, and both sides close.
   */
  private abandonExchange(exchange: Exchange, status: number, statusText: string, reason: string): void {
    this.finishExchangeEntry(exchange, reason);
    if (this.upstream) this.close('upstream', 'destroy', reason);
    if (exchange.responseStarted) this.close('client', 'destroy', reason);
    else this.respond(status, statusText, `wstape: ${reason}`);
    this.release();
  }

  /** An upstream that is this recorder itself: every request on it would come back forever. */
  private loopDetected(remote: SocketAddress): void {
    const where = formatAuthority({ host: remote.address, port: remote.port }, 0);
    const what =
      this.state === State.TunnelConnecting
        ? `CONNECT ${this.connectHead!.target}`
        : this.exchange
          ? `${this.exchange.head.method} ${this.exchange.url}`
          : where;
    const reason = `${what} would reach this recorder itself (${where}): a proxy loop`;
    this.error('PROXY_LOOP', reason);
    this.exchange = null;
    this.refuse(508, 'Loop Detected', `wstape: ${reason}`);
  }

  private timedOut(timer: ProxyTimer): void {
    const seconds = `${this.limits.headerTimeoutMs / 1000} s`;
    if (timer === 'idle') {
      if (this.upstream) this.close('upstream', 'end', 'idle timeout');
      this.close('client', 'end', 'idle timeout');
      this.release();
    } else if (timer === 'request-head') {
      const reason = `request head from ${this.client.address}:${this.client.port} not complete after ${seconds} (--header-timeout)`;
      this.error('HTTP_TIMEOUT', reason);
      this.refuse(408, 'Request Timeout', `wstape: ${reason}`);
    } else if (this.exchange) {
      const reason = `response head from ${formatAuthority(this.exchange.address, 0)} not complete after ${seconds} (--header-timeout)`;
      this.error('HTTP_TIMEOUT', `${this.exchange.head.method} ${this.exchange.url}: ${reason}`);
      this.abandonExchange(this.exchange, 504, 'Gateway Timeout', reason);
    }
  }

  // ---- limits -----------------------------------------------------------------------------

  /** After each event: hold or release the client, and start or stop the timers. */
  private updateLimits(): void {
    if (this.state === State.Done) return;
    // Held only while the bytes will be read later: not once the connection is closing.
    const reading = this.state === State.Http || this.state === State.TunnelConnecting;
    this.holdClient(reading && this.requests.detached && this.requests.hasPending);
    const inHttp = this.state === State.Http;
    this.timer('idle', this.limits.idleTimeoutMs, inHttp && this.exchange === null && !this.requests.inHead);
    this.timer('request-head', this.limits.headerTimeoutMs, inHttp && this.requests.inHead);
    this.timer('response-head', this.limits.headerTimeoutMs, inHttp && this.exchange !== null && this.exchange.response === null && this.responses.inHead);
  }

  /**
   * Bytes the client sent past a complete request wait in the request parser until its response
   * ends; pausing the client while they do bounds them to one read, however much it pipelines.
   */
  private holdClient(hold: boolean): void {
    if (hold === this.clientHeld) return;
    this.clientHeld = hold;
    this.actions.push({ type: hold ? 'pause' : 'resume', side: 'client' });
  }

  private timer(timer: ProxyTimer, ms: number, wanted: boolean): void {
    if (ms <= 0 || wanted === this.timers.has(timer)) return;
    if (wanted) {
      this.timers.add(timer);
      this.actions.push({ type: 'set-timer', timer, ms });
    } else {
      this.timers.delete(timer);
      this.actions.push({ type: 'clear-timer', timer });
    }
  }

  /** Answer the client ourselves and close (nothing was sent upstream for this request). */
  private refuse(status: number, statusText: string, message: string): void {
    if (this.upstream) this.close('upstream', 'destroy', `refused: ${status} ${statusText}`);
    this.respond(status, statusText, message);
    this.release();
  }

  /** From here on, relay bytes both ways without parsing, as a tunnel entry. */
  private becomeOpaque(reason: string, clientBytes: Uint8Array, serverBytes: Uint8Array): void {
    if (!this.upstream) {
      this.close('client', 'destroy', `not HTTP: ${reason}`);
      this.release();
      return;
    }
    this.openTunnel(`not HTTP: ${reason}`, false, concatBytes(clientBytes, this.requests.takeDetachedBytes()), serverBytes);
  }

  private openTunnel(reason: string, secure: boolean, clientBytes: Uint8Array, serverBytes: Uint8Array): void {
    const address = this.exchange?.address ?? this.upstream!.address;
    const id = this.recorder.nextId('t');
    this.actions.push({
      type: 'record',
      entry: {
        kind: 'tunnel',
        id,
        ...this.recorder.now(),
        url: `${secure ? 'https' : 'tcp'}://${formatAuthority(address, secure ? 443 : 0)}`,
        client: { ...this.client },
        server: { host: address.host, port: address.port },
        reason,
      },
    });
    this.handOff({ type: 'tunnel', id, clientBytes, serverBytes });
  }

  // ---- actions ----------------------------------------------------------------------------

  private write(to: Peer, bytes: Uint8Array): void {
    this.actions.push({ type: 'write', to, bytes });
  }

  private close(side: Peer, how: 'end' | 'destroy', reason: string): void {
    this.actions.push({ type: 'close', side, how, reason });
  }

  private error(code: RecorderErrorCode, message: string): void {
    this.actions.push({ type: 'error', code, message });
  }

  /** A complete response from the recorder itself (errors, refusals); closes the connection. */
  private respond(status: number, statusText: string, message: string): void {
    this.write('client', simpleResponse(status, statusText, `${message}\n`));
    this.close('client', 'end', `answered ${status} ${statusText}`);
  }

  private handOff(action: Extract<ProxyAction, { type: 'websocket' | 'tunnel' | 'intercept-tls' }>): void {
    this.state = State.Done;
    this.actions.push(action);
  }

  private release(): void {
    this.state = State.Done;
    this.actions.push({ type: 'release' });
  }

  /** What connection and http entries share: when, where, and the request as the client sent it. */
  private exchangeRecord(exchange: Exchange): Pick<HttpEntry, 'time' | 'elapsed' | 'url' | 'mode' | 'client' | 'server' | 'request'> {
    const { head } = exchange;
    return {
      time: exchange.stamp.time,
      elapsed: exchange.stamp.elapsed,
      url: exchange.url,
      mode: exchange.mode,
      client: { ...this.client },
      server: { host: exchange.address.host, port: exchange.address.port },
      request: { method: head.method, target: head.target, httpVersion: head.httpVersion, headers: head.headers },
    };
  }
}

/** The bytes of a complete `connection: close` response with a plain-text body. */
export function simpleResponse(status: number, statusText: string, body: string): Uint8Array {
  const payload = Buffer.from(body, 'utf8');
  return Buffer.concat([
    Buffer.from(
      `HTTP/1.1 ${status} ${statusText}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${payload.length}\r\nconnection: close\r\n\r\n`,
      'latin1',
    ),
    payload,
  ]);
}

function responseRecord(response: ResponseHead): HttpResponseRecord {
  return { status: response.status, statusText: response.statusText, httpVersion: response.httpVersion, headers: response.headers };
}

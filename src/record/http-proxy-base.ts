/**
 * The state every part of the HTTP proxy core shares, and the actions they all take. The core is
 * one class, HttpProxyCore, built in layers, one file each, every layer extending the one below:
 *
 *   http-proxy-base.ts      this file: the session's state, the primitive actions (write, close,
 *                           respond, refuse, connect, hand off), the limits (pause, timers)
 *   http-proxy-tunnel.ts    CONNECT, the tunnel's first bytes, opaque tunnels
 *   http-proxy-response.ts  the response side: 1xx, 101 and the WebSocket hand-off, keep-alive
 *   http-proxy-hooks.ts     onConnection, onRequest and onResponse
 *   http-proxy-request.ts   the request side: routing, refused heads (400, 431), loops (508)
 *   http-proxy-core.ts      HttpProxyCore, the entry: events in, actions out; endings, timeouts
 *
 * A layer calls what lies below it directly; the few steps it needs from a layer above are
 * declared abstract at the end of this class, each naming the file that defines it, so no file
 * imports one above it (no cycles). No I/O in any of them.
 */
import type { RecorderErrorCode } from '../format/error-codes.js';
import { RequestParser, ResponseParser, type HttpEvent, type RequestHead } from '../http/http-parser.js';
import type { Exchange, ExchangeHooks } from './http-proxy-exchange.js';
import {
  MAX_HOOK_BODY,
  type CoreRecorder,
  type HookWatch,
  type HttpProxyCoreOptions,
  type HttpRoute,
  type Peer,
  type ProxyAction,
  type ProxyLimits,
  type ProxyTimer,
  type SocketAddress,
} from './http-proxy-types.js';
import type { UpstreamAddress, UpstreamTls } from './upstream-address.js';

/** The upstream connection the core asked for last. */
export interface Upstream {
  address: UpstreamAddress;
  connected: boolean;
}

/** Where the session is: the tunnel layer moves it, the response side to Closing, hand-offs to Done. */
export const enum State {
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

export const EMPTY = new Uint8Array(0);

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

/** The shared state and primitive actions of HttpProxyCore (http-proxy-core.ts); only its layers extend it. */
export abstract class ProxyCoreBase {
  protected readonly recorder: CoreRecorder;
  protected readonly client: { address: string; port: number };
  protected readonly passThrough: (host: string) => boolean;
  protected readonly isOwnAddress: (remote: SocketAddress) => boolean;
  protected readonly limits: Required<ProxyLimits>;
  protected route: HttpRoute;
  protected state = State.Http;
  protected requests = new RequestParser();
  protected responses = new ResponseParser();
  protected upstream: Upstream | null = null;
  protected exchange: Exchange | null = null;
  /** The CONNECT request being served, while its tunnel opens. */
  protected connectHead: RequestHead | null = null;
  /** CR/LF bytes the server sent between responses (see unsolicited()). */
  protected blankLines: Uint8Array = EMPTY;
  /** Whether the client is paused because the core holds bytes it sent (see holdClient()). */
  private clientHeld = false;
  /** Whether the upstream is paused because the core holds bytes it sent past a response onResponse decides. */
  private upstreamHeld = false;
  /** The timers running now, as the core asked for them. */
  protected readonly timers = new Set<ProxyTimer>();
  protected readonly watch: HookWatch;
  /** How much of a body may be held for a hook: MAX_HOOK_BODY, or less with a smaller --max-payload. */
  protected readonly holdLimit: number;
  /** The client half-closed while its request waited for a hook: end the upstream once it is sent. */
  protected clientEndedEarly = false;
  protected actions: ProxyAction[] = [];

  constructor(options: HttpProxyCoreOptions) {
    this.recorder = options.recorder;
    this.client = options.client;
    this.passThrough = options.passThrough;
    this.isOwnAddress = options.isOwnAddress ?? (() => false);
    this.limits = { headerTimeoutMs: options.limits?.headerTimeoutMs ?? 0, idleTimeoutMs: options.limits?.idleTimeoutMs ?? 0 };
    this.route = options.route;
    this.watch = options.hooks ?? { connections: false, requests: false, responses: false };
    this.holdLimit = Math.min(MAX_HOOK_BODY, options.recorder.maxPayload);
    if (options.upstream && options.route.kind === 'fixed') {
      this.upstream = { address: options.route.address, connected: options.upstream !== 'connecting' };
      if (options.upstream === 'tunnel') this.state = State.TunnelSniffing;
    }
  }

  // ---- actions ----------------------------------------------------------------------------

  protected write(to: Peer, bytes: Uint8Array): void {
    this.actions.push({ type: 'write', to, bytes });
  }

  protected close(side: Peer, how: 'end' | 'destroy', reason: string): void {
    this.actions.push({ type: 'close', side, how, reason });
  }

  protected error(code: RecorderErrorCode, message: string, conn?: string): void {
    this.actions.push(conn === undefined ? { type: 'error', code, message } : { type: 'error', code, message, conn });
  }

  /** A complete response from the recorder itself (errors, refusals); closes the connection. */
  protected respond(status: number, statusText: string, message: string): void {
    this.write('client', simpleResponse(status, statusText, `${message}\n`));
    this.close('client', 'end', `answered ${status} ${statusText}`);
  }

  protected handOff(action: Extract<ProxyAction, { type: 'websocket' | 'tunnel' | 'intercept-tls' }>): void {
    this.state = State.Done;
    this.actions.push(action);
  }

  protected release(): void {
    this.state = State.Done;
    this.actions.push({ type: 'release' });
  }

  /** Answer the client ourselves and close (nothing was sent upstream for this request). */
  protected refuse(status: number, statusText: string, message: string): void {
    if (this.upstream) this.close('upstream', 'destroy', `refused: ${status} ${statusText}`);
    this.respond(status, statusText, message);
    this.release();
  }

  protected connect(address: UpstreamAddress, tls: UpstreamTls | undefined): void {
    // A new socket is not paused, whatever the last one was.
    this.upstreamHeld = false;
    this.upstream = { address, connected: false };
    this.responses = new ResponseParser();
    this.actions.push({ type: 'connect', address, tls });
  }

  /** Forget the upstream; the next request that needs one connects again. */
  protected dropUpstream(how: 'end' | 'destroy', reason: string): void {
    if (!this.upstream) return;
    this.upstream = null;
    this.upstreamHeld = false;
    this.close('upstream', how, reason);
  }

  // ---- limits -----------------------------------------------------------------------------

  /** After each event: hold or release the client, and start or stop the timers. */
  protected updateLimits(): void {
    if (this.state === State.Done) return;
    // Held only while the bytes will be read later: not once the connection is closing.
    const reading = this.state === State.Http || this.state === State.TunnelConnecting;
    this.holdClient(reading && this.requests.detached && this.requests.hasPending);
    // The same bound for a server that sends on while onResponse decides (only with hooks).
    this.holdUpstream(this.upstream !== null && this.exchange?.hooks?.waiting === 'response' && this.responses.hasPending);
    const inHttp = this.state === State.Http;
    this.timer('idle', this.limits.idleTimeoutMs, inHttp && this.exchange === null && !this.requests.inHead);
    this.timer('request-head', this.limits.headerTimeoutMs, inHttp && this.requests.inHead);
    this.timer('response-head', this.limits.headerTimeoutMs, inHttp && this.exchange !== null && this.exchange.response === null && this.responses.inHead);
  }

  /** The same bound for the upstream, while onResponse decides a response it sent. */
  private holdUpstream(hold: boolean): void {
    if (hold === this.upstreamHeld) return;
    this.upstreamHeld = hold;
    this.actions.push({ type: hold ? 'pause' : 'resume', side: 'upstream' });
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

  // ---- steps of the layers above ------------------------------------------------------------

  /** The request side (http-proxy-request.ts): act on what the request parser produced. */
  protected abstract handleRequestEvents(events: Array<HttpEvent<RequestHead>>): void;

  /** The request side (http-proxy-request.ts): send the request upstream (its body as it arrives, or `body`). */
  protected abstract sendRequest(exchange: Exchange, headBytes: Uint8Array, body?: Uint8Array, method?: string): void;

  /** The hooks (http-proxy-hooks.ts): a response is complete and held; ask onResponse. */
  protected abstract askResponse(exchange: Exchange, hooks: ExchangeHooks): void;

  /** The hooks (http-proxy-hooks.ts): a held body grew too large; let the exchange go on unseen. */
  protected abstract skipHooks(exchange: Exchange, part: 'request' | 'response'): void;
}

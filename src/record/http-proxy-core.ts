/**
 * The decisions of one client connection to the recording proxy, with no I/O: a sans-io state
 * machine in the shape of wsproto's Connection and mitmproxy's layers. The socket adapter
 * (http-session.ts) feeds it events (bytes from the client or the upstream, an upstream that
 * connected, ended or failed, a client that went away) and carries out the actions it returns:
 * connect an upstream, write bytes to a side, close a side, record an entry, or hand both sockets
 * to a WebSocket relay, an opaque tunnel or TLS interception. The core never touches a socket, a
 * timer or a file, so every path below is tested with literal bytes (test/record/http-proxy-core).
 *
 * This file is the entry: HttpProxyCore (constructed with HttpProxyCoreOptions), `start()`,
 * `handle(event)`, the dispatch of each event, the endings of either side and the timeouts. The
 * class is built in layers, one file each, every layer extending the one below it:
 *
 *   http-proxy-types.ts     the vocabulary: events, actions, hook questions, options (re-exported here)
 *   http-proxy-exchange.ts  one exchange's data and what is held for the hooks
 *   http-proxy-base.ts      the shared state, the primitive actions, the limits (pause, timers)
 *   http-proxy-tunnel.ts    CONNECT, the tunnel's first bytes, opaque tunnels
 *   http-proxy-response.ts  the response side: 1xx, 101 and the WebSocket hand-off, keep-alive
 *   http-proxy-hooks.ts     onConnection, onRequest and onResponse
 *   http-proxy-request.ts   the request side: routing, refused heads (400, 431), loops (508)
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
 * - Hooks (only with --script; without, none of this runs and every byte streams as it came):
 *   the core asks with an `ask-hooks` action and waits for the `hooks-answered` event. A
 *   WebSocket upgrade waits for onConnection before its upstream is reached (a refusal is
 *   answered here). A plain request is held with its whole body for onRequest, and its response
 *   for onResponse, up to MAX_HOOK_BODY (or --max-payload); a changed message is re-framed with
 *   Content-Length (http-reframe.ts), an unchanged one goes on as its original bytes.
 */
import { concatBytes } from './payload.js';
import { describeUpstreamError, formatAuthority, type SocketError } from './upstream-address.js';
import { EMPTY, State } from './http-proxy-base.js';
import { RequestSide } from './http-proxy-request.js';
import type { ProxyAction, ProxyEvent, ProxyTimer } from './http-proxy-types.js';

// The core's vocabulary, for the adapter and the tests that import the core.
export type {
  HookAnswer,
  HookQuestion,
  HookWatch,
  HttpProxyCoreOptions,
  HttpRoute,
  Peer,
  ProxyAction,
  ProxyEvent,
  ProxyLimits,
  ProxyTimer,
  SocketAddress,
} from './http-proxy-types.js';
export { DEFAULT_LIMITS } from './http-proxy-types.js';
export { simpleResponse } from './http-proxy-base.js';

/** The HTTP/1.x proxy session of one client connection, as a pure state machine. */
export class HttpProxyCore extends RequestSide {
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
        else if (this.exchange && !this.exchange.sent) this.dropUpstream('destroy', 'the upstream spoke while a hook decided the request');
        else this.handleResponseEvents(this.responses.push(event.bytes));
        break;
      case 'upstream-ended':
        if (this.exchange?.hooks && this.decidedWithoutUpstream(this.exchange)) this.dropUpstream('end', 'the upstream closed while a hook decided');
        else if (this.upstream) this.upstreamEnded();
        break;
      case 'upstream-failed':
        if (this.exchange?.hooks && this.decidedWithoutUpstream(this.exchange)) this.dropUpstream('destroy', 'the upstream failed while a hook decided');
        else if (this.upstream) this.upstreamFailed(event.error);
        break;
      case 'timeout':
        this.timers.delete(event.timer);
        this.timedOut(event.timer);
        break;
      case 'hooks-answered':
        this.hooksAnswered(event.answer);
        break;
    }
  }

  // ---- endings and failures ---------------------------------------------------------------

  private clientEnded(): void {
    if (this.state !== State.Http && this.state !== State.Closing) return;
    const exchange = this.exchange;
    if (exchange?.hooks?.heldRequest && exchange.hooks.waiting === null && !exchange.sent) {
      // Its body held for the hooks can never be complete now.
      this.refuse(400, 'Bad Request', 'wstape: the client half-closed in the middle of its request body');
      return;
    }
    // A client that half-closes after its request still gets the response (a request a hook
    // still decides is sent first: the upstream is ended after it).
    if (exchange && !exchange.sent) this.clientEndedEarly = true;
    else if (this.upstream) this.close('upstream', 'end', 'the client half-closed');
    if (!this.exchange) this.close('client', 'end', 'the client half-closed between requests');
  }

  private clientClosed(): void {
    if (this.exchange && (!this.exchange.response || this.exchange.hooks?.waiting === 'response')) {
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
      if (event.type === 'end' && pending) this.responseEnded(pending);
    }
    // A response complete and held for onResponse needs the upstream no more.
    if (pending && this.exchange === pending && pending.hooks?.waiting !== 'response') {
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
}

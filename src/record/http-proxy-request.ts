/**
 * The request side of the HTTP proxy core (a layer of HttpProxyCore, see http-proxy-base.ts):
 * what the client's request parser produced. A request head picks its upstream (a forward
 * proxy's absolute-URI, a CONNECT, or the fixed route of --target and tunnels), is rewritten to
 * origin-form (and Host, for --target), and goes upstream, reusing a keep-alive upstream to the
 * same place; its body streams after it, or is held for the hooks. A head the parser refuses is
 * never forwarded: ambiguous framing (the shapes request smuggling uses, checked in
 * http/http-parser.ts) gets 400, a head over the limit 431, and bytes that are not HTTP at all,
 * where the upstream is known, an opaque tunnel. An upstream that is this recorder itself gets 508.
 */
import type { HttpEntry } from '../format/schema.js';
import { headerHasToken, headerValue, type HttpErrorCode, type HttpEvent, type RequestHead } from '../http/http-parser.js';
import { CappedBuffer } from './payload.js';
import { formatAuthority, parseAbsoluteTarget, recordedUrl, rewriteRequestHead, type UpstreamAddress } from './upstream-address.js';
import { EMPTY, State } from './http-proxy-base.js';
import { HeldBytes, newExchangeHooks, type Exchange } from './http-proxy-exchange.js';
import type { SocketAddress } from './http-proxy-types.js';
import { HookSteps } from './http-proxy-hooks.js';

const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');

/** The request side: the layer above {@link HookSteps}, below the entry class. */
export abstract class RequestSide extends HookSteps {
  /** Act on what the request parser produced: a head starts an exchange, a body follows it. */
  protected override handleRequestEvents(events: Array<HttpEvent<RequestHead>>): void {
    for (const event of events) {
      if (this.state !== State.Http) return;
      switch (event.type) {
        case 'head':
          this.startExchange(event.head, event.raw);
          break;
        case 'body': {
          const exchange = this.exchange;
          if (!exchange) break;
          const held = exchange.hooks?.heldRequest;
          if (held) {
            exchange.requestBody.push(event.data);
            held.push(event.raw);
            if (held.size > this.holdLimit) this.skipHooks(exchange, 'request');
            break;
          }
          if (!this.upstream) break;
          exchange.requestBody.push(event.data);
          this.write('upstream', event.raw);
          break;
        }
        case 'end':
          // The request is complete; the parser waits (detached) until the response ends.
          if (this.exchange?.hooks?.heldRequest) this.askRequest(this.exchange, this.exchange.hooks);
          break;
        case 'error':
          this.requestParseFailed(event.code, event.message, event.rest);
          return;
      }
    }
  }

  /** A request head: pick its upstream, rewrite it, then send it, or hold it for the hooks. */
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
    const exchange: Exchange = {
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
      headBytes,
      target: originForm,
      sent: false,
      hooks: null,
    };
    this.exchange = exchange;
    if (websocket && this.watch.connections) {
      this.askConnection(exchange);
      return;
    }
    if (!upgrade && (this.watch.requests || this.watch.responses)) {
      exchange.hooks = newExchangeHooks('http', this.recorder.nextId('h'), this.watch.responses);
      exchange.hooks.heldRequest = new HeldBytes();
      // RFC 9110 §10.1.1: a client that sent Expect: 100-continue may wait for a 100 before its
      // body, and the hooks need the body before anything goes upstream: answer it here.
      if (headerHasToken(head.headers, 'expect', '100-continue')) this.write('client', CONTINUE);
      // The body arrives (and 'end' asks the hooks) as the next request events.
      return;
    }
    this.sendRequest(exchange, headBytes);
  }

  /** Send the request head upstream (the body follows as it arrives, or was held and follows now). */
  protected override sendRequest(exchange: Exchange, headBytes: Uint8Array, body?: Uint8Array, method = exchange.head.method): void {
    exchange.sent = true;
    this.ensureUpstream(exchange.address);
    this.responses.expect(method);
    this.write('upstream', headBytes);
    if (body && body.length > 0) this.write('upstream', body);
    if (this.clientEndedEarly) this.close('upstream', 'end', 'the client half-closed');
  }

  /** Reuse the keep-alive upstream when it goes to the same place; otherwise connect anew. */
  private ensureUpstream(address: UpstreamAddress): void {
    const current = this.upstream;
    if (current && current.address.host === address.host && current.address.port === address.port) return;
    this.connect(address, this.route.kind === 'fixed' ? this.route.tls : undefined);
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

  /** An upstream that is this recorder itself: every request on it would come back forever. */
  protected loopDetected(remote: SocketAddress): void {
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
}

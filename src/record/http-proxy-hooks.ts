/**
 * The hooks in the HTTP proxy core (a layer of HttpProxyCore, see http-proxy-base.ts). Only with
 * --script or the hook flags; without, none of this runs and every byte streams as it came. The
 * core asks with an `ask-hooks` action and waits for the `hooks-answered` event (the adapter runs
 * the HookChain). A WebSocket upgrade waits for onConnection before its upstream is reached, and a
 * refusal is answered here. A plain request is held with its whole body for onRequest, and its
 * response for onResponse, up to MAX_HOOK_BODY (or --max-payload; past it the exchange goes on
 * unseen, with a HOOK_SKIPPED entry). A changed or made-up message is re-framed with
 * Content-Length (http-reframe.ts); an unchanged one goes on as its original bytes. The archive
 * entry records what the hooks did (`action`, `by`) and what was forwarded instead.
 */
import type { Body } from '../format/schema.js';
import type { ConnectionDecision, RequestDecision, ResponseDecision } from '../intervene/chain.js';
import type { Actor, ConnectionInfo, HttpResponse } from '../intervene/hooks.js';
import { headerValue, type HeaderList } from '../http/http-parser.js';
import { reasonPhrase, requestHead, responseMessage } from './http-reframe.js';
import { bodyRecord } from './payload.js';
import { formatAuthority, parseAbsoluteTarget } from './upstream-address.js';
import { State } from './http-proxy-base.js';
import { copyHeaders, newExchangeHooks, responseRecord, type Exchange, type ExchangeHooks } from './http-proxy-exchange.js';
import type { HookAnswer } from './http-proxy-types.js';
import { ResponseSide } from './http-proxy-response.js';

/** onConnection, onRequest and onResponse: the layer above {@link ResponseSide}. */
export abstract class HookSteps extends ResponseSide {
  /** A WebSocket upgrade request: onConnection decides before anything goes upstream. */
  protected askConnection(exchange: Exchange): void {
    const { headers } = exchange.head;
    if (headerValue(headers, 'content-length') !== undefined || headerValue(headers, 'transfer-encoding') !== undefined) {
      // RFC 6455 §4.1: the handshake is a GET with no body; one that has a body is not held.
      this.error('HOOK_SKIPPED', `${exchange.head.method} ${exchange.url}: an upgrade request with a body is not given to onConnection`);
      this.sendRequest(exchange, exchange.headBytes);
      return;
    }
    const hooks = newExchangeHooks('connection', this.recorder.nextId('c'), false);
    exchange.hooks = hooks;
    hooks.waiting = 'connection';
    // RFC 6455 §4.1: Sec-WebSocket-Protocol lists the offered subprotocols, over one or more lines.
    const protocols = headers
      .filter(([name]) => name.toLowerCase() === 'sec-websocket-protocol')
      .flatMap(([, value]) => value.split(','))
      .map((protocol) => protocol.trim())
      .filter((protocol) => protocol !== '');
    const info: ConnectionInfo = { id: hooks.id, url: exchange.url, headers: copyHeaders(headers), protocols, subprotocol: null };
    this.actions.push({ type: 'ask-hooks', question: { hook: 'connection', id: hooks.id, info } });
  }

  /** A plain request is complete, its body held: ask onRequest (or, with only onResponse, send it). */
  protected askRequest(exchange: Exchange, hooks: ExchangeHooks): void {
    const { head } = exchange;
    hooks.request = { id: hooks.id, method: head.method, url: exchange.url, headers: copyHeaders(head.headers), body: exchange.requestBody.bytes() };
    if (!this.watch.requests) {
      const held = hooks.heldRequest!;
      hooks.heldRequest = null;
      this.sendRequest(exchange, exchange.headBytes, held.bytes());
      return;
    }
    hooks.waiting = 'request';
    this.actions.push({ type: 'ask-hooks', question: { hook: 'request', id: hooks.id, request: hooks.request } });
  }

  /** The response is complete and held: ask onResponse. */
  protected override askResponse(exchange: Exchange, hooks: ExchangeHooks): void {
    const response = exchange.response!;
    hooks.waiting = 'response';
    this.actions.push({
      type: 'ask-hooks',
      question: {
        hook: 'response',
        id: hooks.id,
        request: hooks.request!,
        response: { status: response.status, statusText: response.statusText, headers: copyHeaders(response.headers), body: exchange.responseBody.bytes() },
      },
    });
  }

  protected hooksAnswered(answer: HookAnswer): void {
    const exchange = this.exchange;
    const hooks = exchange?.hooks;
    // An answer to a question no longer open (the client went away meanwhile) is ignored.
    if (this.state !== State.Http || !exchange || !hooks || hooks.waiting !== answer.hook || hooks.id !== answer.id) return;
    hooks.waiting = null;
    for (const failure of answer.decision.failures) {
      this.error(failure.code, `${failure.hook} on ${exchange.head.method} ${exchange.url}: ${failure.message}; its answer was not used`, hooks.id);
    }
    const by = answer.decision.by ?? 'script';
    switch (answer.hook) {
      case 'connection':
        if (answer.decision.refuse) this.refuseConnection(exchange, hooks, answer.decision.refuse, by);
        else this.sendRequest(exchange, exchange.headBytes);
        break;
      case 'request':
        this.requestDecided(exchange, hooks, answer.decision, by);
        break;
      case 'response':
        this.responseDecided(exchange, hooks, answer.decision, by);
        break;
    }
  }

  /** onConnection refused: the client gets the refusal, the archive an http entry, the upstream nothing. */
  private refuseConnection(exchange: Exchange, hooks: ExchangeHooks, refusal: NonNullable<ConnectionDecision['refuse']>, by: Actor): void {
    const headers: HeaderList = Object.entries(refusal.headers);
    if (headerValue(headers, 'connection') === undefined) headers.push(['Connection', 'close']);
    const body = Buffer.from(refusal.body, 'utf8');
    const statusText = reasonPhrase(refusal.status);
    const message = responseMessage({ status: refusal.status, statusText, headers, body }, '1.1', exchange.head.method);
    exchange.response = { status: refusal.status, statusText, httpVersion: '1.1', headers: message.headers };
    exchange.responseBody.push(body);
    hooks.action = 'refused';
    hooks.by = by;
    this.finishExchangeEntry(exchange);
    if (this.upstream) this.close('upstream', 'destroy', `onConnection refused ${exchange.url}`);
    this.write('client', message.bytes);
    this.close('client', 'end', `onConnection refused with ${refusal.status}`);
    this.release();
  }

  private requestDecided(exchange: Exchange, hooks: ExchangeHooks, decision: RequestDecision, by: Actor): void {
    const held = hooks.heldRequest!;
    hooks.heldRequest = null;
    if (decision.response) {
      this.mockResponse(exchange, hooks, decision.response, by);
      return;
    }
    const change = decision.request;
    if (!change) {
      // Unchanged: the bytes the client sent go on as they are.
      this.sendRequest(exchange, exchange.headBytes, held.bytes());
      return;
    }
    let target = exchange.target;
    let address = exchange.address;
    if (change.url !== hooks.request!.url) {
      // The chain checked it is an http(s):// URL. Only a forward proxy picks its upstream by URL;
      // a fixed route (--target, a CONNECT tunnel) takes the new path and query alone.
      const absolute = parseAbsoluteTarget(change.url)!;
      target = absolute.originForm;
      if (this.route.kind === 'forward' && absolute.scheme === 'http') address = absolute.address;
    }
    // The Host the proxy would have sent (reverse mode rewrites it), unless the hook set another.
    const host =
      this.route.kind === 'fixed' && this.route.rewriteHost
        ? formatAuthority(address, this.route.tls ? 443 : 80)
        : address !== exchange.address
          ? formatAuthority(address, 80)
          : null;
    const clientHost = headerValue(exchange.head.headers, 'host');
    const headers: HeaderList =
      host === null ? change.headers : change.headers.map(([name, value]) => [name, name.toLowerCase() === 'host' && value === clientHost ? host : value]);
    const sent = requestHead(change.method, target, exchange.head.httpVersion, headers, change.body.length);
    exchange.address = address;
    hooks.action = 'modified';
    hooks.by = by;
    hooks.forwarded.request = { method: change.method, target, httpVersion: exchange.head.httpVersion, headers: sent.headers, ...this.bodyField(change.body) };
    hooks.request = { id: hooks.id, method: change.method, url: change.url, headers: copyHeaders(change.headers), body: change.body };
    this.sendRequest(exchange, sent.bytes, change.body, change.method);
  }

  /** onRequest answered itself: the client gets that response, and nothing goes upstream. */
  private mockResponse(exchange: Exchange, hooks: ExchangeHooks, response: HttpResponse, by: Actor): void {
    const statusText = response.statusText ?? reasonPhrase(response.status);
    const message = responseMessage({ ...response, statusText }, '1.1', exchange.head.method);
    exchange.response = { status: response.status, statusText, httpVersion: '1.1', headers: message.headers };
    exchange.responseBody.push(response.body);
    exchange.responseStarted = true;
    hooks.action = 'mocked';
    hooks.by = by;
    this.write('client', message.bytes);
    this.finishExchange(exchange);
  }

  private responseDecided(exchange: Exchange, hooks: ExchangeHooks, decision: ResponseDecision, by: Actor): void {
    const held = hooks.heldResponse!;
    hooks.heldResponse = null;
    exchange.responseStarted = true;
    const original = exchange.response!;
    const change = decision.response;
    if (!change) {
      this.write('client', held.bytes());
      this.finishExchange(exchange);
      return;
    }
    // A new status without a reason phrase of its own gets the standard one (hooks.ts).
    const statusText =
      change.status !== original.status && change.statusText === original.statusText
        ? reasonPhrase(change.status)
        : (change.statusText ?? reasonPhrase(change.status));
    const message = responseMessage({ ...change, statusText }, original.httpVersion, exchange.head.method);
    hooks.action = 'modified';
    hooks.by = by;
    hooks.clientResponse = { status: change.status, statusText, httpVersion: original.httpVersion, headers: message.headers };
    hooks.forwarded.response = { ...responseRecord(hooks.clientResponse), ...this.bodyField(change.body) };
    this.write('client', message.bytes);
    this.finishExchange(exchange);
  }

  /** A body too large to hold: what was held goes on, the rest streams, and no hook sees the exchange. */
  protected override skipHooks(exchange: Exchange, part: 'request' | 'response'): void {
    const hooks = exchange.hooks!;
    this.error(
      'HOOK_SKIPPED',
      `${exchange.head.method} ${exchange.url}: the ${part} body is over ${this.holdLimit} bytes, more than the hooks may hold; the exchange went through unchanged, unseen by onRequest and onResponse`,
      hooks.id,
    );
    hooks.watchResponse = false;
    if (part === 'request') {
      const held = hooks.heldRequest!;
      hooks.heldRequest = null;
      this.sendRequest(exchange, exchange.headBytes, held.bytes());
    } else {
      const held = hooks.heldResponse!;
      hooks.heldResponse = null;
      exchange.responseStarted = true;
      this.write('client', held.bytes());
    }
  }

  /** The upstream is not needed now: a request a hook decides has not gone to it, or the held response is complete. */
  protected decidedWithoutUpstream(exchange: Exchange): boolean {
    return !exchange.sent || exchange.hooks?.waiting === 'response';
  }

  /** A body for the archive's forwarded request or response, capped like the others. */
  private bodyField(body: Uint8Array): { body?: Body } {
    if (body.length === 0) return {};
    return { body: bodyRecord(body.subarray(0, this.recorder.maxPayload), body.length) };
  }
}

/**
 * The response side of the HTTP proxy core (a layer of HttpProxyCore, see http-proxy-base.ts):
 * what the upstream's response parser produced, and the end of an exchange. An interim 1xx
 * (100 Continue, 103 Early Hints) is relayed and the real response follows; a 101 to an upgrade
 * request hands both sockets to the WebSocket relay, with the connection entry; a final response
 * streams to the client, or is held for onResponse. When it ends, the exchange is recorded and
 * the connection either closes or, kept alive (RFC 9112 §9.3), takes the next request. Response
 * bytes nobody asked for, or that stop parsing as HTTP, turn the connection into an opaque tunnel;
 * a response the client must not see (ambiguous framing, a head too large) becomes a 502.
 */
import type { ConnectionEntry, HttpEntry } from '../format/schema.js';
import { headerHasToken, headerValue, type HttpErrorCode, type HttpEvent, type ResponseHead } from '../http/http-parser.js';
import { negotiatedDeflate } from '../wire/permessage-deflate.js';
import { bodyRecord, concatBytes } from './payload.js';
import { EMPTY, State } from './http-proxy-base.js';
import { HeldBytes, responseRecord, type Exchange } from './http-proxy-exchange.js';
import { TunnelSteps } from './http-proxy-tunnel.js';

/** How many stray CR/LF bytes between responses are tolerated before the stream counts as not HTTP. */
const MAX_BLANK_LINES = 64;

/** The response side and the end of an exchange: the layer above {@link TunnelSteps}. */
export abstract class ResponseSide extends TunnelSteps {
  /** Act on what the response parser produced for the exchange in flight. */
  protected handleResponseEvents(events: Array<HttpEvent<ResponseHead>>): void {
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
          // An interim response (100 Continue, 103 Early Hints) is relayed; the real one follows.
          if (event.head.status >= 200) {
            exchange.response = event.head;
            if (exchange.hooks?.watchResponse) {
              // Held with its body for onResponse; nothing of it reaches the client before.
              exchange.hooks.heldResponse = new HeldBytes();
              exchange.hooks.heldResponse.push(event.raw);
              break;
            }
          }
          exchange.responseStarted = true;
          this.write('client', event.raw);
          break;
        case 'body': {
          exchange.responseBody.push(event.data);
          const held = exchange.hooks?.heldResponse;
          if (held) {
            held.push(event.raw);
            if (held.size > this.holdLimit) this.skipHooks(exchange, 'response');
            break;
          }
          this.write('client', event.raw);
          break;
        }
        case 'end':
          this.responseEnded(exchange);
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
  protected unsolicited(incoming: Uint8Array): void {
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

  /** The response is complete: hold it for onResponse, or finish the exchange. */
  protected responseEnded(exchange: Exchange): void {
    if (exchange.hooks?.heldResponse) this.askResponse(exchange, exchange.hooks);
    else this.finishExchange(exchange);
  }

  protected finishExchange(exchange: Exchange, error?: string): void {
    this.finishExchangeEntry(exchange, error);
    const response = exchange.response;
    const made = exchange.hooks?.clientResponse;
    const closeAfter =
      error !== undefined ||
      !response ||
      headerHasToken(exchange.head.headers, 'connection', 'close') ||
      headerHasToken(response.headers, 'connection', 'close') ||
      (made !== undefined && headerHasToken(made.headers, 'connection', 'close')) ||
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
  protected finishExchangeEntry(exchange: Exchange, error?: string): void {
    this.exchange = null;
    const hooks = exchange.hooks;
    const entry: HttpEntry = {
      kind: 'http',
      id: hooks?.kind === 'http' ? hooks.id : this.recorder.nextId('h'),
      ...this.exchangeRecord(exchange),
      response: exchange.response ? responseRecord(exchange.response) : null,
      duration: Math.round((this.recorder.now().elapsed - exchange.stamp.elapsed) * 1e6) / 1e3,
    };
    if (exchange.requestBody.size > 0) entry.request.body = bodyRecord(exchange.requestBody.bytes(), exchange.requestBody.size);
    if (entry.response && exchange.responseBody.size > 0) {
      entry.response.body = bodyRecord(exchange.responseBody.bytes(), exchange.responseBody.size);
    }
    if (error !== undefined) entry.error = error;
    if (hooks?.action !== undefined && hooks.by !== undefined) {
      entry.action = hooks.action;
      entry.by = hooks.by;
      if (hooks.forwarded.request || hooks.forwarded.response) entry.forwarded = hooks.forwarded;
    }
    this.actions.push({ type: 'record', entry });
  }

  private switchToWebSocket(exchange: Exchange, responseHead: Uint8Array): void {
    const response = exchange.response!;
    // onConnection was told the connection's id already.
    const id = exchange.hooks?.kind === 'connection' ? exchange.hooks.id : this.recorder.nextId('c');
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

  private responseParseFailed(exchange: Exchange, code: HttpErrorCode, message: string, rest: Uint8Array): void {
    this.error(code, `response from ${exchange.url}: ${message}`);
    // A response held for onResponse did not reach the client either, but it was HTTP: a 502.
    if (code === 'HTTP_PARSE' && !exchange.responseStarted && !exchange.hooks?.heldResponse) {
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
  protected abandonExchange(exchange: Exchange, status: number, statusText: string, reason: string): void {
    this.finishExchangeEntry(exchange, reason);
    if (this.upstream) this.close('upstream', 'destroy', reason);
    if (exchange.responseStarted) this.close('client', 'destroy', reason);
    else this.respond(status, statusText, `wstape: ${reason}`);
    this.release();
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

/**
 * One request/response exchange as the HTTP proxy core (http-proxy-core.ts) tracks it: the
 * request head and where it goes, the bodies as recorded, and, when hooks watch it, what is held
 * for them and what they did. Data and small helpers only; the parts of the core share these.
 */
import type { HttpEntry, HttpResponseRecord } from '../format/schema.js';
import type { Actor, HttpRequest } from '../intervene/hooks.js';
import type { HeaderList, RequestHead, ResponseHead } from '../http/http-parser.js';
import type { Stamp } from './clock.js';
import type { HookQuestion } from './http-proxy-types.js';
import type { CappedBuffer } from './payload.js';
import type { UpstreamAddress } from './upstream-address.js';

export interface Exchange {
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
  /** The request head as it goes upstream (with the proxy's rewrites). */
  headBytes: Uint8Array;
  /** The request-target as it goes upstream (origin-form). */
  target: string;
  /** Whether the request head went upstream (false while a hook decides it). */
  sent: boolean;
  /** Set when hooks see this exchange. */
  hooks: ExchangeHooks | null;
}

/** An exchange the hooks see: what is held for them, what they are deciding, and what they did. */
export interface ExchangeHooks {
  /** The archive id: "h1" for a plain exchange, "c1" for a WebSocket upgrade. */
  id: string;
  kind: 'http' | 'connection';
  /** The question the core waits on, if any. */
  waiting: HookQuestion['hook'] | null;
  /** The request body as it arrived (raw, chunk framing included), held until onRequest decided; null once sent. */
  heldRequest: HeldBytes | null;
  /** The response head and body as they arrived, held for onResponse; null when not holding. */
  heldResponse: HeldBytes | null;
  /** Whether onResponse is to see the response. */
  watchResponse: boolean;
  /** The request as the hooks saw it, for onResponse. */
  request: HttpRequest | null;
  action?: NonNullable<HttpEntry['action']>;
  by?: Actor;
  forwarded: NonNullable<HttpEntry['forwarded']>;
  /** The head of a response a hook made or changed, as the client got it. */
  clientResponse?: ResponseHead;
}

/** Raw bytes held back for a hook, copied (socket buffers are reused), counted against a limit. */
export class HeldBytes {
  readonly chunks: Uint8Array[] = [];
  size = 0;

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.chunks.push(Uint8Array.prototype.slice.call(bytes));
    this.size += bytes.length;
  }

  bytes(): Uint8Array {
    return Buffer.concat(this.chunks, this.size);
  }
}

export function responseRecord(response: ResponseHead): HttpResponseRecord {
  return { status: response.status, statusText: response.statusText, httpVersion: response.httpVersion, headers: response.headers };
}

export function newExchangeHooks(kind: ExchangeHooks['kind'], id: string, watchResponse: boolean): ExchangeHooks {
  return { id, kind, waiting: null, heldRequest: null, heldResponse: null, watchResponse, request: null, forwarded: {} };
}

/** Headers as a fresh list, so a hook that edits its copy changes nothing here. */
export function copyHeaders(headers: HeaderList): HeaderList {
  return headers.map(([name, value]): [string, string] => [name, value]);
}

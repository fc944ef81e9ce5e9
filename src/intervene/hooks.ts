/**
 * The hook contract: what a `--script` module may export, and what wstape passes to it. This file
 * is the public, stable surface (the package exports these types as `import('wstape').Hooks`):
 * add to it freely, never rename or change the meaning of a field, so scripts written today keep
 * working. docs/HOOKS.md is its reference.
 *
 * A script exports any of `onConnection`, `onOpen`, `onMessage`, `onControl`, `onRequest` and `onResponse`
 * (named exports, or the same names on the default export). Each is optional and may be async.
 * `--script` may be repeated, and the flags (--drop, --replace... see flags.ts) compile to one
 * more Hooks object; they chain in order (chain.ts).
 */

/** `"out"`: client to server; `"in"`: server to client, as in the archive. */
export type Direction = 'out' | 'in';

/** A header list as it was on the wire: [name, value] pairs, in order, names as sent. */
export type HeaderPairs = Array<[string, string]>;

/** What wstape knows of a WebSocket connection when its upgrade request arrives. */
export interface ConnectionInfo {
  /** The connection id in the archive: "c1", "c2"... */
  id: string;
  /** ws:// or wss:// URL of the upstream resource. */
  url: string;
  /** The upgrade request's headers, as the client sent them. */
  headers: HeaderPairs;
  /** The subprotocols the client offered (Sec-WebSocket-Protocol), in order; [] if none. */
  protocols: string[];
  /** The subprotocol the server chose; null before the server answered, or if it chose none. */
  subprotocol: string | null;
}

/** onConnection's answer: undefined lets the connection through. */
export type ConnectionVerdict = undefined | void | { refuse: { status: number; headers?: Record<string, string>; body?: string } };

/** One reassembled WebSocket message, as it arrived at wstape. */
export interface Message {
  /** Connection id ("c1"). */
  conn: string;
  dir: Direction;
  type: 'text' | 'binary';
  /** The text of a text message. */
  text?: string;
  /** The bytes of a binary message. */
  data?: Uint8Array;
  /** Position among this direction's messages on the connection, from 0. */
  index: number;
  /** When its last frame arrived, ISO 8601. */
  time: string;
}

/** A ping or pong frame, as it arrived. */
export interface ControlFrame {
  conn: string;
  dir: Direction;
  type: 'ping' | 'pong';
  data: Uint8Array;
}

/**
 * What onMessage returns:
 * - `undefined`: forward the message unchanged;
 * - a string (sent as text) or a Uint8Array (sent as binary): forward that instead;
 * - `null`: drop it;
 * - `{ delay: ms }`: forward it unchanged after `ms` milliseconds; `{ delay, payload }` forwards
 *   `payload` (a string, a Uint8Array or null to drop) after the delay.
 */
export type MessageVerdict = undefined | void | null | string | Uint8Array | { delay?: number; payload?: string | Uint8Array | null };

/** onControl returns `undefined` to forward a ping or pong, or `null` to drop it. */
export type ControlVerdict = undefined | void | null;

/** What a hook can do to the connection, beyond its return value. */
export interface MessageContext {
  connection: ConnectionInfo;
  /**
   * Inject a message towards the server (`"out"`) or the client (`"in"`): a string is sent as
   * text, a Uint8Array as binary. It is sent after the message being decided (or at once, when
   * nothing is being decided in that direction), never inside a fragmented message.
   */
  send: (dir: Direction, payload: string | Uint8Array) => void;
  /** Close both sides with a close handshake: each peer gets a close frame with this code (default 1000). */
  close: (code?: number, reason?: string) => void;
  /** Drop both TCP connections at once, with no close frame: each peer sees 1006. */
  abort: () => void;
  /** A place for the script's own per-connection state; wstape never reads it. */
  state: Record<string, unknown>;
}

/** A plain HTTP request through the proxy, with its whole body. */
export interface HttpRequest {
  /** Exchange id in the archive: "h1"... */
  id: string;
  method: string;
  /** Absolute http:// or https:// URL. */
  url: string;
  headers: HeaderPairs;
  body: Uint8Array;
}

/** A response as onResponse sees it, or as onRequest answers with. */
export interface HttpResponse {
  status: number;
  /** Default: the standard reason phrase for the status. */
  statusText?: string;
  headers: HeaderPairs;
  body: Uint8Array;
}

/**
 * What onRequest returns: `undefined` forwards the request unchanged; an object with any of
 * method, url, headers, body forwards the request with those replaced (Content-Length follows the
 * body); `{ response }` answers the client at once, without the upstream (a local mock).
 */
export type RequestVerdict =
  | undefined
  | void
  | { method?: string; url?: string; headers?: HeaderPairs; body?: string | Uint8Array }
  | { response: { status: number; statusText?: string; headers?: HeaderPairs; body?: string | Uint8Array } };

/** What onResponse returns: `undefined` forwards the response unchanged, or the fields to replace. */
export type ResponseVerdict = undefined | void | { status?: number; statusText?: string; headers?: HeaderPairs; body?: string | Uint8Array };

type MaybePromise<T> = T | Promise<T>;

/** A `--script` module's exports (all optional). */
export interface Hooks {
  /** A WebSocket upgrade request arrived; runs before the upstream is reached. */
  onConnection?: (connection: ConnectionInfo) => MaybePromise<ConnectionVerdict>;
  /**
   * The connection is open (the server accepted the upgrade), before its first message; runs once
   * per connection. `ctx` stays usable for the connection's life, so a timer may call ctx.send
   * later (--inject-at does).
   */
  onOpen?: (ctx: MessageContext) => MaybePromise<void>;
  /** A whole text or binary message arrived; runs once per message, in order per direction. */
  onMessage?: (message: Message, ctx: MessageContext) => MaybePromise<MessageVerdict>;
  /** A ping or pong arrived (synchronous: control frames are never held for long). */
  onControl?: (frame: ControlFrame, ctx: MessageContext) => ControlVerdict;
  /** A plain HTTP request arrived (not an upgrade), with its body. */
  onRequest?: (request: HttpRequest) => MaybePromise<RequestVerdict>;
  /** The upstream's response to a plain HTTP request, with its body. */
  onResponse?: (response: HttpResponse, request: HttpRequest) => MaybePromise<ResponseVerdict>;
}

/** Who acted, as the archive records it (`by`): a --script, a flag, or `wstape send`/`close`. */
export type Actor = 'script' | 'flag' | 'control';

/** A Hooks object with where it came from, for error entries and the archive's `by`. */
export interface NamedHooks {
  hooks: Hooks;
  /** The script's path, or "flags". */
  name: string;
  by: Actor;
}

/** How long a hook may take before its message is forwarded unchanged (an error entry says so). */
export const DEFAULT_HOOK_TIMEOUT_MS = 5000;

/** The hook names a module may export; anything else it exports is ignored. */
export const HOOK_NAMES = ['onConnection', 'onOpen', 'onMessage', 'onControl', 'onRequest', 'onResponse'] as const satisfies ReadonlyArray<keyof Hooks>;

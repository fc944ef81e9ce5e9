/**
 * The vocabulary of the HTTP proxy core (http-proxy-core.ts): the events the socket adapter
 * feeds it, the actions it returns, the questions it asks the hooks and the options it starts
 * with. Types and two constants only, so every part of the core, the adapter, the SOCKS5 core
 * and the tests can import them without importing each other (a leaf: no cycles).
 */
import type { RecorderErrorCode } from '../format/error-codes.js';
import type { ConnectionEntry, HttpEntry, TunnelEntry } from '../format/schema.js';
import type { ConnectionDecision, RequestDecision, ResponseDecision } from '../intervene/chain.js';
import type { ConnectionInfo, HttpRequest, HttpResponse } from '../intervene/hooks.js';
import type { DeflateParams } from '../wire/types.js';
import type { Stamp } from './clock.js';
import type { SocketError, UpstreamAddress, UpstreamTls } from './upstream-address.js';

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
  | { type: 'timeout'; timer: ProxyTimer }
  /** The hooks decided what the core asked them (`ask-hooks`). */
  | { type: 'hooks-answered'; answer: HookAnswer };

/**
 * What the core asks the hooks (the adapter runs HookChain and feeds back a `hooks-answered`
 * event with the same `hook` and `id`). `id` is the archive id of the exchange ("h1") or, for a
 * WebSocket upgrade, of the connection ("c1").
 */
export type HookQuestion =
  | { hook: 'connection'; id: string; info: ConnectionInfo }
  | { hook: 'request'; id: string; request: HttpRequest }
  | { hook: 'response'; id: string; request: HttpRequest; response: HttpResponse };

/** The hooks' decision on a {@link HookQuestion}. */
export type HookAnswer =
  | { hook: 'connection'; id: string; decision: ConnectionDecision }
  | { hook: 'request'; id: string; decision: RequestDecision }
  | { hook: 'response'; id: string; decision: ResponseDecision };

/** Which hooks a session has (none: every message takes the byte-exact streaming path). */
export interface HookWatch {
  /** onConnection: a WebSocket upgrade waits for it before its upstream is reached. */
  connections: boolean;
  /** onRequest: a plain request is held, with its whole body, until it is decided. */
  requests: boolean;
  /** onResponse: a plain response is held, with its whole body, until it is decided. */
  responses: boolean;
}

/** The most of a body (as sent, chunk framing included) held for onRequest or onResponse. */
export const MAX_HOOK_BODY = 16 * 1024 * 1024;

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
  /** Append an error entry to the archive (and flush); `conn` names the exchange or connection it concerns. */
  | { type: 'error'; code: RecorderErrorCode; message: string; conn?: string }
  /** Run the hooks on `question` and feed back their decision as a `hooks-answered` event. */
  | { type: 'ask-hooks'; question: HookQuestion }
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
  /**
   * A fixed route's upstream is already open (`connected`) or opening (`connecting`); `tunnel`:
   * open, and accepted as a tunnel the client asked for (SOCKS5 CONNECT, socks5-core.ts), so the
   * first bytes either way decide what it carries, as after an answered HTTP CONNECT.
   */
  upstream?: 'connected' | 'connecting' | 'tunnel';
  /** Whether an upstream's remote address is this recorder's own listening socket. */
  isOwnAddress?: (remote: SocketAddress) => boolean;
  /** Time limits in milliseconds; 0 (or absent) turns one off. */
  limits?: ProxyLimits;
  /** Which hooks to ask; absent: none (the byte-exact path, as without --script). */
  hooks?: HookWatch;
}

export interface ProxyLimits {
  /** A request head, or a response head once begun, must complete within this. */
  headerTimeoutMs?: number;
  /** A connection that waits for a request with nothing received is closed after this. */
  idleTimeoutMs?: number;
}

/** The defaults `wstape record` uses (--header-timeout, --idle-timeout). */
export const DEFAULT_LIMITS: Required<ProxyLimits> = { headerTimeoutMs: 30_000, idleTimeoutMs: 60_000 };

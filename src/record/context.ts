/**
 * What every piece of a recording proxy shares, in one place that imports none of them: the
 * recorder, the TLS settings, the registry of live sessions, and the one way a tunnel hands its
 * sockets to a new HTTP session. proxy-server.ts fills it in; http-session.ts and
 * tls-intercept.ts only read it, so neither names the other.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { HookChain } from '../intervene/chain.js';
import type { LiveConnections } from '../intervene/live.js';
import type { LeafProvider } from './client-tls.js';
import type { ClientTrust } from './client-trust.js';
import type { HttpRoute, ProxyLimits, SocketAddress } from './http-proxy-types.js';
import type { Recorder } from './recorder.js';
import type { UpstreamProxies } from './upstream-proxy.js';

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
  /** The upstream proxy to chain through (--upstream-proxy), or null to connect directly. */
  upstreamProxies?: UpstreamProxies | null;
}

/**
 * Where a client connection's requests go: the core's route, plus (inside an intercepted tunnel)
 * the upstream connection that is already open or opening. `tunnel`: the client asked for a
 * tunnel to `connected` (a SOCKS5 CONNECT) and it was accepted, so its first bytes decide what it
 * carries, as after an HTTP CONNECT's 200.
 */
export type Route = { kind: 'forward' } | (Extract<HttpRoute, { kind: 'fixed' }> & { connected?: Socket; tunnel?: boolean });

export interface ProxyContext {
  recorder: Recorder;
  tls: TlsSettings;
  /** Track a live session or relay; returns the function to call when it is done. */
  track(item: Stoppable): () => void;
  /**
   * Start an HTTP/1.x session on a client stream (a new connection, or the inside of a CONNECT
   * tunnel), with `initialBytes` already read from it.
   */
  startHttp(client: Duplex, route: Route, initialBytes?: Uint8Array): void;
  /** Whether an address is one this recorder listens on (an upstream there is a loop). */
  isOwnAddress: (remote: SocketAddress) => boolean;
  /** Where failed client handshakes go, to be recorded as CLIENT_TLS (at once, or after a grace time). */
  clientTrust: ClientTrust;
  /** The header and idle timeouts of HTTP sessions. */
  limits: ProxyLimits;
  /** The --script hooks and flags, or null: with none, every connection keeps the byte-exact path. */
  hooks: HookChain | null;
  /** Open WebSocket connections, for `wstape send` and `wstape close`. */
  live: LiveConnections;
}

/**
 * What every piece of a recording proxy shares, in one place that imports none of them: the
 * recorder, the TLS settings, the registry of live sessions, and the one way a tunnel hands its
 * sockets to a new HTTP session. proxy-server.ts fills it in; http-session.ts and
 * connect-tunnel.ts only read it, so neither names the other.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { LeafProvider } from './client-tls.js';
import type { Recorder } from './recorder.js';
import type { UpstreamAddress, UpstreamTls } from './upstream.js';

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
}

/** Where a client connection's requests go. */
export type Route =
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
      /** An upstream connection that is already open (or opening). */
      connected?: Socket;
    };

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
}

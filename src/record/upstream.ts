/**
 * Opening upstream connections: TCP, or TLS verified against Node's CAs plus --upstream-ca.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { UpstreamAddress, UpstreamTls } from './upstream-address.js';

/**
 * The TLS context that trusts Node's default CAs plus `extraCa`, built once per list: building
 * one parses every root certificate (tens of milliseconds), too slow for every connection.
 */
const trustContexts = new WeakMap<string[], tls.SecureContext>();
function trustContext(extraCa: string[]): tls.SecureContext {
  let context = trustContexts.get(extraCa);
  if (!context) {
    context = tls.createSecureContext({ ca: [...tls.rootCertificates, ...extraCa] });
    trustContexts.set(extraCa, context);
  }
  return context;
}

/**
 * Connect to an upstream; half-open so each direction's end is relayed on its own. With `tls`,
 * the connection is TLS, verified unless insecure, offering only http/1.1 in ALPN. `over` reuses
 * an already connected TCP socket (the one a CONNECT opened).
 */
export function connectUpstream(address: UpstreamAddress, tlsOptions?: UpstreamTls, over?: net.Socket): net.Socket {
  const raw = over ?? net.connect({ host: address.host, port: address.port, allowHalfOpen: true });
  raw.setNoDelay(true);
  if (!tlsOptions) return raw;
  return tls.connect({
    socket: raw,
    host: tlsOptions.servername,
    // RFC 6066 §3: SNI carries host names only, never IP addresses.
    ...(net.isIP(tlsOptions.servername) ? {} : { servername: tlsOptions.servername }),
    rejectUnauthorized: !tlsOptions.insecure,
    ...(tlsOptions.extraCa.length > 0 ? { secureContext: trustContext(tlsOptions.extraCa) } : {}),
    ALPNProtocols: ['http/1.1'],
  });
}

/** The event after which an upstream socket can carry requests. */
export function readyEvent(socket: net.Socket): 'secureConnect' | 'connect' {
  return socket instanceof tls.TLSSocket ? 'secureConnect' : 'connect';
}

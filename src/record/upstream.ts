/**
 * Opening upstream connections: TCP, or TLS verified against Node's CAs plus --upstream-ca.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { UpstreamAddress, UpstreamTls } from './upstream-address.js';
import { ProxyTunnel, type UpstreamProxies } from './upstream-proxy.js';

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
 * an already connected TCP socket (the one a CONNECT opened). With `proxies` (--upstream-proxy),
 * the connection is a tunnel through the proxy for this host, unless it bypasses it.
 */
export function connectUpstream(address: UpstreamAddress, tlsOptions?: UpstreamTls, over?: net.Socket, proxies?: UpstreamProxies | null): net.Socket {
  const raw = over ?? openRaw(address, tlsOptions !== undefined, proxies ?? null);
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

/**
 * A new TCP connection to the upstream, or a tunnel to it through an upstream proxy. The tunnel
 * is a stream, not a net.Socket, but it has what the recorder uses of one (`connecting`, a
 * 'connect' event, no remoteAddress: the upstream's address is the proxy's to know), so it is
 * typed as one; TLS wraps it as it wraps any stream.
 */
function openRaw(address: UpstreamAddress, secure: boolean, proxies: UpstreamProxies | null): net.Socket {
  const proxy = proxies?.proxyFor(address, secure) ?? null;
  if (proxy && proxies) {
    const { insecure, extraCa } = proxies;
    return new ProxyTunnel(proxy, address, { insecure, extraCa, trust: () => trustContext(extraCa) }) as unknown as net.Socket;
  }
  const socket = net.connect({ host: address.host, port: address.port, allowHalfOpen: true });
  socket.setNoDelay(true);
  return socket;
}

/** The event after which an upstream socket can carry requests. */
export function readyEvent(socket: net.Socket): 'secureConnect' | 'connect' {
  return socket instanceof tls.TLSSocket ? 'secureConnect' : 'connect';
}

/**
 * TLS interception inside a CONNECT tunnel, once the proxy core saw a ClientHello for a host that
 * is not --no-intercept: the recorder answers the client's handshake with a leaf certificate for
 * the host it asked for, opens its own verified TLS connection to the real upstream over the
 * tunnel's socket, and starts a new HTTP session on the decrypted streams.
 */
import type { Socket } from 'node:net';
import { acceptClientTls, clientTlsFailure, type LeafProvider } from './client-tls.js';
import type { ProxyContext, Stoppable } from './context.js';
import { formatAuthority, type UpstreamAddress, type UpstreamTls } from './upstream-address.js';
import { connectUpstream } from './upstream.js';

/**
 * Man-in-the-middle a CONNECT tunnel's TLS: `hello` is what the client sent so far (its
 * ClientHello), `raw` the open TCP connection to the upstream. Verified unless --insecure.
 */
export async function interceptTls(ctx: ProxyContext, client: Socket, raw: Socket, address: UpstreamAddress, hello: Uint8Array): Promise<void> {
  let leaves: LeafProvider;
  try {
    leaves = await ctx.tls.leaves();
  } catch (error) {
    ctx.recorder.error('CA_UNAVAILABLE', `cannot intercept TLS to ${formatAuthority(address, 443)}: ${(error as Error).message}`);
    client.destroy();
    raw.destroy();
    return;
  }
  // Give the ClientHello back to the socket: the TLS layer reads what the socket has buffered.
  client.unshift(Buffer.from(hello));
  // Until the handshake is done, nothing else owns the upstream socket: track it for shutdown.
  const pending: Stoppable = { shutdown: () => raw.destroy() };
  const untrack = ctx.track(pending);
  acceptClientTls(client, leaves, address.host, {
    secure: (secure) => {
      untrack();
      const servername = secure.servername || address.host;
      ctx.clientTrust.trusted(servername);
      const upstreamTls: UpstreamTls = { servername, insecure: ctx.tls.insecure, extraCa: ctx.tls.extraCa };
      // The tunnel's upstream opened before its bytes showed TLS, so through the proxy for its
      // port (--upstream-proxy-env: HTTP_PROXY unless 443). TLS upstreams take HTTPS_PROXY: when
      // that is another proxy, the recorder's TLS connection opens anew through it.
      const proxies = ctx.tls.upstreamProxies ?? null;
      const reopen = proxies !== null && proxies.proxyFor(address, true) !== proxies.proxyFor(address, false);
      if (reopen) raw.destroy();
      const upstream = reopen ? connectUpstream(address, upstreamTls, undefined, proxies) : connectUpstream(address, upstreamTls, raw);
      ctx.startHttp(secure, { kind: 'fixed', mode: 'connect', address, rewriteHost: false, tls: upstreamTls, connected: upstream });
    },
    failed: (failure) => {
      untrack();
      raw.destroy();
      if (failure) {
        const host = failure.kind === 'left-after-certificate' ? failure.host : address.host;
        ctx.clientTrust.failed(failure, host, clientTlsFailure(failure, formatAuthority(address, 443)));
      }
    },
  });
}

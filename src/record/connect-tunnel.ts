/**
 * What happens inside a CONNECT tunnel once the recorder answered 200: the first bytes decide.
 * Plaintext HTTP is recorded like any other; a TLS ClientHello is intercepted (the recorder
 * presents a leaf certificate and opens its own verified TLS upstream), unless the host is
 * --no-intercept; a server that speaks first makes it an opaque tunnel.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { acceptClientTls, clientTlsFailure, type LeafProvider } from './client-tls.js';
import { HttpSession, type ProxyContext, type Stoppable } from './http-session.js';
import { concatBytes } from './payload.js';
import { relayTunnel } from './tunnel-relay.js';
import { connectUpstream, formatAuthority, type UpstreamAddress, type UpstreamTls } from './upstream.js';

/**
 * After a CONNECT is answered, the first bytes decide: a TLS ClientHello is intercepted (or passes
 * through untouched for --no-intercept hosts), plaintext is parsed as HTTP, and a server that
 * speaks first makes it an opaque tunnel.
 */
export function sniffTunnel(ctx: ProxyContext, client: Duplex, upstream: Socket, address: UpstreamAddress, early: Uint8Array): void {
  const decide = (clientBytes: Uint8Array, serverBytes: Uint8Array): void => {
    client.removeListener('data', onClient);
    upstream.removeListener('data', onServer);
    client.removeListener('close', onGone);
    upstream.removeListener('close', onGone);
    client.pause();
    upstream.pause();
    // RFC 8446 §5.1: a TLS record starts with content type 22 (handshake).
    const isTls = clientBytes.length > 0 && clientBytes[0] === 0x16;
    if (clientBytes.length > 0 && !isTls) {
      new HttpSession(ctx, client, { kind: 'fixed', mode: 'connect', address, rewriteHost: false, connected: upstream }, clientBytes);
    } else if (isTls && !ctx.tls.passThrough(address.host)) {
      void interceptTls(ctx, client as Socket, upstream, address, clientBytes);
    } else {
      const reason = isTls ? 'no-intercept' : 'server spoke first';
      openTunnel(ctx, client, upstream, address, { reason, secure: isTls, clientBytes, serverBytes });
    }
  };
  const onClient = (chunk: Buffer): void => decide(concatBytes(early, chunk), new Uint8Array(0));
  const onServer = (chunk: Buffer): void => decide(early, chunk);
  const onGone = (): void => {
    client.destroy();
    upstream.destroy();
  };
  upstream.on('error', () => {});
  if (early.length > 0) {
    decide(early, new Uint8Array(0));
    return;
  }
  client.on('data', onClient);
  upstream.on('data', onServer);
  client.on('close', onGone);
  upstream.on('close', onGone);
  client.resume();
  upstream.resume();
}

/** Relay an opaque tunnel, listed as a tunnel entry. */
export function openTunnel(
  ctx: ProxyContext,
  client: Duplex,
  upstream: Socket,
  address: UpstreamAddress,
  options: { reason: string; secure: boolean; clientBytes: Uint8Array; serverBytes: Uint8Array },
): void {
  const id = ctx.recorder.nextId('t');
  ctx.recorder.append({
    kind: 'tunnel',
    id,
    ...ctx.recorder.now(),
    url: `${options.secure ? 'https' : 'tcp'}://${formatAuthority(address, options.secure ? 443 : 0)}`,
    client: { address: (client as Socket).remoteAddress ?? '', port: (client as Socket).remotePort ?? 0 },
    server: { host: address.host, port: address.port },
    reason: options.reason,
  });
  ctx.recorder.flush();
  const tunnel = relayTunnel({
    recorder: ctx.recorder,
    id,
    client,
    upstream,
    clientBytes: options.clientBytes,
    serverBytes: options.serverBytes,
    onDone: () => untrack(),
  });
  const untrack = ctx.track(tunnel);
}

/**
 * Man-in-the-middle a CONNECT tunnel's TLS: answer the client's handshake with a leaf certificate
 * for the host it asked for (SNI, or the CONNECT host), then open TLS to the real upstream over
 * the already connected socket, verified unless --insecure, and record the HTTP inside.
 */
async function interceptTls(ctx: ProxyContext, client: Socket, raw: Socket, address: UpstreamAddress, hello: Uint8Array): Promise<void> {
  const recordError = (code: string, message: string): void => {
    ctx.recorder.append({ kind: 'error', ...ctx.recorder.now(), code, message });
    ctx.recorder.flush();
  };
  let leaves: LeafProvider;
  try {
    leaves = await ctx.tls.leaves();
  } catch (error) {
    recordError('CA_UNAVAILABLE', `cannot intercept TLS to ${formatAuthority(address, 443)}: ${(error as Error).message}`);
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
      const upstreamTls: UpstreamTls = { servername, insecure: ctx.tls.insecure, extraCa: ctx.tls.extraCa };
      const upstream = connectUpstream(address, upstreamTls, raw);
      new HttpSession(ctx, secure, { kind: 'fixed', mode: 'connect', address, rewriteHost: false, tls: upstreamTls, connected: upstream });
    },
    failed: (error) => {
      untrack();
      raw.destroy();
      if (error) recordError('CLIENT_TLS', clientTlsFailure(error, formatAuthority(address, 443)));
    },
  });
}

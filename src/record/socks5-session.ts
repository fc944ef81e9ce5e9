/**
 * The socket side of a SOCKS5 client connection: a thin adapter around Socks5Core
 * (socks5-core.ts), which makes every decision. It feeds the core the client's bytes, opens the
 * upstream the core asks for (a domain name is resolved here, on the proxy side), runs the
 * handshake timer, writes the core's replies and error entries, and once the tunnel is accepted
 * hands both sockets to an HTTP session that treats them as an answered CONNECT: the tunnel's
 * first bytes decide between HTTP (and WebSocket), TLS interception and an opaque tunnel.
 */
import type { Socket } from 'node:net';
import type { ProxyContext, Stoppable } from './context.js';
import { Socks5Core, type Socks5Action, type Socks5Event, type SocksCredentials } from './socks5-core.js';
import { connectUpstream } from './upstream.js';

export class Socks5Session implements Stoppable {
  private readonly ctx: ProxyContext;
  private readonly client: Socket;
  private readonly core: Socks5Core;
  private upstream: Socket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly untrack: () => void;
  private readonly onClientData = (chunk: Buffer): void => this.feed({ type: 'client-bytes', bytes: chunk });
  private readonly onClientGone = (): void => this.feed({ type: 'client-ended' });
  private readonly onUpstreamConnect = (): void => {
    const socket = this.upstream!;
    this.feed({
      type: 'upstream-connected',
      ...(socket.remoteAddress !== undefined ? { remote: { address: socket.remoteAddress, port: socket.remotePort ?? 0 } } : {}),
      ...(socket.localAddress !== undefined ? { local: { address: socket.localAddress, port: socket.localPort ?? 0 } } : {}),
    });
  };
  private readonly onUpstreamError = (error: NodeJS.ErrnoException): void => this.feed({ type: 'upstream-failed', error });
  private readonly onUpstreamClose = (): void => this.feed({ type: 'upstream-failed', error: null });

  /** Start on a client whose first bytes (`initialBytes`, beginning with 0x05) were already read. */
  constructor(ctx: ProxyContext, client: Socket, credentials: SocksCredentials | null, initialBytes: Uint8Array) {
    this.ctx = ctx;
    this.client = client;
    this.core = new Socks5Core({
      client: { address: client.remoteAddress ?? '', port: client.remotePort ?? 0 },
      credentials,
      headerTimeoutMs: ctx.limits.headerTimeoutMs ?? 0,
      isOwnAddress: ctx.isOwnAddress,
    });
    this.untrack = ctx.track(this);
    client.on('data', this.onClientData);
    client.on('end', this.onClientGone);
    client.on('error', this.onClientGone);
    client.on('close', this.onClientGone);
    this.performAll(this.core.start());
    this.feed({ type: 'client-bytes', bytes: initialBytes });
    if (!this.core.done && this.upstream === null) client.resume();
  }

  shutdown(): void {
    this.stopTimer();
    this.client.destroy();
    this.upstream?.destroy();
  }

  private feed(event: Socks5Event): void {
    this.performAll(this.core.handle(event));
  }

  private performAll(actions: Socks5Action[]): void {
    for (const action of actions) this.perform(action);
  }

  private perform(action: Socks5Action): void {
    switch (action.type) {
      case 'write':
        if (!this.client.destroyed && !this.client.writableEnded) this.client.write(action.bytes);
        break;
      case 'pause':
        this.client.pause();
        break;
      case 'connect':
        this.connect(action.address);
        break;
      case 'set-timer':
        this.stopTimer();
        this.timer = setTimeout(() => {
          this.timer = null;
          this.feed({ type: 'timeout' });
        }, action.ms);
        this.timer.unref();
        break;
      case 'clear-timer':
        this.stopTimer();
        break;
      case 'error':
        this.ctx.recorder.error(action.code, action.message);
        break;
      case 'close':
        this.detach();
        this.upstream?.destroy();
        if (!this.client.writableEnded) this.client.end();
        // Read the client to its end, so that its socket closes once it has read the reply.
        this.client.resume();
        break;
      case 'tunnel': {
        const upstream = this.upstream!;
        this.detach();
        this.ctx.startHttp(
          this.client,
          { kind: 'fixed', mode: 'connect', address: action.address, rewriteHost: false, connected: upstream, tunnel: true },
          action.clientBytes,
        );
        break;
      }
    }
  }

  private connect(address: { host: string; port: number }): void {
    let socket: Socket;
    try {
      // Through --upstream-proxy like every other upstream. A tunnel through it has no local
      // address of ours towards the target (that is the proxy's), so the reply's BND is 0.0.0.0:0.
      socket = connectUpstream(address, undefined, undefined, this.ctx.tls.upstreamProxies);
    } catch (error) {
      // net.connect throws on arguments it refuses (a port out of range); the core's checks should
      // leave none, but a refusal is still a failed connect, never a crash.
      const failure = error as NodeJS.ErrnoException;
      queueMicrotask(() => this.feed({ type: 'upstream-failed', error: { code: failure.code, message: failure.message } }));
      return;
    }
    this.upstream = socket;
    socket.once('connect', this.onUpstreamConnect);
    socket.on('error', this.onUpstreamError);
    socket.on('close', this.onUpstreamClose);
  }

  /** Stop listening to both sockets: they are handed on, or closing. */
  private detach(): void {
    this.stopTimer();
    this.untrack();
    this.client.removeListener('data', this.onClientData);
    this.client.removeListener('end', this.onClientGone);
    this.client.removeListener('error', this.onClientGone);
    this.client.removeListener('close', this.onClientGone);
    this.client.on('error', () => {});
    const upstream = this.upstream;
    if (upstream) {
      upstream.removeListener('connect', this.onUpstreamConnect);
      upstream.removeListener('error', this.onUpstreamError);
      upstream.removeListener('close', this.onUpstreamClose);
      upstream.on('error', () => {});
    }
  }

  private stopTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

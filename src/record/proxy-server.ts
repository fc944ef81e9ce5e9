/**
 * The recording proxy's listening socket: accepts clients, reads each one's first bytes to learn
 * what it speaks (first-bytes.ts), and gives it an HttpSession with the right route (forward
 * proxy, or reverse proxy in front of --target) or, in forward mode, a Socks5Session; a client
 * that speaks neither (TLS straight to the port, unknown bytes) is answered at once. Stops
 * everything cleanly when recording ends.
 */
import net from 'node:net';
import os from 'node:os';
import { cliError } from '../errors.js';
import type { HookChain } from '../intervene/chain.js';
import { LiveConnections } from '../intervene/live.js';
import { acceptClientTls, clientTlsFailure, type LeafProvider } from './client-tls.js';
import { ClientTrust } from './client-trust.js';
import type { ProxyContext, Route, Stoppable, TlsSettings } from './context.js';
import { classifyFirstBytes, leadingHex, TLS_HANDSHAKE_FAILURE_ALERT } from './first-bytes.js';
import { DEFAULT_LIMITS, simpleResponse, type ProxyLimits, type SocketAddress } from './http-proxy-core.js';
import { HttpSession } from './http-session.js';
import { ownAddressMatcher } from './own-address.js';
import type { Recorder } from './recorder.js';
import type { SocksCredentials } from './socks5-core.js';
import { Socks5Session } from './socks5-session.js';
import { formatAuthority, type UpstreamAddress, type UpstreamTls } from './upstream-address.js';

export interface ProxyServerOptions {
  /**
   * The recorder, or a function that makes it once the server listens, so that a recording that
   * cannot start leaves no archive behind and the archive's header can name the bound port.
   */
  recorder: Recorder | ((address: net.AddressInfo) => Recorder);
  host: string;
  port: number;
  /** Reverse mode: every client connection goes to this upstream (over TLS with `targetTls`). */
  target?: UpstreamAddress;
  targetTls?: UpstreamTls;
  /** Reverse mode --tls: serve TLS to clients, with a leaf for SNI or else this host. */
  serveTls?: { defaultHost: string };
  tls: TlsSettings;
  /** Header and idle timeouts (--header-timeout, --idle-timeout); DEFAULT_LIMITS when absent. */
  limits?: ProxyLimits;
  /** --script hooks and flags; none: every connection keeps the byte-exact path. */
  hooks?: HookChain | null;
  /** Where open WebSocket connections register for `wstape send`/`close` (default: a new registry). */
  live?: LiveConnections;
  /** Forward mode --socks-auth: SOCKS5 clients must log in with these (RFC 1929); absent: no authentication. */
  socksAuth?: SocksCredentials;
}

export class ProxyServer {
  private readonly server: net.Server;
  private readonly live = new Set<Stoppable>();
  private readonly sockets = new Set<net.Socket>();
  private readonly ctx: ProxyContext;
  private readonly options: ProxyServerOptions;
  /** Set once listening: whether an address is this server's own. */
  private isOwn: (remote: SocketAddress) => boolean = () => false;
  /** Set once listening: host:port as clients reach it, for messages. */
  private bound = '';

  private recorder: Recorder | null;

  constructor(options: ProxyServerOptions) {
    this.options = options;
    this.recorder = typeof options.recorder === 'function' ? null : options.recorder;
    const recorderOf = (): Recorder => {
      if (this.recorder === null) throw new Error('ProxyServer: no recorder before listen()');
      return this.recorder;
    };
    this.ctx = {
      get recorder(): Recorder {
        return recorderOf();
      },
      tls: options.tls,
      track: (item) => {
        this.live.add(item);
        return () => this.live.delete(item);
      },
      startHttp: (client, route, initialBytes) => {
        new HttpSession(this.ctx, client, route, initialBytes);
      },
      isOwnAddress: (remote) => this.isOwn(remote),
      clientTrust: new ClientTrust((message) => recorderOf().error('CLIENT_TLS', message)),
      limits: { ...DEFAULT_LIMITS, ...options.limits },
      hooks: options.hooks ?? null,
      live: options.live ?? new LiveConnections(),
    };
    // Half-open: each direction's end is relayed on its own, as the peers sent it.
    this.server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.accept(socket));
  }

  private leaves: LeafProvider | null = null;

  /** Start listening; resolves with the bound address (port 0 picks a free one). */
  async listen(): Promise<net.AddressInfo> {
    if (this.options.serveTls) this.leaves = await this.options.tls.leaves();
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException): void => {
        const where = `${this.options.host}:${this.options.port}`;
        if (error.code === 'EADDRINUSE') reject(cliError('ERR_LISTEN', `cannot listen on ${where}: the port is in use (pick another with --port)`));
        else if (error.code === 'EACCES') reject(cliError('ERR_LISTEN', `cannot listen on ${where}: permission denied (use a port above 1023)`));
        else reject(cliError('ERR_LISTEN', `cannot listen on ${where}: ${error.code ?? error.message}`));
      };
      this.server.once('error', onError);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.removeListener('error', onError);
        const address = this.server.address() as net.AddressInfo;
        if (this.recorder === null && typeof this.options.recorder === 'function') {
          // Made before any connection is accepted: 'connection' events come in a later turn.
          try {
            this.recorder = this.options.recorder(address);
          } catch (error) {
            this.server.close();
            reject(error instanceof Error ? error : new Error(String(error)));
            return;
          }
        }
        const local = Object.values(os.networkInterfaces()).flatMap((list) => (list ?? []).map((entry) => entry.address));
        this.isOwn = ownAddressMatcher(address, local);
        this.bound = formatAuthority({ host: address.address, port: address.port }, 0);
        resolve(address);
      });
    });
  }

  /**
   * Stop accepting and close every open connection. Connections get `graceMs` to finish on
   * their own first; then they are closed, and each relay records how it ended.
   */
  async close(graceMs = 0): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.settle(graceMs);
    this.ctx.clientTrust.shutdown();
    for (const item of [...this.live]) item.shutdown();
    for (const socket of this.sockets) socket.destroy();
    // Destroyed sockets emit 'close' a turn or two later; their relays record the end then.
    await this.settle(1000);
    await closed;
  }

  /** Wait until no relay is live, or the time is up. */
  private async settle(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.live.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    // A hostile or broken client must never take the recorder down.
    socket.on('error', () => {});
    const route: Route = this.options.target
      ? {
          kind: 'fixed',
          mode: 'reverse',
          address: this.options.target,
          rewriteHost: true,
          ...(this.options.targetTls ? { tls: this.options.targetTls } : {}),
        }
      : { kind: 'forward' };
    if (this.leaves && this.options.serveTls) {
      this.acceptTls(socket, route, this.leaves, this.options.serveTls.defaultHost);
      return;
    }
    this.awaitFirstBytes(socket, route);
  }

  /**
   * Wait for the client's first chunk (no longer than the idle timeout, as a session waits for a
   * request), then start what it speaks. The socket is paused from then on, so the session that
   * takes it reads every byte after that chunk.
   */
  private awaitFirstBytes(socket: net.Socket, route: Route): void {
    const waiting: Stoppable = { shutdown: () => socket.destroy() };
    const untrack = this.ctx.track(waiting);
    const idleMs = this.ctx.limits.idleTimeoutMs ?? 0;
    const timer = idleMs > 0 ? setTimeout(() => finish(() => this.closeQuietly(socket)), idleMs) : null;
    timer?.unref();
    const onData = (chunk: Buffer): void => {
      socket.pause();
      finish(() => this.dispatch(socket, route, chunk));
    };
    // Half-closed (or gone) before a byte: nothing to record, as an idle session records nothing.
    const onEnd = (): void => finish(() => this.closeQuietly(socket));
    const onClose = (): void => finish(() => {});
    const finish = (then: () => void): void => {
      if (timer) clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('end', onEnd);
      socket.removeListener('close', onClose);
      untrack();
      then();
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onClose);
  }

  private dispatch(socket: net.Socket, route: Route, first: Buffer): void {
    const forward = route.kind === 'forward';
    const from = formatAuthority({ host: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 }, 0);
    switch (classifyFirstBytes(first, forward)) {
      case 'http':
        this.ctx.startHttp(socket, route, first);
        return;
      case 'socks5':
        new Socks5Session(this.ctx, socket, this.options.socksAuth ?? null, first);
        return;
      case 'tls': {
        const advice = forward
          ? `this is an HTTP/SOCKS proxy; use http://host:port as the proxy (http://${this.bound}), not https://`
          : `this reverse proxy serves plain HTTP; connect with http:// or ws://, or start wstape record with --tls`;
        this.ctx.recorder.error('PROXY_TLS', `TLS ClientHello from ${from} sent to the proxy port: ${advice}`);
        this.closeQuietly(socket, TLS_HANDSHAKE_FAILURE_ALERT);
        return;
      }
      case 'unknown': {
        const speaks = forward ? 'HTTP, SOCKS5 or TLS' : 'HTTP';
        const socks4 = forward && first[0] === 0x04 ? ' (SOCKS4, which wstape does not speak: use SOCKS5)' : '';
        const reason = `request from ${from}: not ${speaks}: the first bytes are ${leadingHex(first)}${socks4}`;
        this.ctx.recorder.error('HTTP_PARSE', reason);
        const hint = forward ? 'this is an HTTP/SOCKS5 proxy' : 'this is an HTTP reverse proxy';
        this.closeQuietly(socket, simpleResponse(400, 'Bad Request', `wstape: ${hint}; the request was not HTTP\n`));
        return;
      }
    }
  }

  /** End a client (after `last`), reading it to its end so its socket closes. */
  private closeQuietly(socket: net.Socket, last?: Uint8Array): void {
    if (last) socket.end(last);
    else socket.end();
    socket.resume();
  }

  /** Reverse mode with --tls: the client speaks TLS to us; the session runs inside it. */
  private acceptTls(socket: net.Socket, route: Route, leaves: LeafProvider, defaultHost: string): void {
    acceptClientTls(socket, leaves, defaultHost, {
      secure: (secure) => {
        this.ctx.clientTrust.trusted(secure.servername || defaultHost);
        this.ctx.startHttp(secure, route);
      },
      failed: (failure) => {
        if (failure) {
          const host = failure.kind === 'left-after-certificate' ? failure.host : defaultHost;
          this.ctx.clientTrust.failed(failure, host, clientTlsFailure(failure, host));
        }
      },
    });
  }
}

/**
 * The CONNECT side of the HTTP proxy core (a layer of HttpProxyCore, see http-proxy-base.ts): a
 * forward-proxy CONNECT opens its upstream and is answered 200 once it is open (or 502); then the
 * tunnel's first bytes decide what it carries. A TLS ClientHello is intercepted (or passes
 * through for --no-intercept hosts), plaintext goes back to the request side as HTTP on this same
 * connection, and a server that speaks first makes an opaque tunnel. Anything that stops parsing
 * as HTTP later also ends here, as an opaque tunnel that still forwards every byte.
 */
import { RequestParser, type RequestHead } from '../http/http-parser.js';
import { concatBytes } from './payload.js';
import { describeUpstreamError, formatAuthority, parseAuthority, type SocketError } from './upstream-address.js';
import { EMPTY, ProxyCoreBase, State, type Upstream } from './http-proxy-base.js';

const CONNECTION_ESTABLISHED = Buffer.from('HTTP/1.1 200 Connection established\r\n\r\n', 'latin1');

/** CONNECT tunnels and opaque tunnels: the layer above {@link ProxyCoreBase}. */
export abstract class TunnelSteps extends ProxyCoreBase {
  /** A forward-proxy CONNECT: open its upstream; the 200 waits until it is open. */
  protected openConnectTunnel(head: RequestHead): void {
    const address = parseAuthority(head.target, 443);
    if (!address) {
      this.refuse(400, 'Bad Request', `CONNECT needs host:port, got "${head.target}".`);
      return;
    }
    // A keep-alive upstream of earlier requests is not the tunnel's: the connect replaces it.
    this.connectHead = head;
    this.state = State.TunnelConnecting;
    this.connect(address, undefined);
  }

  /** The CONNECT's upstream is open: answer 200, and let the first bytes decide. */
  protected tunnelOpened(): void {
    this.state = State.TunnelSniffing;
    this.write('client', CONNECTION_ESTABLISHED);
    // Bytes the client sent after its CONNECT head, before the 200, wait in the request parser.
    const early = this.requests.takeDetachedBytes();
    if (early.length > 0) this.sniff(early, EMPTY);
  }

  /**
   * The first bytes through an answered CONNECT decide what the tunnel carries: a TLS ClientHello
   * is intercepted (or passes through), plaintext is HTTP, and a server speaking first is opaque.
   */
  protected sniff(clientBytes: Uint8Array, serverBytes: Uint8Array): void {
    const address = this.upstream!.address;
    // RFC 8446 §5.1: a TLS record starts with content type 22 (handshake).
    const isTls = clientBytes.length > 0 && clientBytes[0] === 0x16;
    if (clientBytes.length > 0 && !isTls) {
      this.state = State.Http;
      this.route = { kind: 'fixed', mode: 'connect', address, rewriteHost: false };
      this.connectHead = null;
      this.requests = new RequestParser();
      this.handleRequestEvents(this.requests.push(clientBytes));
    } else if (isTls && !this.passThrough(address.host)) {
      this.handOff({ type: 'intercept-tls', address, hello: clientBytes });
    } else {
      this.openTunnel(isTls ? 'no-intercept' : 'server spoke first', isTls, clientBytes, serverBytes);
    }
  }

  protected connectFailed(upstream: Upstream, error: SocketError | null): void {
    const { code, reason } = describeUpstreamError(error ?? { message: 'closed before connecting' }, upstream.address, false);
    this.error(code, `CONNECT ${this.connectHead!.target}: ${reason}`);
    this.respond(502, 'Bad Gateway', `wstape: ${reason}`);
    this.release();
  }

  /** From here on, relay bytes both ways without parsing, as a tunnel entry. */
  protected becomeOpaque(reason: string, clientBytes: Uint8Array, serverBytes: Uint8Array): void {
    if (!this.upstream) {
      this.close('client', 'destroy', `not HTTP: ${reason}`);
      this.release();
      return;
    }
    this.openTunnel(`not HTTP: ${reason}`, false, concatBytes(clientBytes, this.requests.takeDetachedBytes()), serverBytes);
  }

  /** Record a tunnel entry and hand both sockets to the opaque tunnel relay. */
  private openTunnel(reason: string, secure: boolean, clientBytes: Uint8Array, serverBytes: Uint8Array): void {
    const address = this.exchange?.address ?? this.upstream!.address;
    const id = this.recorder.nextId('t');
    this.actions.push({
      type: 'record',
      entry: {
        kind: 'tunnel',
        id,
        ...this.recorder.now(),
        url: `${secure ? 'https' : 'tcp'}://${formatAuthority(address, secure ? 443 : 0)}`,
        client: { ...this.client },
        server: { host: address.host, port: address.port },
        reason,
      },
    });
    this.handOff({ type: 'tunnel', id, clientBytes, serverBytes });
  }
}

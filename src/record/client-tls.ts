/**
 * The recorder's side of TLS with a client: it answers the client's handshake with a leaf
 * certificate, signed by the wstape root CA, for the host the client asked for.
 */
import type { Socket } from 'node:net';
import tls from 'node:tls';

/** Makes the certificates the recorder shows clients when it intercepts TLS. */
export interface LeafProvider {
  contextFor(host: string): tls.SecureContext;
}

/**
 * Serve TLS on a client socket: the leaf for the SNI name, or for `defaultHost` when the client
 * sends none (an IP address). Only http/1.1 is offered in ALPN: the recorder parses HTTP/1.x and
 * WebSocket over it. Bytes already read from the socket can be put back with unshift() first:
 * the TLS layer reads what the socket has buffered.
 */
export function acceptClientTls(
  socket: Socket,
  leaves: LeafProvider,
  defaultHost: string,
  handlers: {
    secure: (secure: tls.TLSSocket) => void;
    /** The handshake failed with this error, or (null) the client left before finishing it. */
    failed: (error: NodeJS.ErrnoException | null) => void;
  },
): void {
  let context: tls.SecureContext;
  try {
    context = leaves.contextFor(defaultHost);
  } catch (error) {
    // A name that cannot go into a certificate (a hostile CONNECT target).
    socket.destroy();
    handlers.failed(error as NodeJS.ErrnoException);
    return;
  }
  const secure = new tls.TLSSocket(socket, {
    isServer: true,
    secureContext: context,
    SNICallback: (servername, callback) => {
      try {
        callback(null, leaves.contextFor(servername));
      } catch (error) {
        callback(error as Error);
      }
    },
    ALPNProtocols: ['http/1.1'],
  });
  let established = false;
  secure.once('secure', () => {
    established = true;
    handlers.secure(secure);
  });
  let failed = false;
  const fail = (error: NodeJS.ErrnoException | null): void => {
    // Later errors belong to whoever owns the connection by then.
    if (established || failed) return;
    failed = true;
    secure.destroy();
    handlers.failed(error);
  };
  secure.on('error', fail);
  // Browsers open speculative connections and close some mid-handshake without an alert.
  secure.on('end', () => fail(null));
  secure.on('close', () => fail(null));
}

/** The one-line hint recorded when a client refuses our certificate. */
export function clientTlsFailure(error: NodeJS.ErrnoException, where: string): string {
  return `TLS handshake with the client for ${where} failed (${error.code ?? error.message}); does the client trust the wstape root CA? See wstape ca info`;
}

/**
 * The recorder's side of TLS with a client: it answers the client's handshake with a leaf
 * certificate, signed by the wstape root CA, for the host the client asked for.
 *
 * A client that does not trust that certificate fails in one of two ways. OpenSSL-based clients
 * (curl, Python) verify during the handshake and send an alert (unknown_ca, bad_certificate): the
 * handshake ends with an error. Node's tls (and so `ws` and undici) verifies in JavaScript once
 * its side of the handshake is done and destroys the socket: with TLS 1.3 its Finished is never
 * flushed, so the server sees the connection end after it sent its certificate, with no alert
 * and no error. Both leave a CLIENT_TLS entry; a client that leaves before the certificate went
 * out leaves none. A browser abandoning a handshake it no longer needs looks like Node's
 * rejection on the wire: client-trust.ts tells them apart.
 */
import type { Socket } from 'node:net';
import tls from 'node:tls';

/** Makes the certificates the recorder shows clients when it intercepts TLS. */
export interface LeafProvider {
  contextFor(host: string): tls.SecureContext;
}

/**
 * Why a client's handshake did not finish: an error (an alert from the client, a name
 * that cannot get a certificate), or (`left-after-certificate`) the client went away, with a FIN
 * or a reset, after our certificate for `host` (its SNI name, or the default host) went out.
 */
export type ClientTlsFailure = { kind: 'error'; error: NodeJS.ErrnoException } | { kind: 'left-after-certificate'; host: string };

/** Errors that mean the client went away (a TCP reset), not that it refused the handshake (an alert). */
const LEFT_ERRORS: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE']);

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
    /** The handshake did not finish: see ClientTlsFailure; null when nothing points at the client's trust. */
    failed: (failure: ClientTlsFailure | null) => void;
  },
): void {
  let context: tls.SecureContext;
  try {
    context = leaves.contextFor(defaultHost);
  } catch (error) {
    // A name that cannot go into a certificate (a hostile CONNECT target).
    socket.destroy();
    handlers.failed({ kind: 'error', error: error as NodeJS.ErrnoException });
    return;
  }
  // What was written before the handshake (a CONNECT's 200) is not ours; more than that is our
  // ServerHello and certificate.
  const writtenBefore = socket.bytesWritten;
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
  const fail = (failure: ClientTlsFailure | null): void => {
    // Later errors belong to whoever owns the connection by then.
    if (established || failed) return;
    failed = true;
    secure.destroy();
    handlers.failed(failure);
  };
  // The client left mid-handshake, with a FIN or a reset and no alert. After our certificate went
  // out, that is how Node's clients reject it (and how browsers abandon a handshake: see
  // client-trust.ts); before, it says nothing about trust.
  const left = (): ClientTlsFailure | null =>
    socket.bytesWritten > writtenBefore ? { kind: 'left-after-certificate', host: (secure.servername as string | false | undefined) || defaultHost } : null;
  secure.on('error', (error: NodeJS.ErrnoException) => fail(LEFT_ERRORS.has(error.code ?? '') ? left() : { kind: 'error', error }));
  secure.on('end', () => fail(left()));
  // Closed from our side (recording stopped) or after an error already handled.
  secure.on('close', () => fail(null));
}

/** The one-line hint recorded when a client refuses our certificate; `where` names the host. */
export function clientTlsFailure(failure: ClientTlsFailure, where: string): string {
  if (failure.kind === 'left-after-certificate') {
    return `TLS handshake with the client for ${where} failed: the client closed the connection after receiving the certificate, without finishing the handshake (as Node's tls, ws and undici do when they reject it); the client does not trust the wstape root CA: see wstape ca info`;
  }
  const { error } = failure;
  return `TLS handshake with the client for ${where} failed (${error.code ?? error.message}); does the client trust the wstape root CA? See wstape ca info`;
}

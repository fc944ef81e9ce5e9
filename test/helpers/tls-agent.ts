/**
 * An https.Agent for `ws` and node:https that reaches the server through the recorder as a
 * browser does: an HTTP CONNECT, then TLS inside the tunnel, trusting only `ca` (the recorder's
 * root CA, so the recorder's interception is what the client checks).
 */
import https from 'node:https';
import type net from 'node:net';
import tls from 'node:tls';
import { ConnectAgent } from './peers.js';

export class TlsInConnectAgent extends https.Agent {
  private readonly connect: ConnectAgent;

  constructor(
    proxyPort: number,
    private readonly ca: string,
  ) {
    super({ keepAlive: false });
    this.connect = new ConnectAgent(proxyPort);
  }

  override createConnection(
    options: tls.ConnectionOptions & { host?: string; port?: number },
    callback?: (error: Error | null, socket: net.Socket) => void,
  ): net.Socket {
    this.connect.createConnection({ host: options.host ?? '', port: options.port ?? 443 }, (error, raw) => {
      if (error) return callback?.(error, raw);
      const secure = tls.connect({ socket: raw, servername: options.host ?? '', ca: [this.ca] });
      secure.once('secureConnect', () => callback?.(null, secure));
      secure.once('error', (failure) => callback?.(failure, secure));
    });
    return undefined as unknown as net.Socket;
  }
}

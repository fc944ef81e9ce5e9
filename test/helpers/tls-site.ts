/**
 * The sites of the TLS interception tests. Their two certificate authorities, each a separate install in a temp
 * folder: the site's private CA, which signs the upstream servers' certificates and which only
 * the recorder trusts (--upstream-ca), and the recorder's own root (--ca-dir), which signs the
 * per-host certificates the clients see and which only the clients trust. And a wss:// echo
 * site on 127.0.0.1 whose certificate the site's CA signed.
 */
import https from 'node:https';
import type http from 'node:http';
import type net from 'node:net';
import { beforeAll } from 'vitest';
import { WebSocketServer } from 'ws';
import { loadOrCreateCa, type RootCa } from '../../src/tls/ca.js';
import { LeafCertificates } from '../../src/tls/leaf-certs.js';
import { tempDir } from './peers.js';

export interface InterceptionCas {
  /** The upstream servers' CA. */
  site: RootCa;
  /** The recorder's --ca-dir, and the root it holds. */
  recorderDir: string;
  recorder: RootCa;
}

/** Create both CAs (a few hundred ms of key generation: call it once per file, in beforeAll). */
export async function interceptionCas(): Promise<InterceptionCas> {
  const site = await loadOrCreateCa(tempDir('wstape-site-ca-'));
  const recorderDir = tempDir('wstape-recorder-ca-');
  const recorder = await loadOrCreateCa(recorderDir);
  return { site, recorderDir, recorder };
}

/**
 * Both CAs, made once for the test file (in its beforeAll): the fields of what this returns are
 * there from the first test on.
 */
export function interceptionCasBeforeAll(): InterceptionCas {
  const cas = {} as InterceptionCas;
  beforeAll(async () => {
    Object.assign(cas, await interceptionCas());
  });
  return cas;
}

/** A server's key and certificate chain for `localhost`, signed by `ca` (for https.createServer). */
export function localhostCertificate(ca: RootCa): { key: string; cert: string } {
  const leaf = new LeafCertificates(ca).certificateFor('localhost');
  return { key: ca.leafKeyPem, cert: leaf.certPem + ca.certPem };
}

export interface WssEchoSite {
  port: number;
  /** Every text message it received. */
  received: string[];
  close(): Promise<void>;
}

/**
 * A wss:// server for localhost (certificate from `ca`) that answers each message with
 * `echo:TEXT`; plain https:// requests go to `onRequest` (none: no answer).
 */
export async function startWssEcho(ca: RootCa, onRequest?: http.RequestListener): Promise<WssEchoSite> {
  const server = https.createServer(localhostCertificate(ca), onRequest);
  const wss = new WebSocketServer({ server });
  const received: string[] = [];
  wss.on('connection', (socket) => {
    socket.on('message', (data) => {
      received.push(String(data));
      socket.send(`echo:${String(data)}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    received,
    // Upgraded sockets are no longer the HTTP server's to close: terminate them. A proxy in the
    // path (mitmdump 8) may pass on the server's FIN but not the client's after it, so the
    // server's side of a connection may still be open here, waiting.
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

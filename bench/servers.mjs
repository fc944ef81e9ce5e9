/**
 * The benchmark's helper processes, one role per child process, so that the client, the echo
 * server and each proxy get their own event loop (as they would in real use):
 *
 *   node bench/servers.mjs echo                     ws echo server
 *   node bench/servers.mjs echo-deflate             the same with permessage-deflate (context
 *                                                   takeover, every message compressed)
 *   node bench/servers.mjs wss-echo <certs.json>    the same over TLS (https server), with a
 *                                                   certificate per SNI name from the JSON file
 *   node bench/servers.mjs http-proxy <targetPort>  node-http-proxy with `ws: true` (records nothing)
 *   node bench/servers.mjs tcp-pipe <targetPort>    two net.Socket pipes: the floor cost of one
 *                                                   more Node process on the path
 *   node bench/servers.mjs tls-pipe <certs.json> <ca.pem>
 *                                                   a forward proxy that terminates TLS as the
 *                                                   intercepting recorder does (CONNECT, TLS with
 *                                                   the wss-echo leaves, verified TLS to the
 *                                                   CONNECT target, trusting ca.pem) and pipes the
 *                                                   plaintext, recording nothing: the floor cost
 *                                                   of TLS termination
 *
 * Each prints `READY <port>` on stdout once it listens, and exits on SIGINT/SIGTERM or when its
 * stdin closes (so a crashed bench never leaves one behind).
 *
 * On a connection whose path starts with /peek the echo server answers each text message with
 * `{"type":"seen","data":"<the message as it arrived>"}` instead of the message itself, so the
 * hooks rows can see what a proxy forwarded to the server and what it forwarded back.
 *
 * The echo servers time connections whose path starts with /timed: when one closes they print
 * `SESSION <path> <messages> <ms from the upgrade to the close> <ms from the first message to
 * the last echo>` on stdout (the replay rows use it to time `wstape replay --as client`).
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { WebSocketServer } from 'ws';

/** Messages above this size are answered with their length instead of echoed (memory row). */
const ACK_ABOVE = 1024 * 1024;

const [role, targetArg, caArg] = process.argv.slice(2);
const targetPort = Number(targetArg); // the wss-echo and tls-pipe roles take a file instead

function ready(server) {
  process.stdout.write(`READY ${server.address().port}\n`);
}

/** Echo every message (or answer a large one with its length); time /timed connections. */
function onEchoConnection(ws, request) {
  const timed = request.url?.startsWith('/timed') ? { opened: performance.now(), first: 0, last: 0, messages: 0 } : null;
  const peek = request.url?.startsWith('/peek') ?? false;
  ws.on('message', (data, isBinary) => {
    if (peek && !isBinary) ws.send(JSON.stringify({ type: 'seen', data: data.toString('utf8') }));
    else if (data.length > ACK_ABOVE) ws.send(String(data.length));
    else ws.send(data, { binary: isBinary });
    if (timed) {
      const now = performance.now();
      if (timed.messages++ === 0) timed.first = now;
      timed.last = now;
    }
  });
  if (timed) {
    ws.on('close', () => {
      const closed = performance.now();
      process.stdout.write(`SESSION ${request.url} ${timed.messages} ${(closed - timed.opened).toFixed(3)} ${(timed.last - timed.first).toFixed(3)}\n`);
    });
  }
  ws.on('error', () => {});
}

const WSS_OPTIONS = {
  perMessageDeflate: false,
  // The memory row sends one 256 MiB message; ws's default limit is 100 MiB.
  maxPayload: 1024 * 1024 * 1024,
  clientTracking: true,
};

function echo(deflate = false) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, ...WSS_OPTIONS, ...(deflate ? { perMessageDeflate: { threshold: 0 } } : {}) });
  wss.on('connection', onEchoConnection);
  wss.on('listening', () => ready(wss));
  return () => {
    for (const client of wss.clients) client.terminate();
    wss.close();
  };
}

/** The wss-echo certificates file: its JSON, and a secure context per SNI name. */
function readCerts(certsFile) {
  const { key, certs, default: fallback } = JSON.parse(readFileSync(certsFile, 'utf8'));
  const contexts = new Map(Object.entries(certs).map(([name, cert]) => [name, tls.createSecureContext({ key, cert })]));
  return { contexts, certs, key, fallback };
}

/**
 * The echo server over TLS. The JSON file holds { key, certs: { name: chain PEM }, default }: the
 * leaf for each SNI name (the first-connection rows use many names), all with one key.
 */
function wssEcho(certsFile) {
  const { contexts, certs, key, fallback } = readCerts(certsFile);
  const server = https.createServer({
    key,
    cert: certs[fallback],
    SNICallback: (name, callback) => callback(null, contexts.get(name) ?? contexts.get(fallback)),
  });
  server.keepAliveTimeout = 0;
  const wss = new WebSocketServer({ server, ...WSS_OPTIONS });
  wss.on('connection', onEchoConnection);
  server.listen(0, '127.0.0.1', () => ready(server));
  return () => {
    for (const client of wss.clients) client.terminate();
    server.closeAllConnections?.();
    server.close();
  };
}

async function httpProxy() {
  const { default: httpProxyLib } = await import('http-proxy');
  const proxy = httpProxyLib.createProxyServer({ target: `http://127.0.0.1:${targetPort}`, ws: true });
  proxy.on('error', (_error, _req, res) => {
    // res is a ServerResponse for HTTP and a net.Socket for WebSocket upgrades.
    if (typeof res?.destroy === 'function') res.destroy();
  });
  const server = http.createServer((req, res) => proxy.web(req, res));
  server.on('upgrade', (req, socket, head) => proxy.ws(req, socket, head));
  server.listen(0, '127.0.0.1', () => ready(server));
  return () => {
    server.closeAllConnections?.();
    server.close();
    proxy.close();
  };
}

function tcpPipe() {
  const sockets = new Set();
  const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort, allowHalfOpen: true });
    upstream.setNoDelay(true);
    sockets.add(client).add(upstream);
    for (const socket of [client, upstream]) {
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
      socket.on('close', () => sockets.delete(socket));
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.listen(0, '127.0.0.1', () => ready(server));
  return () => {
    for (const socket of sockets) socket.destroy();
    server.close();
  };
}

/**
 * What the intercepting recorder does for TLS, and nothing more: answer a CONNECT, serve the
 * client TLS with the leaf for its SNI name (the upstream's own leaves, so the client trusts the
 * upstream's CA, as for direct), open verified TLS to the CONNECT target with the same SNI name,
 * and pipe the plaintext both ways, unparsed and unrecorded. Only http/1.1 in ALPN, as the recorder.
 */
function tlsPipe(certsFile, caFile) {
  const { contexts, fallback } = readCerts(certsFile);
  const ca = readFileSync(caFile, 'utf8');
  const sockets = new Set();
  const track = (socket, peer) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {
      socket.destroy();
      peer()?.destroy();
    });
  };
  const server = net.createServer({ noDelay: true }, (raw) => {
    let client = null;
    let upstream = null;
    track(raw, () => upstream);
    let head = Buffer.alloc(0);
    const onData = (chunk) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      raw.removeListener('data', onData);
      raw.pause();
      const target = /^CONNECT (\S+):(\d+) HTTP\/1\.[01]\r\n/.exec(head.toString('latin1'));
      if (!target) {
        raw.end('HTTP/1.1 400 Bad Request\r\n\r\n');
        return;
      }
      // The client waits for the 200 before its ClientHello, but whatever came early is TLS.
      if (head.length > end + 4) raw.unshift(head.subarray(end + 4));
      raw.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      client = new tls.TLSSocket(raw, {
        isServer: true,
        secureContext: contexts.get(fallback),
        SNICallback: (name, callback) => callback(null, contexts.get(name) ?? contexts.get(fallback)),
        ALPNProtocols: ['http/1.1'],
      });
      track(client, () => upstream);
      client.once('secure', () => {
        const servername = client.servername || fallback;
        upstream = tls.connect({ host: target[1], port: Number(target[2]), servername, ca: [ca], ALPNProtocols: ['http/1.1'] });
        upstream.setNoDelay(true);
        track(upstream, () => client);
        upstream.once('secureConnect', () => {
          client.pipe(upstream);
          upstream.pipe(client);
        });
      });
    };
    raw.on('data', onData);
  });
  server.listen(0, '127.0.0.1', () => ready(server));
  return () => {
    for (const socket of sockets) socket.destroy();
    server.close();
  };
}

let stop;
if (role === 'echo') stop = echo();
else if (role === 'echo-deflate') stop = echo(true);
else if (role === 'wss-echo') stop = wssEcho(targetArg);
else if (role === 'http-proxy') stop = await httpProxy();
else if (role === 'tcp-pipe') stop = tcpPipe();
else if (role === 'tls-pipe') stop = tlsPipe(targetArg, caArg);
else {
  process.stderr.write(
    `servers.mjs: unknown role "${role}" (echo, echo-deflate, wss-echo <certs.json>, http-proxy <port>, tcp-pipe <port>, tls-pipe <certs.json> <ca.pem>)\n`,
  );
  process.exit(2);
}

let stopping = false;
const shutdown = () => {
  if (stopping) return;
  stopping = true;
  stop();
  // Whatever is still open after a short grace is not worth waiting for.
  setTimeout(() => process.exit(0), 500).unref();
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
process.stdin.on('end', shutdown);
process.stdin.on('error', shutdown);
process.stdin.resume();

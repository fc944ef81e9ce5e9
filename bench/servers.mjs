/**
 * The benchmark's helper processes, one role per child process, so that the client, the echo
 * server and each proxy get their own event loop (as they would in real use):
 *
 *   node bench/servers.mjs echo                     ws echo server
 *   node bench/servers.mjs http-proxy <targetPort>  node-http-proxy with `ws: true` (records nothing)
 *   node bench/servers.mjs tcp-pipe <targetPort>    two net.Socket pipes: the floor cost of one
 *                                                   more Node process on the path
 *
 * Each prints `READY <port>` on stdout once it listens, and exits on SIGINT/SIGTERM or when its
 * stdin closes (so a crashed bench never leaves one behind).
 */
import http from 'node:http';
import net from 'node:net';
import { WebSocketServer } from 'ws';

/** Messages above this size are answered with their length instead of echoed (memory row). */
const ACK_ABOVE = 1024 * 1024;

const [role, targetArg] = process.argv.slice(2);
const targetPort = Number(targetArg);

function ready(server) {
  process.stdout.write(`READY ${server.address().port}\n`);
}

function echo() {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    perMessageDeflate: false,
    // The memory row sends one 256 MiB message; ws's default limit is 100 MiB.
    maxPayload: 1024 * 1024 * 1024,
    clientTracking: true,
  });
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => {
      if (data.length > ACK_ABOVE) ws.send(String(data.length));
      else ws.send(data, { binary: isBinary });
    });
    ws.on('error', () => {});
  });
  wss.on('listening', () => ready(wss));
  return () => {
    for (const client of wss.clients) client.terminate();
    wss.close();
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

let stop;
if (role === 'echo') stop = echo();
else if (role === 'http-proxy') stop = await httpProxy();
else if (role === 'tcp-pipe') stop = tcpPipe();
else {
  process.stderr.write(`servers.mjs: unknown role "${role}" (echo, http-proxy <port>, tcp-pipe <port>)\n`);
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

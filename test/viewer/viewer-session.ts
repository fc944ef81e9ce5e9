/**
 * A real session for the viewer tests: the `ws` library as both peers, through the in-process
 * recorder in reverse mode, in front of an HTTP server that also speaks WebSocket. Each step
 * waits for the other side, so the archive's order is deterministic.
 *
 *   h1  GET /status    200 JSON
 *   h2  GET /missing   404
 *   c1  /chat   JSON both ways, two hostile text payloads (a </script> breakout and an <img onerror>),
 *               a PNG image (fixtures/detect/image.png) from the server, a MessagePack message from
 *               the client, a ping answered by the automatic pong, an Engine.IO ping "2" and pong
 *               "3", a text message in two fragments,
 *               close 4001 "done" by the client
 *   c2  /other  one text message, close 1000 by the server
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { countEntries, Inbox, openClient, recordInFrontOf, waitFor } from '../helpers/peers.js';

export const HOSTILE_SCRIPT = '</script><script>window.__pwned=1;alert(1)</script>';
export const HOSTILE_IMG = '<img src=x onerror="window.__pwned=2;alert(2)">';
export const PNG = readFileSync(new URL('../../fixtures/detect/image.png', import.meta.url));
export const MSGPACK = readFileSync(new URL('../../fixtures/detect/message.msgpack', import.meta.url));

function get(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('error', reject);
  });
}

/** Record the session; returns the archive's path (in a temp folder). */
export async function recordViewerSession(): Promise<string> {
  const server = http.createServer((request, response) => {
    if (request.url === '/status') {
      response.writeHead(200, { 'Content-Type': 'application/json' });
      response.end('{"ok":true,"version":"1.2.3"}');
    } else {
      response.writeHead(404, { 'Content-Type': 'text/plain' });
      response.end('not here');
    }
  });
  const { recorder, base, serverSide, stop } = await recordInFrontOf(server);
  const ends = countEntries(recorder, 'end');
  try {
    await get(`http://${base}/status`);
    await get(`http://${base}/missing`);

    const client = await openClient(`ws://${base}/chat`);
    const clientInbox = new Inbox(client);
    const chat = await serverSide('/chat');
    client.send(JSON.stringify({ type: 'join', user: 'ada', tags: ['x', 'y'] }));
    await chat.inbox.count(1, 'join');
    chat.socket.send(JSON.stringify({ type: 'welcome', users: ['ada'], count: 1, ok: true, motd: null }));
    await clientInbox.count(1, 'welcome');
    client.send(HOSTILE_SCRIPT);
    client.send(HOSTILE_IMG);
    await chat.inbox.count(3, 'hostile payloads');
    chat.socket.send(PNG, { binary: true });
    await clientInbox.count(2, 'png');
    client.send(MSGPACK, { binary: true });
    await chat.inbox.count(4, 'msgpack');
    client.ping('hb-1');
    await waitFor(() => chat.inbox.pings === 1 && clientInbox.pongs === 1, 5000, 'ping and pong');
    // Engine.IO keep-alives (a ping "2" from the server, a pong "3" from the client): heartbeats to hide.
    chat.socket.send('2');
    await clientInbox.count(3, 'engine.io ping');
    client.send('3');
    await chat.inbox.count(5, 'engine.io pong');
    client.send('part-one ', { fin: false });
    client.send('part-two', { fin: true });
    await chat.inbox.count(6, 'fragmented message');
    client.close(4001, 'done');
    await waitFor(() => ends() === 1, 5000, 'c1 end');

    const other = await openClient(`ws://${base}/other`);
    const otherServer = await serverSide('/other');
    other.send('second connection');
    await otherServer.inbox.count(1, 'c2 message');
    otherServer.socket.close(1000, 'bye');
    await waitFor(() => ends() === 2, 5000, 'c2 end');
  } finally {
    await stop();
  }
  return recorder.path;
}

/**
 * A real session for the HAR and Markdown tests: the `ws` library as both peers, through the
 * in-process recorder in reverse mode, in front of an HTTP server that also speaks WebSocket.
 * Every step waits for the other side, so the archive's order is deterministic.
 *
 *   h1  GET  /api/items?x=1&y=two%20words   200 JSON, Set-Cookie, the request carries a Cookie
 *   h2  POST /api/upload                    binary request body, 201
 *   h3  GET  /gz                            gzip-encoded JSON response
 *   c1  /chat   text, binary, a text message in two fragments with a ping (and its pong) between
 *               them, a binary message in three fragments, a server ping answered by the client's
 *               automatic pong, an empty text message, close 4001 "done" by the client
 *   c2  /deflate  permessage-deflate: a compressed text message in two fragments, a compressed
 *               reply, close 1000 by the server
 *   c3  /drop   one message, then the server drops the TCP connection (1006)
 */
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import { countEntries, Inbox, openClient, recordInFrontOf, waitFor } from '../helpers/peers.js';

export const BINARY = Buffer.from([0x00, 0x01, 0x02, 0xfe, 0xff, 0x80, 0x7f]);
export const UPLOAD = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0x00]);
export const GZ_JSON = '{"zipped":true,"items":[1,2,3]}';

async function get(url: string, options: http.RequestOptions = {}, body?: Buffer): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { agent: false, ...options }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** Record the session; returns the archive's path (in a temp folder). */
export async function recordHarSession(): Promise<string> {
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.url?.startsWith('/api/items') === true) {
        response.writeHead(200, { 'Content-Type': 'application/json', 'Set-Cookie': 'session=abc123; Path=/; HttpOnly; SameSite=Lax' });
        response.end('{"items":[{"id":1,"name":"ünïcode"}]}');
      } else if (request.url === '/api/upload') {
        response.writeHead(201, { 'Content-Type': 'text/plain' });
        response.end(`got ${Buffer.concat(chunks).length} bytes`);
      } else if (request.url === '/gz') {
        response.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' });
        response.end(gzipSync(GZ_JSON));
      } else {
        response.writeHead(404);
        response.end();
      }
    });
  });
  const { recorder, base, serverSide, stop } = await recordInFrontOf(server, { perMessageDeflate: { threshold: 0 } });
  const ends = countEntries(recorder, 'end');
  const exchanges = countEntries(recorder, 'http');

  try {
    await get(`http://${base}/api/items?x=1&y=two%20words`, { headers: { Cookie: 'theme=dark; lang=en', Accept: 'application/json' } });
    await get(`http://${base}/api/upload`, { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' } }, UPLOAD);
    await get(`http://${base}/gz`);
    await waitFor(() => exchanges() === 3, 5000, 'the HTTP exchanges');

    // c1
    const c1 = await openClient(`ws://${base}/chat?room=general`, { perMessageDeflate: false });
    const c1In = new Inbox(c1);
    const s1 = await serverSide('/chat?room=general');
    c1.send('{"type":"join","room":"general"}');
    await s1.inbox.count(1, 'join');
    c1.send(BINARY);
    await s1.inbox.count(2, 'binary');
    s1.socket.send('{"type":"welcome","error":null}');
    await c1In.count(1, 'welcome');
    c1.send('frag-one ', { fin: false });
    c1.ping('between');
    await waitFor(() => c1In.pongs === 1, 5000, 'the pong between fragments');
    c1.send('frag-two', { fin: true });
    await s1.inbox.count(3, 'the fragmented text');
    s1.socket.send(BINARY.subarray(0, 2), { fin: false, binary: true });
    s1.socket.send(BINARY.subarray(2, 5), { fin: false, binary: true });
    s1.socket.send(BINARY.subarray(5), { fin: true, binary: true });
    await c1In.count(2, 'the fragmented binary');
    s1.socket.ping('srv');
    await waitFor(() => s1.inbox.pongs === 1, 5000, 'the automatic pong');
    c1.send('');
    await s1.inbox.count(4, 'the empty message');
    c1.close(4001, 'done');
    await waitFor(() => c1In.closed && s1.inbox.closed, 5000, 'the close handshake of c1');

    // c2
    const c2 = await openClient(`ws://${base}/deflate`, { perMessageDeflate: true });
    const c2In = new Inbox(c2);
    const s2 = await serverSide('/deflate');
    c2.send('compressed-part-1 ', { fin: false, compress: true });
    c2.send('compressed-part-2', { fin: true, compress: true });
    await s2.inbox.count(1, 'the compressed message');
    s2.socket.send('ok, compressed');
    await c2In.count(1, 'the compressed reply');
    s2.socket.close(1000);
    await waitFor(() => c2In.closed && s2.inbox.closed, 5000, 'the close handshake of c2');

    // c3
    const c3 = await openClient(`ws://${base}/drop`, { perMessageDeflate: false });
    const c3In = new Inbox(c3);
    const s3 = await serverSide('/drop');
    c3.send('are you there?');
    await s3.inbox.count(1, 'the last message');
    s3.socket.terminate();
    await waitFor(() => c3In.closed, 5000, 'the drop');

    await waitFor(() => ends() === 3, 5000, 'the connection ends');
  } finally {
    await stop(200);
  }
  return recorder.path;
}

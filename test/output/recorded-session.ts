/**
 * A real WebSocket session between two `ws` peers, recorded through the in-process recorder in
 * reverse mode: the archive the show and list tests read, so they run against what the recorder
 * really writes rather than hand-made entries.
 *
 * Every step waits for the other side to receive it before the next one, so the order of the
 * frames in the archive is deterministic (documented in SESSION_FRAMES).
 *
 *   c1 /chat      no subprotocol: JSON text, a MessagePack binary, a PNG from the server, a text
 *                 message in two fragments with a ping (and its pong) between them, Engine.IO
 *                 heart-beats "2" / "3", a server ping and its automatic pong, close 4001 "done"
 *   c2 /graphql   subprotocol graphql-transport-ws: init/ack, ping/pong, subscribe/next, close 1000
 *   c3 /deflate   permessage-deflate: a compressed text message in two fragments, a reply, close
 */
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { openClient, startRecorder, startWsServer, waitFor, Inbox, countEntries } from '../helpers/peers.js';

/** A 1x1 RGBA PNG. */
export const PNG_1X1 = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

/** MessagePack for {"op":"tick","n":3}. */
export const MSGPACK_TICK = Buffer.from([0x82, 0xa2, 0x6f, 0x70, 0xa4, 0x74, 0x69, 0x63, 0x6b, 0xa1, 0x6e, 0x03]);

export const GRAPHQL_SUBSCRIBE = '{"id":"1","type":"subscribe","payload":{"query":"subscription { tick }"}}';
export const GRAPHQL_NEXT = '{"id":"1","type":"next","payload":{"data":{"tick":1}}}';

/**
 * The frames the archive holds, in order, as `conn:index dir type payload` (see describeRow in
 * the tests): `+` after the type marks FIN clear; binary payloads in hex.
 */
export const SESSION_FRAMES: readonly string[] = [
  'c1:0 out text {"type":"join","room":"general"}',
  `c1:1 out binary ${MSGPACK_TICK.toString('hex')}`,
  `c1:2 in binary ${PNG_1X1.toString('hex')}`,
  'c1:3 out text+ frag-one ',
  'c1:4 out ping between',
  'c1:5 in pong between',
  'c1:6 out continuation frag-two',
  'c1:7 in text 2',
  'c1:8 out text 3',
  'c1:9 in ping srv',
  'c1:10 out pong srv',
  'c1:11 out close 4001 done',
  'c1:12 in close 4001 done',
  'c2:0 out text {"type":"connection_init"}',
  'c2:1 in text {"type":"connection_ack"}',
  'c2:2 out text {"type":"ping"}',
  'c2:3 in text {"type":"pong"}',
  `c2:4 out text ${GRAPHQL_SUBSCRIBE}`,
  `c2:5 in text ${GRAPHQL_NEXT}`,
  'c2:6 out close 1000 ',
  'c2:7 in close 1000 ',
  // permessage-deflate: the first fragment carries nothing, the final one the whole message.
  'c3:0 out text+ compressed-part-1 ',
  'c3:1 out continuation compressed-part-2',
  'c3:2 in text ok',
  'c3:3 out close 1000 ',
  'c3:4 in close 1000 ',
];

/** Record the session; returns the archive's path (in a temp folder the recorder made). */
export async function recordSession(): Promise<string> {
  const server = await startWsServer({
    perMessageDeflate: { threshold: 0 },
    handleProtocols: (protocols) => (protocols.has('graphql-transport-ws') ? 'graphql-transport-ws' : false),
  });
  const serverSockets = new Map<string, { socket: WebSocket; inbox: Inbox }>();
  server.wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    serverSockets.set(request.url ?? '', { socket, inbox: new Inbox(socket) });
  });
  const recorder = await startRecorder({ target: server.url });
  const ends = countEntries(recorder, 'end');
  const base = `ws://127.0.0.1:${recorder.port}`;
  const serverSide = async (path: string): Promise<{ socket: WebSocket; inbox: Inbox }> => {
    await waitFor(() => serverSockets.has(path), 5000, `the server side of ${path}`);
    return serverSockets.get(path)!;
  };
  const closeBoth = async (client: WebSocket, clientInbox: Inbox, serverInbox: Inbox, code: number, reason?: string): Promise<void> => {
    client.close(code, reason);
    await waitFor(() => clientInbox.closed && serverInbox.closed, 5000, 'the close handshake');
  };

  try {
    // c1
    const c1 = await openClient(`${base}/chat`, { perMessageDeflate: false });
    const c1In = new Inbox(c1);
    const s1 = await serverSide('/chat');
    c1.send('{"type":"join","room":"general"}');
    await s1.inbox.count(1, 'join');
    c1.send(MSGPACK_TICK);
    await s1.inbox.count(2, 'msgpack');
    s1.socket.send(PNG_1X1);
    await c1In.count(1, 'png');
    c1.send('frag-one ', { fin: false });
    c1.ping('between');
    await waitFor(() => c1In.pongs === 1, 5000, 'the pong between fragments');
    c1.send('frag-two', { fin: true });
    await s1.inbox.count(3, 'the fragmented message');
    s1.socket.send('2');
    await c1In.count(2, 'engine.io ping');
    c1.send('3');
    await s1.inbox.count(4, 'engine.io pong');
    s1.socket.ping('srv');
    await waitFor(() => s1.inbox.pongs === 1, 5000, 'the automatic pong');
    await closeBoth(c1, c1In, s1.inbox, 4001, 'done');

    // c2
    const c2 = await openClient(`${base}/graphql`, { perMessageDeflate: false }, 'graphql-transport-ws');
    const c2In = new Inbox(c2);
    const s2 = await serverSide('/graphql');
    c2.send('{"type":"connection_init"}');
    await s2.inbox.count(1, 'connection_init');
    s2.socket.send('{"type":"connection_ack"}');
    await c2In.count(1, 'connection_ack');
    c2.send('{"type":"ping"}');
    await s2.inbox.count(2, 'graphql ping');
    s2.socket.send('{"type":"pong"}');
    await c2In.count(2, 'graphql pong');
    c2.send(GRAPHQL_SUBSCRIBE);
    await s2.inbox.count(3, 'subscribe');
    s2.socket.send(GRAPHQL_NEXT);
    await c2In.count(3, 'next');
    await closeBoth(c2, c2In, s2.inbox, 1000);

    // c3
    const c3 = await openClient(`${base}/deflate`, { perMessageDeflate: true });
    const c3In = new Inbox(c3);
    const s3 = await serverSide('/deflate');
    c3.send('compressed-part-1 ', { fin: false, compress: true });
    c3.send('compressed-part-2', { fin: true, compress: true });
    await s3.inbox.count(1, 'the compressed message');
    s3.socket.send('ok');
    await c3In.count(1, 'ok');
    await closeBoth(c3, c3In, s3.inbox, 1000);

    // The end entries are written when both TCP sides are gone.
    await waitFor(() => ends() === 3, 5000, 'the connection ends');
  } finally {
    await recorder.stop(200);
    await server.close();
  }
  return recorder.path;
}

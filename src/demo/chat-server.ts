/**
 * The demo's built-in chat server: a small WebSocket server on node:http and wstape's own codec
 * (the `ws` library is a test-only dependency). It speaks a toy JSON chat protocol:
 *
 *   client → {"type":"join","user":"ada"}         server → {"type":"welcome","user":"ada","users":[...]}
 *   client → {"type":"say","text":"..."}          server → {"type":"message","from":"ada","text":"...","ts":...}
 *   client → binary                               server → {"type":"ack","bytes":N,"kind":"png"}
 *   ping → pong with the same payload; close → close echoed, then the TCP connection ends.
 *
 * It also answers GET /health over plain HTTP.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { encodeClosePayload, encodeFrame } from '../wire/frame-encoder.js';
import { FrameParser } from '../wire/frame-parser.js';
import { acceptKey } from '../wire/handshake.js';

export interface ChatServer {
  port: number;
  close(): Promise<void>;
}

export async function startChatServer(): Promise<ChatServer> {
  const sockets = new Set<Socket>();
  const users = new Set<string>();
  const server = http.createServer((request, response) => {
    if (request.url === '/health') {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ status: 'ok', users: [...users] }));
    } else {
      response.statusCode = 404;
      response.end('not found\n');
    }
  });

  server.on('upgrade', (request, socket: Socket, head: Buffer) => {
    const key = request.headers['sec-websocket-key'];
    if (request.url !== '/chat' || typeof key !== 'string') {
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const offered = String(request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    const protocol = offered.includes('chat.v1') ? 'sec-websocket-protocol: chat.v1\r\n' : '';
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${acceptKey(key)}\r\n${protocol}\r\n`,
    );
    serveChat(socket, head, users);
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function serveChat(socket: Socket, head: Buffer, users: Set<string>): void {
  const parser = new FrameParser({ maxRetain: 1 << 20 });
  let user = 'anonymous';
  let fragments: Uint8Array[] = [];
  let messageOpcode = 0;
  const sendText = (value: unknown): void => {
    socket.write(encodeFrame({ opcode: 0x1, payload: Buffer.from(JSON.stringify(value)) }));
  };

  const onMessage = (opcode: number, payload: Buffer): void => {
    if (opcode === 0x2) {
      const png = payload.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
      sendText({ type: 'ack', bytes: payload.length, kind: png ? 'png' : 'binary' });
      return;
    }
    let message: { type?: string; user?: string; text?: string };
    try {
      message = JSON.parse(payload.toString('utf8')) as typeof message;
    } catch {
      sendText({ type: 'error', error: 'messages are JSON' });
      return;
    }
    if (message.type === 'join' && message.user) {
      user = message.user;
      users.add(user);
      sendText({ type: 'welcome', user, users: [...users] });
      // A server-initiated heartbeat, so the recording shows pings both ways.
      socket.write(encodeFrame({ opcode: 0x9, payload: Buffer.from('hb-1') }));
    } else if (message.type === 'say') {
      sendText({ type: 'message', from: user, text: message.text ?? '', ts: Date.now() });
    } else {
      sendText({ type: 'error', error: `unknown type ${String(message.type)}` });
    }
  };

  const onData = (chunk: Buffer): void => {
    for (const event of parser.push(chunk)) {
      if (event.type !== 'frame') {
        socket.destroy();
        return;
      }
      const { header, payload } = event.frame;
      const bytes = Buffer.from(payload);
      if (header.opcode === 0x9) {
        socket.write(encodeFrame({ opcode: 0xa, payload: bytes }));
      } else if (header.opcode === 0x8) {
        // RFC 6455 §5.5.1: echo the close, then the server closes the TCP connection.
        socket.end(encodeFrame({ opcode: 0x8, payload: bytes.length >= 2 ? bytes : encodeClosePayload(1000) }));
        users.delete(user);
      } else if (header.opcode === 0x1 || header.opcode === 0x2 || header.opcode === 0x0) {
        if (header.opcode !== 0x0) {
          messageOpcode = header.opcode;
          fragments = [];
        }
        fragments.push(bytes);
        if (header.fin) onMessage(messageOpcode, Buffer.concat(fragments));
      }
    }
  };
  if (head.length > 0) onData(head);
  socket.on('data', onData);
}

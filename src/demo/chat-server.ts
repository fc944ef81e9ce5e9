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
import { CloseCode } from '../wire/close-codes.js';
import { encodeClosePayload, encodeFrame } from '../wire/frame-encoder.js';
import { FrameParser } from '../wire/frame-parser.js';
import { acceptKey } from '../wire/handshake.js';
import { MessageAssembler } from '../wire/message-assembler.js';
import { frameTypeOf, Opcode, type FrameType, type MessageType } from '../wire/opcodes.js';

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
    const offered = String(request.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim());
    const protocol = offered.includes('chat.v1') ? 'sec-websocket-protocol: chat.v1\r\n' : '';
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${acceptKey(key)}\r\n${protocol}\r\n`);
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

/** A frame as the demo server keeps it for the message assembler. */
interface DemoFrame {
  type: FrameType;
  fin: boolean;
  size: number;
  wireSize: number;
  payload: Uint8Array;
}

function serveChat(socket: Socket, head: Buffer, users: Set<string>): void {
  const parser = new FrameParser({ maxRetain: 1 << 20 });
  // RFC 6455 §5.4: fragments joined into messages, with control frames answered in between.
  const messages = new MessageAssembler<DemoFrame>({ payload: (frame) => frame.payload });
  let user = 'anonymous';
  const sendText = (value: unknown): void => {
    socket.write(encodeFrame({ opcode: Opcode.Text, payload: Buffer.from(JSON.stringify(value)) }));
  };

  const onMessage = (type: MessageType, payload: Buffer): void => {
    if (type === 'binary') {
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
      socket.write(encodeFrame({ opcode: Opcode.Ping, payload: Buffer.from('hb-1') }));
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
      if (header.opcode === Opcode.Ping) {
        socket.write(encodeFrame({ opcode: Opcode.Pong, payload: bytes }));
      } else if (header.opcode === Opcode.Close) {
        // RFC 6455 §5.5.1: echo the close, then the server closes the TCP connection.
        socket.end(encodeFrame({ opcode: Opcode.Close, payload: bytes.length >= 2 ? bytes : encodeClosePayload(CloseCode.NormalClosure) }));
        users.delete(user);
      } else {
        const frame: DemoFrame = { type: frameTypeOf(header.opcode), fin: header.fin, size: bytes.length, wireSize: event.wireSize, payload: bytes };
        for (const assembled of messages.push(frame)) {
          if (assembled.type === 'message') onMessage(assembled.message.type, Buffer.from(assembled.message.payload));
        }
      }
    }
  };
  if (head.length > 0) onData(head);
  socket.on('data', onData);
}

/**
 * The demo's scripted client: connects through the recorder as a forward proxy (an absolute-URI
 * upgrade request, as HTTP_PROXY-aware clients send) and plays a short chat session that touches
 * every frame type: text, JSON, binary, ping/pong both ways, a fragmented message with a ping
 * between its fragments, and a clean close.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { CloseCode } from '../wire/close-codes.js';
import { encodeClosePayload, encodeFrame } from '../wire/frame-encoder.js';
import { FrameParser } from '../wire/frame-parser.js';
import { Opcode } from '../wire/opcodes.js';

interface ReceivedFrame {
  opcode: number;
  payload: Buffer;
}

/** A minimal WebSocket client over a raw socket, enough to script the demo. */
class ScriptedClient {
  private readonly parser = new FrameParser({ maxRetain: 1 << 20 });
  private readonly received: ReceivedFrame[] = [];
  private waiter: (() => void) | null = null;
  private ended = false;

  constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const event of this.parser.push(chunk)) {
        if (event.type === 'frame') {
          const frame = { opcode: event.frame.header.opcode, payload: Buffer.from(event.frame.payload) };
          // Answer the server's heartbeat, as browsers do.
          if (frame.opcode === Opcode.Ping) this.send(Opcode.Pong, frame.payload);
          this.received.push(frame);
        }
      }
      this.waiter?.();
    });
    socket.on('end', () => {
      this.ended = true;
      this.waiter?.();
    });
  }

  send(opcode: number, payload: Uint8Array | string, fin = true): void {
    const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
    this.socket.write(encodeFrame({ opcode, payload: bytes, fin, mask: true }));
  }

  /** Wait for a frame with this opcode (skipping others), up to a few seconds. */
  async next(opcode: number): Promise<ReceivedFrame> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const index = this.received.findIndex((frame) => frame.opcode === opcode);
      if (index !== -1) return this.received.splice(index, 1)[0]!;
      if (this.ended || Date.now() > deadline) throw new Error(`demo: the server did not send opcode ${opcode}`);
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 100);
      });
      this.waiter = null;
    }
  }

  async closed(): Promise<void> {
    while (!this.ended) await new Promise<void>((resolve) => ((this.waiter = resolve), setTimeout(resolve, 100)));
  }
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A plain HTTP GET through the proxy, so the archive holds an HTTP exchange too. */
async function httpGetThroughProxy(proxyPort: number, url: string): Promise<string> {
  const socket = net.connect(proxyPort, '127.0.0.1');
  const host = new URL(url).host;
  socket.write(`GET ${url} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: wstape-demo\r\nConnection: close\r\n\r\n`);
  const chunks: Buffer[] = [];
  for await (const chunk of socket) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function runDemoSession(proxyPort: number, serverPort: number, gapMs = 120): Promise<void> {
  const origin = `127.0.0.1:${serverPort}`;
  await httpGetThroughProxy(proxyPort, `http://${origin}/health`);

  const socket = net.connect(proxyPort, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write(
    `GET ws://${origin}/chat HTTP/1.1\r\nHost: ${origin}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n` +
      `Sec-WebSocket-Protocol: chat.v1\r\nUser-Agent: wstape-demo\r\n\r\n`,
  );
  const head = await new Promise<Buffer>((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.removeListener('data', onData);
      socket.pause();
      const rest = buffered.subarray(end + 4);
      if (rest.length > 0) socket.unshift(rest);
      resolve(buffered.subarray(0, end));
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
  if (!head.toString('latin1').startsWith('HTTP/1.1 101')) throw new Error(`demo: the upgrade failed: ${head.toString('latin1').split('\r\n')[0]}`);
  const client = new ScriptedClient(socket);
  socket.resume();

  client.send(Opcode.Text, JSON.stringify({ type: 'join', user: 'ada' }));
  await client.next(Opcode.Text);
  await pause(gapMs);
  client.send(Opcode.Text, JSON.stringify({ type: 'say', text: 'hello, everyone' }));
  await client.next(Opcode.Text);
  await pause(gapMs);
  // A binary frame: a PNG signature and header, as an app sending an image would.
  client.send(Opcode.Binary, Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex'));
  await client.next(Opcode.Text);
  await pause(gapMs);
  client.send(Opcode.Ping, 'are-you-there');
  await client.next(Opcode.Pong);
  await pause(gapMs);
  // One text message in three fragments, with a ping between the second and the third
  // (RFC 6455 §5.4: control frames may be injected in the middle of a fragmented message).
  const message = JSON.stringify({ type: 'say', text: 'this message arrives in three fragments' });
  const third = Math.ceil(message.length / 3);
  client.send(Opcode.Text, message.slice(0, third), false);
  client.send(Opcode.Continuation, message.slice(third, 2 * third), false);
  client.send(Opcode.Ping, 'mid-message');
  client.send(Opcode.Continuation, message.slice(2 * third), true);
  await client.next(Opcode.Pong);
  await client.next(Opcode.Text);
  await pause(gapMs);
  client.send(Opcode.Close, encodeClosePayload(CloseCode.NormalClosure, 'bye'));
  await client.next(Opcode.Close);
  await client.closed();
  socket.end();
}

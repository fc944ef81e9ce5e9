/**
 * The socket side of an upgraded WebSocket connection: a thin adapter around the sans-io
 * WebSocketRelayCore (websocket-relay-core.ts), which decides what to forward and what to record.
 *
 * Forwarding never changes a byte, and a chunk is forwarded in the same callback it arrived in,
 * but only after the entries of the frames it completes were written: the core's actions for a
 * chunk are its records (the last one flushed, so the recorder hands them all to write(2) with
 * one writeSync) and then the forward. A peer can therefore only see a complete frame that is
 * already in the kernel's hands, which is what survives a SIGKILL; the cost is one write(2) per
 * chunk that completes frames, however many frames it holds.
 */
import type { Duplex } from 'node:stream';
import type { Side } from '../wire/side.js';
import type { DeflateParams } from '../wire/types.js';
import { forward } from './backpressure.js';
import type { Recorder } from './recorder.js';
import { WebSocketRelayCore, type RelayAction, type RelayEvent } from './websocket-relay-core.js';

export interface WebSocketRelayOptions {
  recorder: Recorder;
  id: string;
  client: Duplex;
  upstream: Duplex;
  deflate: DeflateParams | null;
  /** Bytes the client sent after its upgrade request, already received. */
  clientBytes: Uint8Array;
  /** Bytes the server sent after its 101 head, already received. */
  serverBytes: Uint8Array;
  /** Called once both sockets are closed. */
  onDone?: () => void;
}

export class WebSocketRelay {
  private readonly recorder: Recorder;
  private readonly id: string;
  private readonly sockets: Record<Side, Duplex>;
  private readonly core: WebSocketRelayCore;
  private readonly onDone: (() => void) | undefined;

  constructor(options: WebSocketRelayOptions) {
    this.recorder = options.recorder;
    this.id = options.id;
    this.sockets = { client: options.client, server: options.upstream };
    this.onDone = options.onDone;
    this.core = new WebSocketRelayCore({ recorder: options.recorder, id: options.id, deflate: options.deflate });

    // Frames that arrived with the handshake bytes: record, then forward, like any other chunk.
    if (options.serverBytes.length > 0) this.feed({ type: 'bytes', side: 'server', bytes: options.serverBytes });
    if (options.clientBytes.length > 0) this.feed({ type: 'bytes', side: 'client', bytes: options.clientBytes });

    this.listen('client');
    this.listen('server');
    // The previous owner paused both sockets while handing them over.
    options.client.resume();
    options.upstream.resume();
  }

  /** Stop now (the recording is stopping): close both sockets and record the end. */
  shutdown(): void {
    this.feed({ type: 'stop' });
  }

  private listen(side: Side): void {
    const socket = this.sockets[side];
    socket.on('data', (chunk: Buffer) => this.feed({ type: 'bytes', side, bytes: chunk }));
    socket.on('end', () => this.feed({ type: 'ended', side }));
    socket.on('error', () => this.feed({ type: 'failed', side }));
    socket.on('close', () => this.feed({ type: 'closed', side }));
  }

  private feed(event: RelayEvent): void {
    for (const action of this.core.handle(event)) this.perform(action, event);
  }

  private perform(action: RelayAction, event: RelayEvent): void {
    switch (action.type) {
      case 'forward': {
        const to = this.sockets[action.to];
        // Backpressure: a slow reader on the other side pauses this one (as stream.pipe does).
        if (event.type === 'bytes') forward(this.sockets[event.side], to, action.bytes);
        else to.write(action.bytes);
        break;
      }
      case 'record':
        this.recorder.append(action.entry);
        if (action.flush) this.recorder.flush();
        break;
      case 'error':
        this.recorder.error(action.code, action.message, { conn: this.id, ...(action.dir ? { dir: action.dir } : {}) });
        break;
      case 'close': {
        const socket = this.sockets[action.side];
        if (action.how === 'destroy') socket.destroy();
        else if (!socket.destroyed && !socket.writableEnded) socket.end();
        break;
      }
      case 'done':
        this.onDone?.();
        break;
    }
  }
}

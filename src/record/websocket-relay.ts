/**
 * Relays an upgraded WebSocket connection byte for byte and records its frames.
 *
 * Forwarding never waits for recording and never changes a byte: each chunk is written to the
 * other side exactly as it arrived, first. Then, in the same callback, a StreamObserver per
 * direction parses the chunk into frames and their entries are queued; the archive writer hands
 * the queue to write(2) before this event-loop turn ends (setImmediate), so every frame a peer
 * received is in the kernel's hands within microseconds, with one write per turn however many
 * frames and chunks it saw (crash safety without a syscall per frame).
 */
import type { Duplex } from 'node:stream';
import type { FrameEntry } from '../format/schema.js';
import { StreamObserver } from '../wire/stream-observer.js';
import type { DeflateParams, ObservedFrame } from '../wire/types.js';
import { forward } from './backpressure.js';
import { asBuffer } from './payload.js';
import type { Recorder } from './recorder.js';

type Side = 'client' | 'server';

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
  private readonly client: Duplex;
  private readonly upstream: Duplex;
  private readonly observers: Record<Side, StreamObserver>;
  private index = 0;
  private bytesOut = 0;
  private bytesIn = 0;
  private firstClose: { side: Side; code: number; reason: string } | null = null;
  private readonly closeSent: Record<Side, boolean> = { client: false, server: false };
  private droppedBy: Side | null = null;
  private openSockets = 2;
  private ended = false;
  private readonly onDone: (() => void) | undefined;

  constructor(options: WebSocketRelayOptions) {
    this.recorder = options.recorder;
    this.id = options.id;
    this.client = options.client;
    this.upstream = options.upstream;
    this.onDone = options.onDone;
    const maxPayload = options.recorder.maxPayload;
    this.observers = {
      client: new StreamObserver({ sender: 'client', deflate: options.deflate, maxPayload }),
      server: new StreamObserver({ sender: 'server', deflate: options.deflate, maxPayload }),
    };

    // Frames that arrived with the handshake bytes: forward, then record, like any other chunk.
    if (options.serverBytes.length > 0) {
      this.client.write(options.serverBytes);
      this.record('server', options.serverBytes);
    }
    if (options.clientBytes.length > 0) {
      this.upstream.write(options.clientBytes);
      this.record('client', options.clientBytes);
    }

    this.wire(this.client, this.upstream, 'client');
    this.wire(this.upstream, this.client, 'server');
    // The previous owner paused both sockets while handing them over.
    this.client.resume();
    this.upstream.resume();
  }

  /** Stop now (the recording is stopping): close both sockets and record the end. */
  shutdown(): void {
    if (!this.ended) {
      this.recorder.append({
        kind: 'error',
        ...this.recorder.now(),
        conn: this.id,
        code: 'RECORDING_STOPPED',
        message: 'the connection was still open when recording stopped; the recorder closed it',
      });
    }
    this.client.destroy();
    this.upstream.destroy();
  }

  private wire(from: Duplex, to: Duplex, side: Side): void {
    from.on('data', (chunk: Buffer) => {
      // Backpressure: a slow reader on the other side pauses this one (as stream.pipe does).
      forward(from, to, chunk);
      this.record(side, chunk);
    });
    from.on('end', () => {
      this.noteDrop(side);
      to.end();
    });
    from.on('error', () => {
      this.noteDrop(side);
      to.destroy();
    });
    from.on('close', () => {
      this.noteDrop(side);
      if (!to.destroyed && to.writableEnded === false) to.end();
      this.openSockets -= 1;
      if (this.openSockets === 0) this.finish();
    });
  }

  /** Parse a chunk one side sent (already forwarded) and queue its frames' entries. */
  private record(side: Side, chunk: Uint8Array): void {
    if (side === 'client') this.bytesOut += chunk.length;
    else this.bytesIn += chunk.length;
    if (this.recorder.isClosed) return;
    for (const event of this.observers[side].push(chunk)) {
      const stamp = this.recorder.now();
      if (event.type === 'error') {
        this.recorder.append({
          kind: 'error',
          ...stamp,
          conn: this.id,
          dir: side === 'client' ? 'out' : 'in',
          code: event.error.code,
          message: event.error.message,
        });
      } else {
        this.recorder.append(this.frameEntry(side, event.frame, stamp));
        if (event.frame.type === 'close') this.noteClose(side, event.frame);
      }
    }
  }

  private frameEntry(side: Side, frame: ObservedFrame, stamp: { time: string; elapsed: number }): FrameEntry {
    const entry: FrameEntry = {
      kind: 'frame',
      conn: this.id,
      index: this.index++,
      time: stamp.time,
      elapsed: stamp.elapsed,
      dir: side === 'client' ? 'out' : 'in',
      type: frame.type,
      opcode: frame.opcode,
      fin: frame.fin,
      rsv1: frame.rsv1,
      rsv2: frame.rsv2,
      rsv3: frame.rsv3,
      masked: frame.masked,
      size: frame.size,
      wireSize: frame.wireSize,
    };
    if (frame.maskKey) entry.mask = asBuffer(frame.maskKey).toString('hex');
    if (frame.compressed) entry.compressed = true;
    const payload = asBuffer(frame.payload);
    if (frame.type === 'close') {
      if (frame.closeCode !== undefined) entry.code = frame.closeCode;
      if (frame.closeCode !== undefined || frame.closeReason) entry.reason = frame.closeReason ?? '';
      // Keep the raw payload too when the reason could not be read as text.
      if (frame.flags.includes('invalid-utf8') || frame.flags.includes('invalid-close-payload')) {
        entry.data = payload.toString('base64');
      }
    } else if (frame.isText) {
      entry.text = payload.toString('utf8');
    } else if (payload.length > 0 || frame.size > 0) {
      entry.data = payload.toString('base64');
    } else {
      entry.data = '';
    }
    if (frame.truncated) entry.truncated = true;
    if (frame.flags.length > 0) entry.flags = [...frame.flags];
    return entry;
  }

  private noteClose(side: Side, frame: ObservedFrame): void {
    this.closeSent[side] = true;
    if (!this.firstClose) {
      // RFC 6455 §7.1.5: a close frame without a status code counts as 1005.
      this.firstClose = { side, code: frame.closeCode ?? 1005, reason: frame.closeReason ?? '' };
    }
  }

  private noteDrop(side: Side): void {
    if (this.droppedBy === null) this.droppedBy = side;
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    const droppedBy = this.droppedBy ?? 'server';
    this.recorder.append({
      kind: 'end',
      conn: this.id,
      ...this.recorder.now(),
      // RFC 6455 §7.1.5: no close frame at all is the abnormal closure 1006.
      closeCode: this.firstClose ? this.firstClose.code : 1006,
      closeReason: this.firstClose ? this.firstClose.reason : '',
      closedBy: this.firstClose ? this.firstClose.side : droppedBy,
      droppedBy,
      clean: this.closeSent.client && this.closeSent.server,
      bytesOut: this.bytesOut,
      bytesIn: this.bytesIn,
    });
    this.recorder.flush();
    this.onDone?.();
  }
}

/**
 * The decisions of a WebSocket relay, with no I/O: what to forward to the other side, what to
 * record, and how the connection ended. The socket adapter (websocket-relay.ts) feeds it what each
 * socket did and carries out the actions it returns.
 *
 * The crash promise decides the order of a chunk's actions: a StreamObserver per direction parses
 * the chunk first, every frame the chunk completes is recorded (the last record carries `flush`,
 * so all of them reach write(2) in one call), and only then is the chunk forwarded. A frame a peer
 * has received is therefore in the archive even if the recorder is SIGKILLed the next instant.
 * Bytes of a frame the chunk does not complete are forwarded before that frame has an entry: its
 * record comes with the chunk that completes it. Forwarding never waits for more bytes.
 *
 * In the relay's one forwarding mode today, `original`, each chunk goes to the other side exactly
 * as it arrived. Live intervention (modify, drop, inject) will add a mode that forwards re-encoded
 * frames instead; the byte-exact path stays this one branch.
 */
import type { EndEntry, FrameEntry } from '../format/schema.js';
import type { RecorderErrorCode } from '../format/error-codes.js';
import { StreamObserver } from '../wire/stream-observer.js';
import { CloseCode } from '../wire/close-codes.js';
import { directionOf, otherSide, type Side } from '../wire/side.js';
import type { DeflateParams, ObservedFrame } from '../wire/types.js';
import type { Stamp } from './clock.js';
import { asBuffer } from './payload.js';

/** What happened on the relay's sockets. `side` names the socket: the client's or the server's. */
export type RelayEvent =
  | { type: 'bytes'; side: Side; bytes: Uint8Array }
  /** The side half-closed (FIN). */
  | { type: 'ended'; side: Side }
  /** The side's socket failed. */
  | { type: 'failed'; side: Side }
  /** The side's socket is closed. */
  | { type: 'closed'; side: Side }
  /** Recording is stopping while the connection is open. */
  | { type: 'stop' };

export type RelayAction =
  /** Write bytes to a side (backpressure pauses the other). */
  | { type: 'forward'; to: Side; bytes: Uint8Array }
  /**
   * Append a frame or end entry; `flush` when it must reach the file now. The last record of a
   * chunk that completes frames has `flush`, and comes before that chunk's `forward`.
   */
  | { type: 'record'; entry: FrameEntry | EndEntry; flush: boolean }
  /** Append an error entry about this connection (and flush). */
  | { type: 'error'; code: RecorderErrorCode; message: string; dir?: 'out' | 'in' }
  /** Close a side: `end` after what was written, or `destroy` at once. */
  | { type: 'close'; side: Side; how: 'end' | 'destroy' }
  /** Both sockets are closed and the end is recorded. */
  | { type: 'done' };

/** What the relay core needs of the recorder (Recorder is one). */
export interface RelayRecorder {
  now(): Stamp;
  readonly maxPayload: number;
  /** Once recording stopped, chunks are still forwarded but no longer parsed. */
  readonly isClosed: boolean;
}

export interface WebSocketRelayCoreOptions {
  recorder: RelayRecorder;
  /** The connection's id (c1, c2...). */
  id: string;
  deflate: DeflateParams | null;
}

export class WebSocketRelayCore {
  private readonly recorder: RelayRecorder;
  private readonly id: string;
  private readonly observers: Record<Side, StreamObserver>;
  private index = 0;
  private bytesOut = 0;
  private bytesIn = 0;
  private firstClose: { side: Side; code: number; reason: string } | null = null;
  private readonly closeSent: Record<Side, boolean> = { client: false, server: false };
  private droppedBy: Side | null = null;
  private openSockets = 2;
  private ended = false;
  private actions: RelayAction[] = [];

  constructor(options: WebSocketRelayCoreOptions) {
    this.recorder = options.recorder;
    this.id = options.id;
    const maxPayload = options.recorder.maxPayload;
    this.observers = {
      client: new StreamObserver({ sender: 'client', deflate: options.deflate, maxPayload }),
      server: new StreamObserver({ sender: 'server', deflate: options.deflate, maxPayload }),
    };
  }

  /** Feed one event; returns the actions it calls for, in order. */
  handle(event: RelayEvent): RelayAction[] {
    const actions: RelayAction[] = (this.actions = []);
    switch (event.type) {
      case 'bytes':
        // Record first, forward second: the chunk's complete frames reach the file before a peer
        // can see them. The only forwarding mode today: the chunk as it arrived.
        this.record(event.side, event.bytes);
        actions.push({ type: 'forward', to: otherSide(event.side), bytes: event.bytes });
        break;
      case 'ended':
        this.noteDrop(event.side);
        actions.push({ type: 'close', side: otherSide(event.side), how: 'end' });
        break;
      case 'failed':
        this.noteDrop(event.side);
        actions.push({ type: 'close', side: otherSide(event.side), how: 'destroy' });
        break;
      case 'closed':
        this.noteDrop(event.side);
        actions.push({ type: 'close', side: otherSide(event.side), how: 'end' });
        this.openSockets -= 1;
        if (this.openSockets === 0) this.finish();
        break;
      case 'stop':
        if (!this.ended) {
          actions.push({
            type: 'error',
            code: 'RECORDING_STOPPED',
            message: 'the connection was still open when recording stopped; the recorder closed it',
          });
        }
        actions.push({ type: 'close', side: 'client', how: 'destroy' }, { type: 'close', side: 'server', how: 'destroy' });
        break;
    }
    return actions;
  }

  /**
   * Parse a chunk one side sent (not yet forwarded) and record the frames it completes; the last
   * record is flushed, so the chunk's entries reach the file with one write before it is forwarded.
   * (An error action is written at once by the adapter, and flushes what was queued before it.)
   */
  private record(side: Side, chunk: Uint8Array): void {
    if (side === 'client') this.bytesOut += chunk.length;
    else this.bytesIn += chunk.length;
    if (this.recorder.isClosed) return;
    let last: { type: 'record'; entry: FrameEntry; flush: boolean } | null = null;
    for (const event of this.observers[side].push(chunk)) {
      if (event.type === 'error') {
        this.actions.push({ type: 'error', code: event.error.code, message: event.error.message, dir: directionOf(side) });
        last = null;
      } else {
        last = { type: 'record', entry: this.frameEntry(side, event.frame), flush: false };
        this.actions.push(last);
        if (event.frame.type === 'close') this.noteClose(side, event.frame);
      }
    }
    if (last) last.flush = true;
  }

  private frameEntry(side: Side, frame: ObservedFrame): FrameEntry {
    const stamp = this.recorder.now();
    const entry: FrameEntry = {
      kind: 'frame',
      conn: this.id,
      index: this.index++,
      time: stamp.time,
      elapsed: stamp.elapsed,
      dir: directionOf(side),
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
      this.firstClose = { side, code: frame.closeCode ?? CloseCode.NoStatusReceived, reason: frame.closeReason ?? '' };
    }
  }

  private noteDrop(side: Side): void {
    this.droppedBy ??= side;
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    const droppedBy = this.droppedBy ?? 'server';
    this.actions.push(
      {
        type: 'record',
        entry: {
          kind: 'end',
          conn: this.id,
          ...this.recorder.now(),
          // RFC 6455 §7.1.5: no close frame at all is the abnormal closure 1006.
          closeCode: this.firstClose ? this.firstClose.code : CloseCode.AbnormalClosure,
          closeReason: this.firstClose ? this.firstClose.reason : '',
          closedBy: this.firstClose ? this.firstClose.side : droppedBy,
          droppedBy,
          clean: this.closeSent.client && this.closeSent.server,
          bytesOut: this.bytesOut,
          bytesIn: this.bytesIn,
        },
        flush: true,
      },
      { type: 'done' },
    );
  }
}

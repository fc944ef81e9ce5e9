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
 * Two forwarding modes. A connection nobody acts on forwards each chunk exactly as it arrived,
 * in the callback it arrived in: the byte-exact path, one branch. A connection that hooks watch
 * (--script, flags), or that `wstape send`/`close` reached, goes through a WebSocketGate per
 * direction (websocket-gate.ts), which holds whole messages until the hooks decided, and forwards
 * original bytes for what is unchanged and new frames for what changed. A connection switches
 * to the gates at a message boundary: the bytes of a message already on their way keep going.
 */
import type { Closer, EndEntry, FrameEntry } from '../format/schema.js';
import type { MessageDecision } from '../intervene/chain.js';
import type { Actor, ControlFrame, Direction, Message } from '../intervene/hooks.js';
import type { RecorderErrorCode } from '../format/error-codes.js';
import { StreamObserver } from '../wire/stream-observer.js';
import { CloseCode } from '../wire/close-codes.js';
import { Opcode } from '../wire/opcodes.js';
import { directionOf, otherSide, senderOf, type Side } from '../wire/side.js';
import type { DeflateParams, ObservedFrame } from '../wire/types.js';
import type { Stamp } from './clock.js';
import { asciiEntry, frameEntry } from './frame-entry.js';
import { WebSocketGate, type GateOutput } from './websocket-gate.js';

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
  | { type: 'stop' }
  /** The hooks decided message `seq` of what `side` sent (when Intervention.message answered null). */
  | { type: 'decided'; side: Side; seq: number; decision: MessageDecision }
  /** The delay a `set-timer` action asked for is over. */
  | { type: 'timer'; side: Side; seq: number }
  /** Send a message of wstape's own towards the server ("out") or the client ("in"). */
  | { type: 'inject'; dir: Direction; payload: string | Uint8Array; by: Actor }
  /** Close both sides with close frames of wstape's own. */
  | { type: 'close-both'; code: number; reason: string; by: Actor }
  /** Drop both TCP connections now (each peer sees 1006). */
  | { type: 'abort'; by: Actor };

export type RelayAction =
  /** Write bytes to a side (backpressure pauses the other). */
  | { type: 'forward'; to: Side; bytes: Uint8Array }
  /**
   * Append a frame or end entry; `flush` when it must reach the file now. The last record of a
   * chunk that completes frames has `flush`, and comes before that chunk's `forward`. `ascii`:
   * every string of the entry is ASCII (the writer then copies its line instead of encoding it);
   * `textBytes`: the ASCII payload its `text` was decoded from (the writer may escape it from them).
   */
  | { type: 'record'; entry: FrameEntry | EndEntry; flush: boolean; ascii?: boolean; textBytes?: Uint8Array }
  /** Append an error entry about this connection (and flush). */
  | { type: 'error'; code: RecorderErrorCode; message: string; dir?: 'out' | 'in' }
  /** Close a side: `end` after what was written, or `destroy` at once. */
  | { type: 'close'; side: Side; how: 'end' | 'destroy' }
  /** Both sockets are closed and the end is recorded. */
  | { type: 'done' }
  /** Hold message `seq` of `side` for `ms`; answer with a `timer` event. */
  | { type: 'set-timer'; side: Side; seq: number; ms: number }
  /** Stop reading from `side` while its messages wait for the hooks, and start again. */
  | { type: 'pause'; side: Side }
  | { type: 'resume'; side: Side };

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
  /**
   * Hooks that watch this connection's messages (null: the byte-exact path until `wstape send`
   * or `close` reaches it). `control` is onControl, synchronous, for pings and pongs.
   */
  intervention?: Intervention | null;
}

/** How the core asks the hooks; the adapter runs them. */
export interface Intervention {
  /** onControl, for pings and pongs: synchronous, never held. */
  control: ((frame: ControlFrame) => { drop: boolean; by: Actor | null }) | null;
  /**
   * onMessage, for a complete message `side` sent: the decision now, when every hook answered
   * with a plain value, or null, and a `decided` event with this `seq` later.
   */
  message: ((side: Side, seq: number, message: Message) => MessageDecision | null) | null;
}

export class WebSocketRelayCore {
  private readonly recorder: RelayRecorder;
  private readonly id: string;
  private readonly observers: Record<Side, StreamObserver>;
  private index = 0;
  private bytesOut = 0;
  private bytesIn = 0;
  private firstClose: { side: Closer; code: number; reason: string } | null = null;
  /** wstape closed or aborted the connection itself, told by this actor. */
  private closedVia: Actor | null = null;
  private aborted = false;
  /** Per direction while gated; null on the byte-exact path. */
  private gates: Record<Side, WebSocketGate> | null = null;
  private readonly control: Intervention['control'];
  private readonly message: Intervention['message'];
  private readonly deflate: DeflateParams | null;
  /** Per sender: bytes of a frame not complete yet, and whether a data message is unfinished. */
  private readonly partial: Record<Side, number> = { client: 0, server: 0 };
  private readonly inMessage: Record<Side, boolean> = { client: false, server: false };
  private readonly closeSent: Record<Side, boolean> = { client: false, server: false };
  private droppedBy: Side | null = null;
  /**
   * Per side: it half-closed (FIN), which the relay passed on. Once both did, the connection is
   * over even if a socket's 'close' is still on its way: a TLS socket over a stream (an upstream
   * proxy's tunnel) closes a few event-loop turns after its FIN went out.
   */
  private readonly finished: Record<Side, boolean> = { client: false, server: false };
  private openSockets = 2;
  private ended = false;
  private actions: RelayAction[] = [];

  constructor(options: WebSocketRelayCoreOptions) {
    this.recorder = options.recorder;
    this.id = options.id;
    const maxPayload = options.recorder.maxPayload;
    this.deflate = options.deflate;
    this.control = options.intervention?.control ?? null;
    this.message = options.intervention?.message ?? null;
    if (options.intervention) this.gates = this.makeGates(true);
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
        if (this.gates) {
          this.gatedBytes(event.side, event.bytes);
          break;
        }
        // Record first, forward second: the chunk's complete frames reach the file before a peer
        // can see them. The byte-exact path: the chunk as it arrived.
        this.record(event.side, event.bytes);
        actions.push({ type: 'forward', to: otherSide(event.side), bytes: event.bytes });
        break;
      case 'decided':
        this.reportFailures(event.side, event.seq, event.decision);
        if (this.gates) this.apply(event.side, this.gates[event.side].decided(event.seq, event.decision));
        break;
      case 'timer':
        if (this.gates) this.apply(event.side, this.gates[event.side].delayed(event.seq));
        break;
      case 'inject': {
        if (this.ended || this.aborted) break;
        const side = senderOf(event.dir);
        this.apply(side, this.gatesNow()[side].inject(event.payload, event.by));
        break;
      }
      case 'close-both': {
        if (this.ended || this.aborted || this.closedVia !== null) break;
        this.closedVia = event.by;
        this.firstClose ??= { side: 'wstape', code: event.code, reason: event.reason };
        const gates = this.gatesNow();
        this.apply('client', gates.client.close(event.code, event.reason, event.by));
        this.apply('server', gates.server.close(event.code, event.reason, event.by));
        break;
      }
      case 'abort':
        if (this.ended || this.aborted) break;
        this.aborted = true;
        this.closedVia ??= event.by;
        actions.push({ type: 'close', side: 'client', how: 'destroy' }, { type: 'close', side: 'server', how: 'destroy' });
        break;
      case 'ended':
        this.finished[event.side] = true;
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
        // The end is recorded when the destroyed sockets report 'close'; the connection only
        // counts as cut by the recorder when a side had not finished sending.
        if (!this.ended && !(this.finished.client && this.finished.server)) {
          actions.push({
            type: 'error',
            code: 'RECORDING_STOPPED',
            message: 'the connection was still open when recording stopped; the recorder closed it',
          });
        }
        actions.push({ type: 'close', side: 'client', how: 'destroy' }, { type: 'close', side: 'server', how: 'destroy' });
        break;
    }
    if (!this.gates) return actions;
    const coalesced = coalesceForwards(actions);
    flushBeforeForwards(coalesced);
    return coalesced;
  }

  private reportFailures(side: Side, seq: number, decision: MessageDecision): void {
    for (const failure of decision.failures) {
      this.actions.push({
        type: 'error',
        code: failure.code,
        message: `${failure.message} (message ${seq} ${directionOf(side)}): forwarded unchanged`,
        dir: directionOf(side),
      });
    }
  }

  /** `decides`: the gates ask the hooks about each message (else only injections and closes wait). */
  private makeGates(decides: boolean): Record<Side, WebSocketGate> {
    const ask = this.message;
    const gate = (sender: Side): WebSocketGate => {
      const takeover = this.deflate !== null && !(sender === 'client' ? this.deflate.clientNoContextTakeover : this.deflate.serverNoContextTakeover);
      return new WebSocketGate({
        sender,
        conn: this.id,
        decide:
          decides && ask
            ? (seq, message) => {
                const decision = ask(sender, seq, message);
                if (decision) this.reportFailures(sender, seq, decision);
                return decision;
              }
            : null,
        contextTakeover: takeover,
        ...(this.deflate ? { windowBits: sender === 'client' ? this.deflate.clientMaxWindowBits : this.deflate.serverMaxWindowBits } : {}),
        maxHeld: this.recorder.maxPayload + 64 * 1024,
        now: () => this.recorder.now(),
      });
    };
    return { client: gate('client'), server: gate('server') };
  }

  /** The gates, made now if the connection was on the byte-exact path (`wstape send`/`close`). */
  private gatesNow(): Record<Side, WebSocketGate> {
    if (this.gates) return this.gates;
    const gates = this.makeGates(false);
    // A frame or message already on its way goes on as it came, up to the next boundary.
    for (const side of ['client', 'server'] as const) if (this.partial[side] > 0 || this.inMessage[side]) gates[side].startStreaming();
    this.gates = gates;
    return gates;
  }

  /** A chunk on a gated connection: observe and record its frames, and let the gate decide what goes. */
  private gatedBytes(side: Side, chunk: Uint8Array): void {
    if (side === 'client') this.bytesOut += chunk.length;
    else this.bytesIn += chunk.length;
    const observer = this.observers[side];
    const gate = this.gates![side];
    if (this.recorder.isClosed || observer.stopped) {
      // What the gate still holds goes first, then the chunk (abandon() is a no-op the second time).
      this.apply(side, gate.abandon());
      this.actions.push({ type: 'forward', to: otherSide(side), bytes: chunk });
      return;
    }
    gate.bytes(chunk);
    this.partial[side] += chunk.length;
    for (const event of observer.push(chunk)) {
      if (event.type === 'error') {
        this.actions.push({ type: 'error', code: event.error.code, message: event.error.message, dir: directionOf(side) });
        continue;
      }
      const frame = event.frame;
      this.track(side, frame);
      let control: { drop: boolean; by: Actor | null } | null = null;
      if (this.control && (frame.opcode === Opcode.Ping || frame.opcode === Opcode.Pong)) {
        control = this.control({
          conn: this.id,
          dir: directionOf(side),
          type: frame.opcode === Opcode.Ping ? 'ping' : 'pong',
          data: new Uint8Array(frame.payload),
        });
      }
      if (frame.type === 'close') this.noteClose(side, frame);
      this.apply(side, gate.frame(frame, this.entryOf(side, frame), control));
    }
    if (observer.stopped) {
      // The rest of this direction cannot be parsed: what the gate holds goes as it is, then raw.
      this.apply(side, gate.abandon());
      return;
    }
    this.apply(side, gate.settle(this.partial[side] === 0 && !this.inMessage[side]));
  }

  /** Where the stream of `side` stands after a frame: for switching to the gates at a boundary. */
  private track(side: Side, frame: ObservedFrame): void {
    this.partial[side] -= frame.wireSize;
    if (frame.opcode === Opcode.Text || frame.opcode === Opcode.Binary || frame.opcode === Opcode.Continuation) this.inMessage[side] = !frame.fin;
  }

  /** Turn what a gate asks for into relay actions. */
  private apply(side: Side, outputs: GateOutput[]): void {
    for (const output of outputs) {
      switch (output.type) {
        case 'record':
          this.actions.push({ type: 'record', entry: { ...output.entry, index: this.index++ } as FrameEntry, flush: false });
          break;
        case 'forward':
          this.actions.push({ type: 'forward', to: otherSide(side), bytes: output.bytes });
          break;
        case 'delay':
          this.actions.push({ type: 'set-timer', side, seq: output.seq, ms: output.ms });
          break;
        case 'skipped':
          this.actions.push({ type: 'error', code: 'HOOK_SKIPPED', message: output.message, dir: directionOf(side) });
          break;
        case 'pause':
        case 'resume':
          this.actions.push({ type: output.type, side });
          break;
      }
    }
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
    let last: { type: 'record'; entry: FrameEntry; flush: boolean; ascii: boolean; textBytes?: Uint8Array } | null = null;
    this.partial[side] += chunk.length;
    for (const event of this.observers[side].push(chunk)) {
      if (event.type === 'error') {
        this.actions.push({ type: 'error', code: event.error.code, message: event.error.message, dir: directionOf(side) });
        last = null;
      } else {
        this.track(side, event.frame);
        // Numbered in place: the entry is this call's own object (no copy per frame).
        const frame = event.frame;
        const ascii = asciiEntry(frame);
        const entry = this.entryOf(side, frame, ascii) as FrameEntry;
        entry.index = this.index++;
        last = { type: 'record', entry, flush: false, ascii };
        if (ascii && frame.isText) last.textBytes = frame.payload;
        this.actions.push(last);
        if (event.frame.type === 'close') this.noteClose(side, event.frame);
      }
    }
    if (last) last.flush = true;
  }

  /** The frame's entry, numbered when it is written (a held message's frames are written later). */
  private entryOf(side: Side, frame: ObservedFrame, ascii = asciiEntry(frame)): Omit<FrameEntry, 'index'> {
    return frameEntry(frame, { conn: this.id, dir: directionOf(side), stamp: this.recorder.now(), ascii });
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
    this.observers.client.close();
    this.observers.server.close();
    const droppedBy = this.droppedBy ?? 'server';
    const byWstape = this.closedVia !== null && (this.aborted || this.firstClose?.side === 'wstape');
    this.actions.push(
      {
        type: 'record',
        entry: {
          kind: 'end',
          conn: this.id,
          ...this.recorder.now(),
          // RFC 6455 §7.1.5: no close frame at all is the abnormal closure 1006.
          closeCode: this.firstClose && !(this.aborted && this.firstClose.side === 'wstape') ? this.firstClose.code : CloseCode.AbnormalClosure,
          closeReason: this.firstClose && !(this.aborted && this.firstClose.side === 'wstape') ? this.firstClose.reason : '',
          closedBy: byWstape ? 'wstape' : this.firstClose ? this.firstClose.side : droppedBy,
          ...(byWstape ? { closedVia: this.closedVia! } : {}),
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

/** Forwards merged by coalesceForwards stay under this many bytes (larger ones go as they are). */
const COALESCE_LIMIT = 256 * 1024;

/**
 * On a gated connection, the messages of one chunk are released one by one, each with its own
 * forward. Merged into the last forward to the same side (nothing closes that side in between),
 * they reach the socket in one write and the file in one flush, as on the byte-exact path; the
 * order of what each side receives does not change, and every record still precedes the forward
 * that carries its frame.
 */
function coalesceForwards(actions: RelayAction[]): RelayAction[] {
  if (actions.length < 3) return actions;
  type Merged = { type: 'forward'; to: Side; parts: Uint8Array[]; bytes: number };
  const out: (RelayAction | Merged | null)[] = [];
  const open: Partial<Record<Side, { at: number; merged: Merged }>> = {};
  for (const action of actions) {
    if (action.type === 'close' || action.type === 'done') {
      delete open.client;
      delete open.server;
    } else if (action.type === 'forward') {
      const pending = open[action.to];
      if (pending && pending.merged.bytes + action.bytes.length <= COALESCE_LIMIT) {
        // Move the merged forward here, after this one's record.
        out[pending.at] = null;
        pending.merged.parts.push(action.bytes);
        pending.merged.bytes += action.bytes.length;
        pending.at = out.length;
        out.push(pending.merged);
        continue;
      }
      const merged: Merged = { type: 'forward', to: action.to, parts: [action.bytes], bytes: action.bytes.length };
      open[action.to] = { at: out.length, merged };
      out.push(merged);
      continue;
    }
    out.push(action);
  }
  const result: RelayAction[] = [];
  for (const action of out) {
    if (action === null) continue;
    if ('parts' in action) result.push({ type: 'forward', to: action.to, bytes: action.parts.length === 1 ? action.parts[0]! : Buffer.concat(action.parts) });
    else result.push(action);
  }
  return result;
}

/**
 * The crash promise on a gated connection: every record that a forward follows is flushed, so
 * what a peer receives is in the file first (records that only wait for later ones are not).
 */
function flushBeforeForwards(actions: RelayAction[]): void {
  for (let i = 0; i < actions.length; i++) {
    const action = actions[i]!;
    if (action.type !== 'record') continue;
    const next = actions[i + 1];
    action.flush = next === undefined || next.type !== 'record';
  }
}

/**
 * One direction of a WebSocket relay that wstape may change (--script, flags, `wstape send`):
 * the frames one peer sent, held as whole messages until the hooks have decided what to forward.
 * No I/O: the relay core (websocket-relay-core.ts) feeds it observed frames with their raw bytes
 * and asks it what to release; the adapter runs the hooks and the timers.
 *
 * What is forwarded, message by message:
 * - unchanged: the original bytes of its frames (fragmentation, masks, compression and the control
 *   frames interleaved in it, exactly as they arrived);
 * - replaced or injected: one new frame, uncompressed (RFC 7692 lets any message go without
 *   RSV1, and an uncompressed message does not touch the receiver's inflate context), masked with
 *   a fresh random key towards the server (RFC 6455 §5.3), unmasked towards the client;
 * - dropped: nothing but the control frames that arrived inside it.
 * With context takeover, a compressed message the receiver never got would leave its inflater
 * out of step with the sender's compressor, so once one is changed or dropped every later
 * compressed message of that direction is compressed again by wstape (a MessageDeflater that
 * keeps the receiver's window, with the negotiated window bits), from its inflated payload; where
 * that cannot be done (window bits 8, or a message whose content was not kept), uncompressed.
 *
 * Held bytes are bounded: a message that grows past `maxHeld` before it completes is not given to
 * the hooks: what was held is released and the rest of it streams through (HOOK_SKIPPED).
 */
import type { FrameEntry } from '../format/schema.js';
import type { MessageDecision } from '../intervene/chain.js';
import type { Actor, Message } from '../intervene/hooks.js';
import { encodeClosePayload, encodeFrame } from '../wire/frame-encoder.js';
import { Opcode } from '../wire/opcodes.js';
import { MessageDeflater } from '../wire/permessage-deflate.js';
import type { Side } from '../wire/side.js';
import type { ObservedFrame } from '../wire/types.js';
import { asBuffer } from './payload.js';

/** A frame as it arrived: its bytes and its (not yet numbered) archive entry. */
interface Part {
  bytes: Uint8Array;
  entry: Omit<FrameEntry, 'index'>;
  control: boolean;
  /** A ping or pong that onControl dropped. */
  droppedBy?: Actor;
}

interface HeldMessage {
  kind: 'message';
  seq: number;
  parts: Part[];
  payloads: Uint8Array[];
  type: 'text' | 'binary';
  compressed: boolean;
  /** Not given to the hooks: truncated (over --max-payload) or not inflated. */
  unusable: boolean;
  state: 'new' | 'deciding' | 'delaying' | 'ready';
  decision?: MessageDecision;
}

type Item =
  | HeldMessage
  | { kind: 'frame'; part: Part }
  | { kind: 'inject'; payload: string | Uint8Array; by: Actor }
  | { kind: 'close'; code: number; reason: string; by: Actor };

/** What the gate asks of the core. */
export type GateOutput =
  | { type: 'record'; entry: Omit<FrameEntry, 'index'> }
  | { type: 'forward'; bytes: Uint8Array }
  | { type: 'delay'; seq: number; ms: number }
  | { type: 'skipped'; message: string }
  | { type: 'pause' }
  | { type: 'resume' };

export interface GateOptions {
  /** The peer whose frames this gate holds. */
  sender: Side;
  conn: string;
  /**
   * Asks the hooks about a complete message: their decision now (every hook answered with a plain
   * value), or null when it comes later through decided(). Null instead of a function: the hooks
   * do not look at messages (they pass; injections still wait for a boundary).
   */
  decide: ((seq: number, message: Message) => MessageDecision | null) | null;
  /** Whether the sender compresses with context takeover (permessage-deflate). */
  contextTakeover: boolean;
  /** The sender's negotiated max_window_bits (the receiver's window), with context takeover. */
  windowBits?: number;
  maxHeld: number;
  now: () => { time: string; elapsed: number };
}

const textEncoder = new TextEncoder();

export class WebSocketGate {
  private readonly options: GateOptions;
  private readonly queue: Item[] = [];
  /** Bytes of a frame not complete yet. */
  private raw: Uint8Array[] = [];
  private rawBytes = 0;
  /** The data message being assembled (not complete), if any. */
  private current: HeldMessage | null = null;
  private heldBytes = 0;
  private seq = 0;
  private messageIndex = 0;
  /** Until the stream reaches a message boundary, bytes go straight through (a too-large message). */
  private streaming = false;
  private paused = false;
  /** Once a changed compressed message broke the receiver's context: forward compressed ones inflated. */
  private inflateForward = false;
  /** wstape closed this direction: later frames are recorded, never forwarded. */
  private closedBy: Actor | null = null;
  private out: GateOutput[] = [];
  /** abandon() was called: everything passes straight through from now on. */
  private abandoned = false;
  /** Chunks that arrived while streaming, forwarded by settle(). */
  private readonly streamed: Uint8Array[] = [];

  /** Keeps the receiver's window, to compress again once the original stream was broken. */
  private readonly deflater: MessageDeflater | null;

  constructor(options: GateOptions) {
    this.options = options;
    const bits = options.windowBits ?? 15;
    this.deflater = options.contextTakeover && bits >= 9 ? new MessageDeflater(bits) : null;
  }

  /** Whether bytes pass straight through right now (recorded as they complete, forwarded as they come). */
  get isStreaming(): boolean {
    return this.streaming;
  }

  /**
   * Start in the middle of a stream whose bytes were forwarded as they came so far: until the
   * next message boundary they keep going straight through.
   */
  startStreaming(): void {
    this.streaming = true;
  }

  /**
   * The raw bytes of a chunk, before its frames are observed. While streaming, the chunk is
   * forwarded by settle(), after the records of the frames it completes (the crash promise).
   */
  bytes(chunk: Uint8Array): void {
    if (this.closedBy !== null) return;
    if (this.streaming) {
      this.streamed.push(chunk);
      return;
    }
    this.raw.push(chunk);
    this.rawBytes += chunk.length;
  }

  /**
   * One frame the chunk completed, in order. `atBoundary`: the stream has no partial frame and no
   * unfinished message after it (streaming ends there).
   */
  frame(frame: ObservedFrame, entry: Omit<FrameEntry, 'index'>, control: { drop: boolean; by: Actor | null } | null): GateOutput[] {
    this.out = [];
    if (this.closedBy !== null) {
      this.out.push({ type: 'record', entry: { ...entry, action: 'dropped', by: this.closedBy } });
      return this.out;
    }
    if (this.streaming) {
      this.out.push({ type: 'record', entry });
      return this.out;
    }
    const part: Part = { bytes: this.take(frame.wireSize), entry, control: isControl(frame.opcode) };
    if (control?.drop) part.droppedBy = control.by ?? 'script';
    if (part.control || frame.type === 'reserved') {
      if (this.current) this.current.parts.push(part);
      else this.queue.push({ kind: 'frame', part });
      return this.out;
    }
    if (!this.current || frame.opcode !== Opcode.Continuation) {
      // A new data frame while a message is unfinished is an anomaly the observer flags; the
      // unfinished one is handed on as it is, unchanged.
      if (this.current) this.finishMessage(true);
      this.current = {
        kind: 'message',
        seq: this.seq++,
        parts: [],
        payloads: [],
        type: frame.opcode === Opcode.Binary ? 'binary' : 'text',
        compressed: frame.compressed,
        unusable: false,
        state: 'new',
      };
    }
    const message = this.current;
    message.parts.push(part);
    message.payloads.push(frame.payload);
    this.heldBytes += part.bytes.length;
    if (frame.truncated || frame.flags.includes('inflate-error')) message.unusable = true;
    if (frame.fin) this.finishMessage(false);
    return this.out;
  }

  /** After all the frames of a chunk: release what can go, bound what is held. */
  settle(atBoundary: boolean): GateOutput[] {
    this.out = [];
    if (this.streamed.length > 0) {
      for (const chunk of this.streamed.splice(0)) this.out.push({ type: 'forward', bytes: chunk });
    }
    if (this.streaming) {
      if (!atBoundary || this.abandoned) return this.out;
      this.streaming = false;
    }
    this.pump();
    if (this.rawBytes + this.heldBytes > this.options.maxHeld && this.queue.length === 0) {
      // Too big to hold for the hooks: let what is held go, and the rest of this message stream.
      const current = this.current;
      this.current = null;
      if (current) {
        for (const part of current.parts) this.emitPart(part);
        this.out.push({
          type: 'skipped',
          message: `message ${this.messageIndex} is over ${this.options.maxHeld} bytes: forwarded unchanged, without the hooks`,
        });
        this.messageIndex += 1;
      }
      if (this.rawBytes > 0) this.out.push({ type: 'forward', bytes: Buffer.concat(this.raw) });
      this.raw = [];
      this.rawBytes = 0;
      this.heldBytes = 0;
      this.streaming = !atBoundary;
    }
    return this.out;
  }

  /**
   * The stream cannot be parsed any further (or recording stopped): hand on everything held, in
   * order and as it arrived (a decision still pending is not waited for), and pass every later
   * byte straight through.
   */
  abandon(): GateOutput[] {
    this.out = [];
    if (this.closedBy !== null) return this.out;
    for (const item of this.queue.splice(0)) {
      if (item.kind === 'frame') this.emitPart(item.part);
      else if (item.kind === 'message') for (const part of item.parts) this.emitPart(part);
      else if (item.kind === 'inject')
        this.emitNew(
          typeof item.payload === 'string' ? Opcode.Text : Opcode.Binary,
          payloadBytes(item.payload),
          { action: 'injected', by: item.by },
          item.payload,
        );
    }
    if (this.current) for (const part of this.current.parts) this.emitPart(part);
    this.current = null;
    if (this.rawBytes > 0) this.out.push({ type: 'forward', bytes: Buffer.concat(this.raw) });
    this.raw = [];
    this.rawBytes = this.heldBytes = 0;
    for (const chunk of this.streamed.splice(0)) this.out.push({ type: 'forward', bytes: chunk });
    this.streaming = true;
    this.abandoned = true;
    if (this.paused) {
      this.paused = false;
      this.out.push({ type: 'resume' });
    }
    return this.out;
  }

  /** The hooks decided message `seq`. */
  decided(seq: number, decision: MessageDecision): GateOutput[] {
    this.out = [];
    const item = this.queue.find((entry): entry is HeldMessage => entry.kind === 'message' && entry.seq === seq);
    if (item && item.state === 'deciding') {
      this.apply(item, decision);
      this.pump();
    }
    return this.out;
  }

  private apply(item: HeldMessage, decision: MessageDecision): void {
    item.decision = decision;
    if (decision.delayMs > 0) {
      item.state = 'delaying';
      this.out.push({ type: 'delay', seq: item.seq, ms: decision.delayMs });
    } else {
      item.state = 'ready';
    }
  }

  /** A delay asked for by the hooks is over. */
  delayed(seq: number): GateOutput[] {
    this.out = [];
    const item = this.queue.find((entry): entry is HeldMessage => entry.kind === 'message' && entry.seq === seq);
    if (item && item.state === 'delaying') {
      item.state = 'ready';
      this.pump();
    }
    return this.out;
  }

  /** Send a message of wstape's own towards this sender's peer, after what is queued. */
  inject(payload: string | Uint8Array, by: Actor): GateOutput[] {
    this.out = [];
    if (this.closedBy !== null) return this.out;
    this.queue.push({ kind: 'inject', payload, by });
    if (!this.streaming) this.pump();
    return this.out;
  }

  /** Close towards this sender's peer with a close frame of wstape's, after what is queued. */
  close(code: number, reason: string, by: Actor): GateOutput[] {
    this.out = [];
    if (this.closedBy !== null) return this.out;
    this.queue.push({ kind: 'close', code, reason, by });
    if (!this.streaming) this.pump();
    return this.out;
  }

  private finishMessage(interrupted: boolean): void {
    const message = this.current!;
    this.current = null;
    if (interrupted) message.unusable = true;
    this.queue.push(message);
  }

  /** Release queued items in order, up to the first that waits for the hooks or a delay. */
  private pump(): void {
    while (this.queue.length > 0 && this.closedBy === null) {
      const item = this.queue[0]!;
      if (item.kind === 'message') {
        if (item.state === 'new') {
          const decide = this.options.decide;
          if (!decide || item.unusable) {
            if (decide)
              this.out.push({
                type: 'skipped',
                message: `message ${this.messageIndex} could not be read whole (over --max-payload, or not inflated): forwarded unchanged`,
              });
            item.state = 'ready';
            item.decision = { outcome: 'unchanged', delayMs: 0, by: null, failures: [] };
          } else {
            item.state = 'deciding';
            const now = decide(item.seq, this.messageOf(item));
            if (now) this.apply(item, now);
          }
        }
        if (item.state !== 'ready') {
          this.hold();
          return;
        }
        this.queue.shift();
        this.release(item);
      } else if (item.kind === 'frame') {
        this.queue.shift();
        this.emitPart(item.part);
      } else if (item.kind === 'inject') {
        this.queue.shift();
        this.emitNew(
          typeof item.payload === 'string' ? Opcode.Text : Opcode.Binary,
          payloadBytes(item.payload),
          { action: 'injected', by: item.by },
          item.payload,
        );
      } else {
        this.queue.shift();
        this.emitNew(Opcode.Close, encodeClosePayload(item.code, item.reason), { action: 'injected', by: item.by }, null, item);
        this.closedBy = item.by;
        // What is still held will never be forwarded: record it as dropped.
        for (const rest of this.queue.splice(0)) if (rest.kind === 'message' || rest.kind === 'frame') this.dropHeld(rest, item.by);
        if (this.current) this.dropHeld(this.current, item.by);
        this.current = null;
      }
    }
    if (this.queue.length === 0 && this.paused) {
      this.paused = false;
      this.out.push({ type: 'resume' });
    }
  }

  private hold(): void {
    if (this.paused) return;
    this.paused = true;
    this.out.push({ type: 'pause' });
  }

  private release(message: HeldMessage): void {
    this.messageIndex += 1;
    this.heldBytes -= message.parts.reduce((sum, part) => sum + (part.control ? 0 : part.bytes.length), 0);
    const decision = message.decision!;
    const last = message.parts.findLastIndex((part) => !part.control);
    const delay = decision.delayMs > 0 ? { delay: decision.delayMs } : {};
    if (decision.outcome === 'unchanged') {
      const reframe = this.inflateForward && message.compressed && !message.unusable;
      if (message.compressed && !this.inflateForward && this.deflater) {
        // Forwarded as it came: the receiver's window now holds its content.
        if (message.unusable) this.deflater.unknown();
        else this.deflater.seen(Buffer.concat(message.payloads));
      }
      message.parts.forEach((part, i) => {
        if (part.control || !reframe) {
          const action = i === last && decision.delayMs > 0 ? { action: 'delayed' as const, by: decision.by ?? 'script', ...delay } : {};
          this.emitPart(part, action);
          return;
        }
        // Compressed again by wstape (or, where it cannot be, uncompressed), as one frame where
        // the message ended (see the file's comment).
        this.out.push({
          type: 'record',
          entry: i === last && decision.delayMs > 0 ? { ...part.entry, action: 'delayed', by: decision.by ?? 'script', ...delay } : part.entry,
        });
        if (i === last)
          this.out.push({
            type: 'forward',
            bytes: this.encodeCompressed(message.type === 'text' ? Opcode.Text : Opcode.Binary, Buffer.concat(message.payloads)),
          });
      });
      return;
    }
    if (message.compressed && this.options.contextTakeover) this.inflateForward = true;
    const by = decision.by ?? 'script';
    message.parts.forEach((part, i) => {
      if (part.control) {
        this.emitPart(part);
        return;
      }
      if (i !== last) {
        this.out.push({ type: 'record', entry: part.entry });
        return;
      }
      if (decision.outcome === 'dropped') {
        this.out.push({ type: 'record', entry: { ...part.entry, action: 'dropped', by, ...delay } });
        return;
      }
      const payload = decision.payload!;
      const bytes = payload.type === 'text' ? textEncoder.encode(payload.text) : payload.data;
      const forwarded =
        payload.type === 'text'
          ? { type: 'text' as const, size: bytes.length, text: payload.text }
          : { type: 'binary' as const, size: bytes.length, data: asBuffer(bytes).toString('base64') };
      this.out.push({ type: 'record', entry: { ...part.entry, action: 'modified', by, ...delay, forwarded } });
      this.out.push({ type: 'forward', bytes: this.encode(payload.type === 'text' ? Opcode.Text : Opcode.Binary, bytes) });
    });
  }

  /** Record a frame that arrived and forward its original bytes (unless onControl dropped it). */
  private emitPart(part: Part, extra: Partial<FrameEntry> = {}): void {
    if (part.droppedBy) {
      this.out.push({ type: 'record', entry: { ...part.entry, action: 'dropped', by: part.droppedBy } });
      return;
    }
    this.out.push({ type: 'record', entry: { ...part.entry, ...extra } });
    this.out.push({ type: 'forward', bytes: part.bytes });
  }

  private dropHeld(item: HeldMessage | { kind: 'frame'; part: Part }, by: Actor): void {
    const parts = item.kind === 'frame' ? [item.part] : item.parts;
    for (const part of parts) this.out.push({ type: 'record', entry: { ...part.entry, action: 'dropped', by } });
  }

  /** A frame of wstape's own: recorded as injected, then forwarded. */
  private emitNew(
    opcode: number,
    payload: Uint8Array,
    extra: Pick<FrameEntry, 'action' | 'by'>,
    original: string | Uint8Array | null,
    close?: { code: number; reason: string },
  ): void {
    const masked = this.options.sender === 'client';
    const mask = masked ? randomMask() : undefined;
    const bytes = encodeFrame({ opcode, payload, ...(mask ? { mask } : {}) });
    const stamp = this.options.now();
    const entry: Omit<FrameEntry, 'index'> = {
      kind: 'frame',
      conn: this.options.conn,
      time: stamp.time,
      elapsed: stamp.elapsed,
      dir: this.options.sender === 'client' ? 'out' : 'in',
      type: opcode === Opcode.Close ? 'close' : opcode === Opcode.Text ? 'text' : 'binary',
      opcode,
      fin: true,
      rsv1: false,
      rsv2: false,
      rsv3: false,
      masked,
      ...(mask ? { mask: Buffer.from(mask).toString('hex') } : {}),
      size: payload.length,
      wireSize: bytes.length,
      ...extra,
    };
    if (close) {
      entry.code = close.code;
      entry.reason = close.reason;
    } else if (typeof original === 'string') {
      entry.text = original;
    } else {
      entry.data = asBuffer(payload).toString('base64');
    }
    this.out.push({ type: 'record', entry });
    this.out.push({ type: 'forward', bytes });
  }

  /** A frame of ours: masked with a fresh random key towards the server (RFC 6455 §5.3). */
  private encode(opcode: number, payload: Uint8Array, rsv1 = false): Uint8Array {
    return encodeFrame({ opcode, payload, rsv1, mask: this.options.sender === 'client' });
  }

  /** A message compressed with the receiver's window (RSV1 set), or uncompressed where that is not known. */
  private encodeCompressed(opcode: number, payload: Uint8Array): Uint8Array {
    const compressed = this.deflater?.available ? this.deflater.deflate(payload) : null;
    return compressed === null ? this.encode(opcode, payload) : this.encode(opcode, compressed, true);
  }

  /** The hooks' view of `item`, the head of the queue (messages are decided in order). */
  private messageOf(item: HeldMessage): Message {
    // A copy for binary: a hook that changes `data` in place must not change what was received.
    const payload = item.payloads.length === 1 ? asBuffer(item.payloads[0]!) : Buffer.concat(item.payloads);
    const final = item.parts.findLast((part) => !part.control)!.entry;
    const base = { conn: this.options.conn, dir: final.dir, index: this.messageIndex, time: final.time };
    return item.type === 'text' ? { ...base, type: 'text', text: payload.toString('utf8') } : { ...base, type: 'binary', data: new Uint8Array(payload) };
  }

  /** The next `length` held bytes: one complete frame. */
  private take(length: number): Uint8Array {
    const joined = this.raw.length === 1 ? this.raw[0]! : Buffer.concat(this.raw);
    const frame = joined.subarray(0, length);
    const rest = joined.subarray(length);
    this.raw = rest.length > 0 ? [rest] : [];
    this.rawBytes = rest.length;
    return frame;
  }
}

function isControl(opcode: number): boolean {
  return opcode >= 0x8;
}

function payloadBytes(payload: string | Uint8Array): Uint8Array {
  return typeof payload === 'string' ? textEncoder.encode(payload) : payload;
}

function randomMask(): Uint8Array {
  const key = new Uint8Array(4);
  crypto.getRandomValues(key);
  return key;
}

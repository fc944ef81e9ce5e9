/**
 * Plays one side of a recorded conversation against a live peer, in lockstep.
 *
 * The recording is walked in capture order. A peer frame is waited for (it must arrive before
 * anything recorded after it is sent). Each of our frames is sent at its recorded offset from the
 * last peer frame before it (or from the start), measured from when that peer frame arrived in
 * this replay. The offset is not chained from our previous send: a timer that fires late (a busy
 * machine) delays that one frame, and the frames after it keep their recorded offsets, as a
 * server's unprompted ticker does. `speed` scales the offsets; Infinity sends as soon as allowed.
 * A frame is never sent early: timers count whole milliseconds, so the wait is rounded up.
 *
 * With `strict`, every peer frame is compared with the recorded one (compareFrames: type and
 * payload, JSON structurally, with the ignore rules); the first divergence is kept and reported.
 *
 * With `hooks` (--script, the fault flags), each of our messages is decided when it is due: sent,
 * replaced, dropped or delayed (a delay moves that message and its later fragments only; the next
 * message keeps its own schedule, never overtaking). A hook may close (a close handshake, then the
 * end) or abort (the TCP connection dropped) the connection; see replay-hooks.ts. Without hooks,
 * nothing of this runs and the replay is the recording.
 */
import type { FrameEntry } from '../format/schema.js';
import type { HookChain, Payload } from '../intervene/chain.js';
import type { Conversation } from './recording.js';
import { compareFrames, type FrameMismatch, type FrameView, type IgnoreRules } from './match.js';
import { OutgoingFrames, deflateMessage } from './outgoing.js';
import { ReplayHooks, type RecordedMessage } from './replay-hooks.js';
import { CloseCode, isValidWireCloseCode } from '../wire/close-codes.js';
import { encodeClosePayload, encodeFrame } from '../wire/frame-encoder.js';
import { Opcode } from '../wire/opcodes.js';
import { directionOf, type Direction, type Side } from '../wire/side.js';

export type PlayedSide = Side;

export interface PlayerOptions {
  side: PlayedSide;
  /** 1 = the recorded pace, 2 = twice as fast; Infinity = no gaps (--asap). */
  speed: number;
  strict: boolean;
  rules: IgnoreRules;
  /** Whether this connection negotiated permessage-deflate (our frames are compressed again). */
  deflate: boolean;
  /** Longest wait for each expected peer frame, in ms (replay --as client --timeout). */
  timeoutMs?: number;
  /** --script hooks and the fault flags; null or absent: the recording, as it is. */
  hooks?: HookChain | null;
}

export interface PlayerIo {
  send(bytes: Uint8Array): void;
  /** Drop the TCP connection without a close frame (a recorded abnormal end on our side). */
  drop(): void;
  /** The close handshake is over on our side: end the TCP connection as the recording did. */
  finish(): void;
  /** One line for stderr: a hook failed, or asked for something a replay cannot do. */
  warn?(line: string): void;
}

export interface Divergence {
  /** Position of the peer frame among the peer's recorded frames, from 0. */
  peerFrame: number;
  /** The recorded frame's index in the connection. */
  recordedIndex: number | null;
  mismatch: FrameMismatch;
}

export interface GapSample {
  /** The recorded gap before one of our frames, in ms. */
  recorded: number;
  /** The gap this replay produced, in ms. */
  replayed: number;
}

export interface PlayerResult {
  sent: number;
  received: number;
  divergence: Divergence | null;
  /** Expected peer frames that never came (the peer left, or a wait timed out). */
  missing: number;
  gaps: GapSample[];
  /** Set when a hook or flag ended the connection before the recording did. */
  endedBy?: { action: 'close'; code: number; reason: string } | { action: 'abort' };
}

/** How long a close that a hook sent waits for the peer's answering close before the drop. */
export const CLOSE_ANSWER_TIMEOUT_MS = 5000;

const now = (): number => performance.now();
/**
 * Wait `ms`, rounded up to the whole milliseconds timers count (less a microsecond, the archive's
 * resolution, so that float noise in 1.12 - 1.0 does not add one); not at all when it is due.
 */
const sleep = async (ms: number): Promise<void> => {
  const wait = Math.ceil(ms - 0.001);
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
};

export class ConversationPlayer {
  private readonly ours: Direction;
  private readonly expectedPeer: FrameEntry[];
  private readonly arrivals: number[] = [];
  private readonly outgoing: OutgoingFrames;
  private divergence: Divergence | null = null;
  private peerGoneFlag = false;
  private wake: (() => void) | null = null;
  private stopped = false;
  private readonly hooks: ReplayHooks | null;
  /** Fragments of a message a hook replaced or dropped: not sent. */
  private readonly skipped = new Set<FrameEntry>();
  /** We sent a close frame: RFC 6455 §5.5.1, no data frame may follow it. */
  private closeSent = false;
  private peerClosed = false;
  private endedBy: PlayerResult['endedBy'];

  constructor(
    private readonly conversation: Conversation,
    private readonly options: PlayerOptions,
    private readonly io: PlayerIo,
  ) {
    this.ours = directionOf(options.side);
    this.expectedPeer = conversation.frames.filter((frame) => frame.dir !== this.ours);
    this.outgoing = new OutgoingFrames({ mask: options.side === 'client', deflate: options.deflate });
    this.hooks = options.hooks
      ? new ReplayHooks(options.hooks, conversation, this.ours, {
          inject: (payload) => this.inject(payload),
          close: (code, reason) => this.closeNow(code, reason),
          abort: () => this.abortNow(),
          warn: (line) => this.io.warn?.(line),
        })
      : null;
  }

  /** A frame arrived from the live peer. */
  peerFrame(frame: FrameView): void {
    const position = this.arrivals.length;
    this.arrivals.push(now());
    if (this.options.strict && this.divergence === null) {
      const expected = this.expectedPeer[position];
      const mismatch = expected
        ? compareFrames(expected, frame, this.options.rules)
        : { reason: 'type' as const, expected: '(nothing: the recording ends here)', actual: describe(frame) };
      if (mismatch) this.divergence = { peerFrame: position, recordedIndex: expected?.index ?? null, mismatch };
    }
    this.hooks?.peerFrame(frame);
    if (frame.type === 'close') this.peerClosed = true;
    if (frame.type === 'close' && this.expectedPeer[position]?.type !== 'close') this.answerEarlyClose(frame);
    this.wake?.();
  }

  /**
   * The peer closes where the recording did not: the script cannot go on. RFC 6455 §5.5.1: an
   * endpoint answers a close with a close, so echo its code, and end the connection.
   */
  private answerEarlyClose(frame: FrameView): void {
    if (this.stopped) return;
    this.stopped = true;
    this.closeSent = true;
    const code = frame.code !== undefined && isValidWireCloseCode(frame.code) ? frame.code : CloseCode.NormalClosure;
    this.io.send(encodeFrame({ opcode: Opcode.Close, payload: encodeClosePayload(code), ...(this.options.side === 'client' ? { mask: true } : {}) }));
    this.io.finish();
  }

  /** The peer closed the connection: stop waiting for it. */
  peerGone(): void {
    this.peerGoneFlag = true;
    this.wake?.();
  }

  /** Stop early (strict client mode at the first divergence, or shutdown). */
  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  get firstDivergence(): Divergence | null {
    return this.divergence;
  }

  /** Play our side; resolves when it is done. */
  async play(): Promise<PlayerResult> {
    const { speed } = this.options;
    const scale = (seconds: number): number => (Number.isFinite(speed) ? (seconds * 1000) / speed : 0);
    // The anchor: the last peer frame (or the start), in the recording and in this replay.
    let anchorReplay = now();
    let anchorRecorded = this.conversation.frames[0]?.elapsed ?? this.conversation.connection.elapsed;
    // The event just before the next frame, for the gap samples.
    let previousReplay = anchorReplay;
    let previousRecorded = anchorRecorded;
    let peerSeen = 0;
    let sent = 0;
    let missing = 0;
    // Our message being sent, when a hook decided it: its frames and the delay they share.
    let current: { frames: FrameEntry[]; delayMs: number } | null = null;
    const gaps: GapSample[] = [];

    for (const frame of this.conversation.frames) {
      if (this.stopped) break;
      if (frame.dir !== this.ours) {
        const arrived = await this.waitForPeer(peerSeen + 1);
        if (!arrived) {
          missing = this.expectedPeer.length - this.arrivals.length;
          if (this.peerGoneFlag || this.stopped) break;
          // A bounded wait ran out (client mode): go on as if it had come.
          anchorReplay = now();
        } else {
          anchorReplay = this.arrivals[peerSeen]!;
        }
        peerSeen += 1;
        anchorRecorded = frame.elapsed;
        previousReplay = anchorReplay;
        previousRecorded = anchorRecorded;
        continue;
      }
      if (this.skipped.has(frame)) continue;
      // The recorded pong that answers a ping a hook silenced (--no-pong): not sent.
      if (frame.type === 'pong' && this.hooks?.takeSilencedPing()) continue;
      const message = this.hooks?.messageAt(frame);
      const due = anchorReplay + scale(frame.elapsed - anchorRecorded) + (current?.frames.includes(frame) ? current.delayMs : 0);
      await sleep(due - now());
      if (this.stopped) break;
      let bytes: Uint8Array | null;
      if (message) {
        const decided = await this.decide(message, due);
        if (this.stopped) break;
        // A replaced or dropped message is done with its first frame (the rest are skipped).
        current = { frames: decided.whole ? message.frames : [frame], delayMs: decided.delayMs };
        bytes = decided.bytes;
      } else {
        bytes = this.outgoing.encode(frame);
      }
      const sentAt = now();
      if (bytes) {
        this.io.send(bytes);
        sent += 1;
        if (frame.type === 'close') this.closeSent = true;
      }
      // The actions hooks took while this message was decided and sent run after its last frame.
      if (current && current.frames[current.frames.length - 1] === frame) {
        current = null;
        this.hooks?.release();
      }
      gaps.push({ recorded: (frame.elapsed - previousRecorded) * 1000, replayed: sentAt - previousReplay });
      previousReplay = sentAt;
      previousRecorded = frame.elapsed;
    }

    const endAt = this.conversation.end ? anchorReplay + scale(this.conversation.end.elapsed - anchorRecorded) - now() : 0;
    if (this.endedBy?.action === 'close') await this.waitForCloseAnswer();
    else await this.endAsRecorded(endAt);
    await this.hooks?.settled();
    return { sent, received: this.arrivals.length, divergence: this.divergence, missing, gaps, ...(this.endedBy ? { endedBy: this.endedBy } : {}) };
  }

  /**
   * Decide one of our messages, due at `due`; its bytes (null: dropped) once the delay is over.
   * The delay counts from when the message was due, not from when the one before it went out: a
   * steady latency keeps the recorded gaps instead of adding up.
   */
  private async decide(message: RecordedMessage, due: number): Promise<{ bytes: Uint8Array | null; delayMs: number; whole: boolean }> {
    const decision = await this.hooks!.decide(message);
    const { delayMs } = decision;
    if (decision.outcome !== 'unchanged') for (const fragment of message.frames.slice(1)) this.skipped.add(fragment);
    await sleep(due + delayMs - now());
    if (decision.outcome === 'dropped') return { bytes: null, delayMs, whole: false };
    if (decision.outcome === 'replaced' && decision.payload) return { bytes: this.encodePayload(decision.payload), delayMs, whole: false };
    // Unchanged: its recorded frames, fragmentation kept.
    return { bytes: this.outgoing.encode(message.frames[0]!), delayMs, whole: true };
  }

  /** A message of a hook's, as one frame (compressed alone when the connection uses deflate). */
  private encodePayload(payload: Payload): Uint8Array {
    const content = payload.type === 'text' ? Buffer.from(payload.text, 'utf8') : payload.data;
    const opcode = payload.type === 'text' ? Opcode.Text : Opcode.Binary;
    const mask = this.options.side === 'client' ? { mask: true } : {};
    if (this.options.deflate) return encodeFrame({ opcode, payload: deflateMessage(content), rsv1: true, ...mask });
    return encodeFrame({ opcode, payload: content, ...mask });
  }

  /** ctx.send towards the live peer. */
  private inject(payload: Payload): void {
    if (this.closeSent || this.endedBy) {
      this.io.warn?.('wstape: warning: ctx.send ignored: the connection is closing');
      return;
    }
    this.io.send(this.encodePayload(payload));
  }

  /** ctx.close: our close frame now; play() then waits for the peer's answer and ends. */
  private closeNow(code: number, reason: string): void {
    if (this.closeSent || this.endedBy) return;
    this.closeSent = true;
    this.stopped = true;
    this.endedBy = { action: 'close', code, reason };
    this.io.send(encodeFrame({ opcode: Opcode.Close, payload: encodeClosePayload(code, reason), ...(this.options.side === 'client' ? { mask: true } : {}) }));
    this.wake?.();
  }

  /** ctx.abort: drop the TCP connection, no close frame (the peer sees 1006). */
  private abortNow(): void {
    if (this.endedBy?.action === 'abort') return;
    this.stopped = true;
    this.endedBy = { action: 'abort' };
    this.io.drop();
    this.wake?.();
  }

  /**
   * RFC 6455 §7.1.2: after sending a close frame, wait for the peer's close, then end the TCP
   * connection; a peer that never answers is dropped after CLOSE_ANSWER_TIMEOUT_MS.
   */
  private async waitForCloseAnswer(): Promise<void> {
    const deadline = now() + CLOSE_ANSWER_TIMEOUT_MS;
    while (!this.peerClosed && !this.peerGoneFlag) {
      const left = deadline - now();
      if (left <= 0) {
        this.io.drop();
        return;
      }
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
      this.wake = null;
    }
    if (!this.peerGoneFlag) this.io.finish();
  }

  /** Reproduce the recorded end: drop the TCP connection (1006) or finish after the close. */
  private async endAsRecorded(delayMs: number): Promise<void> {
    const end = this.conversation.end;
    if (this.stopped || !end) return;
    if (end.closeCode === CloseCode.AbnormalClosure && end.droppedBy === this.options.side) {
      await sleep(delayMs);
      this.io.drop();
      return;
    }
    if (end.droppedBy === this.options.side) this.io.finish();
  }

  /** Wait until `count` peer frames have arrived; false if the peer left or a wait timed out. */
  private async waitForPeer(count: number): Promise<boolean> {
    const deadline = this.options.timeoutMs === undefined ? Infinity : now() + this.options.timeoutMs;
    while (this.arrivals.length < count) {
      if (this.peerGoneFlag || this.stopped) return false;
      const left = deadline - now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        if (Number.isFinite(left)) timer = setTimeout(resolve, left);
      });
      // A pending timer would keep the process alive for --timeout after the session ends.
      clearTimeout(timer);
      this.wake = null;
    }
    return true;
  }
}

function describe(frame: FrameView): string {
  if (frame.text !== undefined) return `${frame.type} ${frame.text.slice(0, 200)}`;
  if (frame.type === 'close') return `close ${frame.code ?? ''} ${frame.reason ?? ''}`.trim();
  return `${frame.type} ${Buffer.from(frame.data ?? '', 'base64').length} B`;
}

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
 */
import type { FrameEntry } from '../format/schema.js';
import type { Conversation } from './recording.js';
import { compareFrames, type FrameMismatch, type FrameView, type IgnoreRules } from './match.js';
import { OutgoingFrames } from './outgoing.js';
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
}

export interface PlayerIo {
  send(bytes: Uint8Array): void;
  /** Drop the TCP connection without a close frame (a recorded abnormal end on our side). */
  drop(): void;
  /** The close handshake is over on our side: end the TCP connection as the recording did. */
  finish(): void;
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
}

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

  constructor(
    private readonly conversation: Conversation,
    private readonly options: PlayerOptions,
    private readonly io: PlayerIo,
  ) {
    this.ours = directionOf(options.side);
    this.expectedPeer = conversation.frames.filter((frame) => frame.dir !== this.ours);
    this.outgoing = new OutgoingFrames({ mask: options.side === 'client', deflate: options.deflate });
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
      await sleep(anchorReplay + scale(frame.elapsed - anchorRecorded) - now());
      if (this.stopped) break;
      const bytes = this.outgoing.encode(frame);
      const sentAt = now();
      if (bytes) {
        this.io.send(bytes);
        sent += 1;
      }
      gaps.push({ recorded: (frame.elapsed - previousRecorded) * 1000, replayed: sentAt - previousReplay });
      previousReplay = sentAt;
      previousRecorded = frame.elapsed;
    }

    const endAt = this.conversation.end ? anchorReplay + scale(this.conversation.end.elapsed - anchorRecorded) - now() : 0;
    await this.endAsRecorded(endAt);
    return { sent, received: this.arrivals.length, divergence: this.divergence, missing, gaps };
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

/**
 * The hooks of --script and of the replay fault flags, applied to a replay (docs/HOOKS.md).
 *
 * On replay there is one live peer; the other side is the recording. So:
 * - each message the replayer is about to send goes through onMessage, which may replace, drop or
 *   delay it (the chain's decision);
 * - each message the live peer sends goes through onMessage too, for its context actions; its
 *   verdict is ignored, as there is nothing to forward it to;
 * - each ping or pong the live peer sends goes through onControl; null for a ping means the
 *   replayer does not answer it (the recorded pong that follows it is not sent);
 * - `ctx.send(dir, …)` reaches the live peer only in the replayer's own direction ("in" as a
 *   server, "out" as a client); the other direction has no one to go to: a warning, nothing sent.
 *
 * Actions a hook takes while one of the replayer's messages is being decided or sent (`ctx.send`,
 * `ctx.close`, `ctx.abort`) are held until that message is sent or dropped, so an injected
 * message never lands inside a fragmented one (RFC 6455 §5.4) and `close` after N messages comes
 * after the Nth. Failures never throw: each is one warning line naming the hook.
 */
import type { FrameEntry } from '../format/schema.js';
import type { HookChain, HookFailure, MessageDecision, Payload } from '../intervene/chain.js';
import type { ConnectionInfo, Direction, Message, MessageContext } from '../intervene/hooks.js';
import { isValidWireCloseCode } from '../wire/close-codes.js';
import { MessageAssembler, MessageTracker } from '../wire/message-assembler.js';
import { otherDirection } from '../wire/side.js';
import type { FrameView } from './match.js';
import { payloadOf } from './outgoing.js';
import type { Conversation } from './recording.js';

/** What the hooks can make the player do. */
export interface ReplayActions {
  /** Send a message to the live peer now. */
  inject(payload: Payload): void;
  /** Send a close frame with this code and reason, then end after the close handshake. */
  close(code: number, reason: string): void;
  /** Drop the TCP connection, no close frame (the peer sees 1006). */
  abort(): void;
  /** One line for stderr. */
  warn(line: string): void;
}

/** One of the replayer's recorded messages: its frames in order and its whole payload. */
export interface RecordedMessage {
  /** Position among the replayer's recorded messages, from 0 (Message.index). */
  index: number;
  frames: FrameEntry[];
  payload: Payload;
}

interface PeerFrame {
  type: FrameView['type'];
  fin: boolean;
  size: number;
  wireSize: number;
  bytes: Uint8Array;
}

/** RFC 6455 §5.5: a control frame's payload is 125 bytes at most, 2 of them the close code. */
const MAX_CLOSE_REASON_BYTES = 123;

export class ReplayHooks {
  readonly ctx: MessageContext;
  private readonly messages = new Map<FrameEntry, RecordedMessage>();
  private readonly peer = new MessageAssembler<PeerFrame>({ payload: (frame) => frame.bytes });
  private readonly peerDir: Direction;
  private peerIndex = 0;
  private peerHooks: Promise<void> = Promise.resolve();
  /** Inside a message being decided or sent: ctx actions wait in `held`. */
  private holding = false;
  private readonly held: Array<() => void> = [];
  private silencedPings = 0;

  constructor(
    private readonly chain: HookChain,
    private readonly conversation: Conversation,
    private readonly ours: Direction,
    private readonly actions: ReplayActions,
  ) {
    this.peerDir = otherDirection(ours);
    this.ctx = {
      connection: connectionInfo(conversation),
      send: (dir, payload) => this.whenFree(() => this.send(dir, payload)),
      close: (code, reason) => this.whenFree(() => this.close(code, reason)),
      abort: () => this.whenFree(() => this.actions.abort()),
      state: {},
    };
    if (chain.watchesMessages) this.indexMessages();
  }

  /** The recorded message of ours that begins with this frame (only when a hook reads messages). */
  messageAt(frame: FrameEntry): RecordedMessage | undefined {
    return this.messages.get(frame);
  }

  /** Run onMessage on one of our messages, due now. Actions the hooks take wait for release(). */
  async decide(message: RecordedMessage): Promise<MessageDecision> {
    this.holding = true;
    const base = { conn: this.conversation.connection.id, dir: this.ours, index: message.index, time: new Date().toISOString() };
    const view: Message =
      message.payload.type === 'text' ? { ...base, type: 'text', text: message.payload.text } : { ...base, type: 'binary', data: message.payload.data };
    const decision = await this.chain.decideMessage(view, this.ctx);
    this.report(decision.failures);
    return decision;
  }

  /** The message being decided is sent, or dropped: the actions held meanwhile run now, in order. */
  release(): void {
    this.holding = false;
    for (const action of this.held.splice(0)) action();
  }

  /** A frame from the live peer: control frames to onControl now, messages to onMessage in order. */
  peerFrame(frame: FrameView): void {
    if (frame.type === 'ping' || frame.type === 'pong') {
      const decision = this.chain.decideControl({ conn: this.conversation.connection.id, dir: this.peerDir, type: frame.type, data: bytesOf(frame) }, this.ctx);
      this.report(decision.failures);
      if (decision.drop && frame.type === 'ping') this.silencedPings += 1;
      return;
    }
    if (!this.chain.watchesMessages) return;
    const bytes = bytesOf(frame);
    const pushed = this.peer.push({ type: frame.type, fin: frame.fin ?? true, size: bytes.length, wireSize: bytes.length, bytes });
    for (const event of pushed) {
      if (event.type !== 'message') continue;
      const base = { conn: this.conversation.connection.id, dir: this.peerDir, index: this.peerIndex++, time: new Date().toISOString() };
      const payload = event.message.payload;
      const message: Message =
        event.message.type === 'text' ? { ...base, type: 'text', text: Buffer.from(payload).toString('utf8') } : { ...base, type: 'binary', data: payload };
      // One at a time, in arrival order; the verdict has nothing to apply to.
      this.peerHooks = this.peerHooks.then(async () => this.report((await this.chain.decideMessage(message, this.ctx)).failures));
    }
  }

  /** Whether the next recorded pong answers a ping that onControl silenced (then it is not sent). */
  takeSilencedPing(): boolean {
    if (this.silencedPings === 0) return false;
    this.silencedPings -= 1;
    return true;
  }

  /** The live peer's messages that are still with their hooks. */
  async settled(): Promise<void> {
    await this.peerHooks;
  }

  private whenFree(action: () => void): void {
    if (this.holding) this.held.push(action);
    else action();
  }

  private send(dir: Direction, payload: string | Uint8Array): void {
    if (dir !== this.ours) {
      const peer = this.ours === 'in' ? 'client' : 'server';
      this.actions.warn(`wstape: warning: ctx.send("${dir}") ignored: on this replay only "${this.ours}" reaches the live ${peer}`);
      return;
    }
    if (typeof payload === 'string') this.actions.inject({ type: 'text', text: payload });
    else if (payload instanceof Uint8Array) this.actions.inject({ type: 'binary', data: payload });
    else this.actions.warn('wstape: warning: ctx.send ignored: the payload must be a string or a Uint8Array');
  }

  private close(code = 1000, reason = ''): void {
    // RFC 6455 §7.4: 1005, 1006 and 1015 (and unassigned codes) never go on the wire.
    if (typeof code !== 'number' || !isValidWireCloseCode(code)) {
      this.actions.warn(`wstape: warning: ctx.close(${String(code)}) ignored: not a close code a close frame may carry (use ctx.abort() for 1006)`);
      return;
    }
    if (typeof reason !== 'string' || Buffer.byteLength(reason, 'utf8') > MAX_CLOSE_REASON_BYTES) {
      this.actions.warn(`wstape: warning: ctx.close ignored: the reason must be a string of at most ${MAX_CLOSE_REASON_BYTES} UTF-8 bytes`);
      return;
    }
    this.actions.close(code, reason);
  }

  private report(failures: readonly HookFailure[]): void {
    for (const failure of failures) {
      const text = failure.message.startsWith(failure.hook) ? failure.message : `${failure.hook}: ${failure.message}`;
      this.actions.warn(`wstape: warning: ${text} (${failure.code}); the replay goes on as if it returned nothing`);
    }
  }

  /** Group our recorded frames into messages, keyed by each message's first frame. */
  private indexMessages(): void {
    const tracker = new MessageTracker();
    let open: FrameEntry[] | null = null;
    let index = 0;
    const finish = (frames: FrameEntry[], type: 'text' | 'binary'): void => {
      const bytes = Buffer.concat(frames.map((frame) => payloadOf(frame)));
      const payload: Payload = type === 'text' ? { type: 'text', text: bytes.toString('utf8') } : { type: 'binary', data: new Uint8Array(bytes) };
      this.messages.set(frames[0]!, { index: index++, frames, payload });
    };
    for (const frame of this.conversation.frames) {
      if (frame.dir !== this.ours) continue;
      const place = tracker.place(frame);
      if (place.position === 'whole') finish([frame], place.messageType);
      else if (place.position === 'first') open = [frame];
      else if (open && (place.position === 'middle' || place.position === 'final')) {
        open.push(frame);
        if (place.position === 'final') {
          finish(open, place.messageType);
          open = null;
        }
      }
    }
  }
}

/** What hooks are told of the recorded connection being replayed. */
function connectionInfo(conversation: Conversation): ConnectionInfo {
  const entry = conversation.connection;
  const headers = entry.request?.headers ?? [];
  const offered = headers.find(([name]) => name.toLowerCase() === 'sec-websocket-protocol')?.[1];
  return {
    id: entry.id,
    url: entry.url,
    headers: headers.map((pair): [string, string] => [pair[0], pair[1]]),
    protocols: offered ? offered.split(',').map((protocol) => protocol.trim()) : [],
    subprotocol: entry.subprotocol ?? null,
  };
}

function bytesOf(frame: FrameView): Uint8Array {
  if (frame.text !== undefined) return Buffer.from(frame.text, 'utf8');
  return Buffer.from(frame.data ?? '', 'base64');
}

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
 *
 * A TLS socket hands over what it decrypted one TLS record at a time, each in a callback of its
 * own: a burst of small messages, one record each, would then cost a write(2) to the archive and
 * an encryption and write(2) to the other peer per message, where a plain socket brings them in
 * one read (issue 13; BENCHMARKS.md has what it buys). So on the byte-exact path the
 * records a TLS socket brings in one event-loop turn are joined and go to the core as one chunk
 * at the end of the turn (setImmediate, before the loop next waits for I/O), in the order the
 * sides sent them; an end, error or close of either socket first hands over what is held.
 *
 * With hooks (--script, flags), the adapter also runs them when the core asks about a message:
 * hooks that answer with plain values decide at once, and the chunk's messages go out together;
 * an async hook answers later (a `decided` event), and while a direction waits its socket is
 * paused, so a slow hook holds back only its own connection and direction. `wstape send` and `wstape close`
 * reach the connection through the LiveConnections registry, and become events like any other.
 */
import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import type { AppendHint } from '../format/archive-writer.js';
import type { ConnectionEntry } from '../format/schema.js';
import type { HookChain, MessageDecision } from '../intervene/chain.js';
import type { Actor, ConnectionInfo, Direction, Message, MessageContext } from '../intervene/hooks.js';
import type { LiveConnections } from '../intervene/live.js';
import { CloseCode } from '../wire/close-codes.js';
import { otherSide, type Side } from '../wire/side.js';
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
  /** The connection entry (for the hooks' ConnectionInfo). */
  connection?: ConnectionEntry;
  /** --script hooks and flags; null or absent: the byte-exact path. */
  hooks?: HookChain | null;
  /** Where the connection registers for `wstape send` and `wstape close`. */
  live?: LiveConnections;
}

export class WebSocketRelay {
  private readonly recorder: Recorder;
  private readonly id: string;
  private readonly sockets: Record<Side, Duplex>;
  private readonly core: WebSocketRelayCore;
  private readonly onDone: (() => void) | undefined;
  private readonly hooks: HookChain | null;
  private readonly live: LiveConnections | undefined;
  private readonly info: ConnectionInfo;
  private readonly state: Record<string, unknown> = {};
  /** A side paused by the core while its messages wait for the hooks (a drain must not resume it). */
  private readonly held: Record<Side, boolean> = { client: false, server: false };
  private readonly timers = new Set<NodeJS.Timeout>();
  private done = false;
  /** TLS records held until the end of this event-loop turn, in arrival order, a run per side. */
  private joining: Array<{ side: Side; chunks: Buffer[] }> = [];
  private releasing: NodeJS.Immediate | null = null;

  constructor(options: WebSocketRelayOptions) {
    this.recorder = options.recorder;
    this.id = options.id;
    this.sockets = { client: options.client, server: options.upstream };
    this.onDone = options.onDone;
    this.hooks = options.hooks?.watchesMessages ? options.hooks : null;
    this.live = options.live;
    this.info = connectionInfo(options.id, options.connection);
    const hooks = this.hooks;
    this.core = new WebSocketRelayCore({
      recorder: options.recorder,
      id: options.id,
      deflate: options.deflate,
      intervention: hooks
        ? { control: (frame) => this.controlDecision(hooks, frame), message: (side, seq, message) => this.decide(hooks, side, seq, message) }
        : null,
    });
    this.live?.add({
      id: this.id,
      url: this.info.url,
      send: (dir, payload, by) => this.feed({ type: 'inject', dir, payload, by }),
      close: (code, reason, by) => this.feed({ type: 'close-both', code, reason, by }),
      abort: (by) => this.feed({ type: 'abort', by }),
    });

    // Frames that arrived with the handshake bytes: record, then forward, like any other chunk.
    if (options.serverBytes.length > 0) this.feed({ type: 'bytes', side: 'server', bytes: options.serverBytes });
    if (options.clientBytes.length > 0) this.feed({ type: 'bytes', side: 'client', bytes: options.clientBytes });

    this.listen('client');
    this.listen('server');
    if (hooks) {
      void hooks
        .open((by) => this.context(by))
        .then((failures) => {
          for (const failure of failures) if (!this.done) this.recorder.error(failure.code, `${failure.message}: the connection went on`, { conn: this.id });
        });
    }
    // The previous owner paused both sockets while handing them over.
    options.client.resume();
    options.upstream.resume();
  }

  /** Stop now (the recording is stopping): close both sockets and record the end. */
  shutdown(): void {
    this.release();
    this.feed({ type: 'stop' });
  }

  private listen(side: Side): void {
    const socket = this.sockets[side];
    // With hooks the core pauses and resumes sides itself: chunks go to it as they come.
    const join = socket instanceof TLSSocket && this.hooks === null;
    socket.on('data', join ? (chunk: Buffer) => this.hold(side, chunk) : (chunk: Buffer) => this.feed({ type: 'bytes', side, bytes: chunk }));
    socket.on('end', () => this.afterHeld({ type: 'ended', side }));
    socket.on('error', () => this.afterHeld({ type: 'failed', side }));
    socket.on('close', () => this.afterHeld({ type: 'closed', side }));
  }

  private hold(side: Side, chunk: Buffer): void {
    const last = this.joining[this.joining.length - 1];
    if (last?.side === side) last.chunks.push(chunk);
    else this.joining.push({ side, chunks: [chunk] });
    this.releasing ??= setImmediate(() => this.release());
  }

  /** Hands the held chunks to the core, each side's run joined into one. */
  private release(): void {
    if (this.releasing !== null) {
      clearImmediate(this.releasing);
      this.releasing = null;
    }
    const runs = this.joining;
    if (runs.length === 0) return;
    this.joining = [];
    for (const { side, chunks } of runs) this.feed({ type: 'bytes', side, bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) });
  }

  private afterHeld(event: RelayEvent): void {
    this.release();
    this.feed(event);
  }

  private feed(event: RelayEvent): void {
    if (this.done) return;
    for (const action of this.core.handle(event)) this.perform(action, event);
  }

  /** What a hook may do to this connection, in the name of `by`. */
  private context(by: Actor): MessageContext {
    return {
      connection: this.info,
      state: this.state,
      send: (dir: Direction, payload: string | Uint8Array) => {
        if (typeof payload === 'string' || payload instanceof Uint8Array) queueMicrotask(() => this.feed({ type: 'inject', dir, payload, by }));
      },
      close: (code: number = CloseCode.NormalClosure, reason = '') => queueMicrotask(() => this.feed({ type: 'close-both', code, reason, by })),
      abort: () => queueMicrotask(() => this.feed({ type: 'abort', by })),
    };
  }

  private controlDecision(hooks: HookChain, frame: Parameters<NonNullable<HookChain['decideControl']>>[0]): { drop: boolean; by: Actor | null } {
    const decision = hooks.decideControl(frame, (by) => this.context(by));
    for (const failure of decision.failures)
      this.recorder.error(failure.code, `${failure.message} (a ${frame.type}): forwarded unchanged`, { conn: this.id, dir: frame.dir });
    return decision;
  }

  /** The hooks' decision now, or null and a `decided` event once a hook's promise settles. */
  private decide(hooks: HookChain, side: Side, seq: number, message: Message): MessageDecision | null {
    const decision = hooks.decideMessage(message, (by) => this.context(by));
    if (!(decision instanceof Promise)) return decision;
    void decision.then((settled) => this.feed({ type: 'decided', side, seq, decision: settled }));
    return null;
  }

  private perform(action: RelayAction, event: RelayEvent): void {
    switch (action.type) {
      case 'forward': {
        const to = this.sockets[action.to];
        // Backpressure: a slow reader on the other side pauses this one (as stream.pipe does).
        const from = otherSide(action.to);
        if (event.type === 'bytes' || this.held[from]) forward(this.sockets[from], to, action.bytes, () => !this.held[from]);
        else to.write(action.bytes);
        break;
      }
      case 'set-timer': {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          this.feed({ type: 'timer', side: action.side, seq: action.seq });
        }, action.ms);
        this.timers.add(timer);
        break;
      }
      case 'pause':
        this.held[action.side] = true;
        this.sockets[action.side].pause();
        break;
      case 'resume':
        this.held[action.side] = false;
        this.sockets[action.side].resume();
        break;
      case 'record':
        this.recorder.append(
          action.entry,
          action.textBytes !== undefined
            ? { ascii: action.ascii === true, flushing: action.flush, textBytes: action.textBytes }
            : HINTS[action.ascii === true ? 1 : 0]![action.flush ? 1 : 0],
        );
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
        this.done = true;
        for (const timer of this.timers) clearTimeout(timer);
        this.live?.remove(this.id);
        this.onDone?.();
        break;
    }
  }
}

/** The writer's hints by [ascii][flush], made once (one per frame otherwise). */
const HINTS: readonly (readonly AppendHint[])[] = [
  [{}, { flushing: true }],
  [{ ascii: true }, { ascii: true, flushing: true }],
];

function connectionInfo(id: string, connection: ConnectionEntry | undefined): ConnectionInfo {
  const headers = connection?.request.headers ?? [];
  const offered = headers.filter(([name]) => name.toLowerCase() === 'sec-websocket-protocol').flatMap(([, value]) => value.split(','));
  return {
    id,
    url: connection?.url ?? '',
    headers: headers.map(([name, value]): [string, string] => [name, value]),
    protocols: offered.map((protocol) => protocol.trim()).filter((protocol) => protocol !== ''),
    subprotocol: connection?.subprotocol ?? null,
  };
}

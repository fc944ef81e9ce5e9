/**
 * The socket side of one client connection to the recording proxy: a thin adapter around the
 * sans-io HttpProxyCore (http-proxy-core.ts), which makes every decision. The adapter turns
 * socket events into core events and carries out the core's actions: it opens upstream
 * connections, writes with backpressure, pauses and resumes the client, runs the timers the core
 * asks for, closes sockets, writes entries to the recorder, and finally hands both sockets to a
 * WebSocket relay, an opaque tunnel or TLS interception.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { forward } from './backpressure.js';
import { interceptTls } from './tls-intercept.js';
import type { ProxyContext, Route, Stoppable } from './context.js';
import type { HookChain, HookFailure } from '../intervene/chain.js';
import {
  HttpProxyCore,
  type HookAnswer,
  type HookQuestion,
  type HookWatch,
  type HttpRoute,
  type ProxyAction,
  type ProxyEvent,
  type ProxyTimer,
} from './http-proxy-core.js';
import { relayTunnel } from './tunnel-relay.js';
import { connectUpstream, readyEvent } from './upstream.js';
import { WebSocketRelay } from './websocket-relay.js';

type ClientStream = Duplex & { remoteAddress?: string; remotePort?: number };

/** The listeners the adapter puts on one upstream socket, kept so they can be taken off again. */
interface UpstreamListeners {
  ready: () => void;
  data: (chunk: Buffer) => void;
  end: () => void;
  error: (error: NodeJS.ErrnoException) => void;
  close: () => void;
}

export class HttpSession implements Stoppable {
  private readonly ctx: ProxyContext;
  private readonly client: ClientStream;
  private readonly core: HttpProxyCore;
  private upstream: Socket | null = null;
  private upstreamListeners: UpstreamListeners | null = null;
  /** Set once the sockets were handed on (or are closing); this session is then inert. */
  private handedOff = false;
  /** The core holds bytes the client sent and wants it paused (backpressure must not resume it). */
  private clientHeld = false;
  /** The same for the upstream (only while onResponse decides). */
  private upstreamHeld = false;
  private readonly timers = new Map<ProxyTimer, NodeJS.Timeout>();
  private readonly untrack: () => void;
  private readonly onClientData = (chunk: Buffer): void => this.feed({ type: 'client-bytes', bytes: chunk });
  private readonly onClientEnd = (): void => this.feed({ type: 'client-ended' });
  private readonly onClientGone = (): void => this.feed({ type: 'client-closed' });

  constructor(ctx: ProxyContext, client: ClientStream, route: Route, initialBytes: Uint8Array = new Uint8Array(0)) {
    this.ctx = ctx;
    this.client = client;
    const connected = route.kind === 'fixed' ? route.connected : undefined;
    this.core = new HttpProxyCore({
      recorder: ctx.recorder,
      route: coreRoute(route),
      client: { address: client.remoteAddress ?? '', port: client.remotePort ?? 0 },
      passThrough: ctx.tls.passThrough,
      isOwnAddress: ctx.isOwnAddress,
      limits: ctx.limits,
      ...(ctx.hooks ? { hooks: hookWatch(ctx.hooks) } : {}),
      ...(connected ? { upstream: route.kind === 'fixed' && route.tunnel ? 'tunnel' : isReady(connected) ? 'connected' : 'connecting' } : {}),
    });
    this.untrack = ctx.track(this);
    if (connected) this.adoptUpstream(connected);
    client.on('data', this.onClientData);
    client.on('end', this.onClientEnd);
    client.on('error', this.onClientGone);
    client.on('close', this.onClientGone);
    this.performAll(this.core.start());
    if (initialBytes.length > 0) this.feed({ type: 'client-bytes', bytes: initialBytes });
    if (!this.handedOff) {
      if (!this.clientHeld) client.resume();
      this.upstream?.resume();
    }
  }

  shutdown(): void {
    this.clearTimers();
    this.client.destroy();
    this.upstream?.destroy();
  }

  private feed(event: ProxyEvent): void {
    if (this.handedOff) return;
    this.performAll(this.core.handle(event));
  }

  private performAll(actions: ProxyAction[]): void {
    for (const action of actions) this.perform(action);
  }

  private perform(action: ProxyAction): void {
    const recorder = this.ctx.recorder;
    switch (action.type) {
      case 'connect':
        this.upstreamHeld = false;
        this.dropUpstream();
        this.adoptUpstream(connectUpstream(action.address, action.tls, undefined, this.ctx.tls.upstreamProxies));
        break;
      case 'write':
        if (action.to === 'upstream') {
          if (this.upstream) forward(this.client, this.upstream, action.bytes, this.mayResumeClient);
        } else if (!this.client.destroyed && !this.client.writableEnded) {
          if (this.upstream) forward(this.upstream, this.client, action.bytes, this.mayResumeUpstream);
          else this.client.write(action.bytes);
        }
        break;
      case 'pause':
      case 'resume':
        if (action.side === 'upstream') {
          // Only while onResponse decides, for a server that sends past its response.
          this.upstreamHeld = action.type === 'pause';
          if (this.upstreamHeld) this.upstream?.pause();
          else if (!this.client.writableNeedDrain) this.upstream?.resume();
          break;
        }
        this.clientHeld = action.type === 'pause';
        if (this.clientHeld) this.client.pause();
        else if (!this.upstream?.writableNeedDrain) this.client.resume();
        break;
      case 'set-timer': {
        clearTimeout(this.timers.get(action.timer));
        const timer = setTimeout(() => {
          this.timers.delete(action.timer);
          this.feed({ type: 'timeout', timer: action.timer });
        }, action.ms);
        timer.unref();
        this.timers.set(action.timer, timer);
        break;
      }
      case 'clear-timer':
        clearTimeout(this.timers.get(action.timer));
        this.timers.delete(action.timer);
        break;
      case 'close': {
        const socket = action.side === 'client' ? this.client : this.upstream;
        if (!socket) break;
        if (action.how === 'destroy') socket.destroy();
        else if (!socket.writableEnded) socket.end();
        break;
      }
      case 'record':
        recorder.append(action.entry);
        recorder.flush();
        break;
      case 'error':
        recorder.error(action.code, action.message, action.conn !== undefined ? { conn: action.conn } : {});
        break;
      case 'ask-hooks':
        void this.ask(action.question);
        break;
      case 'websocket':
      case 'tunnel': {
        // The relay options both kinds share: the sockets, the early bytes, and the end.
        const { id, clientBytes, serverBytes } = action;
        const shared = { recorder, id, client: this.client, upstream: this.handOff(), clientBytes, serverBytes, onDone: () => untrack() };
        const relay =
          action.type === 'websocket'
            ? new WebSocketRelay({ ...shared, deflate: action.deflate, connection: action.connection, hooks: this.ctx.hooks, live: this.ctx.live })
            : relayTunnel(shared);
        const untrack = this.ctx.track(relay);
        break;
      }
      case 'intercept-tls': {
        const upstream = this.handOff();
        void interceptTls(this.ctx, this.client as Socket, upstream, action.address, action.hello);
        break;
      }
      case 'release':
        this.handOff();
        // Both sockets are ending or gone; let the client read to its end so its socket closes.
        this.client.resume();
        break;
    }
  }

  /**
   * Run the hook chain on the core's question and feed its decision back. HookChain contains
   * every failure of a hook; should it fail itself, the core still gets an answer (a HOOK_ERROR).
   */
  private async ask(question: HookQuestion): Promise<void> {
    let answer: HookAnswer;
    try {
      answer = await decide(this.ctx.hooks, question);
    } catch (error) {
      answer = answerOf(question, {
        by: null,
        failures: [{ code: 'HOOK_ERROR', hook: `wstape ${question.hook} hooks`, message: error instanceof Error ? error.message : String(error) }],
      });
    }
    this.feed({ type: 'hooks-answered', answer });
  }

  /** Backpressure from the upstream may resume the client only when the core does not hold it. */
  private readonly mayResumeClient = (): boolean => !this.clientHeld;
  /** Nor the upstream, from the client, while the core holds what it sent. */
  private readonly mayResumeUpstream = (): boolean => !this.upstreamHeld;

  private clearTimers(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private adoptUpstream(socket: Socket): void {
    const listeners: UpstreamListeners = {
      ready: () =>
        this.feed({
          type: 'upstream-connected',
          ...(socket.remoteAddress !== undefined ? { remote: { address: socket.remoteAddress, port: socket.remotePort ?? 0 } } : {}),
        }),
      data: (chunk) => this.feed({ type: 'upstream-bytes', bytes: chunk }),
      end: () => this.feed({ type: 'upstream-ended' }),
      error: (error) => this.feed({ type: 'upstream-failed', error }),
      close: () => this.feed({ type: 'upstream-failed', error: null }),
    };
    this.upstream = socket;
    this.upstreamListeners = listeners;
    if (!isReady(socket)) socket.once(readyEvent(socket), listeners.ready);
    socket.on('data', listeners.data);
    socket.on('end', listeners.end);
    socket.on('error', listeners.error);
    socket.on('close', listeners.close);
  }

  /** Stop listening to the upstream socket; an unhandled 'error' would crash the recorder. */
  private detachUpstream(): void {
    const socket = this.upstream;
    const listeners = this.upstreamListeners;
    if (!socket || !listeners) return;
    socket.removeListener(readyEvent(socket), listeners.ready);
    socket.removeListener('data', listeners.data);
    socket.removeListener('end', listeners.end);
    socket.removeListener('error', listeners.error);
    socket.removeListener('close', listeners.close);
    socket.on('error', () => {});
    this.upstreamListeners = null;
  }

  /** The core connects elsewhere: the old upstream is closed for good. */
  private dropUpstream(): void {
    this.detachUpstream();
    this.upstream?.destroy();
    this.upstream = null;
  }

  /**
   * Stop listening on both sockets: another relay owns them now (or they are closing). They stay
   * paused until the next owner attaches its listeners and resumes, so no byte is dropped.
   * Returns the upstream socket, which the core only hands on while one is open.
   */
  private handOff(): Socket {
    this.handedOff = true;
    this.clearTimers();
    this.client.pause();
    this.upstream?.pause();
    this.client.removeListener('data', this.onClientData);
    this.client.removeListener('end', this.onClientEnd);
    this.client.removeListener('error', this.onClientGone);
    this.client.removeListener('close', this.onClientGone);
    this.client.on('error', () => {});
    this.detachUpstream();
    this.untrack();
    return this.upstream!;
  }
}

/** A socket that can carry requests now: TCP connected, and for TLS, the handshake done. */
function isReady(socket: Socket): boolean {
  return !(socket instanceof tls.TLSSocket) && !socket.connecting;
}

/** The route as the core sees it: without the socket the adapter owns. */
function coreRoute(route: Route): HttpRoute {
  if (route.kind === 'forward') return route;
  const { connected: _socket, tunnel: _tunnel, ...rest } = route;
  return rest;
}

/** Which hooks the core must ask, from the chain. */
function hookWatch(hooks: HookChain): HookWatch {
  return { connections: hooks.watchesConnections, requests: hooks.watchesRequests, responses: hooks.watchesResponses };
}

/** Ask the chain (the core asks only when the context has one; without, nothing changes). */
async function decide(hooks: HookChain | null, question: HookQuestion): Promise<HookAnswer> {
  if (!hooks) return answerOf(question, { by: null, failures: [] });
  switch (question.hook) {
    case 'connection':
      return { hook: 'connection', id: question.id, decision: await hooks.decideConnection(question.info) };
    case 'request':
      return { hook: 'request', id: question.id, decision: await hooks.decideRequest(question.request) };
    case 'response':
      return { hook: 'response', id: question.id, decision: await hooks.decideResponse(question.response, question.request) };
  }
}

/** A decision that changes nothing, as the answer to `question`. */
function answerOf(question: HookQuestion, decision: { by: null; failures: HookFailure[] }): HookAnswer {
  return { hook: question.hook, id: question.id, decision };
}

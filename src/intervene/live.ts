/**
 * The open WebSocket connections of a running recorder, by id, for acting on them from outside a
 * hook: `wstape send` and `wstape close` reach them through the control channel
 * (src/control/), which calls these methods. Each WebSocket relay registers itself when it starts
 * and leaves when it is done.
 */
import type { Actor, Direction } from './hooks.js';

/** What can be done to one open connection; the relay carries it out in order with its traffic. */
export interface LiveConnection {
  readonly id: string;
  readonly url: string;
  /** Inject a message: a string as text, bytes as binary; towards the server ("out") or the client ("in"). */
  send(dir: Direction, payload: string | Uint8Array, by: Actor): void;
  /** Close both sides with a close handshake (code default 1000). */
  close(code: number, reason: string, by: Actor): void;
  /** Drop both TCP connections without a close frame (each peer sees 1006). */
  abort(by: Actor): void;
}

export class LiveConnections {
  private readonly open = new Map<string, LiveConnection>();

  add(connection: LiveConnection): void {
    this.open.set(connection.id, connection);
  }

  remove(id: string): void {
    this.open.delete(id);
  }

  get(id: string): LiveConnection | undefined {
    return this.open.get(id);
  }

  /** The open connections, oldest first. */
  list(): LiveConnection[] {
    return [...this.open.values()];
  }
}

/**
 * Forwarding with backpressure, as stream.pipe does it: when the receiving side's buffer is full,
 * the sending side is paused until it drains. One drain listener per receiver at a time, however
 * many writes find it full.
 */
import type { Duplex } from 'node:stream';

const draining = new WeakSet<Duplex>();

/** Write `bytes` to `to`; if `to` is full, pause `from` until `to` drains. */
export function forward(from: Duplex, to: Duplex, bytes: Uint8Array): void {
  if (to.write(bytes)) return;
  from.pause();
  if (draining.has(to)) return;
  draining.add(to);
  to.once('drain', () => {
    draining.delete(to);
    from.resume();
  });
}

/**
 * Forwarding with backpressure, as stream.pipe does it: when the receiving side's buffer is full,
 * the sending side is paused until it drains. One drain listener per receiver at a time, however
 * many writes find it full.
 */
import type { Duplex } from 'node:stream';

const draining = new WeakSet<Duplex>();

/**
 * Write `bytes` to `to`; if `to` is full, pause `from` until `to` drains. `mayResume` lets the
 * caller keep `from` paused after the drain for a reason of its own (it resumes it later).
 */
export function forward(from: Duplex, to: Duplex, bytes: Uint8Array, mayResume?: () => boolean): void {
  if (to.write(bytes)) return;
  from.pause();
  if (draining.has(to)) return;
  draining.add(to);
  to.once('drain', () => {
    draining.delete(to);
    if (mayResume === undefined || mayResume()) from.resume();
  });
}

/**
 * `replay --slow-read RATE`: the replayer reads the live peer's bytes at most RATE bytes per
 * second. The socket is paused while the bytes it already gave wait their turn, so the kernel's
 * buffers fill and the peer's writes back up: a client under test sees backpressure (its
 * `bufferedAmount` grows, its writes return false).
 *
 * The schedule counts from the first byte of a burst: the bytes up to and including a slice are
 * handed on no earlier than (their total) / RATE seconds after it, so a burst's time never falls
 * short of size / RATE, whatever the chunk sizes and however late timers fire. Idle time earns no
 * credit: bytes that arrive after the schedule ran dry start a new burst.
 */

/** What is needed of the socket. */
export interface PausableSource {
  pause(): unknown;
  resume(): unknown;
}

/** Bytes handed on per timer: about a tenth of a second's worth, at most 16 KiB. */
const sliceBytes = (rate: number): number => Math.max(1, Math.min(16 * 1024, Math.floor(rate / 10)));

export class SlowReader {
  private readonly queue: Uint8Array[] = [];
  private start: number | null = null;
  private handed = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly source: PausableSource,
    private readonly bytesPerSecond: number,
    private readonly deliver: (bytes: Uint8Array) => void,
  ) {}

  /** Bytes the socket gave: held, and handed on at the rate. */
  push(bytes: Uint8Array): void {
    if (this.stopped || bytes.length === 0) return;
    const at = performance.now();
    // Idle since the last slice was due: no credit for the idle time, a new burst starts now.
    if (this.start === null || (this.queue.length === 0 && this.start + (this.handed * 1000) / this.bytesPerSecond < at)) {
      this.start = at;
      this.handed = 0;
    }
    const slice = sliceBytes(this.bytesPerSecond);
    for (let offset = 0; offset < bytes.length; offset += slice) this.queue.push(bytes.subarray(offset, offset + slice));
    this.source.pause();
    this.schedule();
  }

  /** The connection is gone: nothing more is handed on. */
  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.timer || this.stopped) return;
    const next = this.queue[0];
    if (!next) {
      this.source.resume();
      return;
    }
    const due = this.start! + ((this.handed + next.length) * 1000) / this.bytesPerSecond;
    // Timers count whole milliseconds: round up, so that a slice is never handed on early.
    this.timer = setTimeout(() => this.fire(), Math.max(0, Math.ceil(due - performance.now())));
  }

  private fire(): void {
    this.timer = null;
    const next = this.queue.shift();
    if (!next || this.stopped) return;
    this.handed += next.length;
    this.deliver(next);
    this.schedule();
  }
}

/**
 * How a HAR entry's message times become epoch microseconds, decided from all of its times
 * without keeping them: TimeStats gathers what the decision needs one time at a time (the first
 * pass of `wstape import` does, har-scan.ts), messageClock() makes the conversion from it.
 */
import { epochMicros, MILLISECONDS_THRESHOLD } from './har-common.js';

/** Epoch times below this (September 2001) are not epoch times but offsets from some other clock. */
export const EPOCH_SECONDS_FLOOR = 1e9;

/**
 * What the clock of a list of HAR message times needs to know, gathered one time at a time so
 * the times need not be kept: the median's magnitude (har-common.ts timeUnit), the largest
 * magnitude and the smallest time.
 */
export class TimeStats {
  /** Finite times seen. */
  count = 0;
  /** Of those, the ones below MILLISECONDS_THRESHOLD, and the ones at or below its negative. */
  #below = 0;
  #negative = 0;
  largest = -Infinity;
  first = Infinity;

  add(time: number): void {
    if (!Number.isFinite(time)) return;
    this.count++;
    if (time < MILLISECONDS_THRESHOLD) this.#below++;
    if (time <= -MILLISECONDS_THRESHOLD) this.#negative++;
    this.largest = Math.max(this.largest, Math.abs(time));
    this.first = Math.min(this.first, time);
  }

  /**
   * timeUnit() of the times seen, without sorting them: the median (the element at count/2 of
   * the sorted times) is at least the threshold when no more than count/2 times are below it,
   * and at most its negative when more than count/2 times are.
   */
  get unit(): 's' | 'ms' {
    if (this.count === 0) return 's';
    const half = Math.floor(this.count / 2);
    return this.#below <= half || this.#negative > half ? 'ms' : 's';
  }
}

/**
 * How a HAR entry's message times become epoch microseconds: seconds or milliseconds by magnitude
 * (har-common.ts timeUnit), or, when they are too small to be epoch times at all (a monotonic
 * clock), seconds counted from the first message, placed at the entry's start.
 */
export function messageClock(stats: TimeStats, startMicros: number, onRelative: () => void): (time: number) => number {
  const unit = stats.unit;
  if (unit === 's' && stats.count > 0 && stats.largest < EPOCH_SECONDS_FLOOR) {
    onRelative();
    const first = stats.first;
    return (time) => startMicros + Math.round((time - first) * 1e6);
  }
  return (time) => epochMicros(time, unit);
}

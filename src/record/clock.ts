/**
 * Timestamps for the archive: a wall-clock time (ISO 8601 UTC, milliseconds) and a monotonic
 * offset from the start with microsecond resolution, both from one reading, so the offsets are
 * exact for replay timing and round trips even if the wall clock jumps.
 */

export interface Stamp {
  time: string;
  elapsed: number;
}

export class RecordingClock {
  readonly startedAt: Date;
  /** performance.now() at the start: monotonic, in ms with sub-microsecond digits. */
  private readonly startMs: number;

  constructor() {
    this.startMs = performance.now();
    this.startedAt = new Date();
  }

  /**
   * Microseconds since the start. From performance.now() (a double), not process.hrtime.bigint():
   * the same monotonic clock without a BigInt per reading, and this runs once per frame.
   */
  elapsedMicros(): number {
    return Math.floor((performance.now() - this.startMs) * 1000);
  }

  /** The ISO text of the last millisecond asked for: many frames share one millisecond. */
  private lastMillis = -1;
  private lastIso = '';

  now(): Stamp {
    const micros = this.elapsedMicros();
    const millis = this.startedAt.getTime() + Math.floor(micros / 1000);
    if (millis !== this.lastMillis) {
      this.lastMillis = millis;
      this.lastIso = new Date(millis).toISOString();
    }
    return { time: this.lastIso, elapsed: micros / 1e6 };
  }
}

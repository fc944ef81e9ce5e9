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
  private readonly startHr: bigint;

  constructor() {
    this.startHr = process.hrtime.bigint();
    this.startedAt = new Date();
  }

  /** Microseconds since the start. */
  elapsedMicros(): number {
    return Number((process.hrtime.bigint() - this.startHr) / 1000n);
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

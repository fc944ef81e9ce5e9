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

  now(): Stamp {
    const micros = this.elapsedMicros();
    return {
      time: new Date(this.startedAt.getTime() + Math.floor(micros / 1000)).toISOString(),
      elapsed: micros / 1e6,
    };
  }
}

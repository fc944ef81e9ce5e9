/**
 * Bounded samples for percentiles: a reservoir (Vitter's Algorithm R) that keeps a uniform random
 * sample of at most `capacity` values out of any number seen, plus the exact count, minimum and
 * maximum. The random source is a seeded PRNG, so the same archive always gives the same report.
 */

/** mulberry32: a small, fast, seeded 32-bit PRNG; returns floats in [0, 1). Not for secrets. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SampleSummary {
  count: number;
  min: number;
  median: number;
  p95: number;
  max: number;
  /** True when the median and p95 come from a sample (more values than the reservoir holds). */
  sampled: boolean;
}

export class Reservoir {
  readonly capacity: number;
  readonly #values: number[] = [];
  readonly #random: () => number;
  #count = 0;
  #min = Infinity;
  #max = -Infinity;

  constructor(capacity: number, seed = 0x9e3779b9) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`reservoir capacity must be a positive integer, not ${capacity}`);
    this.capacity = capacity;
    this.#random = mulberry32(seed);
  }

  get count(): number {
    return this.#count;
  }

  add(value: number): void {
    this.#count++;
    if (value < this.#min) this.#min = value;
    if (value > this.#max) this.#max = value;
    if (this.#values.length < this.capacity) {
      this.#values.push(value);
      return;
    }
    // Algorithm R: the n-th value replaces a random kept one with probability capacity / n.
    const slot = Math.floor(this.#random() * this.#count);
    if (slot < this.capacity) this.#values[slot] = value;
  }

  /** Count, exact min and max, and the median and 95th percentile; null when nothing was added. */
  summary(): SampleSummary | null {
    if (this.#count === 0) return null;
    const sorted = Float64Array.from(this.#values).sort();
    return {
      count: this.#count,
      min: this.#min,
      median: percentile(sorted, 0.5),
      p95: percentile(sorted, 0.95),
      max: this.#max,
      sampled: this.#count > this.#values.length,
    };
  }
}

/**
 * The q-quantile (0..1) of sorted values, interpolating linearly between the two nearest ranks
 * (Hyndman and Fan's type 7, the default of R, NumPy and spreadsheets): the median of an even
 * count is the mean of the middle two.
 */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const position = (n - 1) * Math.min(1, Math.max(0, q));
  const below = Math.floor(position);
  const low = sorted[below] as number;
  const high = sorted[Math.min(below + 1, n - 1)] as number;
  return low + (high - low) * (position - below);
}

import { describe, expect, it } from 'vitest';
import { percentile, Reservoir } from '../../src/inspect/samples.js';

describe('percentile (linear interpolation between ranks)', () => {
  it.each<[number[], number, number]>([
    [[5], 0.5, 5],
    [[5], 0.95, 5],
    [[1, 2], 0.5, 1.5],
    [[1, 2, 3], 0.5, 2],
    [[1, 2, 3, 4], 0.5, 2.5],
    [[1, 2, 3, 4], 0, 1],
    [[1, 2, 3, 4], 1, 4],
    [Array.from({ length: 20 }, (_, i) => i + 1), 0.95, 19.05],
    [Array.from({ length: 101 }, (_, i) => i), 0.95, 95],
  ])('%j at %d is %d', (values, q, expected) => {
    expect(percentile(values, q)).toBeCloseTo(expected, 10);
  });

  it('is NaN for no values', () => {
    expect(percentile([], 0.5)).toBeNaN();
  });
});

describe('Reservoir', () => {
  it('is exact while it holds every value', () => {
    const reservoir = new Reservoir(100);
    for (const value of [7, 3, 9, 1, 5]) reservoir.add(value);
    expect(reservoir.summary()).toEqual({ count: 5, min: 1, median: 5, p95: 8.6, max: 9, sampled: false });
  });

  it('has no summary when empty', () => {
    expect(new Reservoir(10).summary()).toBeNull();
  });

  it('keeps at most its capacity, exact min/max, and a fair sample for the percentiles', () => {
    const reservoir = new Reservoir(2000);
    for (let i = 1; i <= 200_000; i++) reservoir.add(i);
    const summary = reservoir.summary()!;
    expect(summary).toMatchObject({ count: 200_000, min: 1, max: 200_000, sampled: true });
    expect(summary.median).toBeGreaterThan(200_000 * 0.45);
    expect(summary.median).toBeLessThan(200_000 * 0.55);
    expect(summary.p95).toBeGreaterThan(200_000 * 0.92);
    expect(summary.p95).toBeLessThan(200_000 * 0.98);
  });

  it('is deterministic for the same input', () => {
    const run = (): unknown => {
      const reservoir = new Reservoir(10);
      for (let i = 0; i < 1000; i++) reservoir.add((i * 7919) % 1000);
      return reservoir.summary();
    };
    expect(run()).toEqual(run());
  });

  it('refuses a capacity below 1', () => {
    expect(() => new Reservoir(0)).toThrow(RangeError);
  });
});

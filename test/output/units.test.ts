import { describe, expect, it } from 'vitest';
import { formatDuration, formatSize } from '../../src/output/units.js';

describe('formatSize', () => {
  it.each([
    [0, '0 B'],
    [512, '512 B'],
    [1023, '1023 B'],
    [1024, '1.0 KiB'],
    [12_595, '12.3 KiB'],
    [1024 * 1024 - 1, '1.0 MiB'],
    [4 * 1024 * 1024, '4.0 MiB'],
    [3 * 1024 ** 3, '3.0 GiB'],
  ])('%d bytes -> %s', (bytes, text) => {
    expect(formatSize(bytes)).toBe(text);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0 ms'],
    [0.0034, '3 ms'],
    [0.85, '850 ms'],
    [0.9996, '1.0 s'],
    [12.34, '12.3 s'],
    [59.96, '1m 00s'],
    [303, '5m 03s'],
    [7620, '2h 07m'],
    [-1, '-'],
  ])('%d s -> %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });
});

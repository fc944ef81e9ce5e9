import { describe, expect, it } from 'vitest';
import { hasAnsi, makePalette, stripAnsi } from '../../src/output/colors.js';

const NAMES = ['dim', 'bold', 'red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'gray'] as const;

describe('makePalette', () => {
  it.each(NAMES)('%s is the identity when disabled', (name) => {
    const p = makePalette(false);
    expect(p[name]('hello')).toBe('hello');
    expect(p.enabled).toBe(false);
  });

  it.each(NAMES)('%s wraps the text in an SGR pair when enabled', (name) => {
    const p = makePalette(true);
    const painted = p[name]('hello');
    expect(painted).not.toBe('hello');
    expect(hasAnsi(painted)).toBe(true);
    expect(stripAnsi(painted)).toBe('hello');
    // eslint-disable-next-line no-control-regex -- matching control bytes (C0 controls, ANSI escapes) is the point
    expect(painted).toMatch(/^\u001b\[\d+mhello\u001b\[\d+m$/);
  });

  it('leaves empty strings alone', () => {
    expect(makePalette(true).red('')).toBe('');
  });

  it('re-opens the outer colour after a nested one closes', () => {
    const p = makePalette(true);
    const nested = p.red(`a${p.green('b')}c`);
    // After green's close code (39) the red (31) is opened again before "c".
    expect(nested).toBe('\u001b[31ma\u001b[32mb\u001b[39m\u001b[31mc\u001b[39m');
    expect(stripAnsi(nested)).toBe('abc');
  });
});

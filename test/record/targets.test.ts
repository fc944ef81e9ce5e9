/**
 * The record command's option parsing: sizes, targets and --no-intercept globs.
 */
import { describe, expect, it } from 'vitest';
import { hostGlobMatcher, parseSize, parseTarget } from '../../src/record/targets.js';
import { isCliError } from '../../src/errors.js';

describe('parseSize', () => {
  it.each([
    ['1048576', 1048576],
    ['64k', 65536],
    ['16MiB', 16 * 1024 * 1024],
    ['1.5M', 1.5 * 1024 * 1024],
    ['2G', 2 * 1024 ** 3],
    [4096, 4096],
  ])('%s → %d bytes', (input, bytes) => expect(parseSize(input)).toBe(bytes));

  it.each(['lots', '-1', '16 pebibytes', ''])('"%s" is a usage error', (input) => {
    try {
      parseSize(input);
      expect.unreachable();
    } catch (error) {
      expect(isCliError(error) && error.code).toBe('ERR_USAGE');
    }
  });
});

describe('parseTarget', () => {
  it.each([
    ['ws://localhost:9000', { host: 'localhost', port: 9000 }, false],
    ['wss://api.example.test', { host: 'api.example.test', port: 443 }, true],
    ['http://127.0.0.1', { host: '127.0.0.1', port: 80 }, false],
    ['https://[::1]:8443/x', { host: '::1', port: 8443 }, true],
  ])('%s', (target, address, secure) => expect(parseTarget(target)).toEqual({ address, secure }));

  it.each(['ftp://x', 'localhost:9000', 'not a url'])('%s is a usage error', (target) => {
    expect(() => parseTarget(target)).toThrow();
  });
});

describe('hostGlobMatcher', () => {
  const matches = hostGlobMatcher(['*.apple.com', 'pinned.example.test', 'api-?.test']);
  it.each([
    ['gateway.icloud.apple.com', true],
    ['apple.com', false],
    ['PINNED.example.test', true],
    ['pinned.example.test.evil', false],
    ['api-1.test', true],
    ['api-12.test', false],
    ['other.test', false],
  ])('%s → %s', (host, expected) => expect(matches(host)).toBe(expected));

  it('matches nothing without patterns', () => expect(hostGlobMatcher([])('anything')).toBe(false));
});

/**
 * The values `wstape record` takes from the command line and checks before it listens: sizes
 * (--max-payload), the reverse-mode --target URL and the --no-intercept host globs. Pure; a bad
 * value is ERR_USAGE.
 */
import { cliError } from '../errors.js';
import { parseAbsoluteTarget, type UpstreamAddress } from './upstream-address.js';

/** "16MiB", "64k", "1048576" → bytes. */
export function parseSize(value: string | number): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(i?b)?\s*$/i.exec(String(value));
  if (!match) throw cliError('ERR_USAGE', `not a size: "${value}" (use bytes, or a number with k, M or G, e.g. 16M)`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[match[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.floor(Number(match[1]) * unit);
}

/** Parse --target: a ws://, wss://, http:// or https:// URL → upstream address and whether it is TLS. */
export function parseTarget(target: string): { address: UpstreamAddress; secure: boolean } {
  const parsed = parseAbsoluteTarget(target);
  if (!parsed || !['ws', 'wss', 'http', 'https'].includes(parsed.scheme)) {
    throw cliError('ERR_USAGE', `--target must be a ws://, wss://, http:// or https:// URL, got "${target}"`);
  }
  return { address: parsed.address, secure: parsed.scheme === 'wss' || parsed.scheme === 'https' };
}

/** A host glob (--no-intercept): `*` matches any run of characters, `?` one; case-insensitive. */
export function hostGlobMatcher(patterns: readonly string[]): (host: string) => boolean {
  if (patterns.length === 0) return () => false;
  const regexes = patterns.map((pattern) => {
    const body = pattern
      .split('')
      .map((char) => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('');
    return new RegExp(`^${body}$`, 'i');
  });
  return (host) => regexes.some((regex) => regex.test(host));
}

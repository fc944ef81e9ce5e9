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
  const bytes = Math.floor(Number(match[1]) * unit);
  if (!Number.isSafeInteger(bytes)) throw cliError('ERR_USAGE', `not a size: "${value}" is too large to count in bytes`);
  return bytes;
}

/**
 * The most --max-payload may be: 64 MiB, the inflater's limit too. It bounds the longest line the
 * archive writer can produce, which the reader's line limit (MAX_LINE_BYTES in
 * src/format/archive-reader.ts) must stay above; docs/FORMAT.md gives the arithmetic.
 */
export const MAX_PAYLOAD_LIMIT = 64 * 1024 * 1024;

/** --max-payload: a size (parseSize) from 0 to MAX_PAYLOAD_LIMIT. */
export function parseMaxPayload(value: string | number): number {
  const bytes = parseSize(value);
  if (bytes > MAX_PAYLOAD_LIMIT) {
    throw cliError('ERR_USAGE', `--max-payload ${String(value)} is above the most an archive keeps of one payload, 64MiB (${MAX_PAYLOAD_LIMIT} bytes)`);
  }
  return bytes;
}

/** A TCP port to listen on: an integer from 0 (any free port) to 65535; `name` is the option, for the message. */
export function parsePort(value: unknown, name = '--port'): number {
  const last: unknown = Array.isArray(value) ? value[value.length - 1] : value;
  const text = typeof last === 'number' ? String(last) : typeof last === 'string' ? last.trim() : '';
  const port = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) {
    throw cliError('ERR_USAGE', `${name} must be a port number from 0 to 65535 (0 picks a free one), got "${text}"`);
  }
  return port;
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

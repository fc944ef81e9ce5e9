/**
 * The filters of `wstape list` (--ws, --host, --status, --grep): a plain value built from the
 * command-line options, and one predicate over finished rows. Filters combine with AND.
 */
import { cliError } from '../errors.js';
import { parseGrep, splitList } from './frame-filter.js';
import type { ListRow } from './list-rows.js';

/** The filter options as the command line gives them. */
export interface ListFilterSpec {
  /** WebSocket connections only. */
  ws?: boolean | undefined;
  /** Host globs (`*` any run, `?` one character, case-insensitive); each item may be a comma list. */
  host?: string[] | undefined;
  /** Status codes (`101`) or classes (`4xx`); each item may be a comma list. */
  status?: string[] | undefined;
  /** A regular expression tested against the URL. */
  grep?: string | undefined;
  /** Make --grep case-insensitive. */
  ignoreCase?: boolean | undefined;
}

/** A validated list filter: a row passes when every part that is set matches. */
export interface ListFilter {
  ws?: true;
  hosts?: RegExp[];
  statuses?: { min: number; max: number }[];
  grep?: RegExp;
}

/** A host glob as a RegExp: `*` any run of characters, `?` one; case-insensitive, whole string. */
export function hostGlob(pattern: string): RegExp {
  const body = [...pattern].map((char) => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('');
  return new RegExp(`^${body}$`, 'i');
}

/** `101` → 101-101, `4xx` → 400-499, `5XX` → 500-599; anything else is ERR_USAGE. */
export function parseStatus(value: string): { min: number; max: number } {
  const text = value.trim().toLowerCase();
  if (/^[1-5]\d\d$/.test(text)) return { min: Number(text), max: Number(text) };
  if (/^[1-5]xx$/.test(text)) {
    const min = Number(text[0]) * 100;
    return { min, max: min + 99 };
  }
  throw cliError('ERR_USAGE', `invalid --status "${value}": give a status code (101, 404) or a class (4xx)`);
}

/** Build a ListFilter from command-line values, validating them. */
export function buildListFilter(options: ListFilterSpec): ListFilter {
  const filter: ListFilter = {};
  if (options.ws === true) filter.ws = true;
  const hosts = splitList(options.host ?? []);
  if (hosts.length > 0) filter.hosts = hosts.map(hostGlob);
  const statuses = splitList(options.status ?? []);
  if (statuses.length > 0) filter.statuses = statuses.map(parseStatus);
  if (options.grep !== undefined) filter.grep = parseGrep(options.grep, options.ignoreCase === true);
  return filter;
}

/** The host a row's URL names, without IPv6 brackets, and `host:port` when the URL has a port. */
function urlHosts(url: string): string[] {
  try {
    const parsed = new URL(url);
    const hostname = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
    return parsed.port === '' ? [hostname] : [hostname, `${hostname}:${parsed.port}`, `${parsed.hostname}:${parsed.port}`];
  } catch {
    return [];
  }
}

/** True when the row passes every filter that is set. */
export function rowMatches(row: ListRow, filter: ListFilter): boolean {
  if (filter.ws === true && row.kind !== 'websocket') return false;
  if (filter.hosts !== undefined) {
    const hosts = urlHosts(row.url);
    if (!filter.hosts.some((glob) => hosts.some((host) => glob.test(host)))) return false;
  }
  if (filter.statuses !== undefined) {
    const status = row.status;
    if (status === null || !filter.statuses.some((range) => status >= range.min && status <= range.max)) return false;
  }
  if (filter.grep !== undefined && !filter.grep.test(row.url)) return false;
  return true;
}

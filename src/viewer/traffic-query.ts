/**
 * The traffic list's filters, as `wstape list` has them: kind, host, status (a code, a class such
 * as `4xx`, or a comma list) and text in the URL. All must hold. No DOM.
 */
import type { ViewerItem } from './model.js';

export interface TrafficQuery {
  kind: 'all' | 'websocket' | 'http' | 'tunnel';
  /** Part of the URL's host (or host:port), case-insensitive. */
  host: string;
  status: string;
  /** Part of the method, URL or id, case-insensitive. */
  text: string;
}

export const DEFAULT_TRAFFIC_QUERY: TrafficQuery = { kind: 'all', host: '', status: '', text: '' };

/** `101`, `4xx`, `200,404`: does `status` pass? */
export function statusMatches(filter: string, status: number | null): boolean {
  const parts = filter
    .split(',')
    .map((part) => part.trim().toLowerCase())
    .filter((part) => part !== '');
  if (parts.length === 0) return true;
  if (status === null) return false;
  return parts.some((part) => (/^\dxx$/.test(part) ? Math.floor(status / 100) === Number(part[0]) : Number(part) === status));
}

/** The host:port of a URL, lower case. */
function hostOf(url: string): string {
  const match = /^[a-z]+:\/\/([^/?#]+)/i.exec(url);
  return (match?.[1] ?? url).toLowerCase();
}

export function itemMatches(item: ViewerItem, query: TrafficQuery): boolean {
  const row = item.row;
  const host = query.host.trim().toLowerCase();
  const text = query.text.trim().toLowerCase();
  if (query.kind !== 'all' && row.kind !== query.kind) return false;
  if (host !== '' && !hostOf(row.url).includes(host)) return false;
  if (!statusMatches(query.status, row.status)) return false;
  if (text !== '' && !`${row.method ?? ''} ${row.url} ${row.id}`.toLowerCase().includes(text)) return false;
  return true;
}

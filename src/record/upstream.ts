/**
 * Where a request goes, and how to reach it: parsing proxy request targets, building the URLs
 * the archive shows, and the few head rewrites a proxy must make (everything else is forwarded
 * byte for byte).
 */
import net from 'node:net';
import type { RequestHead } from '../http/http-parser.js';

export interface UpstreamAddress {
  host: string;
  port: number;
}

/** Connect to an upstream; half-open so each direction's end is relayed on its own. */
export function connectUpstream(address: UpstreamAddress): net.Socket {
  const socket = net.connect({ host: address.host, port: address.port, allowHalfOpen: true });
  socket.setNoDelay(true);
  return socket;
}

/** "host:port" or "[v6]:port" → address; null when it is not one (the CONNECT request-target). */
export function parseAuthority(authority: string, defaultPort: number): UpstreamAddress | null {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(authority);
  if (!match) return null;
  const port = match[3] === undefined ? defaultPort : Number(match[3]);
  if (port < 1 || port > 65535) return null;
  return { host: match[1] ?? match[2]!, port };
}

/** host:port as it appears in a URL (IPv6 in brackets, default port left out). */
export function formatAuthority(address: UpstreamAddress, defaultPort: number): string {
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return address.port === defaultPort ? host : `${host}:${address.port}`;
}

/**
 * An absolute-form request target (RFC 9112 §3.2.2), as clients send to a forward proxy.
 * Returns the upstream and the origin-form target, or null when it is not absolute.
 */
export function parseAbsoluteTarget(target: string): { address: UpstreamAddress; originForm: string; scheme: string } | null {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) return null;
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return null;
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  const defaultPort = scheme === 'https' || scheme === 'wss' ? 443 : 80;
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return {
    address: { host, port: url.port === '' ? defaultPort : Number(url.port) },
    originForm: `${url.pathname}${url.search}`,
    scheme,
  };
}

/** The URL the archive shows for a request: ws:// for upgrades, http:// otherwise. */
export function recordedUrl(address: UpstreamAddress, originForm: string, websocket: boolean): string {
  const scheme = websocket ? 'ws' : 'http';
  const path = originForm.startsWith('/') ? originForm : `/${originForm}`;
  return `${scheme}://${formatAuthority(address, 80)}${path}`;
}

/** Hop-by-hop headers meant for the proxy itself; never forwarded upstream. */
const PROXY_ONLY_HEADERS = new Set(['proxy-connection', 'proxy-authorization']);

/**
 * Rewrite a request head for the upstream: a new request-target (absolute-form → origin-form)
 * and/or a new Host value, and without the proxy-only headers. All other lines keep their bytes.
 */
export function rewriteRequestHead(
  raw: Uint8Array,
  head: RequestHead,
  changes: { target?: string; host?: string },
): Uint8Array {
  const text = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1');
  const lines = text.split(/\r?\n/);
  lines[0] = `${head.method} ${changes.target ?? head.target} HTTP/${head.httpVersion}`;
  const kept = lines.filter((line, index) => {
    if (index === 0) return true;
    const colon = line.indexOf(':');
    return colon <= 0 || !PROXY_ONLY_HEADERS.has(line.slice(0, colon).trim().toLowerCase());
  });
  if (changes.host !== undefined) {
    const hostLine = kept.findIndex((line, index) => index > 0 && /^host\s*:/i.test(line));
    if (hostLine > 0) kept[hostLine] = `${kept[hostLine]!.slice(0, kept[hostLine]!.indexOf(':'))}: ${changes.host}`;
  }
  return Buffer.from(kept.join('\r\n'), 'latin1');
}

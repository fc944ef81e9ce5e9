/**
 * Chaining through an upstream (corporate) proxy: --upstream-proxy, --no-upstream-proxy and
 * --upstream-proxy-env. Every upstream connection the recorder opens (forward requests, CONNECT
 * tunnels, WebSocket upgrades, the reverse --target) then goes through an HTTP CONNECT tunnel
 * opened by that proxy, unless its host matches a --no-upstream-proxy glob (or NO_PROXY).
 *
 * The tunnel is a Duplex that looks to the HTTP session like a socket still connecting: it emits
 * 'connect' once the proxy answered 2xx, and fails with an ERR_UPSTREAM_PROXY error (archived as
 * UPSTREAM_PROXY, answered with a 502) saying what the proxy answered. Credentials from the URL
 * go into Proxy-Authorization only; every message names the proxy by host:port alone.
 */
import net from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { cliError } from '../errors.js';
import { ConnectResponseReader, basicAuthorization, connectRequest } from './upstream-proxy-handshake.js';
import { formatAuthority, type UpstreamAddress } from './upstream-address.js';
import { hostGlobMatcher } from './targets.js';

/** One upstream proxy, parsed from its URL. */
export interface UpstreamProxy {
  address: UpstreamAddress;
  /** https:// proxy: the connection to the proxy itself is TLS, verified unless --insecure. */
  secure: boolean;
  /** The Proxy-Authorization value, or null without userinfo in the URL. */
  authorization: string | null;
  /** The URL with the password masked, for the live output. */
  shown: string;
}

/** Which proxy (if any) an upstream connection goes through; null for a direct connection. */
export interface UpstreamProxies {
  proxyFor(address: UpstreamAddress, secure: boolean): UpstreamProxy | null;
  /** What the live output says about the chain, credentials masked. */
  shown: string;
  /** Verification of an https:// proxy's certificate (--insecure, --upstream-ca). */
  insecure: boolean;
  extraCa: string[];
}

/** The options of `wstape record` this module reads. */
export interface UpstreamProxyOptions {
  upstreamProxy?: string;
  noUpstreamProxy?: string[];
  upstreamProxyEnv?: boolean;
  insecure: boolean;
  extraCa: string[];
}

/** Parse an http://[user:pass@]host:port or https://... proxy URL; `from` names it in errors. */
export function parseUpstreamProxy(text: string, from: string): UpstreamProxy {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw cliError('ERR_USAGE', `${from} must be an http:// or https:// proxy URL, got "${maskUserinfo(text)}"`);
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  if ((scheme !== 'http' && scheme !== 'https') || url.hostname === '' || (url.pathname !== '/' && url.pathname !== '') || url.search !== '') {
    throw cliError('ERR_USAGE', `${from} must be an http:// or https:// proxy URL (scheme, host and port only), got "${maskUserinfo(text)}"`);
  }
  const secure = scheme === 'https';
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const address = { host, port: url.port === '' ? (secure ? 443 : 80) : Number(url.port) };
  const hasUser = url.username !== '' || url.password !== '';
  let authorization: string | null = null;
  if (hasUser) {
    try {
      // RFC 3986 §3.2.1: userinfo is percent-encoded in the URL; the credentials are the decoded text.
      authorization = basicAuthorization(decodeURIComponent(url.username), decodeURIComponent(url.password));
    } catch {
      throw cliError('ERR_USAGE', `${from}: the user or password is not valid percent-encoding`);
    }
  }
  const shown = `${scheme}://${hasUser ? `${url.username}:****@` : ''}${formatAuthority(address, 0)}`;
  return { address, secure, authorization, shown };
}

/** A URL as it may be printed: whatever sits between "//" and "@" is masked. */
export function maskUserinfo(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1****@');
}

/**
 * NO_PROXY entries as host globs (the curl/Go convention): "*" is every host, "example.com" and
 * ".example.com" are that domain and its subdomains, a port after the host is ignored.
 */
export function noProxyGlobs(value: string): string[] {
  const globs: string[] = [];
  for (const raw of value.split(/[,\s]+/)) {
    let entry = raw.trim();
    if (entry === '') continue;
    if (entry === '*') return ['*'];
    const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(entry);
    if (bracketed) entry = bracketed[1]!;
    else if (/^[^:]+:\d+$/.test(entry)) entry = entry.slice(0, entry.lastIndexOf(':'));
    if (entry.startsWith('*.')) entry = entry.slice(2);
    else if (entry.startsWith('.')) entry = entry.slice(1);
    globs.push(entry, `*.${entry}`);
  }
  return globs;
}

/** The first of these environment variables that is set (and not empty). */
function fromEnv(env: NodeJS.ProcessEnv, names: string[]): { name: string; value: string } | null {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value !== '') return { name, value };
  }
  return null;
}

/**
 * The upstream proxies of a recording, or null when every upstream is reached directly. The
 * environment is read only with --upstream-proxy-env: HTTPS_PROXY for TLS upstreams (wss://,
 * https://, CONNECT tunnels to port 443), HTTP_PROXY for the others, NO_PROXY added to the
 * --no-upstream-proxy globs; lowercase names win, as in curl. --upstream-proxy, when given too,
 * is used for every upstream.
 */
export function upstreamProxies(options: UpstreamProxyOptions, env: NodeJS.ProcessEnv): UpstreamProxies | null {
  const explicit = options.upstreamProxy !== undefined ? parseUpstreamProxy(options.upstreamProxy, '--upstream-proxy') : null;
  let forTls = explicit;
  let forPlain = explicit;
  const globs = [...(options.noUpstreamProxy ?? [])];
  if (options.upstreamProxyEnv) {
    const https = fromEnv(env, ['https_proxy', 'HTTPS_PROXY']);
    const http = fromEnv(env, ['http_proxy', 'HTTP_PROXY']);
    forTls ??= https ? parseUpstreamProxy(https.value, https.name) : null;
    forPlain ??= http ? parseUpstreamProxy(http.value, http.name) : null;
    const noProxy = fromEnv(env, ['no_proxy', 'NO_PROXY']);
    if (noProxy) globs.push(...noProxyGlobs(noProxy.value));
  }
  if (!forTls && !forPlain) return null;
  const bypass = hostGlobMatcher(globs);
  const routes =
    forTls === forPlain ? [forTls!.shown] : [...(forTls ? [`${forTls.shown} for TLS`] : []), ...(forPlain ? [`${forPlain.shown} for plain HTTP`] : [])];
  const shown = `${routes.join(', ')}${globs.length > 0 ? ` (direct: ${globs.join(' ')})` : ''}`;
  return {
    shown,
    insecure: options.insecure,
    extraCa: options.extraCa,
    proxyFor(address, secure) {
      if (bypass(address.host)) return null;
      return secure || address.port === 443 ? forTls : forPlain;
    },
  };
}

/** How an https:// proxy's certificate is verified: as upstream TLS is (upstream.ts). */
export interface ProxyVerification {
  insecure: boolean;
  extraCa: string[];
  /** The context trusting Node's CAs plus extraCa (built once). */
  trust: () => tls.SecureContext;
}

/** The error a tunnel fails with; describeUpstreamError turns it into UPSTREAM_PROXY. */
export const UPSTREAM_PROXY_ERROR = 'ERR_UPSTREAM_PROXY';

function proxyError(message: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(message);
  error.code = UPSTREAM_PROXY_ERROR;
  return error;
}

/** Why a connection to the proxy never opened, in words. */
const CONNECT_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ECONNRESET: 'connection reset',
};

/**
 * A tunnel to `address` through `proxy`, as a stream that behaves like a connecting socket:
 * `connecting` until the proxy answered 2xx, then 'connect', then the tunnel's bytes. Writes made
 * before that wait. Half-open, like the recorder's other upstream sockets.
 */
export class ProxyTunnel extends Duplex {
  connecting = true;
  private readonly raw: net.Socket;
  private readonly reader = new ConnectResponseReader();
  private readonly where: string;
  private readonly target: string;
  private waiting: Array<() => void> = [];

  constructor(proxy: UpstreamProxy, address: UpstreamAddress, verify: ProxyVerification) {
    super({ allowHalfOpen: true });
    this.where = `upstream proxy ${formatAuthority(proxy.address, 0)}`;
    this.target = formatAuthority(address, 0);
    const { host, port } = proxy.address;
    this.raw = proxy.secure
      ? tls.connect({
          host,
          port,
          // RFC 6066 §3: SNI carries host names only.
          ...(net.isIP(host) ? {} : { servername: host }),
          rejectUnauthorized: !verify.insecure,
          ...(verify.extraCa.length > 0 ? { secureContext: verify.trust() } : {}),
        })
      : net.connect({ host, port, allowHalfOpen: true });
    this.raw.setNoDelay(true);
    const request = connectRequest(address, proxy.authorization);
    this.raw.once(proxy.secure ? 'secureConnect' : 'connect', () => this.raw.write(request));
    this.raw.on('data', this.onHandshakeData);
    this.raw.on('error', this.onRawError);
    this.raw.on('end', this.onRawEnd);
    this.raw.on('close', this.onRawClose);
  }

  private readonly onHandshakeData = (chunk: Buffer): void => {
    const outcome = this.reader.push(chunk);
    if (outcome === null) return;
    this.raw.removeListener('data', this.onHandshakeData);
    if (outcome.type === 'invalid') {
      this.destroy(proxyError(`${this.where} did not answer CONNECT ${this.target} with HTTP (${outcome.message})`));
      return;
    }
    if (outcome.type === 'refused') {
      const { status, statusText } = outcome.head;
      const hint = status === 407 ? ' (check the user and password in the proxy URL)' : '';
      this.destroy(proxyError(`${this.where} answered CONNECT ${this.target} with ${status}${statusText ? ` ${statusText}` : ''}${hint}`));
      return;
    }
    this.connecting = false;
    this.raw.on('data', (data: Buffer) => {
      if (!this.push(data)) this.raw.pause();
    });
    if (outcome.rest.length > 0 && !this.push(outcome.rest)) this.raw.pause();
    for (const release of this.waiting) release();
    this.waiting = [];
    this.emit('connect');
  };

  private readonly onRawError = (error: NodeJS.ErrnoException): void => {
    if (!this.connecting) {
      this.destroy(error);
      return;
    }
    const code = error.code ?? '';
    const reason = CONNECT_REASONS[code];
    const tlsFailed = this.raw instanceof tls.TLSSocket && reason === undefined;
    this.destroy(
      proxyError(`${tlsFailed ? 'TLS with' : 'cannot connect to'} ${this.where}${tlsFailed ? ' failed' : ''}: ${reason ?? (code || error.message)}`),
    );
  };

  private readonly onRawEnd = (): void => {
    if (this.connecting) this.destroy(proxyError(`${this.where} closed the connection before answering CONNECT ${this.target}`));
    else this.push(null);
  };

  private readonly onRawClose = (): void => {
    if (this.connecting) this.destroy(proxyError(`${this.where} closed the connection before answering CONNECT ${this.target}`));
    else if (!this.destroyed) this.destroy();
  };

  override _read(): void {
    if (!this.connecting) this.raw.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.connecting) {
      this.waiting.push(() => this.raw.write(chunk, callback));
      return;
    }
    this.raw.write(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.connecting) {
      this.waiting.push(() => this.raw.end(callback));
      return;
    }
    this.raw.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.raw.destroy();
    callback(error);
  }
}

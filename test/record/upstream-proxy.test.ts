/**
 * Which upstream proxy each upstream connection takes (--upstream-proxy, --no-upstream-proxy,
 * --upstream-proxy-env), and the proxy URL parsing, without a socket. The chains themselves are
 * tested end to end in upstream-proxy-e2e.test.ts and upstream-proxy-chain.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { isCliError } from '../../src/errors.js';
import { maskUserinfo, noProxyGlobs, parseUpstreamProxy, upstreamProxies, type UpstreamProxyOptions } from '../../src/record/upstream-proxy.js';

const base: UpstreamProxyOptions = { insecure: false, extraCa: [] };
/** Which proxy URL (as shown) an upstream takes, or "direct". */
function route(options: Partial<UpstreamProxyOptions>, env: Record<string, string>, host: string, port: number, secure: boolean): string {
  const proxies = upstreamProxies({ ...base, ...options }, env);
  return proxies?.proxyFor({ host, port }, secure)?.shown ?? 'direct';
}

describe('parseUpstreamProxy', () => {
  it.each([
    ['http://proxy.corp:3128', { address: { host: 'proxy.corp', port: 3128 }, secure: false, authorization: null, shown: 'http://proxy.corp:3128' }],
    ['https://proxy.corp', { address: { host: 'proxy.corp', port: 443 }, secure: true, shown: 'https://proxy.corp:443' }],
    ['http://proxy.corp', { address: { host: 'proxy.corp', port: 80 } }],
    ['http://[::1]:8080', { address: { host: '::1', port: 8080 }, shown: 'http://[::1]:8080' }],
    // RFC 7617: base64 of the percent-decoded "user:password".
    ['http://alice:s3cr%25t@p:1', { authorization: `Basic ${Buffer.from('alice:s3cr%t').toString('base64')}`, shown: 'http://alice:****@p:1' }],
  ])('%s', (url, expected) => {
    expect(parseUpstreamProxy(url, '--upstream-proxy')).toMatchObject(expected);
  });

  it.each(['socks5://p:1080', 'p:3128', 'http://p:3128/path', 'http://p:3128?x=1', 'http://user:%zz@p:1'])(
    'refuses %s with ERR_USAGE, credentials masked',
    (url) => {
      let error: unknown;
      try {
        parseUpstreamProxy(url, '--upstream-proxy');
      } catch (caught) {
        error = caught;
      }
      expect(isCliError(error) && error.code).toBe('ERR_USAGE');
      expect(String((error as Error).message)).not.toContain('%zz');
    },
  );

  it('maskUserinfo hides whatever sits before the @', () => {
    expect(maskUserinfo('http://alice:pw@p:1')).toBe('http://****@p:1');
    expect(maskUserinfo('http://p:1')).toBe('http://p:1');
  });
});

describe('noProxyGlobs', () => {
  it.each([
    ['example.com', ['example.com', '*.example.com']],
    ['.example.com', ['example.com', '*.example.com']],
    ['*.example.com', ['example.com', '*.example.com']],
    ['localhost:8080, 10.0.0.1', ['localhost', '*.localhost', '10.0.0.1', '*.10.0.0.1']],
    ['[::1]:80', ['::1', '*.::1']],
    ['a.test,*', ['*']],
    ['', []],
  ])('%j', (value, globs) => {
    expect(noProxyGlobs(value)).toEqual(globs);
  });
});

describe('which proxy an upstream takes', () => {
  const env = { HTTPS_PROXY: 'http://tls-proxy:1', HTTP_PROXY: 'http://plain-proxy:2' };

  it('without --upstream-proxy-env the environment is not read', () => {
    expect(upstreamProxies(base, env)).toBeNull();
  });

  it.each([
    // [host, port, secure (TLS to the upstream: wss://, https://, intercepted TLS), route]
    ['api.test', 443, false, 'http://tls-proxy:1'], // a CONNECT tunnel to port 443, whatever it carries
    ['api.test', 443, true, 'http://tls-proxy:1'],
    ['api.test', 8443, true, 'http://tls-proxy:1'], // wss://api.test:8443
    ['api.test', 8443, false, 'http://plain-proxy:2'], // a CONNECT tunnel to another port
    ['api.test', 80, false, 'http://plain-proxy:2'],
  ])('--upstream-proxy-env: %s:%i secure=%s goes through %s', (host, port, secure, expected) => {
    expect(route({ upstreamProxyEnv: true }, env, host, port, secure)).toBe(expected);
  });

  it('only HTTPS_PROXY set: plain upstreams go direct; only HTTP_PROXY: TLS ones do', () => {
    expect(route({ upstreamProxyEnv: true }, { HTTPS_PROXY: 'http://t:1' }, 'a.test', 80, false)).toBe('direct');
    expect(route({ upstreamProxyEnv: true }, { HTTPS_PROXY: 'http://t:1' }, 'a.test', 443, false)).toBe('http://t:1');
    expect(route({ upstreamProxyEnv: true }, { HTTP_PROXY: 'http://p:2' }, 'a.test', 443, false)).toBe('direct');
  });

  it('lowercase names win, as in curl; an empty value is unset', () => {
    expect(route({ upstreamProxyEnv: true }, { https_proxy: 'http://lower:1', HTTPS_PROXY: 'http://upper:2' }, 'a.test', 443, true)).toBe('http://lower:1');
    expect(route({ upstreamProxyEnv: true }, { https_proxy: '', HTTPS_PROXY: 'http://upper:2' }, 'a.test', 443, true)).toBe('http://upper:2');
  });

  it('NO_PROXY covers the domain and its subdomains, on every port; other hosts still use the proxy', () => {
    const withNoProxy = { ...env, NO_PROXY: 'internal.test,10.1.2.3' };
    for (const [host, port] of [
      ['internal.test', 443],
      ['deep.internal.test', 443],
      ['internal.test', 80],
      ['10.1.2.3', 8443],
    ] as const) {
      expect(route({ upstreamProxyEnv: true }, withNoProxy, host, port, false)).toBe('direct');
    }
    expect(route({ upstreamProxyEnv: true }, withNoProxy, 'notinternal.test', 443, false)).toBe('http://tls-proxy:1');
    expect(route({ upstreamProxyEnv: true }, { ...env, no_proxy: '*' }, 'any.test', 443, true)).toBe('direct');
  });

  it('an explicit --upstream-proxy takes every upstream; NO_PROXY and --no-upstream-proxy still bypass it', () => {
    const options = { upstreamProxy: 'http://explicit:3', upstreamProxyEnv: true, noUpstreamProxy: ['*.corp'] };
    expect(route(options, { ...env, NO_PROXY: 'skip.test' }, 'a.test', 443, true)).toBe('http://explicit:3');
    expect(route(options, { ...env, NO_PROXY: 'skip.test' }, 'a.test', 80, false)).toBe('http://explicit:3');
    expect(route(options, { ...env, NO_PROXY: 'skip.test' }, 'skip.test', 443, true)).toBe('direct');
    expect(route(options, env, 'git.corp', 80, false)).toBe('direct');
  });

  it('what the live output shows names each route and the bypass globs, never a password', () => {
    const proxies = upstreamProxies(
      { ...base, upstreamProxyEnv: true, noUpstreamProxy: ['*.corp'] },
      { HTTPS_PROXY: 'http://u:pw@t:1', HTTP_PROXY: 'http://p:2' },
    );
    expect(proxies?.shown).toBe('http://u:****@t:1 for TLS, http://p:2 for plain HTTP (direct: *.corp)');
  });
});

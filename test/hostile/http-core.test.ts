/**
 * The hostile-input table for the proxy's HTTP/1.1 rules (RFC 9112), against the sans-io core
 * with literal bytes: request smuggling shapes, oversized heads, slow heads, idle connections,
 * pipelined bytes held with backpressure, and proxy loops. Each shape is fed whole, one byte at a
 * time, at every 2-way split and at random splits (atEverySplit), and must be refused the same way
 * every time, with nothing forwarded upstream. test/hostile/http-e2e.test.ts runs the same rules
 * through real sockets.
 */
import { describe, expect, it } from 'vitest';
import { MAX_HEAD_BYTES } from '../../src/http/http-parser.js';
import type { HttpRoute, ProxyEvent } from '../../src/record/http-proxy-core.js';
import { atEverySplit, client, connected, records, server, timeout, transcript, withControl, written, type Item } from '../record/proxy-core-harness.js';

const reverse: HttpRoute = { kind: 'fixed', mode: 'reverse', address: { host: 'backend.test', port: 8080 }, rewriteHost: true };
const forward: HttpRoute = { kind: 'forward' };
const GET = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n';

const errors = (items: Item[]): Array<{ error: string; message: string }> => items.flatMap((item) => ('error' in item ? [item] : []));

/**
 * Requests the proxy must refuse with 400: [name, request, where it is caught]. A bad head is
 * refused before a byte goes upstream; a bad chunk line is caught after the head went, and the
 * upstream is then cut off before the rest.
 */
const SMUGGLING_REQUESTS: Array<[string, string, 'head' | 'body']> = [
  ['Content-Length and Transfer-Encoding (CL.TE)', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG', 'head'],
  [
    'Transfer-Encoding and Content-Length (TE.CL)',
    'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n',
    'head',
  ],
  ['two different Content-Length headers', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!', 'head'],
  ['a Content-Length list that disagrees', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\nhello!', 'head'],
  ['a Content-Length that is not a number', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5a\r\n\r\nhello', 'head'],
  ['a negative Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n', 'head'],
  ['a signed Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello', 'head'],
  ['a hexadecimal Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x5\r\n\r\nhello', 'head'],
  ['an empty Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n', 'head'],
  ['a Content-Length beyond any real body', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n', 'head'],
  ['Transfer-Encoding gzip without chunked', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc', 'head'],
  ['Transfer-Encoding with chunked not last', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n', 'head'],
  ['Transfer-Encoding chunked twice (one header)', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n', 'head'],
  [
    'Transfer-Encoding chunked twice (two headers)',
    'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    'head',
  ],
  ['an obfuscated coding name', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n', 'head'],
  ['an empty Transfer-Encoding', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \r\n\r\n', 'head'],
  ['whitespace before the colon', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n', 'head'],
  ['a tab before the colon', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length\t: 0\r\n\r\n', 'head'],
  ['obsolete line folding', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n', 'head'],
  ['a bare CR inside a header value', 'POST / HTTP/1.1\r\nHost: x\r\nX-A: 1\rTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 'head'],
  ['a NUL inside a header value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n', 'head'],
  ['a header name that is not a token', 'GET / HTTP/1.1\r\nHost: x\r\nX(A): 1\r\n\r\n', 'head'],
  ['a header line without a colon', 'GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n', 'head'],
  ['Transfer-Encoding in HTTP/1.0', 'POST / HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 'head'],
  ['a chunk size that is not hexadecimal', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n', 'body'],
  ['a chunk extension with a bare CR', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;a\rb\r\nhello\r\n0\r\n\r\n', 'body'],
  ['a chunk size with 17 hex digits', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n', 'body'],
  ['chunk data not followed by CRLF', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXX\r\n0\r\n\r\n', 'body'],
  [
    'CONNECT with Content-Length and Transfer-Encoding',
    'CONNECT a.test:443 HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n',
    'head',
  ],
];

describe('request smuggling shapes are refused with 400 and never forwarded', () => {
  for (const [name, request, caught] of SMUGGLING_REQUESTS) {
    it(name, () => {
      const route = request.startsWith('CONNECT') ? forward : reverse;
      const items = atEverySplit({ route, steps: [client(request), connected] });
      expect(errors(items)).toEqual([{ error: 'HTTP_FRAMING', message: expect.stringMatching(/^request from 127\.0\.0\.1:50000: /) }]);
      expect(written(items, 'client')).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n[^]*connection: close\r\n/);
      const upstream = written(items, 'upstream');
      if (caught === 'body') {
        expect(request.startsWith(upstream.replace('Host: backend.test:8080', 'Host: x'))).toBe(true);
        expect(items).toContainEqual(expect.objectContaining({ close: 'upstream', how: 'destroy' }));
      } else {
        expect(upstream).toBe('');
      }
      expect(items[items.length - 1]).toEqual({ release: true });
    });
  }

  it('accepts what RFC 9112 allows: repeated equal Content-Lengths and a final chunked after other codings', () => {
    const same = 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\nhello';
    const items = atEverySplit({ route: reverse, steps: [client(same), connected, server('HTTP/1.1 204 No Content\r\n\r\n')] });
    expect(errors(items)).toEqual([]);
    expect(records(items)[0]).toMatchObject({ request: { body: { text: 'hello' } }, response: { status: 204 } });
    const gzip = 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n';
    expect(errors(atEverySplit({ route: reverse, steps: [client(gzip), connected, server('HTTP/1.1 204 No Content\r\n\r\n')] }))).toEqual([]);
  });
});

/** Responses the proxy must not pass on: the client gets 502 instead. */
const SMUGGLING_RESPONSES: Array<[string, string]> = [
  ['Content-Length and Transfer-Encoding', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
  ['two different Content-Lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 20\r\n\r\nok'],
  ['a Content-Length that is not a number', 'HTTP/1.1 200 OK\r\nContent-Length: two\r\n\r\nok'],
  ['a Transfer-Encoding not ending in chunked', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nabc'],
  ['whitespace before the colon', 'HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok'],
  ['obsolete line folding', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: 1\r\n 2\r\n\r\nok'],
  ['a 204 with conflicting framing', 'HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n'],
];

describe('responses with ambiguous framing become a 502, never reach the client', () => {
  for (const [name, response] of SMUGGLING_RESPONSES) {
    it(name, () => {
      const items = atEverySplit({ route: reverse, steps: [client(GET), connected, server(response)] });
      expect(errors(items)).toEqual([{ error: 'HTTP_FRAMING', message: expect.stringMatching(/^response from http:\/\/backend\.test:8080\/: /) }]);
      expect(written(items, 'client')).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n/);
      expect(written(items, 'client')).not.toContain(response.slice(0, 15));
      expect(records(items)).toEqual([expect.objectContaining({ kind: 'http', response: null, error: expect.any(String) })]);
      expect(items).toContainEqual(expect.objectContaining({ close: 'upstream', how: 'destroy' }));
    });
  }

  it('cuts the client off when the framing breaks in the middle of a body it is receiving', () => {
    const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
    const items = atEverySplit({ route: reverse, steps: [client(GET), connected, server(`${head}3\r\nabc\r\nzz\r\n`)] });
    expect(written(items, 'client')).toBe(`${head}3\r\nabc\r\n`);
    expect(errors(items)).toEqual([expect.objectContaining({ error: 'HTTP_FRAMING' })]);
    expect(items).toContainEqual(expect.objectContaining({ close: 'client', how: 'destroy' }));
  });
});

describe('head size limit', () => {
  const big = `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(MAX_HEAD_BYTES)}\r\n\r\n`;

  it(`answers a request head over ${MAX_HEAD_BYTES} bytes with 431, whether it arrives whole or in pieces`, () => {
    // Fed whole and in 1 KiB pieces: a byte-by-byte run of 64 KiB would take minutes.
    const steps: ProxyEvent[] = [client(big)];
    const whole = transcript({ route: reverse, steps });
    const pieces = transcript({ route: reverse, steps }, (_step, length) => Array.from({ length: Math.floor(length / 1024) }, (_, i) => (i + 1) * 1024));
    expect(pieces).toEqual(whole);
    expect(errors(whole)).toEqual([{ error: 'HTTP_HEAD_TOO_LARGE', message: expect.stringContaining(`larger than ${MAX_HEAD_BYTES} bytes`) }]);
    expect(written(whole, 'client')).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    expect(written(whole, 'upstream')).toBe('');
  });

  it('refuses a head that never ends as soon as it passes the limit, without waiting for more', () => {
    const endless = `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(MAX_HEAD_BYTES + 1)}`;
    const items = transcript({ route: reverse, steps: [client(endless)] });
    expect(written(items, 'client')).toMatch(/^HTTP\/1\.1 431 /);
  });

  it('answers 502 to a response head over the limit', () => {
    const response = `HTTP/1.1 200 OK\r\nX-Big: ${'b'.repeat(MAX_HEAD_BYTES)}\r\nContent-Length: 0\r\n\r\n`;
    const items = transcript({ route: reverse, steps: [client(GET), connected, server(response)] });
    expect(errors(items)).toEqual([expect.objectContaining({ error: 'HTTP_HEAD_TOO_LARGE' })]);
    expect(written(items, 'client')).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n/);
  });
});

describe('timeouts', () => {
  const limits = { headerTimeoutMs: 30_000, idleTimeoutMs: 60_000 };

  it('answers a request head that does not complete in time with 408 and an error entry', () => {
    const items = withControl({ route: reverse, limits, steps: [client('GET / HTTP/1.1\r\nHost: x\r\n'), timeout('request-head')] });
    expect(items.filter((item) => 'control' in item)).toEqual([
      { control: 'set idle 60000' },
      { control: 'clear idle' },
      { control: 'set request-head 30000' },
    ]);
    expect(errors(items)).toEqual([{ error: 'HTTP_TIMEOUT', message: expect.stringContaining('request head from 127.0.0.1:50000 not complete after 30 s') }]);
    expect(written(items, 'client')).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(written(items, 'upstream')).toBe('');
  });

  it('stops the head timer once the head is complete, and waits for a slow response without a limit', () => {
    const items = withControl({
      route: reverse,
      limits,
      steps: [client('GET / HTTP/1.1\r\n'), client('Host: x\r\n\r\n'), connected, server('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')],
    });
    expect(items.filter((item) => 'control' in item)).toEqual([
      { control: 'set idle 60000' },
      { control: 'clear idle' },
      { control: 'set request-head 30000' },
      { control: 'clear request-head' },
      // The response took as long as it took; the connection is idle again afterwards.
      { control: 'set idle 60000' },
    ]);
  });

  it('answers a response head that started but did not complete in time with 504', () => {
    const items = withControl({ route: reverse, limits, steps: [client(GET), connected, server('HTTP/1.1 200 OK\r\nContent-'), timeout('response-head')] });
    expect(items).toContainEqual({ control: 'set response-head 30000' });
    expect(errors(items)).toEqual([
      expect.objectContaining({ error: 'HTTP_TIMEOUT', message: expect.stringContaining('response head from backend.test:8080 not complete') }),
    ]);
    expect(written(items, 'client')).toMatch(/^HTTP\/1\.1 504 Gateway Timeout\r\n/);
    expect(records(items)).toEqual([expect.objectContaining({ response: null, error: expect.stringContaining('not complete after 30 s') })]);
  });

  it('closes a connection idle between requests, quietly', () => {
    const items = withControl({
      route: reverse,
      limits,
      steps: [client(GET), connected, server('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'), timeout('idle')],
    });
    expect(errors(items)).toEqual([]);
    expect(records(items)).toHaveLength(1);
    expect(items.slice(-3)).toEqual([
      { close: 'upstream', how: 'end', reason: 'idle timeout' },
      { close: 'client', how: 'end', reason: 'idle timeout' },
      { release: true },
    ]);
  });

  it('starts no timer when the limits are off', () => {
    const items = withControl({ route: reverse, steps: [client('GET / HTTP/1.1\r\n'), client('Host: x\r\n\r\n')] });
    expect(items.filter((item) => 'control' in item)).toEqual([]);
  });
});

describe('pipelined bytes are held with backpressure', () => {
  it('pauses the client while a pipelined request waits, and resumes it when the response ends', () => {
    const ok = 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n';
    const items = withControl({ route: reverse, steps: [client(`${GET}${GET}GET /third`), connected, server(`${ok}A`), server(`${ok}B`)] });
    const flow = items.flatMap((item) => ('control' in item ? [item.control] : 'write' in item ? [`write ${item.write}`] : []));
    // Paused at once (the second and third requests wait); after A the second goes, and the third
    // is still held; after B the third's head is incomplete and the client is read again.
    expect(flow).toEqual(['write upstream', 'pause client', 'write client', 'write upstream', 'write client', 'resume client']);
  });

  it('holds WebSocket frames a client sends before the 101, paused, and hands them on with the socket', () => {
    const upgrade = 'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';
    const frame = '\x81\x82abcd\x09\x0b';
    const items = withControl({
      route: reverse,
      steps: [client(upgrade + frame), connected, server('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')],
    });
    expect(items).toContainEqual({ control: 'pause client' });
    expect(items[items.length - 1]).toMatchObject({ handOff: 'websocket', clientBytes: frame });
  });
});

describe('proxy loops', () => {
  const own = ({ address, port }: { address: string; port: number }): boolean => address === '127.0.0.1' && port === 8080;
  const self: ProxyEvent = { type: 'upstream-connected', remote: { address: '127.0.0.1', port: 8080 } };

  it('refuses a reverse --target that is the recorder itself with 508 and one error entry', () => {
    const items = atEverySplit({ route: reverse, isOwnAddress: own, steps: [client(GET), self] });
    expect(errors(items)).toEqual([
      { error: 'PROXY_LOOP', message: 'GET http://backend.test:8080/ would reach this recorder itself (127.0.0.1:8080): a proxy loop' },
    ]);
    expect(written(items, 'client')).toMatch(/^HTTP\/1\.1 508 Loop Detected\r\n/);
    expect(records(items)).toEqual([]);
    expect(items).toContainEqual(expect.objectContaining({ close: 'upstream', how: 'destroy' }));
  });

  it('refuses a CONNECT and an absolute-URI request that reach the recorder itself', () => {
    const tunnel = atEverySplit({
      route: forward,
      isOwnAddress: own,
      steps: [client('CONNECT localhost:8080 HTTP/1.1\r\nHost: localhost:8080\r\n\r\n'), self],
    });
    expect(errors(tunnel)).toEqual([expect.objectContaining({ error: 'PROXY_LOOP', message: expect.stringMatching(/^CONNECT localhost:8080 /) })]);
    expect(written(tunnel, 'client')).toMatch(/^HTTP\/1\.1 508 Loop Detected\r\n/);
    expect(written(tunnel, 'client')).not.toContain('200 Connection established');
    const absolute = atEverySplit({
      route: forward,
      isOwnAddress: own,
      steps: [client('GET http://my-laptop.local:8080/ HTTP/1.1\r\nHost: my-laptop.local:8080\r\n\r\n'), self],
    });
    expect(errors(absolute)).toEqual([expect.objectContaining({ error: 'PROXY_LOOP' })]);
  });

  it('lets an upstream on another port through', () => {
    const items = atEverySplit({
      route: reverse,
      isOwnAddress: own,
      steps: [client(GET), { type: 'upstream-connected', remote: { address: '127.0.0.1', port: 9000 } }, server('HTTP/1.1 204 No Content\r\n\r\n')],
    });
    expect(errors(items)).toEqual([]);
  });
});

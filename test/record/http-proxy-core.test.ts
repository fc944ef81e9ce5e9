/**
 * The proxy core's decisions with literal bytes and no open port: every scenario is fed whole,
 * one byte at a time, at every 2-way split and at random splits (atEverySplit), and what the core
 * writes, records and hands on must be the same each time.
 */
import { describe, expect, it } from 'vitest';
import type { HttpRoute } from '../../src/record/http-proxy-core.js';
import { atEverySplit, client, clientEnds, clientGone, connected, records, server, serverEnds, serverFails, written, type Item } from './proxy-core-harness.js';

const forward: HttpRoute = { kind: 'forward' };
const reverse: HttpRoute = { kind: 'fixed', mode: 'reverse', address: { host: 'backend.test', port: 8080 }, rewriteHost: true };

const ok = (body: string, extra = ''): string => `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`;
const upgradeRequest =
  'GET /chat HTTP/1.1\r\nHost: backend.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
  'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';

function kinds(items: Item[]): string[] {
  return items.map((item) => Object.keys(item)[0]!);
}

describe('HttpProxyCore: requests and responses', () => {
  it('keeps one client connection alive across two requests to two upstreams', () => {
    const items = atEverySplit({
      route: forward,
      steps: [
        client('GET http://a.test/one HTTP/1.1\r\nHost: a.test\r\nProxy-Connection: keep-alive\r\n\r\n'),
        connected,
        server(ok('first')),
        client('GET http://b.test:8080/two?x=1 HTTP/1.1\r\nHost: b.test:8080\r\n\r\n'),
        connected,
        server(ok('second')),
      ],
    });
    expect(items.filter((item) => 'connect' in item)).toEqual([
      { connect: 'a.test:80', tls: false },
      { connect: 'b.test:8080', tls: false },
    ]);
    // Absolute-form becomes origin-form; the proxy-only header is not forwarded.
    expect(items[1]).toEqual({ write: 'upstream', bytes: 'GET /one HTTP/1.1\r\nHost: a.test\r\n\r\n' });
    expect(written(items, 'client')).toBe(ok('first') + ok('second'));
    const [first, second] = records(items);
    expect(first).toMatchObject({ kind: 'http', id: 'h1', url: 'http://a.test/one', mode: 'forward', response: { status: 200, body: { text: 'first' } } });
    expect(second).toMatchObject({ id: 'h2', url: 'http://b.test:8080/two?x=1', server: { host: 'b.test', port: 8080 } });
    expect(items.some((item) => 'close' in item)).toBe(false);
  });

  it('holds a pipelined request until the response before it is complete', () => {
    const items = atEverySplit({
      route: reverse,
      steps: [client('GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n'), connected, server(ok('A')), server(ok('B'))],
    });
    // Host is rewritten for the reverse target; /b goes upstream only after A's response.
    expect(kinds(items)).toEqual(['connect', 'write', 'write', 'record', 'write', 'write', 'record']);
    expect(items[1]).toEqual({ write: 'upstream', bytes: 'GET /a HTTP/1.1\r\nHost: backend.test:8080\r\n\r\n' });
    expect(items[2]).toEqual({ write: 'client', bytes: ok('A') });
    expect(items[4]).toEqual({ write: 'upstream', bytes: 'GET /b HTTP/1.1\r\nHost: backend.test:8080\r\n\r\n' });
    expect(records(items).map((entry) => (entry.request as { target: string }).target)).toEqual(['/a', '/b']);
  });

  it('relays chunked bodies as they are and records them decoded', () => {
    const request = 'POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\n\r\n';
    const response = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nTrailer: t\r\n\r\n';
    const items = atEverySplit({ route: reverse, steps: [client(request), connected, server(response)] });
    expect(written(items, 'upstream')).toBe(request.replace('Host: x', 'Host: backend.test:8080'));
    expect(written(items, 'client')).toBe(response);
    expect(records(items)[0]).toMatchObject({ request: { body: { text: 'abcde', size: 5 } }, response: { body: { text: 'hello', size: 5 } } });
  });

  it('relays 100 Continue and other 1xx before the final response, and records the final one', () => {
    const items = atEverySplit({
      route: reverse,
      steps: [
        client('PUT /f HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n'),
        connected,
        server('HTTP/1.1 100 Continue\r\n\r\n'),
        client('data'),
        server('HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n'),
        server(ok('done')),
      ],
    });
    expect(written(items, 'client')).toBe('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n' + ok('done'));
    expect(written(items, 'upstream').endsWith('\r\n\r\ndata')).toBe(true);
    expect(records(items)).toHaveLength(1);
    expect(records(items)[0]).toMatchObject({ request: { body: { text: 'data' } }, response: { status: 200, body: { text: 'done' } } });
  });

  for (const refusal of [
    ok('plain page'),
    'HTTP/1.1 400 Bad Request\r\nContent-Length: 3\r\n\r\nbad',
    'HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n',
  ]) {
    const status = refusal.slice(9, 12);
    it(`records an upgrade refused with ${status} as an exchange and keeps the connection`, () => {
      const items = atEverySplit({
        route: reverse,
        steps: [client(upgradeRequest), connected, server(refusal), client('GET /next HTTP/1.1\r\nHost: x\r\n\r\n'), server(ok('n'))],
      });
      expect(written(items, 'client')).toBe(refusal + ok('n'));
      const [refused, next] = records(items);
      expect(refused).toMatchObject({ kind: 'http', url: 'ws://backend.test:8080/chat', response: { status: Number(status) } });
      expect(next).toMatchObject({ kind: 'http', request: { target: '/next' } });
      expect(items.some((item) => 'handOff' in item)).toBe(false);
    });
  }

  it('hands a 101 to a WebSocket relay with the frames either side sent early', () => {
    const head = 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Protocol: chat\r\n\r\n';
    const clientFrame = '\x81\x85abcd' + 'hello';
    const serverFrame = '\x81\x02hi';
    const items = atEverySplit({ route: reverse, steps: [client(upgradeRequest + clientFrame), connected, server(head + serverFrame)] });
    expect(kinds(items)).toEqual(['connect', 'write', 'record', 'write', 'handOff']);
    expect(records(items)[0]).toMatchObject({
      kind: 'connection',
      id: 'c1',
      url: 'ws://backend.test:8080/chat',
      subprotocol: 'chat',
      response: { status: 101 },
    });
    expect(items[3]).toEqual({ write: 'client', bytes: head });
    expect(items[4]).toEqual({ handOff: 'websocket', detail: { id: 'c1', deflate: null }, clientBytes: clientFrame, serverBytes: serverFrame });
  });

  it('closes after a response that says connection: close, and after an HTTP/1.0 response', () => {
    for (const response of [ok('bye', 'Connection: close\r\n'), 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok']) {
      const items = atEverySplit({ route: reverse, steps: [client('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), connected, server(response)] });
      expect(items.slice(-2)).toEqual([
        { close: 'client', how: 'end', reason: 'the exchange ends the connection' },
        { close: 'upstream', how: 'end', reason: 'the exchange ends the connection' },
      ]);
    }
  });

  it('ends a body delimited by the connection at the upstream end', () => {
    const items = atEverySplit({
      route: reverse,
      steps: [client('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), connected, server('HTTP/1.1 200 OK\r\n\r\nuntil the end'), serverEnds],
    });
    expect(records(items)[0]).toMatchObject({ response: { body: { text: 'until the end' } } });
    expect(records(items)[0]).not.toHaveProperty('error');
  });

  it('reconnects after the upstream closed an idle keep-alive connection', () => {
    const items = atEverySplit({
      route: reverse,
      steps: [
        client('GET /1 HTTP/1.1\r\nHost: x\r\n\r\n'),
        connected,
        server(ok('1')),
        serverEnds,
        client('GET /2 HTTP/1.1\r\nHost: x\r\n\r\n'),
        connected,
        server(ok('2')),
      ],
    });
    expect(items.filter((item) => 'connect' in item)).toHaveLength(2);
    expect(items).toContainEqual({ close: 'upstream', how: 'end', reason: 'the upstream closed an idle connection' });
    expect(records(items)).toHaveLength(2);
  });

  it('answers origin-form requests to the forward proxy 400, and https:// absolute URIs 501', () => {
    const refused = atEverySplit({ route: forward, steps: [client('GET /x HTTP/1.1\r\nHost: a\r\n\r\n')] });
    expect(written(refused, 'client')).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n[^]*send absolute-URI requests/);
    expect(refused.slice(-2)).toEqual([{ close: 'client', how: 'end', reason: 'answered 400 Bad Request' }, { release: true }]);
    const https = atEverySplit({ route: forward, steps: [client('GET https://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n')] });
    expect(written(https, 'client')).toMatch(/^HTTP\/1\.1 501 Not Implemented\r\n/);
  });
});

describe('HttpProxyCore: CONNECT tunnels', () => {
  const connect = 'CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n';
  const established = 'HTTP/1.1 200 Connection established\r\n\r\n';

  it('parses plaintext HTTP inside the tunnel and records it as connect mode', () => {
    const items = atEverySplit({
      route: forward,
      steps: [client(connect), connected, client('GET /in HTTP/1.1\r\nHost: a.test\r\n\r\n'), server(ok('inside'))],
    });
    expect(items.filter((item) => 'connect' in item)).toEqual([{ connect: 'a.test:443', tls: false }]);
    expect(written(items, 'client')).toBe(established + ok('inside'));
    // Inside a tunnel the request goes as the client wrote it: no Host rewrite.
    expect(written(items, 'upstream')).toBe('GET /in HTTP/1.1\r\nHost: a.test\r\n\r\n');
    expect(records(items)[0]).toMatchObject({ kind: 'http', mode: 'connect', url: 'http://a.test:443/in' });
  });

  it('hands a TLS ClientHello to interception, with bytes sent before the 200', () => {
    const hello = '\x16\x03\x01\x00\x05hello';
    const items = atEverySplit({ route: forward, steps: [client(connect + hello), connected] });
    expect(items.slice(-2)).toEqual([
      { write: 'client', bytes: established },
      { handOff: 'intercept-tls', detail: { address: { host: 'a.test', port: 443 } }, clientBytes: hello, serverBytes: '' },
    ]);
  });

  it('passes TLS through untouched for --no-intercept hosts, as a tunnel entry', () => {
    const hello = '\x16\x03\x01\x00\x05hello';
    const items = atEverySplit({
      route: forward,
      passThrough: (host) => host === 'a.test',
      steps: [client(connect), connected, client(hello), server('\x16\x03\x03')],
    });
    expect(records(items)[0]).toMatchObject({ kind: 'tunnel', id: 't1', url: 'https://a.test', reason: 'no-intercept' });
    expect(items[items.length - 1]).toEqual({ handOff: 'tunnel', detail: { id: 't1' }, clientBytes: hello, serverBytes: '\x16\x03\x03' });
  });

  it('makes an opaque tunnel of a server that speaks first', () => {
    const items = atEverySplit({ route: forward, steps: [client(connect), connected, server('SSH-2.0-OpenSSH_9.6\r\n'), client('SSH-2.0-client\r\n')] });
    expect(records(items)[0]).toMatchObject({ kind: 'tunnel', url: 'tcp://a.test:443', reason: 'server spoke first' });
    expect(items[items.length - 1]).toMatchObject({ handOff: 'tunnel', clientBytes: 'SSH-2.0-client\r\n', serverBytes: 'SSH-2.0-OpenSSH_9.6\r\n' });
  });

  it('relays bytes that are not HTTP opaquely, after an error entry', () => {
    const items = atEverySplit({ route: forward, steps: [client(connect), connected, client('PING now\r\n\r\nmore bytes'), server('+PONG\r\n')] });
    expect(items.find((item) => 'error' in item)).toMatchObject({ error: 'HTTP_PARSE', message: expect.stringContaining('not an HTTP request line') });
    expect(records(items)[0]).toMatchObject({ kind: 'tunnel', reason: expect.stringMatching(/^not HTTP: /) });
    expect(items[items.length - 1]).toMatchObject({ handOff: 'tunnel', clientBytes: 'PING now\r\n\r\nmore bytes', serverBytes: '+PONG\r\n' });
  });

  it('answers 502 when the tunnel upstream cannot be reached, and 400 to a CONNECT without a port', () => {
    const items = atEverySplit({ route: forward, steps: [client(connect), serverFails('ECONNREFUSED')] });
    expect(items[1]).toEqual({ error: 'UPSTREAM_CONNECT', message: 'CONNECT a.test:443: cannot connect to a.test:443: connection refused' });
    expect(written(items, 'client')).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n/);
    const bad = atEverySplit({ route: forward, steps: [client('CONNECT a.test:99999 HTTP/1.1\r\n\r\n')] });
    expect(written(bad, 'client')).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n[^]*CONNECT needs host:port/);
  });
});

describe('HttpProxyCore: the unexpected', () => {
  it('relays bytes after a response that nobody asked for as an opaque tunnel', () => {
    const items = atEverySplit({
      route: reverse,
      steps: [client('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), connected, server(ok('x') + '\r\nSURPRISE'), client('late')],
    });
    expect(records(items).map((entry) => entry.kind)).toEqual(['http', 'tunnel']);
    expect(records(items)[1]).toMatchObject({ reason: 'not HTTP: unsolicited response bytes', url: 'tcp://backend.test:8080' });
    expect(items[items.length - 1]).toMatchObject({ handOff: 'tunnel', clientBytes: 'late', serverBytes: '\r\nSURPRISE' });
  });

  it('records a client that leaves mid-request, and drops the upstream', () => {
    const items = atEverySplit({
      route: reverse,
      steps: [client('POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc'), connected, clientGone],
    });
    expect(records(items)[0]).toMatchObject({
      kind: 'http',
      response: null,
      error: 'the client closed the connection before the response',
      request: { body: { size: 3 } },
    });
    expect(items.slice(-2)).toEqual([{ close: 'upstream', how: 'destroy', reason: 'the client is gone' }, { release: true }]);
  });

  it('still delivers the response to a client that half-closed after its request', () => {
    const items = atEverySplit({ route: reverse, steps: [client('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), clientEnds, connected, server(ok('late'))] });
    expect(items).toContainEqual({ close: 'upstream', how: 'end', reason: 'the client half-closed' });
    expect(written(items, 'client')).toBe(ok('late'));
  });

  it('answers 502 when the upstream fails before the response head', () => {
    const items = atEverySplit({ route: reverse, steps: [client('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), serverFails('ECONNREFUSED')] });
    expect(items.find((item) => 'error' in item)).toEqual({
      error: 'UPSTREAM_CONNECT',
      message: 'GET http://backend.test:8080/: cannot connect to backend.test:8080: connection refused',
    });
    expect(written(items, 'client')).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n[^]*connection refused\n$/);
    expect(records(items)[0]).toMatchObject({ response: null, error: 'cannot connect to backend.test:8080: connection refused' });
  });

  it('cuts the client off when the upstream fails after the head (a 502 is too late)', () => {
    const head = 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n';
    for (const failure of [serverFails('ECONNRESET'), serverEnds]) {
      const items = atEverySplit({ route: reverse, steps: [client('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), connected, server(head + 'part'), failure] });
      expect(written(items, 'client')).toBe(head + 'part');
      expect(items.find((item) => 'error' in item)).toMatchObject({ error: 'UPSTREAM_CLOSED' });
      expect(records(items)[0]).toMatchObject({ response: { status: 200, body: { text: 'part', size: 4 } }, error: expect.any(String) });
      expect(items[items.length - 1]).toEqual({ close: 'client', how: 'destroy', reason: 'the upstream failed in the middle of the response' });
    }
  });

  it('refuses a request that is not HTTP to the forward proxy with 400', () => {
    const items = atEverySplit({ route: forward, steps: [client('\x00\x01\x02 hello\r\n\r\n')] });
    expect(items[0]).toMatchObject({ error: 'HTTP_PARSE' });
    expect(written(items, 'client')).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(items[items.length - 1]).toEqual({ release: true });
  });

  it('relays a response that is not HTTP opaquely after an error entry', () => {
    const items = atEverySplit({
      route: reverse,
      steps: [client('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), connected, server('garbage that is no status line\r\n\r\n')],
    });
    expect(items.find((item) => 'error' in item)).toMatchObject({
      error: 'HTTP_PARSE',
      message: expect.stringContaining('response from http://backend.test:8080/'),
    });
    expect(items[items.length - 1]).toMatchObject({ handOff: 'tunnel', serverBytes: 'garbage that is no status line\r\n\r\n' });
  });
});

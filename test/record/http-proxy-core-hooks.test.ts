/**
 * The proxy core with hooks (onConnection, onRequest, onResponse), with literal bytes and no
 * open port: the core asks (`ask-hooks`), the script answers (`hooks-answered`), and what it
 * writes, records and hands on must be the same however the bytes were split (atEverySplit).
 */
import { describe, expect, it } from 'vitest';
import type { HookFailure } from '../../src/intervene/chain.js';
import type { HookWatch, HttpRoute } from '../../src/record/http-proxy-core.js';
import {
  answered,
  atEverySplit,
  client,
  clientEnds,
  clientGone,
  connected,
  records,
  server,
  serverEnds,
  withControl,
  written,
  type Item,
} from './proxy-core-harness.js';

const reverse: HttpRoute = { kind: 'fixed', mode: 'reverse', address: { host: 'backend.test', port: 8080 }, rewriteHost: true };
const forward: HttpRoute = { kind: 'forward' };
const connections: HookWatch = { connections: true, requests: false, responses: false };
const requests: HookWatch = { connections: false, requests: true, responses: false };
const responses: HookWatch = { connections: false, requests: false, responses: true };
const both: HookWatch = { connections: true, requests: true, responses: true };

const ok = (body: string, extra = ''): string => `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`;
const upgradeRequest =
  'GET /chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Protocol: chat, superchat\r\n' +
  'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';
const switching = 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Protocol: chat\r\n\r\n';
const unchanged = { by: null, failures: [] as HookFailure[] };
const bytes = (text: string): Uint8Array => Buffer.from(text, 'latin1');

function kinds(items: Item[]): string[] {
  return items.map((item) => Object.keys(item)[0]!);
}

describe('HttpProxyCore hooks: onConnection', () => {
  it('asks before connecting upstream, holds the client meanwhile, then goes on with the id it gave', () => {
    const clientFrame = '\x81\x85abcd' + 'hello';
    const scenario = {
      route: reverse,
      hooks: connections,
      steps: [client(upgradeRequest + clientFrame), answered({ hook: 'connection', id: 'c1', decision: unchanged }), connected, server(switching)],
    };
    const items = atEverySplit(scenario);
    expect(kinds(items)).toEqual(['ask', 'connect', 'write', 'record', 'write', 'handOff']);
    expect(items[0]).toEqual({
      ask: 'connection',
      id: 'c1',
      question: {
        info: {
          id: 'c1',
          url: 'ws://backend.test:8080/chat',
          headers: expect.arrayContaining([['Sec-WebSocket-Protocol', 'chat, superchat']]) as unknown,
          protocols: ['chat', 'superchat'],
          subprotocol: null,
        },
      },
    });
    expect(items[2]).toEqual({ write: 'upstream', bytes: upgradeRequest.replace('Host: x', 'Host: backend.test:8080') });
    expect(records(items)[0]).toMatchObject({ kind: 'connection', id: 'c1' });
    expect(items[5]).toMatchObject({ handOff: 'websocket', detail: { id: 'c1' }, clientBytes: clientFrame });
    // The frame sent early waits in the core, with the client paused, until the hooks answered.
    const control = withControl(scenario);
    expect(kinds(control).slice(0, 3)).toEqual(['ask', 'control', 'connect']);
    expect(control[1]).toEqual({ control: 'pause client' });
  });

  it('answers a refusal itself, records it as a refused http exchange, and connects nothing', () => {
    const items = atEverySplit({
      route: reverse,
      hooks: connections,
      steps: [
        client(upgradeRequest),
        answered({
          hook: 'connection',
          id: 'c1',
          decision: { refuse: { status: 403, headers: { 'X-Why': 'closed' }, body: 'go away' }, by: 'script', failures: [] },
        }),
      ],
    });
    expect(kinds(items)).toEqual(['ask', 'record', 'write', 'close', 'release']);
    const refusal = 'HTTP/1.1 403 Forbidden\r\nX-Why: closed\r\nConnection: close\r\nContent-Length: 7\r\n\r\ngo away';
    expect(written(items, 'client')).toBe(refusal);
    expect(written(items, 'upstream')).toBe('');
    expect(records(items)[0]).toMatchObject({
      kind: 'http',
      id: 'h1',
      url: 'ws://backend.test:8080/chat',
      action: 'refused',
      by: 'script',
      request: { method: 'GET', target: '/chat' },
      response: { status: 403, statusText: 'Forbidden', body: { text: 'go away', size: 7 } },
    });
  });

  it('lets the connection through when the hook failed, with an error entry naming the connection', () => {
    const failure: HookFailure = { code: 'HOOK_TIMEOUT', hook: 'hooks.mjs onConnection', message: 'did not settle within 5000 ms' };
    const items = atEverySplit({
      route: reverse,
      hooks: connections,
      steps: [client(upgradeRequest), answered({ hook: 'connection', id: 'c1', decision: { by: null, failures: [failure] } }), connected, server(switching)],
    });
    expect(kinds(items)).toEqual(['ask', 'error', 'connect', 'write', 'record', 'write', 'handOff']);
    expect(items[1]).toMatchObject({ error: 'HOOK_TIMEOUT', conn: 'c1' });
  });
});

describe('HttpProxyCore hooks: onRequest', () => {
  it('answers with a local response and never contacts the upstream; the connection stays alive', () => {
    const items = atEverySplit({
      route: forward,
      hooks: requests,
      steps: [
        client('GET http://api.test/status HTTP/1.1\r\nHost: api.test\r\n\r\n'),
        answered({
          hook: 'request',
          id: 'h1',
          decision: { response: { status: 200, headers: [['Content-Type', 'application/json']], body: bytes('{"mock":true}') }, by: 'script', failures: [] },
        }),
        client('GET http://api.test/next HTTP/1.1\r\nHost: api.test\r\n\r\n'),
        answered({ hook: 'request', id: 'h2', decision: unchanged }),
        connected,
        server(ok('real')),
      ],
    });
    expect(kinds(items)).toEqual(['ask', 'write', 'record', 'ask', 'connect', 'write', 'write', 'record']);
    expect(items[0]).toEqual({
      ask: 'request',
      id: 'h1',
      question: { request: { id: 'h1', method: 'GET', url: 'http://api.test/status', headers: [['Host', 'api.test']], body: '' } },
    });
    expect(items[1]).toEqual({ write: 'client', bytes: 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{"mock":true}' });
    expect(written(items, 'upstream')).toBe('GET /next HTTP/1.1\r\nHost: api.test\r\n\r\n');
    const [mocked, real] = records(items);
    expect(mocked).toMatchObject({ id: 'h1', action: 'mocked', by: 'script', response: { status: 200, body: { text: '{"mock":true}' } } });
    expect(mocked).not.toHaveProperty('forwarded');
    expect(real).toMatchObject({ id: 'h2', response: { status: 200, body: { text: 'real' } } });
    expect(real).not.toHaveProperty('action');
  });

  it('forwards a changed request with its chunked body re-framed with Content-Length', () => {
    const request = 'POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\n\r\n';
    const items = atEverySplit({
      route: reverse,
      hooks: requests,
      steps: [
        client(request),
        answered({
          hook: 'request',
          id: 'h1',
          decision: {
            request: {
              method: 'PUT',
              url: 'http://backend.test:8080/up?v=2',
              headers: [
                ['Host', 'x'],
                ['Transfer-Encoding', 'chunked'],
                ['X-Added', '1'],
              ],
              body: bytes('ABCDE!'),
            },
            by: 'script',
            failures: [],
          },
        }),
        connected,
        server(ok('done')),
      ],
    });
    expect(items[0]).toMatchObject({ ask: 'request', question: { request: { method: 'POST', url: 'http://backend.test:8080/up', body: 'abcde' } } });
    // The Host the proxy rewrites for --target is still rewritten; the body is whole, so Content-Length.
    expect(written(items, 'upstream')).toBe('PUT /up?v=2 HTTP/1.1\r\nHost: backend.test:8080\r\nX-Added: 1\r\nContent-Length: 6\r\n\r\nABCDE!');
    expect(written(items, 'client')).toBe(ok('done'));
    expect(records(items)[0]).toMatchObject({
      action: 'modified',
      by: 'script',
      request: {
        method: 'POST',
        target: '/up',
        headers: [
          ['Host', 'x'],
          ['Transfer-Encoding', 'chunked'],
        ],
        body: { text: 'abcde' },
      },
      forwarded: {
        request: {
          method: 'PUT',
          target: '/up?v=2',
          headers: [
            ['Host', 'backend.test:8080'],
            ['X-Added', '1'],
            ['Content-Length', '6'],
          ],
          body: { text: 'ABCDE!', size: 6 },
        },
      },
    });
  });

  it('sends a forward-proxy request to the host of the URL the hook gave', () => {
    const items = atEverySplit({
      route: forward,
      hooks: requests,
      steps: [
        client('GET http://a.test/x HTTP/1.1\r\nHost: a.test\r\n\r\n'),
        answered({
          hook: 'request',
          id: 'h1',
          decision: { request: { method: 'GET', url: 'http://b.test:81/y', headers: [['Host', 'a.test']], body: bytes('') }, by: 'flag', failures: [] },
        }),
        connected,
        server(ok('b')),
      ],
    });
    expect(items.filter((item) => 'connect' in item)).toEqual([{ connect: 'b.test:81', tls: false }]);
    expect(written(items, 'upstream')).toBe('GET /y HTTP/1.1\r\nHost: b.test:81\r\n\r\n');
    expect(records(items)[0]).toMatchObject({ url: 'http://a.test/x', server: { host: 'b.test', port: 81 }, by: 'flag' });
  });

  it('forwards the original bytes, and writes an error entry, when the hook failed', () => {
    const request = 'POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n';
    const failure: HookFailure = { code: 'HOOK_ERROR', hook: 'hooks.mjs onRequest', message: 'Error: boom' };
    const items = atEverySplit({
      route: reverse,
      hooks: requests,
      steps: [client(request), answered({ hook: 'request', id: 'h1', decision: { by: null, failures: [failure] } }), connected, server(ok('fine'))],
    });
    expect(kinds(items)).toEqual(['ask', 'error', 'connect', 'write', 'write', 'record']);
    expect(items[1]).toEqual({
      error: 'HOOK_ERROR',
      conn: 'h1',
      message: 'hooks.mjs onRequest on POST http://backend.test:8080/up: Error: boom; its answer was not used',
    });
    expect(written(items, 'upstream')).toBe(request.replace('Host: x', 'Host: backend.test:8080'));
    expect(records(items)[0]).not.toHaveProperty('action');
  });

  it('answers Expect: 100-continue itself, since the body must arrive before anything goes upstream', () => {
    const items = atEverySplit({
      route: reverse,
      hooks: requests,
      steps: [
        client('PUT /f HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n'),
        client('data'),
        answered({ hook: 'request', id: 'h1', decision: unchanged }),
        connected,
        server(ok('stored')),
      ],
    });
    expect(kinds(items)).toEqual(['write', 'ask', 'connect', 'write', 'write', 'record']);
    expect(items[0]).toEqual({ write: 'client', bytes: 'HTTP/1.1 100 Continue\r\n\r\n' });
  });

  it('passes a body over the hold limit through unchanged, unseen, with a HOOK_SKIPPED entry', () => {
    const body = 'x'.repeat(1100);
    const request = `POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const items = atEverySplit({ route: reverse, hooks: both, steps: [client(request), connected, server(ok('big'))] });
    expect(kinds(items)).toEqual(['error', 'connect', 'write', 'write', 'record']);
    expect(items[0]).toMatchObject({ error: 'HOOK_SKIPPED', conn: 'h1' });
    expect(written(items, 'upstream')).toBe(request.replace('Host: x', 'Host: backend.test:8080'));
    expect(written(items, 'client')).toBe(ok('big'));
    expect(records(items)[0]).toMatchObject({ id: 'h1', request: { body: { size: 1100 } } });
  });

  it('sends a request the client half-closed after before ending the upstream', () => {
    const items = atEverySplit({
      route: reverse,
      hooks: requests,
      steps: [
        client('GET /a HTTP/1.1\r\nHost: x\r\n\r\n'),
        clientEnds,
        answered({ hook: 'request', id: 'h1', decision: unchanged }),
        connected,
        server(ok('late')),
      ],
    });
    expect(kinds(items)).toEqual(['ask', 'connect', 'write', 'close', 'write', 'record']);
    expect(items[3]).toEqual({ close: 'upstream', how: 'end', reason: 'the client half-closed' });
    expect(written(items, 'client')).toBe(ok('late'));
  });

  it('records an exchange whose client left while the hook decided, and ignores the late answer', () => {
    const items = atEverySplit({
      route: reverse,
      hooks: requests,
      steps: [client('GET /a HTTP/1.1\r\nHost: x\r\n\r\n'), clientGone, answered({ hook: 'request', id: 'h1', decision: unchanged })],
    });
    expect(kinds(items)).toEqual(['ask', 'record', 'close', 'release']);
    expect(records(items)[0]).toMatchObject({ id: 'h1', response: null, error: 'the client closed the connection before the response' });
  });
});

describe('HttpProxyCore hooks: onResponse', () => {
  const chunked = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Up: 1\r\n\r\n5\r\nhello\r\n0\r\n\r\n';

  it('holds the whole response and forwards the changed one re-framed with Content-Length', () => {
    const items = atEverySplit({
      route: reverse,
      hooks: responses,
      steps: [
        client('GET /r HTTP/1.1\r\nHost: x\r\n\r\n'),
        connected,
        server(chunked),
        answered({
          hook: 'response',
          id: 'h1',
          decision: {
            response: {
              status: 201,
              statusText: 'OK',
              headers: [
                ['Transfer-Encoding', 'chunked'],
                ['X-Up', '2'],
              ],
              body: bytes('HELLO!'),
            },
            by: 'script',
            failures: [],
          },
        }),
      ],
    });
    expect(kinds(items)).toEqual(['connect', 'write', 'ask', 'write', 'record']);
    expect(items[2]).toMatchObject({
      ask: 'response',
      question: { request: { method: 'GET', url: 'http://backend.test:8080/r', body: '' }, response: { status: 200, statusText: 'OK', body: 'hello' } },
    });
    // A new status keeps no stale reason phrase.
    expect(written(items, 'client')).toBe('HTTP/1.1 201 Created\r\nX-Up: 2\r\nContent-Length: 6\r\n\r\nHELLO!');
    expect(records(items)[0]).toMatchObject({
      action: 'modified',
      response: {
        status: 200,
        headers: [
          ['Transfer-Encoding', 'chunked'],
          ['X-Up', '1'],
        ],
        body: { text: 'hello' },
      },
      forwarded: {
        response: {
          status: 201,
          statusText: 'Created',
          headers: [
            ['X-Up', '2'],
            ['Content-Length', '6'],
          ],
          body: { text: 'HELLO!' },
        },
      },
    });
    expect(records(items)[0]).not.toHaveProperty('forwarded.request');
  });

  it('forwards the upstream bytes as they came when the hook left the response alone or failed', () => {
    const failure: HookFailure = { code: 'HOOK_RESULT', hook: 'hooks.mjs onResponse', message: 'returned a number (4)' };
    const items = atEverySplit({
      route: reverse,
      hooks: responses,
      steps: [
        client('GET /r HTTP/1.1\r\nHost: x\r\n\r\n'),
        connected,
        server(chunked),
        answered({ hook: 'response', id: 'h1', decision: { by: null, failures: [failure] } }),
        client('GET /s HTTP/1.1\r\nHost: x\r\n\r\n'),
        server(ok('two')),
        answered({ hook: 'response', id: 'h2', decision: unchanged }),
      ],
    });
    expect(kinds(items)).toEqual(['connect', 'write', 'ask', 'error', 'write', 'record', 'write', 'ask', 'write', 'record']);
    expect(items[3]).toMatchObject({ error: 'HOOK_RESULT', conn: 'h1' });
    expect(written(items, 'client')).toBe(chunked + ok('two'));
  });

  it('passes a response body over the hold limit through unchanged, with a HOOK_SKIPPED entry', () => {
    const big = ok('y'.repeat(1100));
    const items = atEverySplit({ route: reverse, hooks: responses, steps: [client('GET /big HTTP/1.1\r\nHost: x\r\n\r\n'), connected, server(big)] });
    expect(kinds(items)).toEqual(['connect', 'write', 'error', 'write', 'record']);
    expect(items[2]).toMatchObject({ error: 'HOOK_SKIPPED', conn: 'h1' });
    expect(written(items, 'client')).toBe(big);
  });

  it('holds a body delimited by the end of the connection until the hooks decided', () => {
    const items = atEverySplit({
      route: reverse,
      hooks: responses,
      steps: [
        client('GET /r HTTP/1.1\r\nHost: x\r\n\r\n'),
        connected,
        server('HTTP/1.0 200 OK\r\n\r\nuntil the end'),
        serverEnds,
        answered({
          hook: 'response',
          id: 'h1',
          decision: { response: { status: 200, statusText: 'OK', headers: [], body: bytes('changed') }, by: 'script', failures: [] },
        }),
      ],
    });
    expect(kinds(items)).toEqual(['connect', 'write', 'ask', 'close', 'write', 'record', 'close']);
    expect(written(items, 'client')).toBe('HTTP/1.0 200 OK\r\nContent-Length: 7\r\n\r\nchanged');
    expect(records(items)[0]).toMatchObject({ response: { body: { text: 'until the end' } }, forwarded: { response: { body: { text: 'changed' } } } });
  });

  it('pauses a server that sends past the response onResponse decides, until it is decided', () => {
    const scenario = {
      route: reverse,
      hooks: responses,
      steps: [
        client('GET /r HTTP/1.1\r\nHost: x\r\n\r\n'),
        connected,
        server(ok('one') + 'HTTP/1.1 200 OK\r\n'),
        answered({ hook: 'response', id: 'h1', decision: unchanged }),
      ],
    };
    const control = withControl(scenario);
    expect(kinds(control)).toEqual(['connect', 'write', 'ask', 'control', 'write', 'record', 'record', 'handOff']);
    expect(control[3]).toEqual({ control: 'pause upstream' });
    // The bytes nobody asked for then make an opaque tunnel, as without hooks (its relay resumes the socket).
    expect(control[6]).toMatchObject({ record: { kind: 'tunnel', reason: 'not HTTP: unsolicited response bytes' } });
    expect(atEverySplit(scenario)).toMatchObject([
      {},
      {},
      {},
      { write: 'client', bytes: ok('one') },
      {},
      {},
      { handOff: 'tunnel', serverBytes: 'HTTP/1.1 200 OK\r\n' },
    ]);
  });

  it('answers 502, not a cut-off, when the upstream fails in the middle of a held response', () => {
    const items = atEverySplit({
      route: reverse,
      hooks: responses,
      steps: [client('GET /r HTTP/1.1\r\nHost: x\r\n\r\n'), connected, server('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf'), { type: 'upstream-ended' }],
    });
    expect(written(items, 'client')).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n/);
    expect(items.some((item) => 'ask' in item)).toBe(false);
  });
});

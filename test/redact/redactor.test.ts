/**
 * The redaction engine on hand-built entries: each default rule, each user rule kind, messages
 * split over fragments, compressed messages, HTTP bodies, binary payloads, order with held-back
 * frames, the summary. Every output entry is checked against the archive's zod schema.
 */
import { isUtf8 } from 'node:buffer';
import { gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Entry, FrameEntry, HttpEntry } from '../../src/format/schema.js';
import { Redactor } from '../../src/redact/redactor.js';
import { defaultRules } from '../../src/redact/rules.js';
import { connection, end, errorEntry, frame, httpExchange, tunnel } from '../output/test-archives.js';
import { countOf, frames, makeJwt, payloadOf, places, redactAll } from './helpers.js';

const JWT = makeJwt();

/** A data frame with consistent sizes. */
function data(index: number, payload: string | Buffer, options: Partial<FrameEntry> = {}): FrameEntry {
  const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const type = options.type ?? 'text';
  const asText = typeof payload === 'string' && type !== 'binary' && type !== 'ping' && type !== 'pong';
  return frame({
    index,
    type,
    opcode: { text: 1, binary: 2, continuation: 0, close: 8, ping: 9, pong: 10, reserved: 3 }[type],
    size: bytes.length,
    wireSize: bytes.length + 6,
    text: asText ? bytes.toString('utf8') : undefined,
    data: asText ? undefined : bytes.toString('base64'),
    ...options,
  });
}

function only<T>(items: T[]): T {
  expect(items).toHaveLength(1);
  return items[0]!;
}

describe('headers', () => {
  it('redacts Authorization, Cookie, Set-Cookie, X-Api-Key and the like in handshakes, keeping schemes and cookie names', () => {
    const entries: Entry[] = [
      connection('c1', {
        request: {
          method: 'GET',
          target: '/chat',
          httpVersion: '1.1',
          headers: [
            ['Host', 'example.test'],
            ['Authorization', 'Bearer s3cr3t-token-value'],
            ['Cookie', 'sid=abcdef123456; theme=dark'],
            ['X-Api-Key', 'key-0123456789'],
            ['X-Amz-Security-Token', 'amz-token-0123456789'],
            ['X-CSRF-Token', 'csrf-0123456789'],
            ['Api-Key', 'plain-api-key-value'],
            ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
            ['Proxy-Authorization', 'Basic dXNlcjpwYXNzd29yZA=='],
          ],
        },
        response: {
          status: 101,
          statusText: 'Switching Protocols',
          httpVersion: '1.1',
          headers: [
            ['Set-Cookie', 'session=server-session-value; Path=/; HttpOnly'],
            ['Sec-WebSocket-Accept', 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='],
          ],
        },
      }),
    ];
    const { out, redactor } = redactAll(entries);
    const entry = only(out);
    if (entry.kind !== 'connection') throw new Error('expected a connection');
    expect(entry.request.headers).toEqual([
      ['Host', 'example.test'],
      ['Authorization', 'Bearer [REDACTED]'],
      ['Cookie', 'sid=[REDACTED]; theme=[REDACTED]'],
      ['X-Api-Key', '[REDACTED]'],
      ['X-Amz-Security-Token', '[REDACTED]'],
      ['X-CSRF-Token', '[REDACTED]'],
      ['Api-Key', '[REDACTED]'],
      ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
      ['Proxy-Authorization', 'Basic [REDACTED]'],
    ]);
    expect(entry.response.headers).toEqual([
      ['Set-Cookie', 'session=[REDACTED]; Path=/; HttpOnly'],
      ['Sec-WebSocket-Accept', 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='],
    ]);
    expect(places(redactor)).toContain('c1 request header Authorization');
    expect(places(redactor)).toContain('c1 response header Set-Cookie');
    expect(countOf(redactor, 'headers')).toBe(9);
    expect(redactor.summary().entries).toBe(1);
  });

  it('redacts header values in http entries and leaves harmless headers alone', () => {
    const entry = httpExchange('h2', {
      request: {
        method: 'GET',
        target: '/api',
        httpVersion: '1.1',
        headers: [
          ['Authorization', 'token ghp_abcdefghijklmnop'],
          ['Accept', 'application/json'],
          ['X-Session-Id', 'sess-abcdef'],
        ],
      },
      response: {
        status: 200,
        statusText: 'OK',
        httpVersion: '1.1',
        headers: [
          ['Access-Control-Allow-Credentials', 'true'],
          ['WWW-Authenticate', 'Bearer realm="api"'],
          ['Content-Type', 'text/plain'],
        ],
        body: { size: 2, text: 'ok' },
      },
    });
    const { out, redactor } = redactAll([entry]);
    const result = only(out) as HttpEntry;
    expect(result.request.headers).toEqual([
      ['Authorization', 'token [REDACTED]'],
      ['Accept', 'application/json'],
      ['X-Session-Id', '[REDACTED]'],
    ]);
    expect(result.response).toEqual(entry.response);
    expect(places(redactor)).toEqual(['h2 request header Authorization', 'h2 request header X-Session-Id']);
  });

  it('user rule header:NAME', () => {
    const entry = httpExchange('h1', {
      request: {
        method: 'GET',
        target: '/',
        httpVersion: '1.1',
        headers: [
          ['X-Tenant', 'acme-corp'],
          ['X-Other', 'stays'],
        ],
      },
    });
    const { out, redactor } = redactAll([entry], ['header:x-tenant'], { noDefaults: true });
    expect((only(out) as HttpEntry).request.headers).toEqual([
      ['X-Tenant', '[REDACTED]'],
      ['X-Other', 'stays'],
    ]);
    expect(redactor.summary().rules).toMatchObject([{ id: 'header:x-tenant', kind: 'header', count: 1, places: ['h1 request header X-Tenant'] }]);
  });
});

describe('URLs', () => {
  it('redacts userinfo and secret query and fragment parameters in url, target and Referer', () => {
    const entry = httpExchange('h3', {
      url: 'http://alice:hunter2pass@example.test/cb?code=oauth-code-123&state=xyz&page=2',
      request: {
        method: 'GET',
        target: '/cb?code=oauth-code-123&state=xyz&page=2',
        httpVersion: '1.1',
        headers: [['Referer', 'https://app.test/login?access_token=at-123456789#id_token=it-123456789&token_type=bearer']],
      },
    });
    const { out, redactor } = redactAll([entry]);
    const result = only(out) as HttpEntry;
    expect(result.url).toBe('http://alice:[REDACTED]@example.test/cb?code=[REDACTED]&state=xyz&page=2');
    expect(result.request.target).toBe('/cb?code=[REDACTED]&state=xyz&page=2');
    expect(result.request.headers).toEqual([['Referer', 'https://app.test/login?access_token=[REDACTED]#id_token=[REDACTED]&token_type=bearer']]);
    expect(places(redactor)).toEqual(
      expect.arrayContaining([
        'h3 url userinfo',
        'h3 url query code',
        'h3 request target query code',
        'h3 request header Referer query access_token',
        'h3 request header Referer query id_token',
      ]),
    );
  });

  it('redacts a token-only userinfo whole, in connection and tunnel urls', () => {
    const { out } = redactAll([
      connection('c1', { url: 'wss://ghp_tokenvalue123@example.test/ws?key=AIzaSyExample&v=2' }),
      tunnel('t1', { url: 'https://user:pw12345@example.test:443' }),
    ]);
    expect(out.map((entry) => ('url' in entry ? entry.url : ''))).toEqual([
      'wss://[REDACTED]@example.test/ws?key=[REDACTED]&v=2',
      'https://user:[REDACTED]@example.test:443',
    ]);
  });

  it('user rule query:NAME', () => {
    const { out, redactor } = redactAll([connection('c1', { url: 'ws://h.test/x?tenant=acme&v=1' })], ['query:tenant'], { noDefaults: true });
    expect((out[0] as { url: string }).url).toBe('ws://h.test/x?tenant=[REDACTED]&v=1');
    expect(places(redactor)).toEqual(['c1 url query tenant']);
  });
});

describe('subprotocol', () => {
  it('redacts only the token part of a Kubernetes bearer subprotocol, in the request, the response and the subprotocol field', () => {
    const item = 'base64url.bearer.authorization.k8s.io.ZXlKaGJHY2lPaUpTVXpJMU5pSXNJbXRwWkNJNkluZz0';
    const entry = connection('c1', {
      request: { method: 'GET', target: '/api/v1/exec', httpVersion: '1.1', headers: [['Sec-WebSocket-Protocol', `${item}, base64.binary.k8s.io`]] },
      response: { status: 101, statusText: 'Switching Protocols', httpVersion: '1.1', headers: [['Sec-WebSocket-Protocol', item]] },
      subprotocol: item,
    });
    const { out, redactor } = redactAll([entry]);
    const result = only(out);
    if (result.kind !== 'connection') throw new Error('expected a connection');
    const redacted = 'base64url.bearer.authorization.k8s.io.[REDACTED]';
    expect(result.request.headers).toEqual([['Sec-WebSocket-Protocol', `${redacted}, base64.binary.k8s.io`]]);
    expect(result.response.headers).toEqual([['Sec-WebSocket-Protocol', redacted]]);
    expect(result.subprotocol).toBe(redacted);
    expect(countOf(redactor, 'subprotocol')).toBe(3);
  });

  it('redacts the item after an access_token announcer, and the echoed value elsewhere', () => {
    const token = 'opaque-token-0123456789';
    const entry = connection('c1', {
      request: { method: 'GET', target: '/', httpVersion: '1.1', headers: [['Sec-WebSocket-Protocol', `access_token, ${token}`]] },
      response: { status: 101, statusText: 'Switching Protocols', httpVersion: '1.1', headers: [['Sec-WebSocket-Protocol', token]] },
      subprotocol: token,
    });
    const { out, redactor } = redactAll([entry]);
    const result = only(out);
    if (result.kind !== 'connection') throw new Error('expected a connection');
    expect(result.request.headers).toEqual([['Sec-WebSocket-Protocol', 'access_token, [REDACTED]']]);
    expect(result.response.headers).toEqual([['Sec-WebSocket-Protocol', '[REDACTED]']]);
    expect(result.subprotocol).toBe('[REDACTED]');
    expect(places(redactor)).toContain('c1 subprotocol (same value as c1 request header Sec-WebSocket-Protocol token)');
  });

  it('leaves ordinary subprotocols alone', () => {
    const entry = connection('c1', {
      request: { method: 'GET', target: '/', httpVersion: '1.1', headers: [['Sec-WebSocket-Protocol', 'graphql-transport-ws, chat.v1']] },
      subprotocol: 'graphql-transport-ws',
    });
    const { out, redactor } = redactAll([entry]);
    expect(out).toEqual([entry]);
    expect(redactor.redactedAnything).toBe(false);
  });
});

describe('JSON in text frames', () => {
  it('redacts secret fields at any depth, keeping the rest byte for byte', () => {
    const text =
      '{"type":"login", "user":{"name":"ada","password":"hunter2!","apiKey":12345,"token":null},"items":[{"secret":true}],"max_tokens":100,"token_type":"Bearer"}';
    const { out, redactor } = redactAll([data(4, text)]);
    const result = only(frames(out));
    expect(result.text).toBe(
      '{"type":"login", "user":{"name":"ada","password":"[REDACTED]","apiKey":"[REDACTED]","token":null},"items":[{"secret":"[REDACTED]"}],"max_tokens":100,"token_type":"Bearer"}',
    );
    expect(result.size).toBe(Buffer.byteLength(result.text!));
    expect(JSON.parse(result.text!)).toMatchObject({ user: { password: '[REDACTED]' } });
    expect(places(redactor)).toEqual(['c1 #4 text $.user.password', 'c1 #4 text $.user.apiKey', 'c1 #4 text $.items[0].secret']);
  });

  it('replaces a secret object whole, but looks inside "session" objects', () => {
    const text = '{"credentials":{"user":"a","pass":"b"},"session":{"model":"gpt","id":"sess_1"},"auth":{"token":"t-123"},"session_id":"s-9"}';
    const { out } = redactAll([data(0, text)]);
    expect(only(frames(out)).text).toBe(
      '{"credentials":"[REDACTED]","session":{"model":"gpt","id":"sess_1"},"auth":{"token":"[REDACTED]"},"session_id":"[REDACTED]"}',
    );
  });

  it('redacts JSON embedded in other text (Socket.IO) and JSON inside JSON strings', () => {
    const { out } = redactAll([data(0, '42["login",{"password":"pw-1"}]'), data(1, '{"payload":"{\\"password\\":\\"pw-2\\"}"}')]);
    const [a, b] = frames(out);
    expect(a!.text).toBe('42["login",{"password":"[REDACTED]"}]');
    expect(JSON.parse(JSON.parse(b!.text!).payload as string)).toEqual({ password: '[REDACTED]' });
  });

  it('redacts "key": value pairs in JSON cut short', () => {
    const { out } = redactAll([data(0, '{"a":1,"password":"hunter2","tok', { truncated: true, size: 1000 })]);
    const result = only(frames(out));
    expect(result.text).toBe('{"a":1,"password":"[REDACTED]","tok');
    expect(result.size).toBe(1000 + ('[REDACTED]'.length - 'hunter2'.length));
  });

  it('user rule json:KEY-REGEX matches keys case-insensitively', () => {
    const { out, redactor } = redactAll([data(0, '{"PIN":"1234","pinned":true,"x":{"pin":5}}')], ['json:^pin$'], { noDefaults: true });
    expect(only(frames(out)).text).toBe('{"PIN":"[REDACTED]","pinned":true,"x":{"pin":"[REDACTED]"}}');
    expect(countOf(redactor, 'json:^pin$')).toBe(2);
  });

  it('redacts Name: value lines (a STOMP CONNECT frame)', () => {
    const stomp = 'CONNECT\naccept-version:1.2\nhost:broker\nlogin:guest\npasscode:guest-secret\nAuthorization:Bearer abc.def\n\n\u0000';
    const { out } = redactAll([data(0, stomp)]);
    expect(only(frames(out)).text).toBe(
      'CONNECT\naccept-version:1.2\nhost:broker\nlogin:guest\npasscode:[REDACTED]\nAuthorization:Bearer [REDACTED]\n\n\u0000',
    );
  });
});

describe('messages over several frames', () => {
  it('redacts a secret split across 3 fragments and redistributes the text over the same frames', () => {
    const message = '{"user":"ada","password":"correct horse battery staple","n":1}';
    const cut1 = message.indexOf('correct') + 3;
    const cut2 = message.indexOf('battery') + 2;
    const parts = [message.slice(0, cut1), message.slice(cut1, cut2), message.slice(cut2)];
    const input: Entry[] = [
      data(3, parts[0]!, { fin: false }),
      data(4, parts[1]!, { type: 'continuation', opcode: 0, fin: false }),
      data(5, parts[2]!, { type: 'continuation', opcode: 0, fin: true }),
    ];
    const { out, redactor } = redactAll(input);
    const result = frames(out);
    expect(result.map((f) => [f.index, f.type, f.fin])).toEqual([
      [3, 'text', false],
      [4, 'continuation', false],
      [5, 'continuation', true],
    ]);
    const joined = result.map((f) => f.text).join('');
    expect(joined).toBe('{"user":"ada","password":"[REDACTED]","n":1}');
    for (const [index, f] of result.entries()) {
      expect(f.size).toBe(Buffer.byteLength(f.text!));
      expect(f.wireSize).toBe((input[index] as FrameEntry).wireSize);
      for (const word of ['correct', 'horse', 'battery', 'staple', 'cor', 'rect', 'ba', 'ttery']) expect(f.text).not.toContain(word);
    }
    expect(places(redactor)).toEqual(['c1 #3-#5 text $.password']);
  });

  it('any split of a message gives the same redacted message, and no fragment keeps part of a secret (property)', () => {
    const password = 'ünïcødé-pässwörd-42';
    const message = Buffer.from(`{"user":"ädä","password":"${password}","jwt":"${JWT}","n":"✓"}`, 'utf8');
    const whole = payloadOf(only(frames(redactAll([data(0, message.toString('utf8'))]).out)));
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: message.length - 1 }), { maxLength: 5 }), (rawCuts) => {
        const cuts = [0, ...rawCuts.sort((a, b) => a - b), message.length];
        const input = cuts.slice(0, -1).map((start, index) => {
          const piece = message.subarray(start, cuts[index + 1]);
          const options: Partial<FrameEntry> = { fin: index === cuts.length - 2, ...(index > 0 ? { type: 'continuation', opcode: 0 } : {}) };
          return isUtf8(piece)
            ? data(index, piece.toString('utf8'), options)
            : data(index, piece, { ...options, type: options.type ?? 'text', text: undefined, data: piece.toString('base64') });
        });
        const result = frames(redactAll(input).out);
        expect(result).toHaveLength(input.length);
        expect(Buffer.concat(result.map(payloadOf))).toEqual(whole);
        for (const f of result) {
          const text = payloadOf(f).toString('latin1');
          for (let at = 0; at + 4 <= password.length; at++) expect(text).not.toContain(Buffer.from(password.slice(at, at + 4)).toString('latin1'));
          for (let at = 0; at + 8 <= JWT.length; at += 4) expect(text).not.toContain(JWT.slice(at, at + 8));
          expect(f.size).toBe(payloadOf(f).length);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('redacts a JWT split across fragments, including a fragment boundary inside a character', () => {
    const message = `{"note":"é ${JWT} ok"}`;
    const bytes = Buffer.from(message, 'utf8');
    const inChar = bytes.indexOf(Buffer.from('é')) + 1;
    const inJwt = bytes.indexOf(Buffer.from(JWT)) + 20;
    const pieces = [bytes.subarray(0, inChar), bytes.subarray(inChar, inJwt), bytes.subarray(inJwt)];
    const input: FrameEntry[] = [
      data(0, pieces[0]!, { type: 'text', fin: false, text: undefined, data: pieces[0]!.toString('base64') }),
      data(1, pieces[1]!, { type: 'continuation', opcode: 0, fin: false, text: undefined, data: pieces[1]!.toString('base64') }),
      data(2, pieces[2]!.toString('utf8'), { type: 'continuation', opcode: 0, fin: true }),
    ];
    const { out } = redactAll(input);
    const result = frames(out);
    expect(Buffer.concat(result.map(payloadOf)).toString('utf8')).toBe('{"note":"é [REDACTED] ok"}');
    expect(result[0]!.data).toBe(input[0]!.data);
    expect(result[0]!.text).toBeUndefined();
    expect(result.map((f) => f.size)).toEqual(result.map((f) => payloadOf(f).length));
  });

  it('redacts the final frame of a compressed message and keeps the empty fragments empty', () => {
    const message = '{"token":"tok-abcdef-0123456789","data":"x"}';
    const input: FrameEntry[] = [
      data(7, '', { fin: false, compressed: true, rsv1: true, size: 0, wireSize: 20 }),
      data(8, '', { type: 'continuation', opcode: 0, fin: false, compressed: true, size: 0, wireSize: 20 }),
      data(9, message, { type: 'continuation', opcode: 0, fin: true, compressed: true, wireSize: 12 }),
    ];
    const { out, redactor } = redactAll(input);
    const result = frames(out);
    expect(result[0]).toEqual(input[0]);
    expect(result[1]).toEqual(input[1]);
    expect(result[2]!.text).toBe('{"token":"[REDACTED]","data":"x"}');
    expect(result[2]!.size).toBe(Buffer.byteLength(result[2]!.text!));
    expect(result[2]!.wireSize).toBe(12);
    expect(result[2]!.compressed).toBe(true);
    expect(places(redactor)).toEqual(['c1 #7-#9 text $.token']);
  });

  it('holds entries back until the message completes, then releases everything in the original order', () => {
    const redactor = new Redactor(defaultRules());
    const input: Entry[] = [
      data(0, '{"password":"pw-', { fin: false }),
      data(0, '{"hello":"from c2"}', { conn: 'c2' }),
      data(1, 'ping!', { type: 'ping', opcode: 9, data: Buffer.from('ping!').toString('base64'), text: undefined }),
      errorEntry({ conn: 'c2' }),
      data(2, 'abc"}', { type: 'continuation', opcode: 0, fin: true }),
      data(1, 'after', { conn: 'c2' }),
    ];
    const outputs = input.map((entry) => redactor.push(entry));
    expect(outputs.map((batch) => batch.length)).toEqual([0, 0, 0, 0, 5, 1]);
    const released = outputs.flat();
    expect(released.map((entry) => (entry.kind === 'frame' ? `${entry.conn}#${entry.index}` : entry.kind))).toEqual([
      'c1#0',
      'c2#0',
      'c1#1',
      'error',
      'c1#2',
      'c2#1',
    ]);
    const c1 = frames(released).filter((f) => f.conn === 'c1' && f.type !== 'ping');
    expect(c1.map((f) => f.text).join('')).toBe('{"password":"[REDACTED]"}');
    expect(redactor.flush()).toEqual([]);
  });

  it('a message interrupted by a new one, or by the end entry, is redacted as far as it got', () => {
    const input: Entry[] = [
      data(0, '{"secret":"aaa', { fin: false }),
      data(1, '{"secret":"bbb"}'),
      data(2, '{"password":"ccc', { dir: 'in', fin: false }),
      end('c1'),
    ];
    const { out } = redactAll(input);
    expect(out.map((entry) => entry.kind)).toEqual(['frame', 'frame', 'frame', 'end']);
    expect(frames(out).map((f) => f.text)).toEqual(['{"secret":"[REDACTED]', '{"secret":"[REDACTED]"}', '{"password":"[REDACTED]']);
  });

  it('flush() releases an unfinished message; its later fragments are redacted on their own', () => {
    const redactor = new Redactor(defaultRules());
    expect(redactor.push(data(0, `a ${JWT.slice(0, 5)}`, { fin: false }))).toEqual([]);
    expect(redactor.pending).toBe(1);
    expect(frames(redactor.flush())).toHaveLength(1);
    const later = redactor.push(data(1, `{"token":"xyz"}`, { type: 'continuation', opcode: 0, fin: true }));
    expect(only(frames(later)).text).toBe('{"token":"[REDACTED]"}');
    expect(redactor.pending).toBe(0);
  });

  it('releases the oldest unfinished message past the held entries bound', () => {
    const redactor = new Redactor(defaultRules(), { maxHeldEntries: 3 });
    expect(redactor.push(data(0, '{"a":', { fin: false }))).toHaveLength(0);
    expect(redactor.push(data(0, 'x', { conn: 'c2' }))).toHaveLength(0);
    expect(redactor.push(data(1, 'y', { conn: 'c2' }))).toHaveLength(0);
    expect(redactor.push(data(2, 'z', { conn: 'c2' }))).toHaveLength(4);
  });

  it('releases the oldest unfinished message past the held bytes bound', () => {
    const redactor = new Redactor(defaultRules(), { maxHeldBytes: 15 });
    expect(redactor.push(data(0, '{"a":"12345', { fin: false }))).toHaveLength(0);
    const released = redactor.push(data(1, '678901234"}', { type: 'continuation', opcode: 0, fin: false }));
    expect(released).toHaveLength(2);
    expect(redactor.pending).toBe(0);
    expect(redactor.push(data(2, 'end', { type: 'continuation', opcode: 0, fin: true }))).toHaveLength(1);
  });
});

describe('JWTs', () => {
  it('redacts JWTs anywhere in text, but not things shaped like them', () => {
    const text = `token ${JWT} and version 1.2.3 and host api.example.test and a.b.c and eyJub3QiOiJqd3QifQ.eyJ4IjoxfQ.c2ln`;
    const { out, redactor } = redactAll([data(0, text)]);
    expect(only(frames(out)).text).toBe('token [REDACTED] and version 1.2.3 and host api.example.test and a.b.c and eyJub3QiOiJqd3QifQ.eyJ4IjoxfQ.c2ln');
    expect(places(redactor)).toEqual(['c1 #0 text jwt']);
  });

  it('redacts a JWT in a binary frame that is UTF-8 text (as data), and keeps the length of one inside binary data', () => {
    const textual = Buffer.from(`{"kind":"auth","value":"${JWT}"}`);
    const binary = Buffer.concat([Buffer.from([0x00, 0x01, 0xff, 0xfe, JWT.length]), Buffer.from(JWT), Buffer.from([0x00, 0x80, 0x81])]);
    const { out, redactor } = redactAll([data(0, textual, { type: 'binary' }), data(1, binary, { type: 'binary' })]);
    const [a, b] = frames(out);
    expect(a!.text).toBeUndefined();
    expect(payloadOf(a!).toString()).toBe('{"kind":"auth","value":"[REDACTED]"}');
    expect(a!.size).toBe(payloadOf(a!).length);
    const masked = payloadOf(b!);
    expect(masked.length).toBe(binary.length);
    expect(masked.subarray(0, 5)).toEqual(binary.subarray(0, 5));
    expect(masked.subarray(-3)).toEqual(binary.subarray(-3));
    expect(masked.subarray(5, 5 + JWT.length).toString('latin1')).toBe(`[REDACTED]${'*'.repeat(JWT.length - 10)}`);
    expect(b!.size).toBe(binary.length);
    expect(places(redactor)).toEqual(['c1 #0 binary jwt', 'c1 #1 binary jwt']);
  });

  it('leaves binary data without secrets byte for byte', () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const input = data(0, bytes, { type: 'binary' });
    const { out } = redactAll([input]);
    expect(out).toEqual([input]);
  });

  it('keeps control frames within their length: a ping carrying a token, a close reason', () => {
    const ping = Buffer.from('hb token=abcdef12');
    const { out } = redactAll([
      data(0, ping, { type: 'ping', opcode: 9, dir: 'in' }),
      frame({ index: 1, type: 'close', opcode: 8, size: 2 + 26, wireSize: 34, code: 1008, reason: 'bad password=hunter22 !!', text: undefined }),
      end('c1', { closeReason: 'bad password=hunter22 !!', closeCode: 1008 }),
    ]);
    const [p, c] = frames(out);
    expect(payloadOf(p!).toString()).toBe('hb token=********');
    expect(p!.size).toBe(ping.length);
    expect(c!.reason).toBe('bad password=hunter22 !!'.replace('hunter22', '********'));
    expect(c!.size).toBe(28);
    expect((out[2] as { closeReason: string }).closeReason).toBe(c!.reason);
  });
});

describe('HTTP bodies', () => {
  it('redacts JSON request and response bodies, updating body size', () => {
    const response = JSON.stringify({ access_token: 'at-0123456789', refresh_token: 'rt-0123456789', token_type: 'Bearer', expires_in: 3600 });
    const entry = httpExchange('h2', {
      request: {
        method: 'POST',
        target: '/login',
        httpVersion: '1.1',
        headers: [['Content-Type', 'application/json']],
        body: { size: 36, text: '{"username":"ada","password":"pw!"}' },
      },
      response: {
        status: 200,
        statusText: 'OK',
        httpVersion: '1.1',
        headers: [['Content-Type', 'application/json']],
        body: { size: Buffer.byteLength(response), text: response },
      },
    });
    const { out, redactor } = redactAll([entry]);
    const result = only(out) as HttpEntry;
    expect(result.request.body).toEqual({ size: 36 + 7, text: '{"username":"ada","password":"[REDACTED]"}' });
    expect(JSON.parse(result.response!.body!.text!)).toEqual({
      access_token: '[REDACTED]',
      refresh_token: '[REDACTED]',
      token_type: 'Bearer',
      expires_in: 3600,
    });
    expect(result.response!.body!.size).toBe(Buffer.byteLength(result.response!.body!.text!));
    expect(places(redactor)).toEqual(['h2 request body $.password', 'h2 response body $.access_token', 'h2 response body $.refresh_token']);
  });

  it('redacts form-encoded fields', () => {
    const body = 'grant_type=password&username=ada&password=hunter2&client_secret=cs-123';
    const entry = httpExchange('h1', {
      request: {
        method: 'POST',
        target: '/token',
        httpVersion: '1.1',
        headers: [['Content-Type', 'application/x-www-form-urlencoded']],
        body: { size: body.length, text: body },
      },
      response: null,
    });
    const { out, redactor } = redactAll([entry]);
    const result = only(out) as HttpEntry;
    expect(result.request.body!.text).toBe('grant_type=password&username=ada&password=[REDACTED]&client_secret=[REDACTED]');
    expect(places(redactor)).toEqual(['h1 request body form password', 'h1 request body form client_secret']);
  });

  it('inflates a gzip body, redacts it and compresses it again', () => {
    const json = JSON.stringify({ id_token: 'it-0123456789abcdef', user: 'ada' });
    const gz = gzipSync(json);
    const entry = httpExchange('h4', {
      response: {
        status: 200,
        statusText: 'OK',
        httpVersion: '1.1',
        headers: [['Content-Encoding', 'gzip']],
        body: { size: gz.length, data: gz.toString('base64') },
      },
    });
    const { out, redactor } = redactAll([entry]);
    const body = (only(out) as HttpEntry).response!.body!;
    const bytes = Buffer.from(body.data!, 'base64');
    expect(body.size).toBe(bytes.length);
    expect(JSON.parse(gunzipSync(bytes).toString())).toEqual({ id_token: '[REDACTED]', user: 'ada' });
    expect(places(redactor)).toEqual(['h4 response body (gzip) $.id_token']);
  });
});

describe('user regex rules and remembered secrets', () => {
  it('regex:PATTERN replaces matches in payloads, URLs and header values; with groups, only the groups', () => {
    const entries: Entry[] = [
      connection('c1', {
        url: 'ws://h.test/u/acct-98765',
        request: { method: 'GET', target: '/u/acct-98765', httpVersion: '1.1', headers: [['X-Account', 'acct-98765']] },
      }),
      data(0, 'hello acct-98765 and ssn 123-45-6789'),
    ];
    const { out, redactor } = redactAll(entries, ['regex:acct-\\d+', 'regex:ssn (\\d{3})-(\\d{2})-\\d{4}'], { noDefaults: true });
    const conn = out[0]!;
    if (conn.kind !== 'connection') throw new Error('expected a connection');
    expect(conn.url).toBe('ws://h.test/u/[REDACTED]');
    expect(conn.request.target).toBe('/u/[REDACTED]');
    expect(conn.request.headers).toEqual([['X-Account', '[REDACTED]']]);
    expect(frames(out)[0]!.text).toBe('hello [REDACTED] and ssn [REDACTED]-[REDACTED]-6789');
    expect(countOf(redactor, 'regex:acct-\\d+')).toBe(4);
  });

  it('remembers a redacted value and redacts it where it appears again', () => {
    const token = 'sk_live_0123456789abcdef';
    const entries: Entry[] = [
      connection('c1', { request: { method: 'GET', target: '/', httpVersion: '1.1', headers: [['Authorization', `Bearer ${token}`]] } }),
      data(0, `{"type":"hello","t":"${token}"}`),
    ];
    const { out, redactor } = redactAll(entries);
    expect(frames(out)[0]!.text).toBe('{"type":"hello","t":"[REDACTED]"}');
    expect(places(redactor)).toContain('c1 #0 text (same value as c1 request header Authorization)');
  });
});

describe('output', () => {
  it('is idempotent: redacting the redacted entries finds nothing', () => {
    const entries: Entry[] = [
      connection('c1', {
        url: 'ws://u:pw123456@h.test/?token=abc',
        request: {
          method: 'GET',
          target: '/?token=abc',
          httpVersion: '1.1',
          headers: [
            ['Cookie', 'a=b'],
            ['Authorization', 'Bearer x'],
          ],
        },
      }),
      data(0, `{"password":"p","jwt":"${JWT}","note":"${JWT}"}`),
      data(1, Buffer.concat([Buffer.from([0xff]), Buffer.from(JWT)]), { type: 'binary' }),
      data(2, 'passcode:abc\n'),
    ];
    const first = redactAll(entries);
    expect(first.redactor.redactedAnything).toBe(true);
    const second = redactAll(first.out);
    expect(second.out).toEqual(first.out);
    expect(second.redactor.redactedAnything).toBe(false);
  });

  it('bounds the places listed per rule', () => {
    const input = Array.from({ length: 30 }, (_, index) => data(index, '{"password":"x"}'));
    const { redactor } = redactAll(input, [], { maxPlaces: 5 });
    const json = redactor.summary().rules.find((rule) => rule.id === 'json')!;
    expect(json).toMatchObject({ count: 30, omitted: 25 });
    expect(json.places).toHaveLength(5);
    expect(redactor.summary().entries).toBe(30);
  });

  it('redacts error messages and the recorder target in the header', () => {
    const redactor = new Redactor(defaultRules());
    const [entry] = redactor.push(errorEntry({ conn: 'c1', message: 'cannot connect to ws://h.test/?api_key=k-123 (ECONNREFUSED)' }));
    expect((entry as { message: string }).message).toBe('cannot connect to ws://h.test/?api_key=[REDACTED] (ECONNREFUSED)');
    const header = redactor.redactHeader({
      format: 'wstape',
      version: 2,
      creator: { name: 'wstape', version: '0.1.0' },
      startedAt: '2026-01-01T00:00:00.000Z',
      recorder: { mode: 'reverse', listen: '127.0.0.1:1', target: 'wss://h.test/?token=t-1', maxPayload: 1 },
    });
    expect(header.recorder?.target).toBe('wss://h.test/?token=[REDACTED]');
  });
});

/**
 * The HTTP/1.x parser the recorder relays with: fed whole, one byte at a time and at every split
 * point it must report the same heads, the same decoded bodies, and raw pieces that add up to
 * exactly the bytes it was given (the relay forwards those pieces).
 */
import { describe, expect, it } from 'vitest';
import { RequestParser, ResponseParser, type HttpEvent } from '../../src/http/http-parser.js';

type Parser = RequestParser | ResponseParser;

interface Outcome {
  heads: unknown[];
  bodies: string[];
  ends: number;
  raw: Buffer;
  errors: string[];
}

/** Feed `input` in the given pieces; resume after each message, as the relay does. */
function run(make: () => Parser, input: Buffer, cuts: number[]): Outcome {
  const parser = make();
  const outcome: Outcome = { heads: [], bodies: [], ends: 0, raw: Buffer.alloc(0), errors: [] };
  let body = '';
  const take = (events: Array<HttpEvent<unknown>>): void => {
    for (const event of events) {
      if (event.type === 'head') {
        outcome.heads.push(event.head);
        outcome.raw = Buffer.concat([outcome.raw, event.raw]);
      } else if (event.type === 'body') {
        body += Buffer.from(event.data).toString('latin1');
        outcome.raw = Buffer.concat([outcome.raw, event.raw]);
      } else if (event.type === 'end') {
        outcome.ends += 1;
        outcome.bodies.push(body);
        body = '';
        take(parser.resume());
      } else {
        outcome.errors.push(event.message);
      }
    }
  };
  let from = 0;
  for (const cut of [...cuts, input.length]) {
    take(parser.push(input.subarray(from, cut)));
    from = cut;
  }
  return outcome;
}

function everySplit(make: () => Parser, input: Buffer): void {
  const whole = run(make, input, []);
  const byteByByte = run(make, input, [...Array(input.length).keys()].slice(1));
  expect(byteByByte).toEqual(whole);
  for (let cut = 1; cut < input.length; cut++) expect(run(make, input, [cut])).toEqual(whole);
}

const pipelined = Buffer.from(
  'GET /a HTTP/1.1\r\nHost: x\r\n\r\n' +
    'POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello' +
    'PUT /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: t\r\n\r\n',
  'latin1',
);

describe('RequestParser', () => {
  it('parses pipelined requests with no body, a fixed body and a chunked body, however they are cut', () => {
    const whole = run(() => new RequestParser(), pipelined, []);
    expect(whole.errors).toEqual([]);
    expect(whole.heads.map((head) => (head as { method: string; target: string }).method + ' ' + (head as { target: string }).target)).toEqual([
      'GET /a',
      'POST /b',
      'PUT /c',
    ]);
    expect(whole.bodies).toEqual(['', 'hello', 'abcde']);
    // The raw pieces are exactly the input: nothing dropped, nothing added.
    expect(whole.raw.equals(pipelined)).toBe(true);
    everySplit(() => new RequestParser(), pipelined);
  });

  it('keeps header names in their case and order', () => {
    const { heads } = run(() => new RequestParser(), Buffer.from('GET / HTTP/1.1\r\nX-One: 1\r\nhost: h\r\nX-One: 2\r\n\r\n'), []);
    expect(heads[0]).toMatchObject({
      headers: [
        ['X-One', '1'],
        ['host', 'h'],
        ['X-One', '2'],
      ],
    });
  });

  it('detaches after an upgrade request and keeps the bytes that follow for the next protocol', () => {
    const parser = new RequestParser();
    const frames = Buffer.from([0x81, 0x80, 1, 2, 3, 4]);
    const events = parser.push(Buffer.concat([Buffer.from('GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'), frames]));
    expect(events.map((event) => event.type)).toEqual(['head', 'end']);
    expect(Buffer.from(parser.takeDetachedBytes()).equals(frames)).toBe(true);
  });

  it('ends a CONNECT at its head', () => {
    const parser = new RequestParser();
    const events = parser.push(Buffer.from('CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n\x16\x03\x01'));
    expect(events.map((event) => event.type)).toEqual(['head', 'end']);
    expect(Buffer.from(parser.takeDetachedBytes())).toEqual(Buffer.from([0x16, 0x03, 0x01]));
  });

  it.each([
    ['not HTTP', '\x16\x03\x01\x02\x00 garbage\r\n\r\n'],
    ['a bad Content-Length', 'POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n'],
    ['a bad chunk size', 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'],
    ['a header line without a colon', 'GET / HTTP/1.1\r\nnonsense\r\n\r\n'],
  ])('reports %s as an error that carries the unforwarded bytes', (_name, text) => {
    const parser = new RequestParser();
    const input = Buffer.from(text, 'latin1');
    const events = parser.push(input);
    const error = events.find((event) => event.type === 'error');
    expect(error).toBeDefined();
    const forwarded = events.flatMap((event) => (event.type === 'head' || event.type === 'body' ? [Buffer.from(event.raw)] : []));
    const rest = error && error.type === 'error' ? Buffer.from(error.rest) : Buffer.alloc(0);
    expect(Buffer.concat([...forwarded, rest]).equals(input)).toBe(true);
    // Once failed, it stays failed.
    expect(parser.push(Buffer.from('GET / HTTP/1.1\r\n\r\n'))).toEqual([]);
  });

  it('refuses a head larger than 64 KiB instead of buffering it forever', () => {
    const parser = new RequestParser();
    const events = parser.push(Buffer.from(`GET / HTTP/1.1\r\nX: ${'a'.repeat(70 * 1024)}`));
    expect(events.map((event) => event.type)).toEqual(['error']);
  });
});

describe('ResponseParser', () => {
  it('knows which responses have no body: HEAD, 1xx, 204, 304; reads until close otherwise', () => {
    const input = Buffer.from(
      'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n' + // a HEAD response: the length is not followed by a body
        'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok' +
        'HTTP/1.1 204 No Content\r\n\r\n' +
        'HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n' +
        'HTTP/1.0 200 OK\r\n\r\nuntil the end',
      'latin1',
    );
    const make = (): ResponseParser => {
      const parser = new ResponseParser();
      for (const method of ['HEAD', 'POST', 'GET', 'GET', 'GET']) parser.expect(method);
      return parser;
    };
    const whole = run(make, input, []);
    expect(whole.heads.map((head) => (head as { status: number }).status)).toEqual([200, 100, 201, 204, 304, 200]);
    // An interim 100 does not end the exchange: its final response follows.
    expect(whole.ends).toBe(4);
    expect(whole.bodies).toEqual(['', 'ok', '', '']);
    everySplit(make, input);
    // The close-delimited body ends when the connection does.
    const parser = make();
    parser.push(input);
    for (let i = 0; i < 4; i++) parser.resume();
    const events = parser.finish();
    expect(events.map((event) => event.type)).toEqual(['end']);
  });

  it('detaches at a 101 and hands over the frames that came with it', () => {
    const parser = new ResponseParser();
    parser.expect('GET');
    const frame = Buffer.from([0x81, 0x02, 0x68, 0x69]);
    const events = parser.push(Buffer.concat([Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n'), frame]));
    expect(events.map((event) => event.type)).toEqual(['head', 'end']);
    expect(Buffer.from(parser.takeDetachedBytes()).equals(frame)).toBe(true);
  });

  it('reports a connection cut in the middle of a body', () => {
    const parser = new ResponseParser();
    parser.expect('GET');
    parser.push(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
    expect(parser.finish().map((event) => event.type)).toEqual(['error']);
  });
});

/**
 * The HAR schemas and the small conversions of the HAR bridge, alone: the strict HAR 1.2 schema
 * accepts what Chrome writes and refuses what the spec forbids; JSON paths read as JSON; times,
 * cookies, versions and base64 are read the way the exporters write them.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  base64OrTextBytes,
  epochMicros,
  fromHarHttpVersion,
  isBase64,
  parseCookieHeader,
  parseSetCookie,
  queryStringOf,
  timeUnit,
  toHarHttpVersion,
} from '../../src/har/har-common.js';
import { formatJsonPath, harSchema } from '../../src/har/har-schema.js';
import { isoMicros } from '../../src/har/har-scan.js';
import { frameHeaderSize } from '../../src/wire/frame-encoder.js';
import { frameTypeOf } from '../../src/wire/opcodes.js';

const chrome = (): Record<string, unknown> & { log: { entries: Record<string, unknown>[] } } =>
  JSON.parse(readFileSync(new URL('../../fixtures/har/chrome-websocket.har', import.meta.url), 'utf8')) as never;

function problems(document: unknown): string[] {
  const result = harSchema.safeParse(document);
  return result.success ? [] : result.error.issues.map((issue) => `${formatJsonPath(issue.path)}: ${issue.message}`);
}

describe('the HAR 1.2 schema', () => {
  it("accepts Chrome's export as it is (custom fields start with an underscore)", () => {
    expect(problems(chrome())).toEqual([]);
  });

  it.each<[string, (har: ReturnType<typeof chrome>) => void, RegExp]>([
    [
      'a request without headersSize',
      (har) => delete (har.log.entries[0]!.request as Record<string, unknown>).headersSize,
      /log\.entries\[0\]\.request\.headersSize: /,
    ],
    ['a response without content', (har) => delete (har.log.entries[0]!.response as Record<string, unknown>).content, /log\.entries\[0\]\.response\.content: /],
    ['an entry without cache', (har) => delete har.log.entries[1]!.cache, /log\.entries\[1\]\.cache: /],
    ['a send timing of -1', (har) => ((har.log.entries[0]!.timings as Record<string, number>).send = -1), /timings\.send: /],
    ['a time that is not the sum of the timings', (har) => (har.log.entries[0]!.time = 99), /log\.entries\[0\]\.time: expected the sum of the timings/],
    ['a field of its own without "_"', (har) => (har.log.entries[0]!.resourceType = 'document'), /log\.entries\[0\]\.resourceType: not a HAR 1.2 field/],
    ['a date without a zone', (har) => (har.log.entries[0]!.startedDateTime = '2024-11-25T10:30:01'), /startedDateTime: expected an ISO 8601/],
    ['no creator', (har) => delete (har.log as Record<string, unknown>).creator, /log\.creator: /],
  ])('refuses %s', (_name, damage, expected) => {
    const har = chrome();
    damage(har);
    expect(problems(har).join('\n')).toMatch(expected);
  });
});

describe('JSON paths', () => {
  it.each<[PropertyKey[], string]>([
    [['log', 'entries', 3, 'request', 'headers'], 'log.entries[3].request.headers'],
    [[], '(the document)'],
    [['log', 'x-y'], 'log["x-y"]'],
    [[0, 'a'], '[0].a'],
  ])('%j → %s', (path, text) => {
    expect(formatJsonPath(path)).toBe(text);
  });
});

describe('times', () => {
  it.each<[number[], 's' | 'ms']>([
    [[1732530602.150123, 1732530603], 's'],
    [[1732530602150.125, 1732530603010.75], 'ms'],
    [[5000.25], 's'],
    [[], 's'],
  ])('%j is in %s', (times, unit) => {
    expect(timeUnit(times)).toBe(unit);
  });

  it('keeps microseconds without float noise', () => {
    expect(epochMicros(1764066602.1, 's')).toBe(1764066602100000);
    expect(epochMicros(1732530602150.125, 'ms')).toBe(1732530602150125);
  });

  it('reads the digits past the millisecond that mitmproxy writes', () => {
    expect(isoMicros('2024-11-25T10:30:02.100123+00:00')).toBe(1732530602100123);
    expect(isoMicros('2024-11-25T10:30:02Z')).toBe(1732530602000000);
    expect(isoMicros('2024-11-25T11:30:02.5+01:00')).toBe(1732530602500000);
  });
});

describe('cookies, query strings, versions, base64, frames', () => {
  it('parses Cookie and Set-Cookie headers', () => {
    expect(parseCookieHeader('a=1; b=x=y;  ; c')).toEqual([
      { name: 'a', value: '1' },
      { name: 'b', value: 'x=y' },
      { name: '', value: 'c' },
    ]);
    expect(parseSetCookie('sid=abc; Path=/; Domain=example.test; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Secure; HttpOnly; SameSite=Strict')).toEqual({
      name: 'sid',
      value: 'abc',
      path: '/',
      domain: 'example.test',
      expires: '2026-10-21T07:28:00.000Z',
      secure: true,
      httpOnly: true,
      _sameSite: 'Strict',
    });
    expect(parseSetCookie('x=1; Expires=never')).toEqual({ name: 'x', value: '1', httpOnly: false, secure: false });
  });

  it('parses query strings, decoded, repeats kept', () => {
    expect(queryStringOf('ws://h/p?a=1&a=2&b&c=%2F+x#frag')).toEqual([
      { name: 'a', value: '1' },
      { name: 'a', value: '2' },
      { name: 'b', value: '' },
      { name: 'c', value: '/ x' },
    ]);
    expect(queryStringOf('ws://h/p')).toEqual([]);
  });

  it.each<[string | null, string]>([
    ['HTTP/1.1', '1.1'],
    ['http/2.0', '2'],
    ['h2', '2'],
    ['h3', '3'],
    ['HTTP/1.0', '1.0'],
    ['', '1.1'],
    [null, '1.1'],
  ])('reads the HTTP version %j as %s', (version, expected) => {
    expect(fromHarHttpVersion(version)).toBe(expected);
  });

  it('writes HTTP versions as HAR does', () => {
    expect(toHarHttpVersion('1.1')).toBe('HTTP/1.1');
    expect(toHarHttpVersion('HTTP/2')).toBe('HTTP/2');
  });

  it('tells base64 from text', () => {
    expect(isBase64('AAECAw==')).toBe(true);
    expect(isBase64('AAECAw')).toBe(true);
    expect(isBase64('')).toBe(true);
    expect(isBase64('not base64!')).toBe(false);
    expect([...base64OrTextBytes('hé')]).toEqual([...Buffer.from('hé')]);
  });

  it('sizes frame headers by RFC 6455 §5.2', () => {
    expect(frameHeaderSize(0, false)).toBe(2);
    expect(frameHeaderSize(125, true)).toBe(6);
    expect(frameHeaderSize(126, false)).toBe(4);
    expect(frameHeaderSize(65536, true)).toBe(14);
  });

  it('names opcodes as the archive does', () => {
    expect([0, 1, 2, 3, 8, 9, 10, 11, 15].map(frameTypeOf)).toEqual([
      'continuation',
      'text',
      'binary',
      'reserved',
      'close',
      'ping',
      'pong',
      'reserved',
      'reserved',
    ]);
  });
});

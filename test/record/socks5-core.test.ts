/**
 * The SOCKS5 handshake core with literal bytes and no socket (RFC 1928, RFC 1929): every
 * handshake is fed whole (with the first tunnel bytes in the same chunk), one byte at a time, at
 * every 2-way split and at random 3-way splits, and must write, connect, record and hand on the
 * same each time.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SocketAddress } from '../../src/record/http-proxy-core.js';
import { Socks5Core, SocksReply, replyForError, type Socks5Action, type Socks5Event, type SocksCredentials } from '../../src/record/socks5-core.js';

const CLIENT = { address: '127.0.0.1', port: 50000 };

function core(
  credentials: SocksCredentials | null = null,
  isOwnAddress: (remote: SocketAddress) => boolean = () => false,
  headerTimeoutMs = 30_000,
): Socks5Core {
  return new Socks5Core({ client: CLIENT, credentials, headerTimeoutMs, isOwnAddress });
}

/** Actions as plain data: bytes as hex. */
function show(actions: Socks5Action[]): unknown[] {
  return actions.map((action) => {
    if (action.type === 'write') return { write: Buffer.from(action.bytes).toString('hex') };
    if (action.type === 'tunnel')
      return { tunnel: `${action.address.host}:${action.address.port}`, clientBytes: Buffer.from(action.clientBytes).toString('latin1') };
    if (action.type === 'connect') return { connect: `${action.address.host}:${action.address.port}` };
    if (action.type === 'error') return { error: action.code, message: action.message };
    return { [action.type]: true };
  });
}

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

/** Feed `bytes` in the given chunks, then the events after; all actions but the start's. */
function run(make: () => Socks5Core, chunks: Uint8Array[], after: Socks5Event[] = []): unknown[] {
  const machine = make();
  machine.start();
  const actions: Socks5Action[] = [];
  for (const chunk of chunks) actions.push(...machine.handle({ type: 'client-bytes', bytes: chunk }));
  for (const event of after) actions.push(...machine.handle(event));
  return show(actions);
}

/** The same outcome for `bytes` whole, byte by byte, at every 2-way split and at random 3-way splits. */
function atEverySplit(make: () => Socks5Core, bytes: Buffer, after: Socks5Event[] = []): unknown[] {
  const whole = run(make, [bytes], after);
  expect(
    run(
      make,
      [...bytes].map((byte) => Uint8Array.of(byte)),
      after,
    ),
    'byte by byte',
  ).toEqual(whole);
  for (let at = 1; at < bytes.length; at++) {
    expect(run(make, [bytes.subarray(0, at), bytes.subarray(at)], after), `split at ${at}`).toEqual(whole);
  }
  fc.assert(
    fc.property(fc.integer({ min: 0, max: bytes.length }), fc.integer({ min: 0, max: bytes.length }), (x, y) => {
      const [a, b] = x <= y ? [x, y] : [y, x];
      expect(run(make, [bytes.subarray(0, a), bytes.subarray(a, b), bytes.subarray(b)], after)).toEqual(whole);
    }),
    { numRuns: 50 },
  );
  return whole;
}

const connected: Socks5Event = { type: 'upstream-connected', remote: { address: '127.0.0.1', port: 9000 }, local: { address: '127.0.0.1', port: 41234 } };
/** RFC 1928 §6 success reply, BND = 127.0.0.1:41234 (0xa112). */
const SUCCESS_V4 = '050000017f000001a112';

describe('Socks5Core: CONNECT without authentication', () => {
  it('a domain name, with the first tunnel bytes in the same chunk', () => {
    // VER 5, 1 method: 0x00 | VER 5 CONNECT RSV ATYP=3 len 9 "localhost" port 9000 | "GET / ..."
    const bytes = Buffer.concat([hex('05 01 00'), hex('05 01 00 03 09'), Buffer.from('localhost'), hex('23 28'), Buffer.from('GET / HTTP/1.1\r\n')]);
    expect(atEverySplit(() => core(), bytes, [connected])).toEqual([
      { write: '0500' },
      { 'clear-timer': true },
      { pause: true },
      { connect: 'localhost:9000' },
      { write: SUCCESS_V4 },
      { tunnel: 'localhost:9000', clientBytes: 'GET / HTTP/1.1\r\n' },
    ]);
  });

  it('an IPv4 address, no tunnel bytes yet', () => {
    const bytes = hex('05 02 02 00   05 01 00 01 7f 00 00 01 00 50');
    expect(atEverySplit(() => core(), bytes, [connected])).toEqual([
      { write: '0500' },
      { 'clear-timer': true },
      { pause: true },
      { connect: '127.0.0.1:80' },
      { write: SUCCESS_V4 },
      { tunnel: '127.0.0.1:80', clientBytes: '' },
    ]);
  });

  it('an IPv6 address, and the bound address reported as IPv6', () => {
    const bytes = hex('05 01 00   05 01 00 04 00000000000000000000000000000001 01bb');
    const v6: Socks5Event = { type: 'upstream-connected', remote: { address: '::1', port: 443 }, local: { address: '::1', port: 258 } };
    expect(atEverySplit(() => core(), bytes, [v6])).toEqual([
      { write: '0500' },
      { 'clear-timer': true },
      { pause: true },
      { connect: '::1:443' },
      { write: '05000004000000000000000000000000000000010102' },
      { tunnel: '::1:443', clientBytes: '' },
    ]);
  });

  it('writes IPv6 addresses in their short form (RFC 5952)', () => {
    const bytes = hex('05 01 00   05 01 00 04 20010db8000000000000ff0000420001 0050');
    expect(run(() => core(), [bytes])).toContainEqual({ connect: '2001:db8::ff00:42:1:80' });
  });
});

describe('Socks5Core: RFC 1929 username/password', () => {
  const credentials = { username: 'me', password: 's3cret' };
  const login = (user: string, password: string): Buffer =>
    Buffer.concat([hex('01'), Uint8Array.of(user.length), Buffer.from(user), Uint8Array.of(password.length), Buffer.from(password)]);
  const request = hex('05 01 00 01 7f 00 00 01 23 28');

  it('logs in and connects, whole or split anywhere', () => {
    const bytes = Buffer.concat([hex('05 02 00 02'), login('me', 's3cret'), request, Buffer.from('hello')]);
    expect(atEverySplit(() => core(credentials), bytes, [connected])).toEqual([
      { write: '0502' },
      { write: '0100' },
      { 'clear-timer': true },
      { pause: true },
      { connect: '127.0.0.1:9000' },
      { write: SUCCESS_V4 },
      { tunnel: '127.0.0.1:9000', clientBytes: 'hello' },
    ]);
  });

  it('refuses a wrong password with status 0x01 and closes', () => {
    const bytes = Buffer.concat([hex('05 01 02'), login('me', 'guess'), request]);
    expect(atEverySplit(() => core(credentials), bytes)).toEqual([
      { write: '0502' },
      { write: '0101' },
      { error: 'SOCKS_AUTH', message: 'SOCKS5 from 127.0.0.1:50000: username/password refused for user "me" (--socks-auth)' },
      { 'clear-timer': true },
      { close: true },
    ]);
  });

  it('refuses a wrong user name with the right password', () => {
    const actions = run(() => core(credentials), [Buffer.concat([hex('05 01 02'), login('you', 's3cret')])]);
    expect(actions).toContainEqual({ write: '0101' });
    expect(actions).toContainEqual(expect.objectContaining({ error: 'SOCKS_AUTH' }));
  });

  it('does not accept "no authentication" when credentials are set (X\'FF\')', () => {
    expect(run(() => core(credentials), [hex('05 01 00')])).toEqual([
      { write: '05ff' },
      { error: 'SOCKS_AUTH', message: 'SOCKS5 from 127.0.0.1:50000: the client offered methods 0x00, not username/password (0x02, --socks-auth is set)' },
      { 'clear-timer': true },
      { close: true },
    ]);
  });

  it("without credentials, a client that offers only username/password gets X'FF'", () => {
    expect(run(() => core(), [hex('05 01 02')])).toEqual([
      { write: '05ff' },
      { error: 'SOCKS_HANDSHAKE', message: 'SOCKS5 from 127.0.0.1:50000: the client offered methods 0x02, not no authentication (0x00)' },
      { 'clear-timer': true },
      { close: true },
    ]);
  });
});

describe('Socks5Core: what it refuses', () => {
  it('answers BIND and UDP ASSOCIATE with 0x07 and closes', () => {
    for (const [command, name] of [
      ['02', 'BIND'],
      ['03', 'UDP ASSOCIATE'],
    ] as const) {
      const bytes = hex(`05 01 00   05 ${command} 00 01 7f 00 00 01 00 50`);
      expect(atEverySplit(() => core(), bytes)).toEqual([
        { write: '0500' },
        { write: '05070001000000000000' },
        { error: 'SOCKS_HANDSHAKE', message: `SOCKS5 from 127.0.0.1:50000: ${name} 127.0.0.1:80 is not supported: wstape's SOCKS5 speaks CONNECT only` },
        { 'clear-timer': true },
        { close: true },
      ]);
    }
  });

  it('answers an unknown address type with 0x08', () => {
    const actions = run(() => core(), [hex('05 01 00   05 01 00 07 00 00')]);
    expect(actions.slice(0, 2)).toEqual([{ write: '0500' }, { write: '05080001000000000000' }]);
    expect(actions).toContainEqual(expect.objectContaining({ error: 'SOCKS_HANDSHAKE' }));
  });

  it('refuses a domain name that is not a host name, without resolving it', () => {
    const name = Buffer.from('evil\r\nhost');
    const actions = run(() => core(), [Buffer.concat([hex('05 01 00 05 01 00 03'), Uint8Array.of(name.length), name, hex('0050')])]);
    expect(actions).not.toContainEqual(expect.objectContaining({ connect: expect.anything() }));
    expect(actions).toContainEqual({ write: '05040001000000000000' });
    expect(actions).toContainEqual({ error: 'SOCKS_HANDSHAKE', message: 'SOCKS5 from 127.0.0.1:50000: CONNECT to "evil\\x0d\\x0ahost": not a host name' });
  });

  it('refuses a loop to the recorder itself with 0x02 and a PROXY_LOOP entry', () => {
    const own = (remote: { address: string; port: number }): boolean => remote.port === 9000;
    expect(run(() => core(null, own), [hex('05 01 00 05 01 00 01 7f 00 00 01 23 28')], [connected])).toEqual([
      { write: '0500' },
      { 'clear-timer': true },
      { pause: true },
      { connect: '127.0.0.1:9000' },
      { write: '05020001000000000000' },
      { error: 'PROXY_LOOP', message: 'SOCKS5 CONNECT 127.0.0.1:9000 would reach this recorder itself (127.0.0.1:9000): a proxy loop' },
      { close: true },
    ]);
  });

  it('maps upstream failures to reply codes, with an UPSTREAM_CONNECT entry', () => {
    const refused = run(
      () => core(),
      [hex('05 01 00 05 01 00 01 7f 00 00 01 00 01')],
      [{ type: 'upstream-failed', error: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:1' } }],
    );
    expect(refused.slice(-3)).toEqual([
      { write: '05050001000000000000' },
      { error: 'UPSTREAM_CONNECT', message: 'SOCKS5 CONNECT 127.0.0.1:1: cannot connect to 127.0.0.1:1: connection refused' },
      { close: true },
    ]);
    expect(replyForError({ code: 'ENOTFOUND', message: '' })).toBe(SocksReply.hostUnreachable);
    expect(replyForError({ code: 'EHOSTUNREACH', message: '' })).toBe(SocksReply.hostUnreachable);
    expect(replyForError({ code: 'ENETUNREACH', message: '' })).toBe(SocksReply.networkUnreachable);
    expect(replyForError({ code: 'ETIMEDOUT', message: '' })).toBe(SocksReply.ttlExpired);
    expect(replyForError({ code: 'EPIPE', message: '' })).toBe(SocksReply.generalFailure);
    expect(replyForError(null)).toBe(SocksReply.generalFailure);
  });

  it('records a handshake that stalls past the header timeout and closes it', () => {
    const machine = core(null, () => false, 5000);
    expect(show(machine.start())).toEqual([{ 'set-timer': true }]);
    expect(show(machine.handle({ type: 'client-bytes', bytes: hex('05 01 00 05 01') }))).toEqual([{ write: '0500' }]);
    expect(show(machine.handle({ type: 'timeout' }))).toEqual([
      { error: 'SOCKS_HANDSHAKE', message: 'SOCKS5 from 127.0.0.1:50000: handshake not complete after 5 s (--header-timeout), stalled in the request' },
      { close: true },
    ]);
    expect(machine.done).toBe(true);
    expect(machine.handle({ type: 'client-bytes', bytes: hex('00 01') })).toEqual([]);
  });

  it('records a client that leaves in the middle of the handshake', () => {
    expect(run(() => core(), [hex('05 02 00')], [{ type: 'client-ended' }])).toEqual([
      {
        error: 'SOCKS_HANDSHAKE',
        message: 'SOCKS5 from 127.0.0.1:50000: the client closed the connection in the middle of the handshake (method negotiation)',
      },
      { 'clear-timer': true },
      { close: true },
    ]);
  });

  it('closes without an error a client that negotiated and left before a byte of its request (a preconnect)', () => {
    expect(run(() => core(), [hex('05 01 00')], [{ type: 'client-ended' }])).toEqual([{ write: '0500' }, { 'clear-timer': true }, { close: true }]);
    // A request begun and not finished is still a broken handshake.
    expect(run(() => core(), [hex('05 01 00'), hex('05 01')], [{ type: 'client-ended' }])).toContainEqual({
      error: 'SOCKS_HANDSHAKE',
      message: 'SOCKS5 from 127.0.0.1:50000: the client closed the connection in the middle of the handshake (request)',
    });
  });

  it('never throws on hostile bytes, and always ends closed or waiting', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.boolean(), (bytes, auth) => {
        const machine = core(auth ? { username: 'u', password: 'p' } : null);
        machine.start();
        const actions = machine.handle({ type: 'client-bytes', bytes: Uint8Array.of(0x05, ...bytes) });
        const ended = machine.handle({ type: 'client-ended' });
        // Whatever came in, the last word is a close or a connect that the end then closes.
        expect([...actions, ...ended].some((action) => action.type === 'close')).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

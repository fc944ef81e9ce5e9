/**
 * What the proxy port answers to clients that speak neither HTTP nor SOCKS5, with a header
 * timeout far longer than the test may take, so an answer can only come from the first-bytes
 * check (before it, such a client waited the whole header timeout for a 408): a TLS ClientHello
 * (a client given https:// as the proxy scheme) gets a TLS alert, unknown bytes get a 400, and
 * each is recorded. The classifier itself is tested on literal bytes.
 */
import net from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import type { ErrorEntry } from '../../src/format/schema.js';
import { classifyFirstBytes } from '../../src/record/first-bytes.js';
import type { RecordingSession } from '../../src/record/recording.js';
import { readEntries, startRecorder } from '../helpers/peers.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A recorder whose header and idle timeouts (10 minutes) cannot be what answers a client here. */
async function recorder(target?: string): Promise<RecordingSession> {
  const session = await startRecorder({ headerTimeout: 600, idleTimeout: 600, target });
  cleanups.push(() => session.stop());
  return session;
}

async function errorEntries(session: RecordingSession): Promise<Array<Pick<ErrorEntry, 'code' | 'message'>>> {
  await session.stop();
  return (await readEntries(session.path)).filter((entry): entry is ErrorEntry => entry.kind === 'error').map(({ code, message }) => ({ code, message }));
}

/** A TLS client's view of the recorder: the error it fails with. */
function tlsFailure(port: number): Promise<NodeJS.ErrnoException> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'example.test', rejectUnauthorized: false });
    socket.once('secureConnect', () => reject(new Error('the TLS handshake succeeded')));
    socket.once('error', resolve);
    socket.once('close', () => resolve(Object.assign(new Error('closed without an error'), { code: 'CLOSED' })));
  });
}

async function rawExchange(port: number, bytes: Buffer): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  socket.write(bytes);
  const chunks: Buffer[] = [];
  for await (const chunk of socket) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('latin1');
}

describe('the proxy port answers what it does not speak, at once', () => {
  it('a TLS ClientHello gets a handshake_failure alert and a PROXY_TLS entry', async () => {
    const session = await recorder();
    const failure = await tlsFailure(session.port);
    expect(failure.code).toBe('ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE');
    const errors = await errorEntries(session);
    expect(errors).toEqual([{ code: 'PROXY_TLS', message: expect.stringContaining('this is an HTTP/SOCKS proxy; use http://host:port as the proxy') }]);
    expect(errors[0]!.message).toContain(`(http://127.0.0.1:${session.port})`);
  });

  it('in reverse mode without --tls, the same alert, with advice for a reverse proxy', async () => {
    const session = await recorder('http://127.0.0.1:9');
    expect((await tlsFailure(session.port)).code).toBe('ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE');
    expect(await errorEntries(session)).toEqual([{ code: 'PROXY_TLS', message: expect.stringMatching(/or start wstape record with --tls$/) }]);
  });

  it('unknown bytes get a 400 and an HTTP_PARSE entry', async () => {
    const session = await recorder();
    const answer = await rawExchange(session.port, Buffer.from([0x00, 0xff, 0x13, 0x37]));
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(await errorEntries(session)).toEqual([
      { code: 'HTTP_PARSE', message: expect.stringMatching(/: not HTTP, SOCKS5 or TLS: the first bytes are 00 ff 13 37$/) },
    ]);
  });

  it('a SOCKS4 client gets a 400 that says to use SOCKS5', async () => {
    const session = await recorder();
    const answer = await rawExchange(session.port, Buffer.from([0x04, 0x01, 0x00, 0x50, 127, 0, 0, 1, 0x00]));
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(await errorEntries(session)).toEqual([{ code: 'HTTP_PARSE', message: expect.stringMatching(/SOCKS4, which wstape does not speak: use SOCKS5\)$/) }]);
  });

  it('text that cannot begin a request line gets a 400 too', async () => {
    const session = await recorder();
    expect(await rawExchange(session.port, Buffer.from('{"hello":1}\n'))).toMatch(/^HTTP\/1\.1 400 /);
    expect((await errorEntries(session)).map((error) => error.code)).toEqual(['HTTP_PARSE']);
  });
});

describe('classifyFirstBytes', () => {
  const cases: Array<[string, number[] | string, boolean, string]> = [
    ['a request line', 'GET http://a.test/ HTTP/1.1\r\n', true, 'http'],
    ['a method cut short', 'CONN', true, 'http'],
    ['a CONNECT', 'CONNECT a.test:443 HTTP/1.1\r\n', true, 'http'],
    ['empty lines first (RFC 9112 §2.2)', '\r\n\r\nGET / HTTP/1.1\r\n', true, 'http'],
    ['only empty lines so far', '\r\n', true, 'http'],
    ['a SOCKS5 greeting', [0x05, 0x01, 0x00], true, 'socks5'],
    ['0x05 in reverse mode', [0x05, 0x01, 0x00], false, 'unknown'],
    ['a TLS record', [0x16, 0x03, 0x01, 0x02, 0x00], true, 'tls'],
    ['a TLS record in reverse mode', [0x16, 0x03, 0x01], false, 'tls'],
    ['a space first', ' GET / HTTP/1.1', true, 'unknown'],
    ['a token then a slash', 'GET/ HTTP/1.1', true, 'unknown'],
    ['JSON', '{"a":1}', true, 'unknown'],
    ['SOCKS4', [0x04, 0x01, 0x00, 0x50], true, 'unknown'],
    ['a NUL', [0x00], true, 'unknown'],
  ];
  it.each(cases)('%s', (_name, bytes, socks, kind) => {
    const input = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Uint8Array.from(bytes);
    expect(classifyFirstBytes(input, socks)).toBe(kind);
  });
});

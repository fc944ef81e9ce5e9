/**
 * The recorder's end of the control channel, spoken to over a real Unix socket with raw bytes: the
 * files it makes and their modes, what it does with good and bad requests, and that it keeps
 * answering after each bad one.
 */
import { chmodSync, existsSync, lstatSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRequest } from '../../src/control/protocol.js';
import { cleanup, fakeConnection, fakeRecorder, rawRequest, tempHome } from './helpers.js';

afterEach(cleanup);

const line = (value: unknown): string => `${JSON.stringify(value)}\n`;

describe('control server', () => {
  it('makes a 0700 run folder, a 0600 socket and a 0600 registry file naming it, and removes them on close', async () => {
    const home = tempHome();
    const { server, port, archivePath } = await fakeRecorder(home, []);
    const run = path.join(home, 'run');
    expect(lstatSync(run).mode & 0o777).toBe(0o700);
    expect(lstatSync(server.socketPath).isSocket()).toBe(true);
    expect(lstatSync(server.socketPath).mode & 0o777).toBe(0o600);
    expect(lstatSync(server.registryPath).mode & 0o777).toBe(0o600);
    expect(path.dirname(server.registryPath)).toBe(run);
    expect(JSON.parse(readFileSync(server.registryPath, 'utf8'))).toMatchObject({
      version: 1,
      pid: process.pid,
      port,
      archivePath,
      socketPath: server.socketPath,
    });
    await server.close();
    expect(existsSync(server.socketPath)).toBe(false);
    expect(existsSync(server.registryPath)).toBe(false);
  });

  it('tightens a run folder of ours that is open to others', async () => {
    const home = tempHome();
    const first = await fakeRecorder(home, []);
    await first.server.close();
    chmodSync(path.join(home, 'run'), 0o755);
    await fakeRecorder(home, []);
    expect(lstatSync(path.join(home, 'run')).mode & 0o777).toBe(0o700);
  });

  it('puts the socket in a short private folder when the run folder path is too long to bind', async () => {
    const home = path.join(tempHome(), 'h'.repeat(90));
    const { server } = await fakeRecorder(home, []);
    expect(Buffer.byteLength(server.socketPath)).toBeLessThanOrEqual(103);
    expect(path.dirname(server.registryPath)).toBe(path.join(home, 'run'));
    expect(lstatSync(path.dirname(server.socketPath)).mode & 0o777).toBe(0o700);
    expect(await rawRequest(server.socketPath, line({ version: 1, op: 'list' }))).toMatchObject({ ok: true });
  });

  it('lists, sends text and binary, closes and aborts, each as "control"', async () => {
    const c1 = fakeConnection('c1', 'ws://a.test/x');
    const { server } = await fakeRecorder(tempHome(), [c1, fakeConnection('c2')]);
    expect(await rawRequest(server.socketPath, line({ version: 1, op: 'list' }))).toEqual({
      version: 1,
      ok: true,
      open: {
        total: 2,
        connections: [
          { id: 'c1', url: 'ws://a.test/x' },
          { id: 'c2', url: 'ws://example.test/c2' },
        ],
      },
    });
    await rawRequest(server.socketPath, line({ version: 1, op: 'send', conn: 'c1', dir: 'in', type: 'text', text: 'hé\n' }));
    await rawRequest(server.socketPath, line({ version: 1, op: 'send', conn: 'c1', dir: 'out', type: 'binary', base64: 'AAr/' }));
    await rawRequest(server.socketPath, line({ version: 1, op: 'close', conn: 'c1', code: 4000, reason: 'bye' }));
    await rawRequest(server.socketPath, line({ version: 1, op: 'abort', conn: 'c1' }));
    expect(c1.calls).toEqual([
      ['send', 'in', 'hé\n', 'control'],
      ['send', 'out', new Uint8Array([0x00, 0x0a, 0xff]), 'control'],
      ['close', 4000, 'bye', 'control'],
      ['abort', 'control'],
    ]);
  });

  it('answers each bad request with an error code, and keeps serving', async () => {
    const c1 = fakeConnection('c1');
    const broken = {
      ...fakeConnection('c9'),
      send: () => {
        throw new Error('the relay is gone');
      },
    };
    const { server } = await fakeRecorder(tempHome(), [c1, broken]);
    const cases: Array<[string, string]> = [
      ['not json\n', 'bad-request'],
      ['[1]\n', 'bad-request'],
      [line({ version: 2, op: 'list' }), 'version'],
      [line({ op: 'list' }), 'version'],
      [line({ version: 1, op: 'explode' }), 'bad-request'],
      [line({ version: 1, op: 'send', conn: 'c1', dir: 'sideways', type: 'text', text: 'x' }), 'bad-request'],
      [line({ version: 1, op: 'send', conn: 'c1', dir: 'in', type: 'binary', base64: 'not base64!' }), 'bad-request'],
      [line({ version: 1, op: 'close', conn: 'c1', code: 1006 }), 'bad-request'],
      [line({ version: 1, op: 'close', conn: 'c1', code: 1000, reason: 'x'.repeat(124) }), 'bad-request'],
      [line({ version: 1, op: 'abort', conn: 'c7' }), 'unknown-connection'],
      [line({ version: 1, op: 'send', conn: 'c9', dir: 'in', type: 'text', text: 'x' }), 'failed'],
      ['', 'bad-request'],
    ];
    for (const [request, code] of cases) {
      const response = await rawRequest(server.socketPath, request);
      expect(response, request).toMatchObject({ ok: false, error: { code } });
      expect(response?.open.total).toBe(2);
    }
    expect(c1.calls).toEqual([]);
    expect(await rawRequest(server.socketPath, line({ version: 1, op: 'abort', conn: 'c1' }))).toMatchObject({ ok: true });
  });

  it('takes a request ended without its newline', async () => {
    const c1 = fakeConnection('c1');
    const { server } = await fakeRecorder(tempHome(), [c1]);
    expect(await rawRequest(server.socketPath, JSON.stringify({ version: 1, op: 'abort', conn: 'c1' }))).toMatchObject({ ok: true });
    expect(c1.calls).toEqual([['abort', 'control']]);
  });

  it('refuses a request line over the size limit without acting on it', async () => {
    const c1 = fakeConnection('c1');
    const { server } = await fakeRecorder(tempHome(), [c1], { maxRequestBytes: 4096 });
    const big = line({ version: 1, op: 'send', conn: 'c1', dir: 'in', type: 'text', text: 'x'.repeat(8192) });
    expect(await rawRequest(server.socketPath, big)).toMatchObject({ ok: false, error: { code: 'too-large' } });
    const fits = line({ version: 1, op: 'send', conn: 'c1', dir: 'in', type: 'text', text: 'x'.repeat(4000) });
    expect(await rawRequest(server.socketPath, fits)).toMatchObject({ ok: true });
    expect(c1.calls).toHaveLength(1);
  });

  it('answers a client that sends nothing with a timeout', async () => {
    const { server } = await fakeRecorder(tempHome(), [], { requestTimeoutMs: 100 });
    expect(await rawRequest(server.socketPath, '', { end: false })).toMatchObject({ ok: false, error: { code: 'timeout' } });
  });

  it('refuses requests while its socket is open to other users', async () => {
    const c1 = fakeConnection('c1');
    const { server } = await fakeRecorder(tempHome(), [c1]);
    chmodSync(server.socketPath, 0o666);
    expect(await rawRequest(server.socketPath, line({ version: 1, op: 'abort', conn: 'c1' }))).toMatchObject({ ok: false, error: { code: 'refused' } });
    chmodSync(server.socketPath, 0o600);
    expect(await rawRequest(server.socketPath, line({ version: 1, op: 'abort', conn: 'c1' }))).toMatchObject({ ok: true });
    expect(c1.calls).toEqual([['abort', 'control']]);
  });
});

describe('parseRequest', () => {
  it('defaults a close to 1000 with no reason', () => {
    expect(parseRequest(JSON.stringify({ version: 1, op: 'close', conn: 'c1' }))).toEqual({ version: 1, op: 'close', conn: 'c1', code: 1000, reason: '' });
  });
});

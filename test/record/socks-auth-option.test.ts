/**
 * --socks-auth: USER:PASS parsed as RFC 1929 allows (each 1 to 255 bytes, split at the first
 * colon), refused with --target, and shown by `wstape record --help` (the built CLI).
 */
import { describe, expect, it } from 'vitest';
import { parseSocksAuth, startRecording } from '../../src/record/recording.js';
import { runCli } from '../helpers/cli.js';
import { captureIo } from '../helpers/peers.js';

describe('--socks-auth', () => {
  it('splits at the first colon', () => {
    expect(parseSocksAuth('me:pa:ss')).toEqual({ username: 'me', password: 'pa:ss' });
  });

  it.each(['nocolon', ':pass', 'user:', `${'u'.repeat(256)}:p`, `u:${'é'.repeat(128)}`])('refuses %j as a usage error', (text) => {
    expect(() => parseSocksAuth(text)).toThrow(expect.objectContaining({ code: 'ERR_USAGE' }));
  });

  it('is for the forward proxy only', async () => {
    const io = captureIo();
    await expect(
      startRecording({ host: '127.0.0.1', port: 0, quiet: true, maxPayload: '1MiB', target: 'ws://127.0.0.1:9', socksAuth: 'a:b' }, io),
    ).rejects.toMatchObject({
      code: 'ERR_USAGE',
    });
  });

  it('is listed by wstape record --help', async () => {
    const result = await runCli(['record', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/--socks-auth\s+Forward mode: SOCKS5 clients must log in with USER:PASS/);
  });
});

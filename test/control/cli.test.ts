/**
 * `wstape send` and `wstape close` as a user runs them: the built CLI in its own process, against
 * a control server in this process whose LiveConnections hold fake connections that keep what
 * they were asked to do (the relay does not register itself yet). Each test has its own
 * WSTAPE_HOME, so no recorder of the machine is seen.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/errors.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { cleanup, fakeConnection, fakeRecorder, tempHome } from './helpers.js';

afterEach(cleanup);

const wstape = (home: string, args: string[]): Promise<CliResult> => runCli(args, { cwd: home, env: { WSTAPE_HOME: home } });

/** One line on stderr starting with "wstape:", and the exit code of the error code. */
function expectError(result: CliResult, code: keyof typeof ERROR_CODES, pattern: RegExp): void {
  expect(result.code, result.stderr).toBe(ERROR_CODES[code]);
  expect(result.stderr).toMatch(/^wstape: [^\n]*\n$/);
  expect(result.stderr).toMatch(pattern);
}

const isRoot = process.getuid?.() === 0;

describe('wstape send', () => {
  it('sends text towards the client, and text from @FILE towards the server', async () => {
    const home = tempHome();
    const c1 = fakeConnection('c1');
    await fakeRecorder(home, [c1]);
    const kick = await wstape(home, ['send', '--conn', 'c1', '--to', 'client', '{"type":"kick"}']);
    expect(kick.code, kick.stderr).toBe(0);
    expect(kick.stdout).toBe('');
    writeFileSync(path.join(home, 'msg.txt'), 'from a file ✓\n');
    const fromFile = await wstape(home, ['send', '--conn', 'c1', '--to', 'server', '@msg.txt']);
    expect(fromFile.code, fromFile.stderr).toBe(0);
    const literal = await wstape(home, ['send', '--conn', 'c1', '--to', 'server', '@@at']);
    expect(literal.code, literal.stderr).toBe(0);
    expect(c1.calls).toEqual([
      ['send', 'in', '{"type":"kick"}', 'control'],
      ['send', 'out', 'from a file ✓\n', 'control'],
      ['send', 'out', '@at', 'control'],
    ]);
  });

  it("--binary @FILE sends the file's bytes as a binary message", async () => {
    const home = tempHome();
    const c1 = fakeConnection('c1');
    await fakeRecorder(home, [c1]);
    const bytes = Buffer.from([0x00, 0xff, 0x0a, 0xc3, 0x28, 0x7b, 0x0d, 0x0a]);
    writeFileSync(path.join(home, 'frame.bin'), bytes);
    const result = await wstape(home, ['send', '--conn', 'c1', '--to', 'server', '--binary', '@frame.bin']);
    expect(result.code, result.stderr).toBe(0);
    expect(c1.calls).toEqual([['send', 'out', new Uint8Array(bytes), 'control']]);
  });

  it('refuses a file that is not UTF-8 as text, and a file that does not exist', async () => {
    const home = tempHome();
    const c1 = fakeConnection('c1');
    await fakeRecorder(home, [c1]);
    writeFileSync(path.join(home, 'frame.bin'), Buffer.from([0xc3, 0x28]));
    expectError(await wstape(home, ['send', '--conn', 'c1', '--to', 'client', '@frame.bin']), 'ERR_USAGE', /not UTF-8.*--binary/);
    expectError(await wstape(home, ['send', '--conn', 'c1', '--to', 'client', '@nope.txt']), 'ERR_FILE', /nope\.txt/);
    expect(c1.calls).toEqual([]);
  });

  it('names the open connections when the id is unknown', async () => {
    const home = tempHome();
    const c1 = fakeConnection('c1', 'ws://one.test/a');
    await fakeRecorder(home, [c1, fakeConnection('c2', 'ws://two.test/b')]);
    const result = await wstape(home, ['send', '--conn', 'c3', '--to', 'client', 'x']);
    expectError(result, 'ERR_CONNECTION', /no open connection c3 .*open: c1 ws:\/\/one\.test\/a, c2 ws:\/\/two\.test\/b/);
    expect(c1.calls).toEqual([]);
  });

  it('--list prints the open connections', async () => {
    const home = tempHome();
    await fakeRecorder(home, [fakeConnection('c1', 'ws://one.test/a'), fakeConnection('c2', 'wss://two.test/b')]);
    const result = await wstape(home, ['send', '--list']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('c1\tws://one.test/a\nc2\twss://two.test/b\n');
  });

  it('needs --conn, --to and a message', async () => {
    const home = tempHome();
    await fakeRecorder(home, [fakeConnection('c1')]);
    expectError(await wstape(home, ['send', '--to', 'client', 'x']), 'ERR_USAGE', /--conn/);
    expectError(await wstape(home, ['send', '--conn', 'c1', 'x']), 'ERR_USAGE', /--to/);
    expectError(await wstape(home, ['send', '--conn', 'c1', '--to', 'client']), 'ERR_USAGE', /message/);
  });
});

describe('wstape close', () => {
  it('closes with a code and reason, with 1000 by default, and aborts', async () => {
    const home = tempHome();
    const c1 = fakeConnection('c1');
    await fakeRecorder(home, [c1]);
    for (const args of [
      ['close', 'c1', '--code', '1011', '--reason', 'server restart'],
      ['close', 'c1'],
      ['close', 'c1', '--abort'],
    ]) {
      const result = await wstape(home, args);
      expect(result.code, result.stderr).toBe(0);
    }
    expect(c1.calls).toEqual([
      ['close', 1011, 'server restart', 'control'],
      ['close', 1000, '', 'control'],
      ['abort', 'control'],
    ]);
  });

  it('refuses a close code a peer may not be sent, a reason over 123 bytes, and --abort with a code', async () => {
    const home = tempHome();
    const c1 = fakeConnection('c1');
    await fakeRecorder(home, [c1]);
    expectError(await wstape(home, ['close', 'c1', '--code', '1006']), 'ERR_USAGE', /1006/);
    expectError(await wstape(home, ['close', 'c1', '--reason', 'é'.repeat(62)]), 'ERR_USAGE', /123/);
    expectError(await wstape(home, ['close', 'c1', '--abort', '--code', '1000']), 'ERR_USAGE', /--abort/);
    expect(c1.calls).toEqual([]);
  });

  it('names the open connections when the id is unknown', async () => {
    const home = tempHome();
    await fakeRecorder(home, [fakeConnection('c1', 'ws://one.test/a')]);
    expectError(await wstape(home, ['close', 'c2']), 'ERR_CONNECTION', /no open connection c2 .*open: c1 ws:\/\/one\.test\/a/);
  });
});

describe('finding the recorder', () => {
  it('says so when no recorder runs', async () => {
    const home = tempHome();
    expectError(await wstape(home, ['send', '--conn', 'c1', '--to', 'client', 'x']), 'ERR_RECORDER', /no wstape recorder is running/);
    expectError(await wstape(home, ['close', 'c1']), 'ERR_RECORDER', /no wstape recorder is running/);
  });

  it('ignores and removes the registry file of a recorder that is not running', async () => {
    const home = tempHome();
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    const run = path.join(home, 'run');
    mkdirSync(run, { mode: 0o700 });
    const stale = path.join(run, `${dead}-8080.json`);
    const staleSocket = path.join(run, `${dead}-8080.sock`);
    writeFileSync(stale, JSON.stringify({ version: 1, pid: dead, port: 8080, archivePath: '/gone.wstape.json', socketPath: staleSocket, startedAt: '' }), {
      mode: 0o600,
    });
    expectError(await wstape(home, ['close', 'c1']), 'ERR_RECORDER', /no wstape recorder is running/);
    expect(existsSync(stale)).toBe(false);

    writeFileSync(stale, JSON.stringify({ version: 1, pid: dead, port: 8080, archivePath: '/gone.wstape.json', socketPath: staleSocket, startedAt: '' }), {
      mode: 0o600,
    });
    const c1 = fakeConnection('c1');
    await fakeRecorder(home, [c1]);
    const result = await wstape(home, ['close', 'c1']);
    expect(result.code, result.stderr).toBe(0);
    expect(c1.calls).toHaveLength(1);
    expect(existsSync(stale)).toBe(false);
  });

  it('says so when a running recorder does not answer on its socket', async () => {
    const home = tempHome();
    const run = path.join(home, 'run');
    mkdirSync(run, { mode: 0o700 });
    // This test's own pid: a process that runs, but has no socket there.
    const registry = { version: 1, pid: process.pid, port: 8080, archivePath: '/a.wstape.json', socketPath: path.join(run, 'nothing.sock'), startedAt: '' };
    writeFileSync(path.join(run, `${process.pid}-8080.json`), JSON.stringify(registry), { mode: 0o600 });
    expectError(await wstape(home, ['close', 'c1']), 'ERR_RECORDER', /control socket .*nothing\.sock is gone.*stopped/);
  });

  it('with several recorders, asks for --recorder, and finds one by port or by archive path', async () => {
    const home = tempHome();
    const a = fakeConnection('c1');
    const b = fakeConnection('c1');
    const first = await fakeRecorder(home, [a], { port: 8080 });
    await fakeRecorder(home, [b], { port: 9090, archivePath: path.join(home, 'other.wstape.json') });
    expectError(await wstape(home, ['close', 'c1']), 'ERR_RECORDER', /several recorders.*--recorder.*port 8080.*port 9090/);
    expect((await wstape(home, ['close', 'c1', '--recorder', '9090'])).code).toBe(0);
    writeFileSync(first.archivePath, '');
    expect((await wstape(home, ['close', 'c1', '--abort', '--recorder', path.basename(first.archivePath)])).code).toBe(0);
    expectError(await wstape(home, ['close', 'c1', '--recorder', '7070']), 'ERR_RECORDER', /no recorder matches --recorder 7070/);
    expect(a.calls).toEqual([['abort', 'control']]);
    expect(b.calls).toEqual([['close', 1000, '', 'control']]);
  });
});

describe('a control channel others could use is refused', () => {
  const refusals: Array<[string, (home: string, files: { socketPath: string; registryPath: string }) => void, RegExp]> = [
    ['a registry file with mode 0644', (_home, files) => chmodSync(files.registryPath, 0o644), /refusing .*\.json is open to other users \(mode 0644/],
    ['a socket with mode 0644', (_home, files) => chmodSync(files.socketPath, 0o644), /refusing to connect: .*\.sock is open to other users \(mode 0644/],
    ['a run folder with mode 0755', (home) => chmodSync(path.join(home, 'run'), 0o755), /refusing the control folder: .*run is open to other users/],
  ];
  if (isRoot) {
    refusals.push(
      ['a registry file of another user', (_home, files) => chownSync(files.registryPath, 65534, 65534), /owned by another user \(uid 65534\)/],
      ['a socket of another user', (_home, files) => chownSync(files.socketPath, 65534, 65534), /\.sock is owned by another user \(uid 65534\)/],
    );
  }
  it.each(refusals)('%s', async (_name, spoil, pattern) => {
    const home = tempHome();
    const c1 = fakeConnection('c1');
    const { server } = await fakeRecorder(home, [c1]);
    spoil(home, server);
    expectError(await wstape(home, ['close', 'c1']), 'ERR_CONTROL', pattern);
    expect(c1.calls).toEqual([]);
  });
});

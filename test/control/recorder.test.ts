/**
 * The control channel of a real recording: `wstape record -p 0` in its own process (found,
 * answered, cleaned up on Ctrl-C; left stale by a kill -9 and then ignored), and startRecording
 * in this process, whose session's LiveConnections `wstape close` reaches.
 */
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LiveConnections } from '../../src/intervene/live.js';
import { startRecording } from '../../src/record/recording.js';
import { ERROR_CODES } from '../../src/errors.js';
import { runCli, spawnRecorder } from '../helpers/cli.js';
import { captureIo } from '../helpers/peers.js';
import { cleanup, fakeConnection, tempHome } from './helpers.js';

afterEach(async () => {
  vi.unstubAllEnvs();
  await cleanup();
});

const wstape = (home: string, args: string[]) => runCli(args, { cwd: home, env: { WSTAPE_HOME: home } });

describe('wstape record and its control channel', () => {
  it('publishes a private socket and registry file, answers send and close, and removes both on Ctrl-C', async () => {
    const home = tempHome();
    vi.stubEnv('WSTAPE_HOME', home);
    const archive = path.join(home, 'session.wstape.json');
    const recorder = await spawnRecorder(['-o', archive, '--quiet'], { cwd: home });
    const run = path.join(home, 'run');
    const name = `${recorder.child.pid}-${recorder.port}`;
    expect(readdirSync(run).sort()).toEqual([`${name}.json`, `${name}.sock`]);
    expect(lstatSync(path.join(run, `${name}.json`)).mode & 0o777).toBe(0o600);
    expect(lstatSync(path.join(run, `${name}.sock`)).mode & 0o777).toBe(0o600);

    const list = await wstape(home, ['close', '--list', '--recorder', String(recorder.port)]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toBe('');
    const send = await wstape(home, ['send', '--conn', 'c1', '--to', 'client', '{"type":"kick"}']);
    expect(send.code).toBe(ERROR_CODES.ERR_CONNECTION);
    expect(send.stderr).toMatch(/^wstape: no open connection c1 on the recorder on port \d+ .*; open: none\n$/);
    const close = await wstape(home, ['close', 'c1', '--recorder', 'session.wstape.json']);
    expect(close.code).toBe(ERROR_CODES.ERR_CONNECTION);

    recorder.child.kill('SIGINT');
    expect((await recorder.exited).code).toBe(0);
    expect(readdirSync(run)).toEqual([]);
    // Read once it exited: the start-up lines may arrive in several chunks.
    expect(recorder.stderr()).toContain(`wstape: control: wstape send --recorder ${recorder.port} `);
  });

  it('a recorder killed with SIGKILL leaves a registry file, which the next send ignores and removes', async () => {
    const home = tempHome();
    vi.stubEnv('WSTAPE_HOME', home);
    const recorder = await spawnRecorder(['-o', path.join(home, 'a.wstape.json'), '--quiet'], { cwd: home });
    recorder.child.kill('SIGKILL');
    await recorder.exited;
    const registry = path.join(home, 'run', `${recorder.child.pid}-${recorder.port}.json`);
    expect(existsSync(registry)).toBe(true);
    const result = await wstape(home, ['send', '--conn', 'c1', '--to', 'server', 'x']);
    expect(result.code).toBe(ERROR_CODES.ERR_RECORDER);
    expect(result.stderr).toMatch(/^wstape: no wstape recorder is running/);
    expect(readdirSync(path.join(home, 'run'))).toEqual([]);
  });
});

describe('a process that exits without closing its control server', () => {
  it('removes its socket and registry file on the way out', async () => {
    const home = tempHome();
    const dist = (file: string): string => JSON.stringify(new URL(`../../dist/${file}`, import.meta.url).href);
    const script = [
      `const { startControlServer } = await import(${dist('control/server.js')});`,
      `const { LiveConnections } = await import(${dist('intervene/live.js')});`,
      `const server = await startControlServer({ live: new LiveConnections(), port: 4242, archivePath: 'a.wstape.json', home: ${JSON.stringify(home)} });`,
      'process.stdout.write(server.socketPath);',
      'process.exit(0);',
    ].join('\n');
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let socketPath = '';
    child.stdout.on('data', (chunk) => (socketPath += String(chunk)));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(socketPath).toMatch(/4242\.sock$/);
    expect(readdirSync(path.join(home, 'run'))).toEqual([]);
  });
});

describe('startRecording', () => {
  it("exposes the session's LiveConnections, which wstape close reaches, and closes the channel on stop", async () => {
    const home = tempHome();
    const io = captureIo(home);
    io.env.WSTAPE_HOME = home;
    const session = await startRecording({ port: 0, host: '127.0.0.1', out: 'a.wstape.json', quiet: true, maxPayload: '16MiB' }, io);
    expect(session.live).toBeInstanceOf(LiveConnections);
    const c1 = fakeConnection('c1');
    session.live.add(c1);
    const result = await wstape(home, ['close', 'c1', '--code', '4001', '--recorder', String(session.port)]);
    expect(result.code, result.stderr).toBe(0);
    expect(c1.calls).toEqual([['close', 4001, '', 'control']]);
    const socketPath = session.control?.socketPath ?? '';
    expect(existsSync(socketPath)).toBe(true);
    await session.stop();
    expect(existsSync(socketPath)).toBe(false);
    expect(readdirSync(path.join(home, 'run'))).toEqual([]);
  });

  it('records without a control channel when none can be made, and says so once', async () => {
    const home = tempHome();
    writeFileSync(path.join(home, 'not-a-folder'), '');
    const io = captureIo(home);
    io.env.WSTAPE_HOME = path.join(home, 'not-a-folder');
    const session = await startRecording({ port: 0, host: '127.0.0.1', out: 'a.wstape.json', quiet: true, maxPayload: '16MiB' }, io);
    expect(session.control).toBeUndefined();
    expect(io.err()).toMatch(/^wstape: warning: no control channel, so wstape send\/close cannot reach this recorder: [^\n]+\n$/);
    await session.stop();
    expect(existsSync(path.join(home, 'a.wstape.json'))).toBe(true);
  });
});

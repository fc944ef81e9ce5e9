/**
 * The intervention options through the real CLI: `wstape record` with a --script and flags, and
 * `wstape send` / `wstape close` reaching the open connection of a running recorder, with the real
 * `ws` library on both sides.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import type { FrameEntry } from '../../src/format/schema.js';
import { BIN, runCli, spawnRecorder, type SpawnedRecorder } from '../helpers/cli.js';
import { openClient, readEntries, startWsServer, waitFor } from '../helpers/peers.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setUp(args: string[]): Promise<{
  dir: string;
  env: Record<string, string>;
  recorder: SpawnedRecorder;
  client: WebSocket;
  server: () => WebSocket;
  atClient: string[];
  atServer: string[];
  /** Binary messages the server got, as bytes. */
  atServerBytes: Buffer[];
  archive: string;
}> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wstape-cli-hooks-'));
  const env = { WSTAPE_HOME: path.join(dir, 'home') };
  const upstream = await startWsServer({ perMessageDeflate: false });
  cleanups.push(upstream.close);
  let socket: WebSocket | null = null;
  const atServer: string[] = [];
  const atServerBytes: Buffer[] = [];
  upstream.wss.on('connection', (ws) => {
    socket = ws;
    ws.on('message', (data, isBinary) => (isBinary ? atServerBytes.push(data as Buffer) : atServer.push(String(data))));
  });
  const archive = path.join(dir, 'a.wstape.json');
  const recorder = await spawnRecorder(['--target', upstream.url, '-o', archive, '-q', ...args], { cwd: dir, env });
  cleanups.push(async () => {
    if (recorder.child.exitCode === null) recorder.child.kill('SIGINT');
    await recorder.exited;
  });
  const client = await openClient(`ws://127.0.0.1:${recorder.port}/chat`, { perMessageDeflate: false });
  const atClient: string[] = [];
  client.on('message', (data) => atClient.push(String(data)));
  await waitFor(() => socket !== null, 5000, 'the upstream connection');
  return { dir, env, recorder, client, server: () => socket!, atClient, atServer, atServerBytes, archive };
}

async function stop(recorder: SpawnedRecorder, archive: string): Promise<FrameEntry[]> {
  recorder.child.kill('SIGINT');
  expect((await recorder.exited).code).toBe(0);
  return (await readEntries(archive)).filter((entry): entry is FrameEntry => entry.kind === 'frame');
}

describe('wstape record with --script and flags', () => {
  it('a script and a flag chain in that order: the script rewrites, the flag then drops presence updates', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wstape-script-'));
    const script = path.join(dir, 'hooks.mjs');
    writeFileSync(script, `export function onMessage(message) { if (message.dir === 'in') return message.text + ' !'; }\n`);
    const s = await setUp(['--script', script, '--drop', 'in /presence/']);
    for (const text of ['hello', 'presence: ada', 'bye']) s.server().send(text);
    await waitFor(() => s.atClient.length === 2, 5000, 'two messages');
    expect(s.atClient).toEqual(['hello !', 'bye !']);
    s.client.close();
    const frames = await stop(s.recorder, s.archive);
    expect(frames.filter((frame) => frame.dir === 'in' && frame.type === 'text').map((frame) => [frame.text, frame.action, frame.by])).toEqual([
      ['hello', 'modified', 'script'],
      ['presence: ada', 'dropped', 'flag'],
      ['bye', 'modified', 'script'],
    ]);
  });

  it('a script that does not load is a usage error before anything listens', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wstape-script-'));
    writeFileSync(path.join(dir, 'broken.mjs'), 'export function onMessage( {\n');
    const result = await runCli(['record', '-p', '0', '--script', 'broken.mjs', '-o', 'x.wstape.json'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/broken\.mjs/);
  });
});

describe('wstape send and wstape close against a running recorder', () => {
  it('send injects a message to the client and one to the server; close ends both with the code', async () => {
    const s = await setUp([]);
    const toClient = await runCli(['send', '--recorder', String(s.recorder.port), '--conn', 'c1', '--to', 'client', '{"type":"kick"}'], { env: s.env });
    expect(toClient.code, toClient.stderr).toBe(0);
    const toServer = await runCli(['send', '--recorder', String(s.recorder.port), '--conn', 'c1', '--to', 'server', 'from the operator'], { env: s.env });
    expect(toServer.code, toServer.stderr).toBe(0);
    await waitFor(() => s.atClient.length === 1 && s.atServer.length === 1, 5000, 'the injected messages');
    expect(s.atClient).toEqual(['{"type":"kick"}']);
    expect(s.atServer).toEqual(['from the operator']);
    const closed = new Promise<[number, string]>((resolve) => s.client.once('close', (code, reason) => resolve([code, String(reason)])));
    const close = await runCli(['close', '--recorder', String(s.recorder.port), 'c1', '--code', '4000', '--reason', 'by hand'], { env: s.env });
    expect(close.code, close.stderr).toBe(0);
    expect(await closed).toEqual([4000, 'by hand']);
    await stop(s.recorder, s.archive);
    const entries = await readEntries(s.archive);
    const injected = entries.filter((entry): entry is FrameEntry => entry.kind === 'frame' && entry.action === 'injected');
    expect(injected.map((frame) => [frame.dir, frame.type, frame.by])).toEqual([
      ['in', 'text', 'control'],
      ['out', 'text', 'control'],
      ['out', 'close', 'control'],
      ['in', 'close', 'control'],
    ]);
    expect(entries.find((entry) => entry.kind === 'end')).toMatchObject({ closedBy: 'wstape', closedVia: 'control', closeCode: 4000 });
  });

  it('send @- reads the message from standard input (text, and bytes with --binary); --list --json lists the open ones', async () => {
    const s = await setUp([]);
    const port = String(s.recorder.port);
    const list = await runCli(['send', '--recorder', port, '--list', '--json'], { env: s.env });
    expect(list.code, list.stderr).toBe(0);
    expect(
      list.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line)),
    ).toEqual([{ id: 'c1', url: expect.stringMatching(/^ws:\/\/127\.0\.0\.1:\d+\//) }]);
    const text = await runCli(['send', '--recorder', port, '--conn', 'c1', '--to', 'client', '@-'], { env: s.env, input: '{"from":"a pipe"}\n' });
    expect(text.code, text.stderr).toBe(0);
    const bytes = Uint8Array.from([0, 0xff, 0x80, 10]);
    const binary = await runCli(['send', '--recorder', port, '--conn', 'c1', '--to', 'server', '--binary', '@-'], { env: s.env, input: bytes });
    expect(binary.code, binary.stderr).toBe(0);
    // Not UTF-8, not --binary: refused before anything is sent.
    const refused = await runCli(['send', '--recorder', port, '--conn', 'c1', '--to', 'server', '@-'], { env: s.env, input: bytes });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^wstape: standard input is not UTF-8 text; send it with --binary\n$/);
    await waitFor(() => s.atClient.length === 1 && s.atServerBytes.length === 1, 5000, 'the injected messages');
    expect(s.atClient).toEqual(['{"from":"a pipe"}\n']);
    expect(s.atServerBytes).toEqual([Buffer.from(bytes)]);
    await stop(s.recorder, s.archive);
  });

  it('close --abort drops the connection: the client sees 1006', async () => {
    const s = await setUp([]);
    const closed = new Promise<number>((resolve) => s.client.once('close', (code) => resolve(code)));
    const abort = await runCli(['close', '--recorder', String(s.recorder.port), 'c1', '--abort'], { env: s.env });
    expect(abort.code, abort.stderr).toBe(0);
    expect(await closed).toBe(1006);
    await stop(s.recorder, s.archive);
  });
});

describe('wstape replay with --script and a record flag', () => {
  it('the mock server sends what the script and --set make of the recorded messages', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wstape-replay-script-'));
    const script = path.join(dir, 'hooks.mjs');
    writeFileSync(
      script,
      `export function onMessage(message) { if (message.dir === 'in' && message.type === 'text') return message.text.replace('welcome', 'hi'); }\n`,
    );
    const fixture = new URL('../../fixtures/archives/v1-basic.wstape.json', import.meta.url).pathname;
    const child = spawn(
      process.execPath,
      [BIN, 'replay', fixture, '--as', 'server', '-p', '0', '--once', '--asap', '--script', script, '--set', 'in $.extra=1'],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, NO_COLOR: '1' },
      },
    );
    const exited = new Promise((resolve) => child.on('close', resolve));
    cleanups.push(async () => {
      child.kill();
      await exited;
    });
    let stderr = '';
    const port = await new Promise<number>((resolve, reject) => {
      child.stderr.on('data', (chunk) => {
        stderr += String(chunk);
        const match = /as a server on ws:\/\/127\.0\.0\.1:(\d+)/.exec(stderr);
        if (match) resolve(Number(match[1]));
      });
      child.on('close', () => reject(new Error(stderr)));
    });
    const client = await openClient(`ws://127.0.0.1:${port}/chat`, { perMessageDeflate: false });
    const got: string[] = [];
    client.on('message', (data, binary) => {
      if (!binary) got.push(String(data));
    });
    client.send('hello');
    await waitFor(() => got.length === 1, 5000, 'the replayed welcome');
    expect(JSON.parse(got[0]!)).toEqual({ type: 'hi', extra: 1 });
  });
});

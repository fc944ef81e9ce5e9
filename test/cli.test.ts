/**
 * The CLI as a process: bad input gets one line on stderr and the documented exit code, never a
 * stack trace; help works; the demo records a real session.
 */
import net from 'node:net';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { readEntries, tempDir } from './helpers/peers.js';

const HEADER = '{"format":"wstape","version":1,"creator":{"name":"wstape","version":"0.1.0"},"startedAt":"2026-11-25T10:00:00.000Z","entries":[';
const FRAME =
  '{"kind":"frame","conn":"c1","index":0,"time":"2026-11-25T10:00:00.001Z","elapsed":0.001,"dir":"out","type":"text","opcode":1,"fin":true,"rsv1":false,"rsv2":false,"rsv3":false,"masked":true,"mask":"01020304","size":2,"wireSize":8,"text":"hi"}';

function write(name: string, content: string): string {
  const file = path.join(tempDir(), name);
  writeFileSync(file, content);
  return file;
}

function expectOneLineError(result: { code: number | null; stderr: string }, code: number): void {
  expect(result.code).toBe(code);
  const lines = result.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^wstape: /);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

describe('bad input', () => {
  it.each([
    ['a newer archive version', () => write('v99.wstape.json', HEADER.replace('"version":1', '"version":99') + '\n' + FRAME + '\n]}\n'), /version 99/],
    ['another format', () => write('har.json', '{"log":{"version":"1.2","entries":[]}}\n'), /not a wstape archive/],
    ['not JSON at all', () => write('png.wstape.json', '\x89PNG\r\n\x1a\n binary'), /not a wstape archive/],
    ['a damaged line in the middle', () => write('damaged.wstape.json', `${HEADER}\n${FRAME}\n,{"kind":"frame", oops\n,${FRAME}\n]}\n`), /line 3/],
    ['a missing file', () => '/nonexistent/file.wstape.json', /cannot read|no such file|not found/i],
  ])('show with %s: one line, exit code 2', async (_name, make, message) => {
    for (const command of ['show', 'list']) {
      const result = await runCli([command, make()]);
      expectOneLineError(result, 2);
      expect(result.stderr).toMatch(message);
    }
  });

  it('usage errors exit 2 with one line', async () => {
    expectOneLineError(await runCli(['record', '--target', 'ftp://example.test']), 2);
    expectOneLineError(await runCli(['record', '--max-payload', 'lots']), 2);
    expectOneLineError(await runCli(['show', write('ok.wstape.json', `${HEADER}\n${FRAME}\n]}\n`), '--type', 'texts']), 2);
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).toBe(2);
  });

  it('a busy port exits 3 with one line', async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as net.AddressInfo).port;
    const dir = tempDir();
    const result = await runCli(['record', '--port', String(port), '--out', path.join(dir, 'x.wstape.json')]);
    busy.close();
    expectOneLineError(result, 3);
    expect(result.stderr).toMatch(/in use/);
  });

  it('an archive truncated mid-line is read up to its last complete entry, with a warning', async () => {
    const full = `${HEADER}\n${FRAME}\n,${FRAME.replace('"index":0', '"index":1')}\n]}\n`;
    const cut = full.slice(0, full.indexOf('"index":1') + 5);
    const result = await runCli(['show', write('cut.wstape.json', cut), '--json']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/warning/);
  });
});

describe('help and demo', () => {
  it('--help lists the commands', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    for (const command of ['record', 'list', 'show', 'demo']) expect(result.stdout).toContain(`wstape ${command}`);
  });

  it('demo records a real session and leaves an archive the read commands understand', async () => {
    const cwd = tempDir();
    const result = await runCli(['demo'], { cwd });
    expect(result.code).toBe(0);
    const file = path.join(cwd, 'wstape-demo.wstape.json');
    expect(existsSync(file)).toBe(true);
    // The live view went to stdout, without colour when piped.
    expect(result.stdout).toMatch(/c1 --> \{"type":"join","user":"ada"\}/);
    // eslint-disable-next-line no-control-regex -- matching control bytes (C0 controls, ANSI escapes) is the point
    expect(result.stdout).not.toMatch(/\x1b\[/);
    expect(result.stderr).toContain('wstape show wstape-demo.wstape.json');

    const entries = await readEntries(file);
    const types = new Set(entries.flatMap((entry) => (entry.kind === 'frame' ? [entry.type] : [])));
    expect([...types].sort()).toEqual(['binary', 'close', 'continuation', 'ping', 'pong', 'text']);
    expect(entries.some((entry) => entry.kind === 'http')).toBe(true);
    expect(entries.find((entry) => entry.kind === 'end')).toMatchObject({ closeCode: 1000, clean: true });

    const listed = await runCli(['list', file, '--json'], { cwd });
    const rows = listed.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { kind: string; closeCode: number | null });
    expect(rows.map((row) => row.kind).sort()).toEqual(['http', 'websocket']);
  });
});

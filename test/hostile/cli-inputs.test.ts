/**
 * Bad command-line input, as a table: each row is a command that once printed a stack trace (exit
 * 70) or did something worse (left an archive behind, wrote over its own input, grew memory
 * without bound). Each must print one line, `wstape: ...`, exit with a documented code, and leave
 * nothing behind. Later work must not bring any of them back (issue 10).
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, runCli, type CliResult } from '../helpers/cli.js';
import { tempDir } from '../helpers/peers.js';

const FIXTURES = new URL('../../fixtures/', import.meta.url).pathname;
const ARCHIVE = path.join(FIXTURES, 'archives/v1-basic.wstape.json');
const CHROME_HAR = path.join(FIXTURES, 'har/chrome-websocket.har');

/** A fresh folder per row, holding a copy of the fixture archive as a.wstape.json. */
function workDir(): string {
  const dir = tempDir('wstape-hostile-');
  copyFileSync(ARCHIVE, path.join(dir, 'a.wstape.json'));
  return dir;
}

/** The Chrome HAR fixture with one change, written to DIR/name. */
function harWith(dir: string, name: string, change: (har: { log: { entries: Array<Record<string, unknown>> } }) => void): string {
  const har = JSON.parse(readFileSync(CHROME_HAR, 'utf8')) as { log: { entries: Array<Record<string, unknown>> } };
  change(har);
  writeFileSync(path.join(dir, name), JSON.stringify(har));
  return name;
}

/** What a bad input must look like: one line, no stack, a documented exit code. */
function expectOneLine(result: CliResult, code: number, message: RegExp): void {
  expect(result.stderr).not.toMatch(/^ {4}at /m);
  expect(result.code).not.toBe(70);
  expect(result.code).toBe(code);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^wstape: /);
  expect(lines[0]).toMatch(message);
}

let busy: net.Server | null = null;
async function busyPort(): Promise<number> {
  busy ??= await new Promise<net.Server>((resolve) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
  return (busy.address() as net.AddressInfo).port;
}
afterAll(() => busy?.close());

interface Row {
  name: string;
  /** The arguments, made in DIR (the current folder of the run). */
  args: (dir: string) => string[] | Promise<string[]>;
  code: number;
  message: RegExp;
  /** Files DIR must hold afterwards (default: only what the row made before running). */
  after?: (dir: string) => void;
}

const RANGE = /--port must be a port number from 0 to 65535/;
/** After a failed `record`, DIR holds what it held before, and no archive. */
const noArchive = (dir: string): void => expect(readdirSync(dir).filter((name) => name.startsWith('out'))).toEqual([]);
const unchanged = (file: string) => (dir: string) => expect(readFileSync(path.join(dir, file))).toEqual(readFileSync(ARCHIVE));

const ROWS: Row[] = [
  { name: 'record --port 70000', args: () => ['record', '--port', '70000', '-o', 'out.wstape.json'], code: 2, message: RANGE, after: noArchive },
  { name: 'record --port -1', args: () => ['record', '--port', '-1', '-o', 'out.wstape.json'], code: 2, message: RANGE, after: noArchive },
  { name: 'record --port abc', args: () => ['record', '--port', 'abc', '-o', 'out.wstape.json'], code: 2, message: RANGE, after: noArchive },
  { name: 'replay --as server -p 70000', args: () => ['replay', 'a.wstape.json', '--as', 'server', '-p', '70000'], code: 2, message: RANGE },
  {
    name: 'record on a port in use',
    args: async () => ['record', '--port', String(await busyPort()), '-o', 'out.wstape.json'],
    code: 3,
    message: /the port is in use/,
    after: noArchive,
  },
  {
    name: 'record --host 999.1.1.1',
    args: () => ['record', '--host', '999.1.1.1', '-p', '0', '-o', 'out.wstape.json'],
    code: 3,
    message: /cannot listen on 999\.1\.1\.1/,
    after: noArchive,
  },
  {
    name: 'record --tls with an unusable CA folder',
    args: (dir) => {
      writeFileSync(path.join(dir, 'not-a-folder'), 'x');
      return ['record', '-p', '0', '--target', 'ws://127.0.0.1:9', '--tls', '--ca-dir', path.join(dir, 'not-a-folder', 'ca'), '-o', 'out.wstape.json'];
    },
    code: 3,
    message: /.+/,
    after: noArchive,
  },
  {
    name: 'record --max-payload 9000000G',
    args: () => ['record', '-p', '0', '--max-payload', '9000000G', '-o', 'out.wstape.json'],
    code: 2,
    message: /9000000G/,
    after: noArchive,
  },
  {
    name: 'record --max-payload 65M',
    args: () => ['record', '-p', '0', '--max-payload', '65M', '-o', 'out.wstape.json'],
    code: 2,
    message: /64MiB/,
    after: noArchive,
  },
  {
    name: 'record --upstream-ca with a file that is not PEM',
    args: (dir) => {
      writeFileSync(path.join(dir, 'junk.pem'), 'not a certificate\n');
      return ['record', '-p', '0', '--upstream-ca', 'junk.pem', '-o', 'out.wstape.json'];
    },
    code: 2,
    message: /junk\.pem/,
    after: noArchive,
  },
  {
    name: 'record --out DIR',
    args: (dir) => {
      mkdirSync(path.join(dir, 'out-dir'));
      return ['record', '-p', '0', '-o', 'out-dir'];
    },
    code: 2,
    message: /is a directory/,
  },
  {
    name: 'export a -o ./a --force',
    args: () => ['export', 'a.wstape.json', '-o', './a.wstape.json', '--force'],
    code: 2,
    message: /itself/,
    after: unchanged('a.wstape.json'),
  },
  {
    name: 'export a -o a symlink to a --force',
    args: (dir) => {
      symlinkSync(path.join(dir, 'a.wstape.json'), path.join(dir, 'link.har'));
      return ['export', 'a.wstape.json', '-o', 'link.har', '--force'];
    },
    code: 2,
    message: /itself/,
    after: unchanged('a.wstape.json'),
  },
  {
    name: 'import a.har -o a.har --force',
    args: (dir) => {
      copyFileSync(CHROME_HAR, path.join(dir, 'a.har'));
      return ['import', 'a.har', '-o', './a.har', '--force'];
    },
    code: 2,
    message: /itself/,
    after: (dir) => expect(readFileSync(path.join(dir, 'a.har'))).toEqual(readFileSync(CHROME_HAR)),
  },
  {
    name: 'import a HAR whose entry time is 1e300',
    args: (dir) => ['import', harWith(dir, 't.har', (har) => (har.log.entries[2]!.time = 1e300)), '-o', 'out.wstape.json'],
    code: 2,
    message: /log\.entries\[2\]\.time/,
    after: noArchive,
  },
  {
    name: 'import a HAR whose startedDateTime is past the largest date',
    args: (dir) => ['import', harWith(dir, 't.har', (har) => (har.log.entries[0]!.startedDateTime = '+275760-09-13T00:00:00.001Z')), '-o', 'out.wstape.json'],
    code: 2,
    message: /log\.entries\[0\]\.startedDateTime/,
    after: noArchive,
  },
  {
    name: 'import a HAR whose startedDateTime is the largest date',
    args: (dir) => ['import', harWith(dir, 't.har', (har) => (har.log.entries[0]!.startedDateTime = '+275760-09-13T00:00:00.000Z')), '-o', 'out.wstape.json'],
    code: 2,
    message: /log\.entries\[0\]\.startedDateTime/,
    after: noArchive,
  },
  {
    name: 'import a HAR whose WebSocket message time is 1e300',
    args: (dir) =>
      [
        'import',
        harWith(dir, 't.har', (har) => {
          const ws = har.log.entries.find((entry) => Array.isArray(entry._webSocketMessages));
          (ws!._webSocketMessages as Array<{ time: number }>)[1]!.time = 1e300;
        }),
        '-o',
        'out.wstape.json',
      ] as string[],
    code: 2,
    message: /log\.entries\[\d+\]\._webSocketMessages\[1\]\.time/,
    after: noArchive,
  },
  { name: 'show /dev/zero', args: () => ['show', '/dev/zero'], code: 2, message: /line 1 is longer than 1048576 bytes: not a wstape archive/ },
  { name: 'show --follow -', args: () => ['show', '--follow', '-'], code: 2, message: /standard input/ },
  { name: 'replay --timeout -5', args: () => ['replay', 'a.wstape.json', '--as', 'client', '--timeout', '-5'], code: 2, message: /--timeout/ },
  { name: 'replay --timeout abc', args: () => ['replay', 'a.wstape.json', '--as', 'client', '--timeout', 'abc'], code: 2, message: /--timeout/ },
  {
    name: 'replay --as client --out DIR',
    args: (dir) => {
      mkdirSync(path.join(dir, 'out-dir'));
      return ['replay', 'a.wstape.json', '--as', 'client', '--target', 'ws://127.0.0.1:9', '--out', 'out-dir'];
    },
    code: 2,
    message: /is a directory/,
  },
];

describe('bad CLI input: one line, a documented exit code, no stack trace, nothing left behind', () => {
  it.each(ROWS)('$name', async (row) => {
    const dir = workDir();
    const args = await row.args(dir);
    const before = readdirSync(dir).sort();
    const result = await runCli(args, { cwd: dir, env: { WSTAPE_HOME: path.join(dir, 'home') } });
    expectOneLine(result, row.code, row.message);
    if (row.after) row.after(dir);
    else expect(readdirSync(dir).sort()).toEqual(before);
  });
});

/** Run the CLI with `input` on its standard input, or through bash for process substitution. */
function run(command: string, args: string[], options: { cwd: string; input?: Buffer }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += String(chunk)));
    child.stderr.on('data', (chunk) => (stderr += String(chunk)));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? Buffer.alloc(0));
  });
}

describe('inputs that work', () => {
  it('show - reads standard input, and show <(cat a) a FIFO, as show a reads the file', async () => {
    const dir = workDir();
    const expected = await runCli(['show', 'a.wstape.json'], { cwd: dir });
    expect(expected.code).toBe(0);
    const piped = await run(process.execPath, [BIN, 'show', '-'], { cwd: dir, input: readFileSync(ARCHIVE) });
    expect(piped).toMatchObject({ code: 0, stdout: expected.stdout, stderr: '' });
    const fifo = await run('bash', ['-c', `"${process.execPath}" "${BIN}" show <(cat a.wstape.json)`], { cwd: dir });
    expect(fifo).toMatchObject({ code: 0, stdout: expected.stdout, stderr: '' });
  });

  it('a record that failed to start can be run again at once with a free port', async () => {
    const dir = workDir();
    const failed = await runCli(['record', '--port', String(await busyPort()), '-o', 'out.wstape.json', '-q'], { cwd: dir });
    expect(failed.code).toBe(3);
    expect(existsSync(path.join(dir, 'out.wstape.json'))).toBe(false);
    const { started, stop } = await startRecord(dir, ['-o', 'out.wstape.json', '-q']);
    expect(started).toMatch(/recording on/);
    const result = await stop();
    expect(result.code).toBe(0);
    expect(existsSync(path.join(dir, 'out.wstape.json'))).toBe(true);
  });

  it('record -p 0 puts the port it listens on in the header; --redact redacts the --target URL in the start-up lines too', async () => {
    const dir = workDir();
    const target = 'ws://ada:hunter2@127.0.0.1:9/feed?token=s3cr3t-value&room=1';
    const { started, stop } = await startRecord(dir, ['-o', 'out.wstape.json', '-q', '--redact', '--target', target]);
    const port = /recording on http:\/\/127\.0\.0\.1:(\d+)/.exec(started)?.[1];
    expect(Number(port)).toBeGreaterThan(0);
    const result = await stop();
    expect(result, JSON.stringify(result)).toMatchObject({ code: 0 });
    expect(result.stderr).not.toMatch(/hunter2|s3cr3t-value/);
    const header = JSON.parse(
      readFileSync(path.join(dir, 'out.wstape.json'), 'utf8')
        .split('\n')[0]!
        .replace(/,"entries":\[$/, '}'),
    ) as {
      recorder: { listen: string; target: string };
    };
    expect(header.recorder.listen).toBe(`127.0.0.1:${port}`);
    expect(header.recorder.target).not.toMatch(/hunter2|s3cr3t-value/);
  });

  it('an entry of a kind a newer writer added is skipped with one warning', async () => {
    const dir = workDir();
    const lines = readFileSync(ARCHIVE, 'utf8').split('\n');
    lines.splice(2, 0, ',{"kind":"bookmark","time":"2026-11-25T10:30:02.000Z","elapsed":1.9,"note":"from a newer wstape"}');
    writeFileSync(path.join(dir, 'future.wstape.json'), lines.join('\n'));
    const expected = await runCli(['show', 'a.wstape.json'], { cwd: dir });
    const result = await runCli(['show', 'future.wstape.json'], { cwd: dir });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(expected.stdout);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^wstape: warning: .*line 3: skipped an entry of kind "bookmark"/);
  });
});

/** Start `wstape record -p 0 ARGS` in DIR; resolves once it listens, with the stderr so far and a stop(). */
async function startRecord(dir: string, args: string[]): Promise<{ started: string; stop: () => Promise<CliResult> }> {
  const child = spawn(process.execPath, [BIN, 'record', '-p', '0', ...args], {
    cwd: dir,
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += String(chunk)));
  const closed = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`record did not start: ${stderr}`)), 10_000);
    child.stderr.on('data', (chunk) => {
      stderr += String(chunk);
      if (/Ctrl-C stops/.test(stderr)) {
        clearTimeout(timer);
        // A SIGINT sent the moment this line arrives must stop it cleanly (test/commands/record-signal.test.ts).
        resolve();
      }
    });
    child.on('close', () => reject(new Error(`record exited: ${stderr}`)));
  });
  return {
    started: stderr,
    stop: () => {
      child.kill('SIGINT');
      return closed;
    },
  };
}

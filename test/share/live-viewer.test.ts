/**
 * The live viewer's server over plain HTTP: the token and Host checks (other local users, web
 * pages and DNS-rebinding pages get 403), what it serves, and `wstape record --view` starting it
 * with the recorder and stopping it with the recorder (the built CLI, a real process).
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLiveViewer, type LiveViewer } from '../../src/share/live-viewer.js';
import { BIN, runCli, spawnRecorder } from '../helpers/cli.js';
import { captureIo, openClient, startWsServer, tempDir, waitFor } from '../helpers/peers.js';

const ARCHIVE = fileURLToPath(new URL('../../fixtures/archives/v2-actions.wstape.json', import.meta.url));

interface Reply {
  status: number;
  type: string | undefined;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** One request with an explicit Host header; for /events, the body up to the first event (or up to `until`). */
function get(port: number, path: string, host: string, method = 'GET', until?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, path, method, headers: { host }, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
        // An event stream stays open: the first whole event is enough.
        if (
          response.headers['content-type']?.startsWith('text/event-stream') === true &&
          (until === undefined ? body.includes('\n\n') : body.includes(until))
        ) {
          response.destroy();
        }
      });
      const done = (): void => resolve({ status: response.statusCode ?? 0, type: response.headers['content-type'], body, headers: response.headers });
      response.on('end', done);
      response.on('close', done);
    });
    request.on('error', reject);
    request.end();
  });
}

/** An event stream kept open until the server ends it: `snapshot` once the first event came, `closed` with everything. */
function openStream(port: number, path: string, host: string): { snapshot: Promise<void>; closed: Promise<string> } {
  let body = '';
  let snapshotCame: () => void = () => {};
  const snapshot = new Promise<void>((resolve) => (snapshotCame = resolve));
  const closed = new Promise<string>((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, path, headers: { host }, agent: false }, (response) => {
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
        if (body.includes('\n\n')) snapshotCame();
      });
      response.on('close', () => resolve(body));
    });
    request.on('error', reject);
    request.end();
  });
  return { snapshot, closed };
}

let viewer: LiveViewer;
let token: string;

beforeAll(async () => {
  viewer = await startLiveViewer({ file: ARCHIVE }, captureIo());
  token = new URL(viewer.url).searchParams.get('token')!;
});

afterAll(async () => {
  await viewer?.close();
});

describe('the live viewer server', () => {
  it('listens on 127.0.0.1 with a long random token in the URL', () => {
    expect(viewer.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${viewer.port}/\\?token=[A-Za-z0-9_-]{32}$`));
  });

  it('serves the page to 127.0.0.1:PORT and localhost:PORT with the token, no-store and its CSP', async () => {
    for (const host of [`127.0.0.1:${viewer.port}`, `localhost:${viewer.port}`]) {
      const reply = await get(viewer.port, `/?token=${token}`, host);
      expect(reply.status).toBe(200);
      expect(reply.type).toBe('text/html; charset=utf-8');
      expect(reply.headers['cache-control']).toBe('no-store');
      expect(reply.headers['content-security-policy']).toContain("connect-src 'self'");
      expect(reply.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(reply.headers['x-frame-options']).toBe('DENY');
      expect(reply.body).toContain('<script id="wstape-data" type="application/json">');
    }
  });

  it.each([
    ['no token', '/'],
    ['an empty token', '/?token='],
    ['a wrong token', '/?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['a token prefix', '/?token=TOKEN_PREFIX'],
    ['the event stream without the token', '/events'],
  ])('refuses %s with 403', async (_name, path) => {
    const reply = await get(viewer.port, path.replace('TOKEN_PREFIX', token.slice(0, 10)), `127.0.0.1:${viewer.port}`);
    expect(reply.status).toBe(403);
    expect(reply.body).not.toContain('wstape-data');
  });

  it.each([
    ['a rebinding name', (port: number) => `attacker.example:${port}`],
    ['another port', (port: number) => `127.0.0.1:${port + 1}`],
    ['no port', () => '127.0.0.1'],
    ['a LAN address', (port: number) => `192.168.1.10:${port}`],
    ['a name that resolves to 127.0.0.1', (port: number) => `127.0.0.1.nip.io:${port}`],
    ['localhost without its port', () => 'localhost'],
  ])('refuses a Host header of %s with 403, even with the token', async (_name, host) => {
    for (const path of [`/?token=${token}`, `/events?token=${token}`]) {
      const reply = await get(viewer.port, path, host(viewer.port));
      expect(reply.status).toBe(403);
      expect(reply.body).toBe('forbidden: unknown Host\n');
    }
  });

  it('streams the archive as a snapshot event to a page with the token', async () => {
    const reply = await get(viewer.port, `/events?token=${token}`, `127.0.0.1:${viewer.port}`);
    expect(reply.status).toBe(200);
    expect(reply.type).toBe('text/event-stream; charset=utf-8');
    const match = /^event: snapshot\ndata: (.*)\n\n/.exec(reply.body);
    expect(match).not.toBeNull();
    const data = JSON.parse(match![1]!) as { source: string; items: unknown[] };
    expect(data.source).toBe('v2-actions.wstape.json');
  });

  it('answers other paths 404 and other methods 405', async () => {
    expect((await get(viewer.port, `/etc/passwd?token=${token}`, `127.0.0.1:${viewer.port}`)).status).toBe(404);
    expect((await get(viewer.port, `/?token=${token}`, `127.0.0.1:${viewer.port}`, 'POST')).status).toBe(405);
  });
});

describe('wstape record --view', () => {
  it('serves the viewer while recording and stops it with the recorder', async () => {
    const server = await startWsServer();
    server.wss.on('connection', (socket) => socket.on('message', (data) => socket.send(data)));
    const recorder = await spawnRecorder(['--view', '--quiet', '--target', server.url]);
    try {
      await waitFor(() => /viewer at http:\/\/127\.0\.0\.1:\d+\/\?token=\S+/.test(recorder.stderr()), 10_000, 'the viewer URL');
      const url = new URL(/viewer at (\S+)/.exec(recorder.stderr())![1]!);
      const port = Number(url.port);
      const client = await openClient(`ws://127.0.0.1:${recorder.port}/echo`);
      client.send('through the recorder');
      await new Promise((resolve) => client.once('message', resolve));
      // The snapshot, or an update after it, carries the frame.
      const reply = await get(port, `/events${url.search}`, url.host, 'GET', 'through the recorder');
      expect(reply.body).toContain('through the recorder');
      client.close();
      // A page still connected when the recorder stops gets the archive's end before the viewer goes.
      const last = openStream(port, `/events${url.search}`, url.host);
      await last.snapshot;
      recorder.child.kill('SIGINT');
      expect((await recorder.exited).code).toBe(0);
      const ending = { body: await last.closed };
      expect(ending.body).toMatch(/event: update\ndata: \{[^\n]*"trailer":\{"stoppedAt"/);
      expect(ending.body).toContain('event: end\n');
      await expect(get(port, `/${url.search}`, url.host)).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      if (recorder.child.exitCode === null) recorder.child.kill('SIGKILL');
      await server.close();
    }
  });
});

describe('wstape view', () => {
  it('refuses a file that is not an archive: one line, exit 2', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'notes.txt');
    writeFileSync(file, 'hello\n');
    const result = await runCli(['view', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^wstape: .*not a wstape archive/m);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses standard input: it follows a file', async () => {
    const result = await runCli(['view', '-']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('wstape: wstape view follows a file as it grows: give its path, not - (standard input)\n');
  });

  it('--open hands the URL to the system opener (xdg-open)', async () => {
    const dir = tempDir();
    const opened = path.join(dir, 'opened.txt');
    const opener = path.join(dir, 'xdg-open');
    writeFileSync(opener, `#!/bin/sh\nprintf '%s' "$1" > '${opened}'\n`);
    chmodSync(opener, 0o755);
    const child = spawn(process.execPath, [BIN, 'view', ARCHIVE, '--open'], {
      env: { ...process.env, PATH: `${dir}${path.delimiter}${process.env.PATH ?? ''}` },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += String(chunk)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await waitFor(() => /at (http\S+)/.test(stderr) && existsSync(opened) && readFileSync(opened, 'utf8') !== '', 10_000, 'the opener to run');
      expect(readFileSync(opened, 'utf8')).toBe(/at (http\S+)/.exec(stderr)![1]);
      child.kill('SIGINT');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

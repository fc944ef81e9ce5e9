/**
 * Headless Debian Chromium for end-to-end tests: finding it (and certutil), a throwaway $HOME
 * whose NSS database trusts a root CA, launching it through a proxy, and cleaning up after it.
 * Shared by test/browser/chromium-wss.test.ts (HTTP CONNECT), chromium-ca-info.test.ts and
 * test/record/socks5-chromium.test.ts (SOCKS5).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { afterEach } from 'vitest';
import { tempDir } from './peers.js';

/**
 * The list a browser test pushes its cleanups on: after each test they run in reverse, each one
 * even when an earlier one failed, so a browser that would not die leaves no server open.
 */
export function cleanupsAfterEach(): Array<() => unknown> {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch {
        // keep cleaning up
      }
    }
  });
  return cleanups;
}

/** The test site's request handler: `html` at /page (never cached), 404 for anything else. */
export function servePage(html: string): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    if (request.url === '/page') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      response.end(html);
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('not found');
    }
  };
}

/** The absolute path of `command` on $PATH, or null. */
export function which(command: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** Fail (not skip) when the browser tooling is missing: CI installs it, a developer should too. */
export function requireTools(): { chromium: string; certutil: string } {
  const chromium = which('chromium');
  const certutil = which('certutil');
  const missing = [chromium ? null : 'chromium (Debian package "chromium")', certutil ? null : 'certutil (Debian package "libnss3-tools")'].filter(Boolean);
  if (missing.length > 0 || !chromium || !certutil) {
    throw new Error(`the browser test needs ${missing.join(' and ')}: run \`apt-get install -y chromium libnss3-tools\` (.ci/run does this as root)`);
  }
  return { chromium, certutil };
}

/**
 * A $HOME whose NSS database trusts `caCertPath` as a root for TLS servers: Chromium on Linux
 * reads locally added trust anchors from $HOME/.pki/nssdb, exactly what a user does with
 * `wstape ca info`'s chromium-linux command. The user's own HOME is never touched.
 */
export function homeTrusting(certutil: string, caCertPath: string): string {
  const home = tempDir('wstape-chromium-home-');
  const nssdb = path.join(home, '.pki', 'nssdb');
  mkdirSync(nssdb, { recursive: true });
  const run = (args: string[]): void => {
    const result = spawnSync(certutil, args, { encoding: 'utf8', timeout: 10_000, env: { ...process.env, HOME: home } });
    if (result.status !== 0)
      throw new Error(`certutil ${args.join(' ')} failed (${result.status ?? result.signal}): ${result.stderr}${result.error?.message ?? ''}`);
  };
  run(['-d', `sql:${nssdb}`, '-N', '--empty-password']);
  run(['-d', `sql:${nssdb}`, '-A', '-t', 'C,,', '-n', 'wstape', '-i', caCertPath]);
  return home;
}

export interface Browser {
  child: ChildProcess;
  /** The last lines Chromium printed, for failure messages. */
  output(): string;
  kill(): Promise<void>;
}

/**
 * Headless Chromium through the proxy (`proxy`: what --proxy-server takes, e.g.
 * http://127.0.0.1:8080 or socks5://127.0.0.1:8080), in its own process group so every helper
 * process dies with it.
 */
export function launchChromium(chromium: string, home: string, proxy: string, url: string): Browser {
  const args = [
    '--headless',
    '--no-sandbox', // running as root (CI containers)
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--no-default-browser-check',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-extensions',
    '--disable-dev-shm-usage',
    '--mute-audio',
    `--user-data-dir=${path.join(home, 'profile')}`,
    `--proxy-server=${proxy}`,
    // Chromium never proxies loopback unless told to; this rule removes that implicit bypass.
    '--proxy-bypass-list=<-loopback>',
    url,
  ];
  const child = spawn(chromium, args, { env: { ...process.env, HOME: home }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    child.once('exit', () => resolve());
    child.once('error', (error) => {
      output += `\nspawn failed: ${error.message}`;
      resolve();
    });
  });
  let killing: Promise<void> | null = null;
  return {
    child,
    output: () => output,
    kill: () => {
      killing ??= (async () => {
        if (child.pid !== undefined) {
          try {
            process.kill(-child.pid, 'SIGKILL'); // the group we created with detached: true
          } catch {
            // already gone
          }
        }
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      })();
      return killing;
    },
  };
}

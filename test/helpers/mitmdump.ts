/**
 * Debian's mitmdump (package mitmproxy) as a real upstream proxy for the --upstream-proxy tests:
 * regular mode on 127.0.0.1, every tunnel passed through untouched (--ignore-hosts '.*').
 * It is required (.ci/run installs it); without it the tests fail, never skip.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { tempDir } from './peers.js';

export interface Mitmdump {
  port: number;
  /** Everything it printed so far (it logs "client connect", "server connect HOST:PORT", ...). */
  output(): string;
  kill(): void;
}

/** Start mitmdump; resolves once it says it listens. `extra`: more options (e.g. --proxyauth). */
export async function startMitmdump(extra: string[] = []): Promise<Mitmdump> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    '/usr/bin/mitmdump',
    [
      '--mode',
      'regular',
      '--listen-host',
      '127.0.0.1',
      '--listen-port',
      String(port),
      '--set',
      `confdir=${tempDir('wstape-mitm-')}`,
      '--ignore-hosts',
      '.*',
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const kill = (): void => {
    child.kill('SIGKILL');
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const onText = (text: Buffer): void => {
        output += String(text);
        if (output.includes(`listening at 127.0.0.1:${port}`)) resolve();
      };
      child.stdout!.on('data', onText);
      child.stderr!.on('data', onText);
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`mitmdump exited (${code}): ${output}`)));
    });
  } catch (error) {
    kill();
    throw error;
  }
  return { port, output: () => output, kill };
}

/** A port nothing listens on (bound, then closed). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

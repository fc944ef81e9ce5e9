/**
 * A command under a real pseudo-terminal: util-linux `script -qec` gives it a pty for stdout and
 * stderr (stdin from /dev/null), and what the terminal showed comes back as one string.
 */
import { spawn } from 'node:child_process';
import { BIN } from './cli.js';

/** Run `node wstape ARGS` on a pty; `stdoutTo` redirects stdout to a file (stderr stays on the pty). */
export function underPty(args: string[], env: Record<string, string> = {}, stdoutTo?: string): Promise<{ code: number | null; screen: string }> {
  const quote = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, BIN, ...args].map(quote).join(' ') + (stdoutTo !== undefined ? ` > ${quote(stdoutTo)}` : '');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TERM: 'xterm', ...env } });
    let screen = '';
    child.stdout.on('data', (chunk) => (screen += String(chunk)));
    child.stderr.on('data', (chunk) => (screen += String(chunk)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, screen });
    });
  });
}

/**
 * The built CLI in a child process whose V8 heap is capped (--max-old-space-size, in MiB): a
 * command that holds its input whole fails with "heap out of memory", one that streams succeeds.
 * Memory is checked this way, never by timing or by reading RSS.
 */
import { spawn } from 'node:child_process';
import { BIN } from './cli.js';

export interface CappedResult {
  code: number | null;
  /** Lines written to stdout (counted, not kept). */
  lines: number;
  stderr: string;
}

/** Run `wstape ARGS` with a heap of `heapMiB`. */
export function runCapped(heapMiB: number, args: string[]): Promise<CappedResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`--max-old-space-size=${heapMiB}`, BIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    let lines = 0;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      for (const byte of chunk) if (byte === 0x0a) lines++;
    });
    child.stderr.on('data', (chunk) => (stderr += String(chunk)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, lines, stderr });
    });
  });
}

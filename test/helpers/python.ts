/**
 * A Python peer for the interoperability tests: Debian's python3 (where python3-websockets and
 * python3-aiohttp are installed) runs a script given inline, which reports by printing one JSON
 * object per line on stdout.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

// Debian's interpreter first: a pyenv python3 earlier on PATH lacks the Debian packages.
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

export interface PythonResult<Line> {
  /** The exit code (null when killed, e.g. after 20 s). */
  code: number | null;
  stderr: string;
  /** Each line of stdout, parsed as JSON (empty unless the script exited with 0). */
  lines: Line[];
}

/** Run `script` with `args` (its sys.argv[1:]); bounded at 20 s, then killed. */
export async function runPython<Line>(script: string, args: string[]): Promise<PythonResult<Line>> {
  const child = spawn(PYTHON, ['-c', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += String(chunk)));
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  const killer = setTimeout(() => child.kill(), 20_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(killer);
  const lines =
    code === 0
      ? stdout
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as Line)
      : [];
  return { code, stderr, lines };
}

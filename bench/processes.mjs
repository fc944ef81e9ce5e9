/**
 * Child processes for the benchmark: the helper servers (servers.mjs) and the wstape recorder,
 * each started, waited for and stopped with a bound on time. Every child is killed by its pid if
 * the bench exits early.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, '..');
const SERVERS = path.join(here, 'servers.mjs');
const WSTAPE = path.join(ROOT, 'bin', 'wstape.js');

const live = new Set();
process.on('exit', () => {
  for (const child of live) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/**
 * Start `node ...args` and wait until a line of `stream` matches `pattern`.
 * Resolves with { child, match, output() } where output() is everything printed so far.
 */
function startChild(args, { stream, pattern, timeoutMs = 15_000, stdin = 'pipe' }) {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: [stdin, 'pipe', 'pipe'] });
  live.add(child);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => {
    live.delete(child);
    resolve({ code, signal });
  }));
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (text) => { out += text; });
  child.stderr.setEncoding('utf8').on('data', (text) => { err += text; });
  const output = () => ({ stdout: out, stderr: err });
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => fail(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    const check = () => {
      const text = stream === 'stdout' ? out : err;
      const match = pattern.exec(text);
      if (match && !settled) {
        settled = true;
        clearTimeout(timer);
        child[stream].off('data', check);
        resolve({ child, match, output, exited });
      }
    };
    const fail = (error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${args.join(' ')}: ${error.message}\n${err.slice(-2000)}`));
    };
    child[stream].on('data', check);
    exited.then(({ code, signal }) => fail(new Error(`exited early (code ${code}, signal ${signal})`)));
  });
}

/** Stop a child with a signal; SIGKILL it if it has not exited after `timeoutMs`. */
async function stopChild(started, signal, timeoutMs) {
  const { child, exited } = started;
  if (child.exitCode !== null || child.signalCode !== null) return exited;
  child.kill(signal);
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(null);
    }, timeoutMs);
  });
  const result = await Promise.race([exited, timeout]);
  clearTimeout(timer);
  if (result === null) throw new Error(`${child.spawnargs.join(' ')} did not stop within ${timeoutMs} ms after ${signal}`);
  return result;
}

/** A helper server from servers.mjs: echo, http-proxy or tcp-pipe. */
export async function startServer(role, targetPort) {
  const args = [SERVERS, role, ...(targetPort === undefined ? [] : [String(targetPort)])];
  const started = await startChild(args, { stream: 'stdout', pattern: /^READY (\d+)$/m });
  return {
    role,
    pid: started.child.pid,
    port: Number(started.match[1]),
    stop: () => stopChild(started, 'SIGTERM', 5_000),
  };
}

/**
 * `wstape record` in reverse mode in front of `targetPort`, writing to `out`.
 * stop() sends SIGINT (as Ctrl-C would), waits for the clean exit and returns its summary line.
 */
export async function startWstape({ targetPort, out, maxPayload, cpuProfDir }) {
  const nodeFlags = cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : [];
  const args = [
    ...nodeFlags, WSTAPE, 'record', '--port', '0', '--quiet',
    '--target', `ws://127.0.0.1:${targetPort}`, '--out', out,
    ...(maxPayload === undefined ? [] : ['--max-payload', String(maxPayload)]),
  ];
  const started = await startChild(args, {
    stream: 'stderr',
    pattern: /wstape: recording on http:\/\/127\.0\.0\.1:(\d+)/,
    stdin: 'ignore',
  });
  return {
    role: 'wstape',
    pid: started.child.pid,
    port: Number(started.match[1]),
    /** Closing the archive fsyncs it, which can take a while after hundreds of MiB. */
    stop: async () => {
      const { code, signal } = await stopChild(started, 'SIGINT', 60_000);
      const { stderr } = started.output();
      if (code !== 0) throw new Error(`wstape exited with code ${code} (signal ${signal}):\n${stderr.slice(-2000)}`);
      const summary = /^wstape: recorded .*$/m.exec(stderr)?.[0] ?? null;
      return { summary, stderr };
    },
  };
}

/** { rssKiB, hwmKiB } of a live process from /proc/<pid>/status (Linux). */
export function memoryOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssKiB: field('VmRSS'), hwmKiB: field('VmHWM') };
}

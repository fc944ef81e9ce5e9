/**
 * Child processes for the benchmark: the helper servers (servers.mjs) and the wstape recorder,
 * each started, waited for and stopped with a bound on time. Every child is killed by its pid if
 * the bench exits early.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, '..');
const SERVERS = path.join(here, 'servers.mjs');
const WSTAPE = path.join(ROOT, 'bin', 'wstape.js');

const live = new Set();
/** Pids of the live child processes: their CPU time counts as the bench's own (load.mjs). */
export const livePids = new Set();
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
  livePids.add(child.pid);
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      livePids.delete(child.pid);
      resolve({ code, signal });
    }),
  );
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (text) => {
    out += text;
  });
  child.stderr.setEncoding('utf8').on('data', (text) => {
    err += text;
  });
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

/**
 * A helper server from servers.mjs: echo, wss-echo, http-proxy, tcp-pipe or tls-pipe. `roleArgs`:
 * the role's arguments (a target port; wss-echo's certificates file; tls-pipe's certificates
 * file and upstream CA file).
 */
export async function startServer(role, ...roleArgs) {
  const args = [SERVERS, role, ...roleArgs.map(String)];
  const started = await startChild(args, { stream: 'stdout', pattern: /^READY (\d+)$/m });
  return {
    role,
    pid: started.child.pid,
    port: Number(started.match[1]),
    /** Everything it printed so far: { stdout, stderr } (the echo servers' SESSION lines). */
    output: started.output,
    stop: () => stopChild(started, 'SIGTERM', 5_000),
  };
}

/**
 * `wstape record` in reverse mode in front of `targetPort` (or, without it, as a forward proxy:
 * `extraArgs` then carries --ca-dir, --upstream-ca...), writing to `out`.
 * stop() sends SIGINT (as Ctrl-C would), waits for the clean exit and returns its summary line.
 */
export async function startWstape({ targetPort, out, maxPayload, cpuProfDir, extraArgs = [], extraNodeFlags = [], root }) {
  const nodeFlags = [...(cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : []), ...extraNodeFlags];
  const args = [
    ...nodeFlags,
    // Another checkout's build, for A/B runs (bench/probe.mjs --root).
    root === undefined ? WSTAPE : path.join(path.resolve(root), 'bin', 'wstape.js'),
    'record',
    '--port',
    '0',
    '--quiet',
    ...(targetPort === undefined ? [] : ['--target', `ws://127.0.0.1:${targetPort}`]),
    '--out',
    out,
    ...(maxPayload === undefined ? [] : ['--max-payload', String(maxPayload)]),
    ...extraArgs,
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

/** A TCP port that was free a moment ago on 127.0.0.1 (for a child that cannot listen on port 0). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts a TCP connection on 127.0.0.1:port (polls; bounded). */
async function waitForListener(port, { timeoutMs, gone }) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (gone()) throw new Error('exited before it listened');
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * `mitmdump -q --mode reverse:http://127.0.0.1:<targetPort>` on a free port, writing its flows to
 * `out` (-w) and running the addon `script` (-s); `confdir` holds its CA (made on the first start).
 * mitmdump cannot listen on port 0, so the port is picked here and polled until it accepts.
 * stop() sends SIGINT, waits for the exit (bounded) and returns { code, signal, stderr }.
 */
export async function startMitmdump({ targetPort, out, script, confdir, command = 'mitmdump', timeoutMs = 30_000 }) {
  const port = await freePort();
  const args = [
    '-q',
    '--mode',
    `reverse:http://127.0.0.1:${targetPort}`,
    '--listen-host',
    '127.0.0.1',
    '--listen-port',
    String(port),
    '--set',
    `confdir=${confdir}`,
    '-w',
    out,
    ...(script ? ['-s', script] : []),
  ];
  const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  livePids.add(child.pid);
  let stderr = '';
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding('utf8').on('data', (text) => {
      if (stderr.length < 20_000) stderr += text;
    });
  }
  let spawnError = null;
  child.once('error', (error) => {
    spawnError = error;
  });
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      livePids.delete(child.pid);
      resolve({ code, signal });
    }),
  );
  try {
    await waitForListener(port, { timeoutMs, gone: () => spawnError !== null || child.exitCode !== null || child.signalCode !== null });
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`mitmdump ${args.join(' ')}: ${spawnError?.message ?? error.message}\n${stderr.slice(-2000)}`);
  }
  const started = { child, exited };
  return {
    role: 'mitmdump',
    pid: child.pid,
    port,
    output: () => stderr,
    /** mitmdump writes a WebSocket flow when it ends, so a clean stop has every flow in `out`. */
    stop: async () => ({ ...(await stopChild(started, 'SIGINT', 60_000)), stderr }),
  };
}

/** CPU time (user + system) a process used so far, in ms (10 ms ticks); null once it is gone. */
export function cpuMsOf(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

/**
 * Wait until a process has used (almost) no CPU for two 100 ms windows in a row, at most `maxMs`:
 * work a proxy defers to the end of a connection (mitmdump serialises a WebSocket flow when it
 * closes) then happens before the next row is measured, not during it. Resolves with the ms waited.
 */
export async function waitIdle(pid, maxMs = 30_000) {
  const cpuTicks = () => {
    const ms = cpuMsOf(pid);
    return ms === null ? null : ms / 10;
  };
  const start = Date.now();
  let last = cpuTicks();
  let quiet = 0;
  while (last !== null && quiet < 2 && Date.now() - start < maxMs) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = cpuTicks();
    if (now === null) break;
    // Ticks are 10 ms: one tick in 100 ms is idle enough.
    quiet = now - last <= 1 ? quiet + 1 : 0;
    last = now;
  }
  return Date.now() - start;
}

/**
 * `wstape replay FILE --as server --port 0 ...args`: resolves once it listens, with its port and
 * done(), which waits (bounded) for it to exit by itself (--once) and returns its stderr.
 */
export async function startReplayServer(file, args) {
  const started = await startChild([WSTAPE, 'replay', file, '--as', 'server', '--port', '0', ...args], {
    stream: 'stderr',
    pattern: /as a server on ws:\/\/127\.0\.0\.1:(\d+)/,
    stdin: 'ignore',
    timeoutMs: 30_000,
  });
  return {
    pid: started.child.pid,
    port: Number(started.match[1]),
    done: async (timeoutMs = 30_000) => {
      let timer;
      const result = await Promise.race([
        started.exited,
        new Promise((resolve) => {
          timer = setTimeout(() => resolve(null), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (result === null) await stopChild(started, 'SIGTERM', 5_000);
      return { ...(result ?? { code: null, signal: 'timeout' }), stderr: started.output().stderr };
    },
  };
}

/** `node bin/wstape.js ...args` to completion (bounded); resolves with { code, stdout, stderr }. */
export function runWstape(args, timeoutMs = 30_000) {
  return runTool(process.execPath, [WSTAPE, ...args], { timeoutMs, collect: true });
}

/**
 * Run commands as a pipeline (each one's stdout into the next one's stdin; the first reads
 * nothing else), bounded by `timeoutMs`. Every process's peak RSS is read by polling VmHWM in
 * /proc/<pid>/status (VmHWM only grows, so the last reading is the peak up to a few ms before the
 * exit). The last command's stdout goes to onChunk(buffer), or is collected with `collect`.
 * Resolves with { seconds, code, peaks: [{ command, hwmKiB }], stdout?, stderr }.
 */
export function runPipeline(commands, { timeoutMs = 300_000, onChunk, collect = false, pollMs = 10 } = {}) {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const children = [];
    const peaks = commands.map(([command]) => ({ command: path.basename(command), hwmKiB: 0 }));
    let stderr = '';
    let stdout = '';
    commands.forEach(([command, args], i) => {
      const stdin = i === 0 ? 'ignore' : children[i - 1].stdout;
      const child = spawn(command, args, { cwd: ROOT, stdio: [stdin, 'pipe', 'pipe'] });
      live.add(child);
      livePids.add(child.pid);
      child.once('exit', () => {
        live.delete(child);
        livePids.delete(child.pid);
      });
      child.stderr.setEncoding('utf8').on('data', (text) => {
        if (stderr.length < 20_000) stderr += text;
      });
      // The previous command's stdout now belongs to this child: close the bench's end of it.
      if (i > 0) children[i - 1].stdout.destroy();
      children.push(child);
    });
    const last = children[children.length - 1];
    last.stdout.on('data', (chunk) => {
      if (collect) stdout += chunk.toString('utf8');
      onChunk?.(chunk);
    });
    const poll = () => {
      children.forEach((child, i) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        try {
          const hwm = Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0);
          if (hwm > peaks[i].hwmKiB) peaks[i].hwmKiB = hwm;
        } catch {
          // exited between the check and the read
        }
      });
    };
    const poller = setInterval(poll, pollMs);
    poll();
    const timer = setTimeout(() => {
      for (const child of children) child.kill('SIGKILL');
      finish(new Error(`${commands.map(([c]) => path.basename(c)).join(' | ')}: no result after ${timeoutMs} ms`));
    }, timeoutMs);
    let settled = false;
    const finish = (error, code) => {
      if (settled) return;
      settled = true;
      clearInterval(poller);
      clearTimeout(timer);
      if (error) reject(error);
      else resolve({ seconds: (performance.now() - start) / 1000, code, peaks, stderr, ...(collect ? { stdout } : {}) });
    };
    // Done when every process exited and the last one's output is read.
    Promise.all(children.map((child) => new Promise((done) => child.once('close', (code, signal) => done(code ?? signal))))).then((codes) =>
      finish(null, codes.find((code) => code !== 0) ?? 0),
    );
  });
}

/** One command, as a pipeline of one. */
export function runTool(command, args, options) {
  return runPipeline([[command, args]], options);
}

/** { rssKiB, hwmKiB } of a live process from /proc/<pid>/status (Linux). */
export function memoryOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssKiB: field('VmRSS'), hwmKiB: field('VmHWM') };
}

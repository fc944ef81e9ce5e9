#!/usr/bin/env node
/**
 * wstape benchmark: WebSocket echo traffic direct, through `wstape record` (reverse mode, really
 * recording: the archive is counted after every run), and through peer proxies that record
 * nothing. See BENCHMARKS.md for what each row means and for the last figures.
 *
 *   npm run bench                      full run (about 1-2 minutes)
 *   node bench/run.mjs --quick         fewer messages, one run per row
 *   node bench/run.mjs --type binary   binary messages instead of text (JSON-like ASCII)
 *   node bench/run.mjs --reps 5        more interleaved runs per row (median is reported)
 *   node bench/run.mjs --profile       CPU-profile the recorder on a short run, print the top
 *                                      self-time functions, and stop
 *   node bench/run.mjs --keep          keep the archives (their folder is printed)
 *   node bench/run.mjs --frame-mib 512 size of the memory row's one large message (default 256)
 *   node bench/run.mjs --wait-quiet 60 before each run, wait up to 60 s (default 20; --quick: 0)
 *                                      for other work on the machine to drop below 15% of its CPU
 *   node bench/run.mjs --archive-dir /dev/shm --max-payload 0
 *                                      diagnostics: where wstape writes its archive (default: a
 *                                      folder under os.tmpdir()), and its --max-payload
 *
 * Machine-readable results go to a JSON file under os.tmpdir() (its path is printed).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { checkConnection, scanArchive } from './archive-check.mjs';
import { close, connect, latency, sendLarge, throughput } from './client.mjs';
import { memoryOf, ROOT, startServer, startWstape } from './processes.mjs';
import { topSelfTime } from './profile.mjs';
import { formatTable, formatMemory, summarise } from './report.mjs';

const KiB = 1024;
const MiB = 1024 * KiB;

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    type: { type: 'string', default: 'text' },
    reps: { type: 'string' },
    profile: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    'no-memory': { type: 'boolean', default: false },
    'archive-dir': { type: 'string' },
    'max-payload': { type: 'string' },
    'frame-mib': { type: 'string' },
    'wait-quiet': { type: 'string' },
  },
});
if (!['text', 'binary'].includes(flags.type)) throw new Error(`--type must be text or binary, got "${flags.type}"`);

const quick = flags.quick || flags.profile;
const plan = {
  type: flags.type,
  reps: Number(flags.reps ?? (quick ? 1 : 3)),
  window: 64,
  sizes: [
    { size: 1 * KiB, label: '1 KiB', tput: { count: quick ? 5_000 : 20_000, maxMs: quick ? 2_000 : 5_000, warmup: quick ? 500 : 2_000 } },
    { size: 64 * KiB, label: '64 KiB', tput: { count: quick ? 500 : 3_000, maxMs: quick ? 2_000 : 5_000, warmup: quick ? 50 : 300 } },
  ],
  latency: { count: quick ? 500 : 2_000, warmup: quick ? 100 : 200, maxMs: quick ? 3_000 : 6_000 },
  memory: { size: Number(flags['frame-mib'] ?? (quick ? 64 : 256)) * MiB },
  configs: flags.profile ? ['wstape'] : ['direct', 'wstape', 'http-proxy', 'tcp-pipe'],
  /** A run during which other work used this share of the CPU or more is left out of the medians. */
  noisyPercent: 20,
  /** Extra runs allowed to replace noisy ones (within about two minutes of runs in all). */
  extraRuns: quick ? 0 : Number(flags.reps ?? 3),
  /** Seconds to wait, before each run, for the machine to be quiet (other work < 15% CPU). */
  waitQuiet: Number(flags['wait-quiet'] ?? (quick ? 0 : 20)),
  /** wstape's --max-payload for the throughput and latency rows (undefined: its default). */
  maxPayload: flags['max-payload'],
};
if (!Number.isInteger(plan.reps) || plan.reps < 1 || plan.reps > 9) throw new Error('--reps must be 1..9');
if (!(plan.waitQuiet >= 0 && plan.waitQuiet <= 600)) throw new Error('--wait-quiet must be 0..600 seconds');
// The echo server accepts messages up to 1 GiB (servers.mjs).
if (!(plan.memory.size > 0 && plan.memory.size <= 1024 * MiB)) throw new Error('--frame-mib must be 1..1024');

const workDir = mkdtempSync(path.join(os.tmpdir(), 'wstape-bench-'));
const archiveDir = flags['archive-dir'] ? mkdtempSync(path.join(flags['archive-dir'], 'wstape-bench-')) : workDir;
const log = (line) => process.stderr.write(`${line}\n`);

/** A payload of exactly `size` bytes: JSON-like ASCII text, or random bytes. */
function makePayload(size, type) {
  if (type === 'binary') return randomBytes(size);
  const head = '{"type":"tick","seq":12345,"data":"';
  const tail = '"}';
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ';
  let body = '';
  for (let i = 0; body.length < size - head.length - tail.length; i++) body += alphabet[(i * 7) % alphabet.length];
  return Buffer.from(head + body + tail, 'utf8');
}

function machine() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  return {
    nproc: os.availableParallelism(),
    cpu: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    loadavg: os.loadavg().map((n) => Number(n.toFixed(2))),
    source: sourceVersion(),
  };
}

/** Which wstape was measured: the commit, and whether src/ had uncommitted changes (read-only git). */
function sourceVersion() {
  try {
    const git = (...args) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const commit = git('rev-parse', '--short', 'HEAD');
    const dirty = git('status', '--porcelain', '--', 'src').length > 0;
    return `${commit}${dirty ? ' + uncommitted changes in src/' : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

/** Live child processes whose CPU time counts as the bench's own (the echo server). */
const livePids = new Set();

/** CPU seconds of a process (utime + stime; with `children`, plus its reaped children's). */
function processCpu(pid, children) {
  // /proc/<pid>/stat fields 14-17: utime, stime, cutime, cstime; split after the ") " of the name.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (children ? [11, 12, 13, 14] : [11, 12]).reduce((sum, i) => sum + Number(fields[i]), 0) / 100;
}

/** CPU seconds used so far by the whole machine (busy, steal) and by this bench with its children. */
function cpuTimes() {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, idle, iowait, irq, softirq, steal] = fields.map((ticks) => ticks / 100);
    // Children count in cutime once reaped; live ones are read on their own.
    let own = processCpu('self', true);
    for (const pid of livePids) own += processCpu(pid, false);
    return { busy: user + nice + system + irq + softirq, idle: idle + iowait, steal, own };
  } catch {
    return null;
  }
}

/** What else ran on the machine between two cpuTimes() readings. */
function machineLoad(before, after) {
  if (!before || !after) return null;
  const d = (k) => after[k] - before[k];
  const total = d('busy') + d('idle') + d('steal');
  return {
    seconds: Number(total.toFixed(1)),
    benchCpuSeconds: Number(d('own').toFixed(1)),
    otherCpuSeconds: Number(Math.max(0, d('busy') - d('own')).toFixed(1)),
    stealSeconds: Number(d('steal').toFixed(1)),
    otherPercent: Number(((100 * Math.max(0, d('busy') - d('own'))) / total).toFixed(0)),
  };
}

/** Busy share of the machine over `ms`, before the bench starts (other sessions, tests...). */
async function backgroundLoad(ms = 1000) {
  const before = cpuTimes();
  await new Promise((resolve) => setTimeout(resolve, ms));
  return machineLoad(before, cpuTimes());
}

/**
 * Wait (at most plan.waitQuiet seconds) until other work uses under 15% of the machine's CPU over
 * one second. Returns the last reading; the bench goes on either way and reports it.
 */
async function waitForQuiet(what) {
  const deadline = Date.now() + plan.waitQuiet * 1000;
  let load = await backgroundLoad(500);
  while (load && load.otherPercent >= 15 && Date.now() < deadline) {
    log(`  waiting for a quiet machine before ${what}: other work uses ${load.otherPercent}% of CPU`);
    load = await backgroundLoad(1000);
  }
  return load;
}

/** The proxies of one run, started fresh; wstape writes to its own archive. */
async function startProxies(echoPort, rep, options = {}) {
  const proxies = {};
  const archive = path.join(archiveDir, `run-${rep}.wstape.json`);
  for (const name of plan.configs) {
    if (name === 'direct') proxies[name] = { port: echoPort, stop: async () => ({}) };
    else if (name === 'wstape') proxies[name] = await startWstape({ targetPort: echoPort, out: archive, maxPayload: plan.maxPayload, cpuProfDir: options.cpuProfDir });
    else proxies[name] = await startServer(name, echoPort);
  }
  return { proxies, archive };
}

/** Warm the client and the echo server (JIT, buffers) before the first measured run. */
async function warmUp(echoPort) {
  const binary = plan.type === 'binary';
  for (const { size, tput } of plan.sizes) {
    const payload = makePayload(size, plan.type);
    const ws = await connect(`ws://127.0.0.1:${echoPort}/warm-up`);
    await throughput(ws, payload, { binary, window: plan.window, count: Math.ceil(tput.count / 2), maxMs: 2_000 });
    await latency(ws, payload, { binary, count: plan.latency.warmup * 2, warmup: 0, maxMs: 2_000 });
    await close(ws);
  }
}

/** One interleaved run of every row. Returns the measurements and the archive check. */
async function runOnce(echoPort, rep, options = {}) {
  const quietBefore = await waitForQuiet(`run ${rep + 1}`);
  const cpuBefore = cpuTimes();
  const { proxies, archive } = await startProxies(echoPort, rep, options);
  const results = [];
  const expected = []; // wstape's connections, in order: c1, c2...
  try {
    for (const { size, label, tput } of plan.sizes) {
      const payload = makePayload(size, plan.type);
      const binary = plan.type === 'binary';
      // Rotate the order every run so no configuration always goes first (warm caches, turbo).
      const order = plan.configs.map((_, i) => plan.configs[(i + rep) % plan.configs.length]);
      for (const config of order) {
        const url = `ws://127.0.0.1:${proxies[config].port}/bench`;
        let ws = await connect(url);
        const t = await throughput(ws, payload, { binary, window: plan.window, ...tput });
        await close(ws);
        if (config === 'wstape') expected.push(expectation(t.sentTotal, size));
        ws = await connect(url);
        const l = await latency(ws, payload, { binary, ...plan.latency });
        await close(ws);
        if (config === 'wstape') expected.push(expectation(l.sentTotal, size));
        results.push({ rep, size, label, config, throughput: t, latency: l });
        log(`  run ${rep + 1} ${label.padEnd(6)} ${config.padEnd(10)} ${Math.round(t.msgPerSec).toLocaleString('en-US').padStart(8)} msg/s  ` +
          `${t.mibPerSec.toFixed(1).padStart(7)} MiB/s  p50 ${l.p50.toFixed(0).padStart(5)} µs  p99 ${l.p99.toFixed(0).padStart(5)} µs`);
      }
    }
  } finally {
    for (const [name, proxy] of Object.entries(proxies)) {
      if (name !== 'wstape') await proxy.stop();
    }
  }
  let recording = null;
  if (proxies.wstape) {
    const { summary } = await proxies.wstape.stop();
    recording = await verifyArchive(archive, expected, summary);
    if (!flags.keep) rmSync(archive, { force: true });
  }
  const load = machineLoad(cpuBefore, cpuTimes());
  if (load) load.justBeforePercent = quietBefore?.otherPercent ?? null;
  const noisy = load !== null && load.otherPercent >= plan.noisyPercent;
  if (load) log(`  other work on the machine during run ${rep + 1}: ${load.otherPercent}% of CPU time (steal ${load.stealSeconds} s)${noisy ? ': noisy run' : ''}`);
  return { rep, results, recording, load, noisy };
}

/** "16MiB", "64k", "0" → bytes (the forms `wstape record --max-payload` takes). */
function parseSize(value) {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(i?b)?\s*$/i.exec(String(value));
  if (!match) throw new Error(`--max-payload: not a size: "${value}"`);
  return Math.floor(Number(match[1]) * { '': 1, k: KiB, m: MiB, g: 1024 * MiB }[match[2].toLowerCase()]);
}

/** What wstape must have recorded for a connection that carried `messages` echoes of `size`. */
function expectation(messages, size) {
  const kept = parseSize(plan.maxPayload ?? '16MiB');
  const truncated = kept < size ? messages : 0;
  return { messages, size, truncatedOut: truncated, truncatedIn: truncated };
}

/** Count the archive's frames per connection against what the client sent. */
async function verifyArchive(archive, expected, summary) {
  const bytes = statSync(archive).size;
  const scan = await scanArchive(archive);
  const problems = [];
  expected.forEach((want, i) => problems.push(...checkConnection(scan, `c${i + 1}`, want)));
  const dataFrames = expected.reduce((n, want) => n + 2 * want.messages, 0);
  const expectedFrames = dataFrames + 2 * expected.length; // + one close frame each way
  if (scan.frames !== expectedFrames) problems.push(`${scan.frames} frame entries, expected ${expectedFrames}`);
  if (!scan.trailer) problems.push('no trailer: the archive was not closed cleanly');
  else if (scan.trailer.summary?.frames !== scan.frames) problems.push(`trailer says ${scan.trailer.summary?.frames} frames, file holds ${scan.frames}`);
  if (scan.damaged > 0) problems.push(`${scan.damaged} damaged lines`);
  const check = { archiveBytes: bytes, connections: expected.length, frames: scan.frames, expectedFrames, summary, ok: problems.length === 0, problems };
  log(`  archive: ${scan.frames.toLocaleString('en-US')} frames in ${(bytes / MiB).toFixed(0)} MiB, expected ${expectedFrames.toLocaleString('en-US')}: ${check.ok ? 'ok' : 'MISMATCH'}`);
  for (const problem of problems.slice(0, 10)) log(`    ${problem}`);
  return check;
}

/** Relay one large binary message through each proxy and read the proxy's peak RSS. */
async function memoryRow(echoPort) {
  const payload = randomBytes(plan.memory.size);
  const rows = [];
  for (const name of plan.configs.filter((c) => c !== 'direct')) {
    const archive = path.join(workDir, 'memory.wstape.json');
    const proxy = name === 'wstape' ? await startWstape({ targetPort: echoPort, out: archive }) : await startServer(name, echoPort);
    const ws = await connect(`ws://127.0.0.1:${proxy.port}/memory`);
    const before = memoryOf(proxy.pid);
    const { seconds } = await sendLarge(ws, payload);
    const after = memoryOf(proxy.pid);
    await close(ws);
    const row = { config: name, frameBytes: payload.length, seconds, rssBeforeKiB: before.rssKiB, hwmBeforeKiB: before.hwmKiB, hwmKiB: after.hwmKiB };
    if (name === 'wstape') {
      await proxy.stop();
      const scan = await scanArchive(archive);
      // The default --max-payload keeps 16 MiB: a larger frame is recorded truncated.
      const truncatedOut = payload.length > parseSize('16MiB') ? 1 : 0;
      const problems = checkConnection(scan, 'c1', { messages: 1, sizeOut: payload.length, sizeIn: String(payload.length).length, truncatedOut });
      row.recording = { archiveBytes: statSync(archive).size, frames: scan.frames, ok: problems.length === 0, problems };
      if (!flags.keep) rmSync(archive, { force: true });
    } else {
      await proxy.stop();
    }
    rows.push(row);
    log(`  memory ${name.padEnd(10)} ${(payload.length / MiB).toFixed(0)} MiB frame in ${seconds.toFixed(2)} s, peak RSS ${(row.hwmKiB / 1024).toFixed(0)} MiB (idle ${(row.rssBeforeKiB / 1024).toFixed(0)} MiB)` +
      (row.recording ? `, archive ${row.recording.ok ? 'ok' : 'MISMATCH ' + row.recording.problems.join('; ')}` : ''));
  }
  return rows;
}

async function profileRun(echoPort) {
  const cpuProfDir = path.join(workDir, 'cpu-prof');
  const { results, recording } = await runOnce(echoPort, 0, { cpuProfDir });
  const file = readdirSync(cpuProfDir).find((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile in ${cpuProfDir}`);
  const { totalMs, top } = topSelfTime(path.join(cpuProfDir, file), 20, ROOT);
  console.log(`\nwstape recorder CPU profile (${plan.type} messages, ${results.length} sizes; archive ${recording.ok ? 'verified' : 'MISMATCH'}), ${(totalMs / 1000).toFixed(2)} s sampled:`);
  console.log('  self ms   self %  function');
  for (const entry of top) {
    console.log(`${entry.selfMs.toFixed(0).padStart(9)} ${entry.percent.toFixed(1).padStart(7)}%  ${entry.name}  ${entry.where}`);
  }
  console.log(`\nprofile: ${path.join(cpuProfDir, file)} (open in Chrome DevTools or speedscope)`);
}

async function main() {
  const started = Date.now();
  const info = machine();
  info.loadBefore = await backgroundLoad();
  if (info.loadBefore && info.loadBefore.otherPercent >= 15) {
    log(`note: other work uses ${info.loadBefore.otherPercent}% of the machine's CPU; figures will be noisy` +
      (plan.waitQuiet > 0 ? ` (each run first waits up to ${plan.waitQuiet} s for it to calm down)` : ''));
  }
  const cpuBefore = cpuTimes();
  log(`wstape bench: ${plan.type} messages, ${plan.reps} run(s) per row${quick ? ' (quick)' : ''}; ${info.nproc} CPUs (${info.cpu}), Node ${info.node}; wstape ${info.source}; work dir ${workDir}`);
  const echo = await startServer('echo');
  livePids.add(echo.pid);
  try {
    if (flags.profile) {
      await profileRun(echo.port);
      return;
    }
    await warmUp(echo.port);
    const runs = [];
    for (let rep = 0; rep < plan.reps; rep++) runs.push(await runOnce(echo.port, rep));
    // Replace runs that other work on the machine disturbed, within a bounded number and time.
    const quiet = () => runs.filter((run) => !run.noisy);
    for (let extra = 0; quiet().length < plan.reps && extra < plan.extraRuns && Date.now() - started < 120_000; extra++) {
      log(`  ${runs.length - quiet().length} noisy run(s): one more run to replace one`);
      runs.push(await runOnce(echo.port, runs.length));
    }
    const used = quiet().length > 0 ? quiet() : runs;
    if (quiet().length === 0) log('warning: every run was disturbed by other work on the machine; the medians use them all');
    const memory = flags['no-memory'] ? [] : await memoryRow(echo.port);

    const summary = summarise(used.flatMap((run) => run.results), plan);
    const usage = { used: used.map((run) => run.rep + 1), noisy: runs.filter((run) => run.noisy).map((run) => run.rep + 1), total: runs.length };
    const recordingOk = runs.every((run) => run.recording?.ok) && memory.every((row) => row.recording?.ok ?? true);
    console.log(formatTable(summary, plan, info, usage));
    if (memory.length > 0) console.log(formatMemory(memory));
    console.log(recordingOk
      ? `Recording verified: every wstape archive holds exactly the frames the client sent and received (${runs.map((r) => r.recording.frames.toLocaleString('en-US')).join(', ')} frames per run).`
      : 'RECORDING CHECK FAILED: see the archive lines above; the wstape figures are not valid.');

    info.loadDuring = machineLoad(cpuBefore, cpuTimes());
    if (info.loadDuring) {
      const l = info.loadDuring;
      console.log(`Other work on the machine during the bench: ${l.otherCpuSeconds} CPU-s, ${l.otherPercent}% of all CPU time ` +
        `(per run: ${runs.map((r) => `${r.load?.otherPercent ?? '?'}%`).join(', ')}; the bench's own processes used ${l.benchCpuSeconds} CPU-s); ` +
        `steal ${l.stealSeconds} s; just before: ${info.loadBefore?.otherPercent ?? '?'}%`);
    }
    const out = path.join(os.tmpdir(), `wstape-bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), machine: info, plan, summary, memory, usage, recordings: runs.map((r) => r.recording), loadPerRun: runs.map((r) => r.load), runs: runs.flatMap((r) => r.results), seconds: (Date.now() - started) / 1000 }, null, 2));
    console.log(`\nResults (JSON): ${out}`);
    log(`bench took ${((Date.now() - started) / 1000).toFixed(0)} s`);
    if (!recordingOk) process.exitCode = 1;
  } finally {
    await echo.stop();
    if (!flags.keep && !flags.profile) {
      rmSync(workDir, { recursive: true, force: true });
      rmSync(archiveDir, { recursive: true, force: true });
    } else log(`kept: ${workDir}${archiveDir === workDir ? '' : ` and ${archiveDir}`}`);
  }
}

await main();

#!/usr/bin/env node
/**
 * wstape benchmark. Sections (all by default; --only / --skip pick some):
 *
 *   relay    WebSocket echo traffic direct, through `wstape record` (reverse mode, really
 *            recording: the archive is counted after every run), through peer proxies that
 *            record nothing, through the tcp-pipe floor and through mitmdump recording its flows
 *            (-w; skipped with a note when mitmdump is not on PATH); issue 13's targets are
 *            judged against the tcp-pipe and mitmdump rows of the same run
 *   idle     --idle-conns (1,000) idle WebSocket connections held open through each proxy: its
 *            RSS per connection
 *   memory   one large message through each proxy: peak RSS
 *   hooks    the same echo traffic through tcp-pipe, wstape with no hook, with a pass-through
 *            `--script` hook and with a JSON-rewriting one (bench/hooks/*.mjs), and mitmdump in
 *            reverse mode, recording (-w), with the equivalent websocket_message addons
 *            (bench/hooks/*.py; those rows are skipped when mitmdump is not on PATH); the rewrites
 *            are verified (bench/hooks.mjs)
 *   wss      the same over TLS: direct wss:// vs through the intercepting recorder (CONNECT,
 *            TLS with the recorder's CA, verified TLS upstream) vs the recorder passing TLS through
 *            (the tunnel floor) vs the tls-pipe floor (a Node process that terminates and
 *            re-encrypts TLS as the recorder does, then pipes the plaintext, recording nothing):
 *            how much of the gap to the tunnel is TLS termination itself
 *   first    the first connection to a new host name (a new leaf certificate) vs a repeat one,
 *            and leaf certificate timing in a fresh process
 *   replay   `wstape replay --asap` as the server and as the client, vs the same messages direct
 *   show     `wstape show` with filters over a generated 128 MiB and 1 GiB archive, vs jq
 *   bigfiles `wstape show --json`, `list`, `stats`, `export` (to HAR), `import` (of that HAR),
 *            `diff` (the archive with itself) and `redact` on a generated 1 GiB archive (--quick:
 *            128 MiB; --big-mib N): time and peak RSS of each, the 200 MiB target of issue 12
 *   startup  `node -e 0`, `wstape --version`, `wstape list` and `wstape show` on the demo archive,
 *            side by side in one hyperfine run (bench/startup.mjs; also runs alone)
 *
 * See BENCHMARKS.md for what each row means and for the last figures.
 *
 *   npm run bench                      full run (about 3.5 minutes on a quiet machine; the very first
 *                                      run also generates the show archives, about 15 s more)
 *   node bench/run.mjs --quick         fewer messages, one run per row, 128 MiB archive only
 *   node bench/run.mjs --only wss,first   some sections only (--skip show: all but these;
 *                                      --only hooks: the hooks rows alone, about 1 minute with --quick)
 *   node bench/run.mjs --type binary   relay rows: binary messages instead of text (JSON-like ASCII)
 *   node bench/run.mjs --deflate       relay and hooks rows: client and echo server negotiate
 *                                      permessage-deflate (context takeover, every message compressed)
 *   node bench/run.mjs --idle-conns 500   connections of the idle row (default 1000)
 *   node bench/run.mjs --reps 5        more interleaved runs per row (median is reported)
 *   node bench/run.mjs --profile       CPU-profile the recorder on a short run, print the top
 *                                      self-time functions, and stop
 *   node bench/run.mjs --keep          keep the archives (their folder is printed)
 *   node bench/run.mjs --frame-mib 512 size of the memory row's one large message (default 256)
 *   node bench/run.mjs --show-mib 2048 size of the large show archive (default 1024; --quick: none
 *                                      unless given)
 *   node bench/run.mjs --only bigfiles --big-mib 256   the big-file rows alone, on a 256 MiB
 *                                      archive (default 1024; --quick: 128)
 *   node bench/run.mjs --replay-messages 20000   messages per replayed session (default 3000)
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
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { checkConnection, scanArchive } from './archive-check.mjs';
import { close, connect, latency, sendLarge, throughput } from './client.mjs';
import { idleRows } from './idle.mjs';
import { findMitmdump, HOOK_ROWS, hooksSuite } from './hooks.mjs';
import { backgroundLoad, cpuTimes, machineLoad, measured, waitForQuiet as waitForQuietFor } from './load.mjs';
import { cpuMsOf, livePids, memoryOf, ROOT, startMitmdump, startServer, startWstape, waitIdle } from './processes.mjs';
import { formatTop, topSelfTime } from './profile.mjs';
import { replayRows } from './replay.mjs';
import {
  formatFirstConnections,
  formatHooks,
  formatIdle,
  formatMemory,
  formatReplay,
  formatShow,
  formatTable,
  formatWss,
  NEW_HOST_LEAF_MS,
  SHOW_TARGETS,
  summarise,
  summariseHooks,
  TARGETS,
  WSS_TARGETS,
} from './report.mjs';
import { archiveCommandRows, FLOOR_TOOL, formatArchiveCommands, showRows } from './show.mjs';
import { formatStartup, startupRows } from './startup.mjs';
import { connectWss, firstConnections, forwardArgs, leafTiming, setupTls, summariseFirstConnections } from './tls.mjs';

const KiB = 1024;
const MiB = 1024 * KiB;

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    type: { type: 'string', default: 'text' },
    deflate: { type: 'boolean', default: false },
    'idle-conns': { type: 'string' },
    reps: { type: 'string' },
    profile: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    'no-memory': { type: 'boolean', default: false },
    'archive-dir': { type: 'string' },
    'max-payload': { type: 'string' },
    'frame-mib': { type: 'string' },
    'wait-quiet': { type: 'string' },
    only: { type: 'string' },
    skip: { type: 'string' },
    'show-mib': { type: 'string' },
    'big-mib': { type: 'string' },
    'replay-messages': { type: 'string' },
  },
});
const SECTIONS = ['relay', 'memory', 'idle', 'hooks', 'wss', 'first', 'replay', 'show', 'bigfiles', 'startup'];
const listFlag = (value) =>
  (value ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
for (const name of [...listFlag(flags.only), ...listFlag(flags.skip)]) {
  if (!SECTIONS.includes(name)) throw new Error(`--only/--skip: unknown section "${name}" (${SECTIONS.join(', ')})`);
}
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
  // Each latency run follows a throughput burst on the same processes: for its first 2,000 or so
  // round trips every process on the path, tcp-pipe's included, is still slow now and then (p99
  // 1.8-2.3 ms for both at 1 KiB; BENCHMARKS.md, issue 13), so those are the warm-up.
  latency: { count: quick ? 500 : 3_000, warmup: quick ? 500 : 2_000, maxMs: quick ? 4_000 : 10_000 },
  memory: { size: Number(flags['frame-mib'] ?? (quick ? 64 : 256)) * MiB },
  configs: flags.profile ? ['wstape'] : ['direct', 'wstape', 'http-proxy', 'tcp-pipe', ...(findMitmdump() ? ['mitmdump'] : [])],
  /** Relay rows with permessage-deflate negotiated by the client and the echo server. */
  deflate: flags.deflate,
  idle: { connections: Number(flags['idle-conns'] ?? 1000) },
  /** A run during which other work used this share of the CPU or more is left out of the medians. */
  noisyPercent: 20,
  /** Extra runs allowed to replace noisy ones (within about two minutes of runs in all). */
  extraRuns: quick ? 0 : Number(flags.reps ?? 3),
  /** Seconds to wait, before each run, for the machine to be quiet (other work < 15% CPU). */
  waitQuiet: Number(flags['wait-quiet'] ?? (quick ? 0 : 20)),
  /** wstape's --max-payload for the throughput and latency rows (undefined: its default). */
  maxPayload: flags['max-payload'],
  sections: (flags.only ? listFlag(flags.only) : SECTIONS).filter((name) => !listFlag(flags.skip).includes(name) && !(name === 'memory' && flags['no-memory'])),
  /** wss rows: the same sizes, counts and latency as the relay rows; text messages. */
  wss: { configs: ['direct', 'wstape', 'wstape-tunnel', 'tls-pipe'] },
  /** hooks rows: the relay's sizes, counts and latency, text messages; the mitmdump rows if it is installed. */
  hooks: { configs: Object.keys(HOOK_ROWS) },
  first: { names: quick ? 10 : 20 },
  replay: { count: Number(flags['replay-messages'] ?? (quick ? 1_000 : 3_000)) },
  /** Archive sizes for the show rows, MiB; jq -R (slower, one process) on the smallest only. */
  show: { mib: quick && flags['show-mib'] === undefined ? [128] : [128, Number(flags['show-mib'] ?? 1024)] },
  /** Archive size for the big-file rows, MiB. */
  bigfiles: { mib: Number(flags['big-mib'] ?? (quick ? 128 : 1024)) },
};
if (!Number.isInteger(plan.reps) || plan.reps < 1 || plan.reps > 9) throw new Error('--reps must be 1..9');
if (!(Number.isInteger(plan.idle.connections) && plan.idle.connections >= 10 && plan.idle.connections <= 10_000))
  throw new Error('--idle-conns must be 10..10000');
if (!(plan.waitQuiet >= 0 && plan.waitQuiet <= 600)) throw new Error('--wait-quiet must be 0..600 seconds');
// The echo server accepts messages up to 1 GiB (servers.mjs).
if (!(plan.memory.size > 0 && plan.memory.size <= 1024 * MiB)) throw new Error('--frame-mib must be 1..1024');
if (!plan.show.mib.every((mib) => Number.isInteger(mib) && mib >= 16 && mib <= 4096)) throw new Error('--show-mib must be 16..4096');
if (!(Number.isInteger(plan.bigfiles.mib) && plan.bigfiles.mib >= 16 && plan.bigfiles.mib <= 4096)) throw new Error('--big-mib must be 16..4096');
if (!(Number.isInteger(plan.replay.count) && plan.replay.count >= 10 && plan.replay.count <= 100_000)) throw new Error('--replay-messages must be 10..100000');
if (flags.profile) plan.sections = ['relay'];

/** The client's options for the relay and hooks rows: permessage-deflate offered (every message compressed) with --deflate. */
const deflateClientOptions = plan.deflate ? { perMessageDeflate: { threshold: 0 } } : {};

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

/** Wait for quiet (load.mjs) with this run's settings. */
const waitForQuiet = (what) => waitForQuietFor(what, plan.waitQuiet, log);
/** Run a step with noise control: { value, load, noisy }. */
const measure = (what, step) => measured(what, { waitSeconds: plan.waitQuiet, noisyPercent: plan.noisyPercent, log }, step);

/**
 * The ws:// relay suite: the proxies of one run, started fresh; wstape writes to its own archive.
 * A suite's start() returns { open(config) → WebSocket, recorders: { config: { recorder, archive,
 * check?(expected) } } (each archive is verified after the run; check adds the suite's own
 * problems), stopPeers() }, and optionally expectedBefore: { config: [expectation] } (connections
 * the suite made itself, first), settle(config) (awaited after each row's connection closes) and
 * verify(expected) (after stopPeers; → { ok, problems }).
 */
function relaySuite(echoPort) {
  return {
    name: 'relay',
    configs: plan.configs,
    type: plan.type,
    async start(rep, options = {}) {
      const proxies = {};
      const archive = path.join(archiveDir, `run-${rep}.wstape.json`);
      const flows = path.join(archiveDir, `run-${rep}.mitmdump.flows`);
      for (const name of plan.configs) {
        if (name === 'direct') proxies[name] = { port: echoPort, stop: async () => ({}) };
        else if (name === 'wstape')
          proxies[name] = await startWstape({ targetPort: echoPort, out: archive, maxPayload: plan.maxPayload, cpuProfDir: options.cpuProfDir });
        else if (name === 'mitmdump')
          // Recording (-w) with no addon, in reverse mode like wstape: the same work, another tool.
          proxies[name] = await startMitmdump({
            targetPort: echoPort,
            out: flows,
            confdir: path.join(archiveDir, 'mitmproxy-conf'),
            command: findMitmdump().command,
          });
        else proxies[name] = await startServer(name, echoPort);
      }
      return {
        recorders: proxies.wstape ? { wstape: { recorder: proxies.wstape, archive } } : {},
        open: (config) => connect(`ws://127.0.0.1:${proxies[config].port}/bench`, 10_000, deflateClientOptions),
        // The proxy's own CPU time per round trip (direct has no proxy).
        pidOf: (config) => proxies[config].pid,
        // mitmdump serialises a WebSocket flow when its connection closes: not during the next row.
        settle: async (config) => {
          if (config === 'mitmdump') await waitIdle(proxies[config].pid);
        },
        async stopPeers() {
          for (const [name, proxy] of Object.entries(proxies)) if (name !== 'wstape') await proxy.stop();
          if (proxies.mitmdump) {
            // Not counted frame by frame (bench/hooks.mjs does that for its text rows): it must
            // at least hold every payload byte that crossed it, both ways.
            this.mitmdumpFlowBytes = existsSync(flows) ? statSync(flows).size : 0;
            if (!flags.keep) rmSync(flows, { force: true });
          }
        },
      };
    },
  };
}

/**
 * The wss:// suite: direct to the TLS echo server, through a fresh intercepting recorder (its
 * archive verified like the relay's), and through a fresh recorder that passes TLS through.
 */
function wssSuite(tlsSetup, wssPort) {
  return {
    name: 'wss',
    configs: plan.wss.configs,
    type: 'text',
    async start(rep) {
      const archive = path.join(archiveDir, `wss-run-${rep}.wstape.json`);
      const recorder = await startWstape({ out: archive, maxPayload: plan.maxPayload, extraArgs: forwardArgs(tlsSetup) });
      const tunnelArchive = path.join(archiveDir, `wss-tunnel-run-${rep}.wstape.json`);
      const tunnel = await startWstape({ out: tunnelArchive, extraArgs: forwardArgs(tlsSetup, { passThrough: true }) });
      // It serves the upstream's own leaves, so the client trusts the upstream's CA, as for direct.
      const tlsPipe = await startServer('tls-pipe', tlsSetup.certsFile, tlsSetup.upstreamCaFile);
      const via = {
        direct: { proxyPort: null, ca: tlsSetup.upstreamCaPem },
        wstape: { proxyPort: recorder.port, ca: tlsSetup.recorderCaPem },
        'wstape-tunnel': { proxyPort: tunnel.port, ca: tlsSetup.upstreamCaPem },
        'tls-pipe': { proxyPort: tlsPipe.port, ca: tlsSetup.upstreamCaPem },
      };
      return {
        recorders: { wstape: { recorder, archive } },
        open: (config) => connectWss({ wssPort, ...via[config] }),
        // Each proxy's own CPU time per round trip: TLS termination's share of wstape's.
        pidOf: (config) => ({ wstape: recorder.pid, 'wstape-tunnel': tunnel.pid, 'tls-pipe': tlsPipe.pid })[config],
        async stopPeers() {
          await tlsPipe.stop();
          await tunnel.stop();
          rmSync(tunnelArchive, { force: true });
        },
      };
    },
  };
}

/** Warm the client and the echo server (JIT, buffers) before the first measured run. */
async function warmUp(open, type) {
  // (open is the caller's: the relay passes the client options of its rows.)
  const binary = type === 'binary';
  for (const { size, tput } of plan.sizes) {
    const payload = makePayload(size, type);
    const ws = await open();
    await throughput(ws, payload, { binary, window: plan.window, count: Math.ceil(tput.count / 2), maxMs: 2_000 });
    await latency(ws, payload, { binary, count: plan.latency.warmup * 2, warmup: 0, maxMs: 2_000 });
    await close(ws);
  }
}

/** One interleaved run of every row of a suite. Returns the measurements and the archive check. */
async function runOnce(suite, rep, options = {}) {
  const quietBefore = await waitForQuiet(`${suite.name} run ${rep + 1}`);
  const cpuBefore = cpuTimes();
  const session = await suite.start(rep, options);
  const results = [];
  // Per config, its connections in order (a recorder's c1, c2...): what the client sent on each.
  const expected = Object.fromEntries(suite.configs.map((config) => [config, [...(session.expectedBefore?.[config] ?? [])]]));
  const width = Math.max(13, ...suite.configs.map((config) => config.length));
  try {
    for (const { size, label, tput } of plan.sizes) {
      const payload = makePayload(size, suite.type);
      const binary = suite.type === 'binary';
      // Rotate the order every run so no configuration always goes first (warm caches, turbo).
      const order = suite.configs.map((_, i) => suite.configs[(i + rep) % suite.configs.length]);
      for (const config of order) {
        let ws = await session.open(config);
        // The proxy's own CPU time over the throughput run, per round trip: less disturbed by
        // other work on a shared machine than the rate is (a suite that names its pids).
        const pid = session.pidOf?.(config);
        const cpuBefore = pid === undefined ? null : cpuMsOf(pid);
        const t = await throughput(ws, payload, { binary, window: plan.window, ...tput });
        const cpuAfter = pid === undefined ? null : cpuMsOf(pid);
        if (cpuBefore !== null && cpuAfter !== null && t.messages > 0) t.cpuUsPerRoundTrip = ((cpuAfter - cpuBefore) * 1000) / t.messages;
        // A proxy that lags behind (mitmdump under load) may take a while to pass the close handshake.
        await close(ws, 30_000);
        expected[config].push(expectation(t.sentTotal, size));
        await session.settle?.(config);
        ws = await session.open(config);
        const l = await latency(ws, payload, { binary, ...plan.latency });
        // A proxy that lags behind (mitmdump under load) may take a while to pass the close handshake.
        await close(ws, 30_000);
        expected[config].push(expectation(l.sentTotal, size));
        await session.settle?.(config);
        results.push({ rep, size, label, config, throughput: t, latency: l });
        log(
          `  ${suite.name} run ${rep + 1} ${label.padEnd(6)} ${config.padEnd(width)} ${Math.round(t.msgPerSec).toLocaleString('en-US').padStart(8)} msg/s  ` +
            `${t.mibPerSec.toFixed(1).padStart(7)} MiB/s  p50 ${l.p50.toFixed(0).padStart(5)} µs  p99 ${l.p99.toFixed(0).padStart(5)} µs`,
        );
      }
    }
  } finally {
    await session.stopPeers();
  }
  const recordings = {};
  const recorders = Object.entries(session.recorders ?? {});
  for (const [config, { recorder, archive, check }] of recorders) {
    const { summary } = await recorder.stop();
    recordings[config] = await verifyArchive(archive, expected[config], summary, { label: recorders.length > 1 ? config : null, check });
    if (!flags.keep) rmSync(archive, { force: true });
  }
  const recording = recordings.wstape ?? null;
  if (session.mitmdumpFlowBytes !== undefined) {
    const payloadBytes = expected.mitmdump.reduce((n, want) => n + 2 * want.messages * want.size, 0);
    const ok = session.mitmdumpFlowBytes >= payloadBytes;
    recordings.mitmdump = {
      flowBytes: session.mitmdumpFlowBytes,
      payloadBytes,
      ok,
      problems: ok ? [] : ['the flow file is smaller than the payloads it should hold'],
    };
    log(
      `  mitmdump flow file: ${(session.mitmdumpFlowBytes / MiB).toFixed(0)} MiB for ${(payloadBytes / MiB).toFixed(0)} MiB of payloads: ${ok ? 'ok' : 'TOO SMALL'}`,
    );
  }
  const checks = session.verify ? await session.verify(expected) : null;
  const load = machineLoad(cpuBefore, cpuTimes());
  if (load) load.justBeforePercent = quietBefore?.otherPercent ?? null;
  const noisy = load !== null && load.otherPercent >= plan.noisyPercent;
  if (load)
    log(
      `  other work on the machine during ${suite.name} run ${rep + 1}: ${load.otherPercent}% of CPU time (steal ${load.stealSeconds} s)${noisy ? ': noisy run' : ''}`,
    );
  return { rep, results, recording, recordings, checks, load, noisy };
}

/**
 * plan.reps runs of a suite, plus extra runs (bounded in number, and in time: none starts after
 * `maxSeconds` from the suite's start) to replace runs that other work on the machine disturbed.
 */
async function runSuite(suite, maxSeconds) {
  const started = Date.now();
  const runs = [];
  for (let rep = 0; rep < plan.reps; rep++) runs.push(await runOnce(suite, rep));
  const quiet = () => runs.filter((run) => !run.noisy);
  for (let extra = 0; quiet().length < plan.reps && extra < plan.extraRuns && Date.now() - started < maxSeconds * 1000; extra++) {
    log(`  ${runs.length - quiet().length} noisy ${suite.name} run(s): one more run to replace one`);
    runs.push(await runOnce(suite, runs.length));
  }
  const used = quiet().length > 0 ? quiet() : runs;
  if (quiet().length === 0) log(`warning: every ${suite.name} run was disturbed by other work on the machine; the medians use them all`);
  const usage = { used: used.map((run) => run.rep + 1), noisy: runs.filter((run) => run.noisy).map((run) => run.rep + 1), total: runs.length };
  return { runs, used, usage };
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

/**
 * Count the archive's frames per connection against what the client sent; `check(expected)` (a
 * suite's own) may add problems and fields; `label` names the recorder in the log line.
 */
async function verifyArchive(archive, expected, summary, { label = null, check } = {}) {
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
  const { problems: more = [], ...extra } = check ? await check(expected) : {};
  problems.push(...more);
  const result = {
    archiveBytes: bytes,
    connections: expected.length,
    frames: scan.frames,
    expectedFrames,
    summary,
    ...extra,
    ok: problems.length === 0,
    problems,
  };
  log(
    `  archive${label ? ` (${label})` : ''}: ${scan.frames.toLocaleString('en-US')} frames in ${(bytes / MiB).toFixed(0)} MiB, expected ${expectedFrames.toLocaleString('en-US')}${extra.modified === undefined ? '' : `, ${extra.modified.toLocaleString('en-US')} modified by the script`}: ${result.ok ? 'ok' : 'MISMATCH'}`,
  );
  for (const problem of problems.slice(0, 10)) log(`    ${problem}`);
  return result;
}

/** Relay one large binary message through each proxy and read the proxy's peak RSS. */
async function memoryRow(echoPort) {
  const payload = randomBytes(plan.memory.size);
  const rows = [];
  // mitmdump keeps a whole message for its flow: a 256 MiB one is not what this row compares.
  for (const name of plan.configs.filter((c) => c !== 'direct' && c !== 'mitmdump')) {
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
    log(
      `  memory ${name.padEnd(10)} ${(payload.length / MiB).toFixed(0)} MiB frame in ${seconds.toFixed(2)} s, peak RSS ${(row.hwmKiB / 1024).toFixed(0)} MiB (idle ${(row.rssBeforeKiB / 1024).toFixed(0)} MiB)` +
        (row.recording ? `, archive ${row.recording.ok ? 'ok' : 'MISMATCH ' + row.recording.problems.join('; ')}` : ''),
    );
  }
  return rows;
}

async function profileRun(echoPort) {
  const cpuProfDir = path.join(workDir, 'cpu-prof');
  const { results, recording } = await runOnce(relaySuite(echoPort), 0, { cpuProfDir });
  const file = readdirSync(cpuProfDir).find((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile in ${cpuProfDir}`);
  const { totalMs, top } = topSelfTime(path.join(cpuProfDir, file), 20, ROOT);
  console.log(
    `\nwstape recorder CPU profile (${plan.type} messages, ${results.length} sizes; archive ${recording.ok ? 'verified' : 'MISMATCH'}), ${(totalMs / 1000).toFixed(2)} s sampled:`,
  );
  console.log(formatTop(top));
  console.log(`\nprofile: ${path.join(cpuProfDir, file)} (open in Chrome DevTools or speedscope)`);
}

/** The first-connection rows: a recorder verifying upstream TLS, one with --insecure, leaf timing. */
async function firstSection(tlsSetup, wssPort, names) {
  const one = async (insecure) => {
    const archive = path.join(archiveDir, `first-${insecure ? 'insecure' : 'verified'}.wstape.json`);
    const recorder = await startWstape({ out: archive, extraArgs: forwardArgs(tlsSetup, { insecure }) });
    let rows;
    try {
      rows = await firstConnections({ setup: tlsSetup, wssPort, proxyPort: recorder.port, names, warmupName: 'warm.test', direct: !insecure });
    } finally {
      await recorder.stop();
    }
    // Every connection (2 warm-up, then a first and a repeat per name) carried one message each
    // way and the close handshake.
    const scan = await scanArchive(archive);
    const connections = 2 + 2 * names.length;
    const problems = [];
    if (scan.connections.size !== connections) problems.push(`${scan.connections.size} connections recorded, expected ${connections}`);
    if (scan.frames !== 4 * connections) problems.push(`${scan.frames} frames recorded, expected ${4 * connections}`);
    if (!flags.keep) rmSync(archive, { force: true });
    return { rows, summary: summariseFirstConnections(rows), problems };
  };
  const verified = await one(false);
  const insecure = await one(true);
  const leaf = await leafTiming(tlsSetup.recorderCaDir, names.length);
  const problems = [...verified.problems, ...insecure.problems.map((p) => `--insecure: ${p}`)];
  for (const problem of problems) log(`    first connections: ${problem}`);
  const s = verified.summary;
  log(
    `  first connection: new host ${s.first.total.median.toFixed(1)} ms, repeat ${s.repeat.total.median.toFixed(1)} ms, direct ${s.direct.total.median.toFixed(1)} ms (medians); ` +
      `with --insecure: new ${insecure.summary.first.total.median.toFixed(1)} ms, repeat ${insecure.summary.repeat.total.median.toFixed(1)} ms; ` +
      `leaf in-process: median ${[...leaf.perNameMs].sort((a, b) => a - b)[Math.floor(leaf.perNameMs.length / 2)].toFixed(1)} ms`,
  );
  return { summary: s, rows: verified.rows, insecure: insecure.summary, insecureRows: insecure.rows, leaf, problems, ok: problems.length === 0 };
}

/** Is `command` runnable (jq, sed for the show rows)? */
function toolVersion(command) {
  try {
    return execFileSync(command, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 })
      .split('\n')[0]
      .trim();
  } catch {
    return null;
  }
}

async function main() {
  const started = Date.now();
  const info = machine();
  info.loadBefore = await backgroundLoad();
  info.mitmdump = findMitmdump();
  if (info.loadBefore && info.loadBefore.otherPercent >= 15) {
    log(
      `note: other work uses ${info.loadBefore.otherPercent}% of the machine's CPU; figures will be noisy` +
        (plan.waitQuiet > 0 ? ` (each run first waits up to ${plan.waitQuiet} s for it to calm down)` : ''),
    );
  }
  const cpuBefore = cpuTimes();
  const has = (section) => plan.sections.includes(section);
  log(
    `wstape bench: sections ${plan.sections.join(', ')}; ${plan.type} messages, ${plan.reps} run(s) per row${quick ? ' (quick)' : ''}; ` +
      `${info.nproc} CPUs (${info.cpu}), Node ${info.node}; wstape ${info.source}; work dir ${workDir}`,
  );
  const echo = await startServer(plan.deflate ? 'echo-deflate' : 'echo');
  livePids.add(echo.pid);
  let wssServer = null;
  const report = [];
  const results = { date: new Date().toISOString(), machine: info, plan };
  const failures = [];
  /** Run one section; a failure is reported and the other sections still run. */
  const section = async (name, run) => {
    if (!has(name)) return;
    const sectionStarted = Date.now();
    try {
      await run();
    } catch (error) {
      failures.push(`${name}: ${error.message}`);
      log(`SECTION ${name} FAILED: ${error.stack ?? error.message}`);
    }
    log(`  (${name}: ${((Date.now() - sectionStarted) / 1000).toFixed(0)} s)`);
  };
  try {
    if (flags.profile) {
      await profileRun(echo.port);
      return;
    }
    const relayRuns = [];
    await section('relay', async () => {
      const suite = relaySuite(echo.port);
      await warmUp(() => connect(`ws://127.0.0.1:${echo.port}/warm-up`, 10_000, plan.deflate ? { perMessageDeflate: { threshold: 0 } } : {}), plan.type);
      const { runs, used, usage } = await runSuite(suite, 120);
      relayRuns.push(...runs);
      const summary = summarise(
        used.flatMap((run) => run.results),
        { sizes: plan.sizes, configs: plan.configs, targets: TARGETS, floor: 'tcp-pipe', issue13: true },
      );
      const recordingOk = runs.every((run) => run.recording?.ok);
      report.push(formatTable(summary, plan, info, usage));
      if (!plan.configs.includes('mitmdump')) report.push('note: mitmdump is not on PATH (apt-get install mitmproxy): no mitmdump rows\n');
      report.push(
        recordingOk
          ? `Recording verified: every wstape archive holds exactly the frames the client sent and received (${runs.map((r) => r.recording.frames.toLocaleString('en-US')).join(', ')} frames per run).\n`
          : 'RECORDING CHECK FAILED: see the archive lines above; the wstape figures are not valid.\n',
      );
      if (!recordingOk) failures.push('relay: recording check failed');
      Object.assign(results, {
        summary,
        usage,
        recordings: runs.map((r) => r.recording),
        loadPerRun: runs.map((r) => r.load),
        runs: runs.flatMap((r) => r.results),
      });
    });
    await section('memory', async () => {
      const memory = await memoryRow(echo.port);
      report.push(formatMemory(memory));
      if (!memory.every((row) => row.recording?.ok ?? true)) failures.push('memory: recording check failed');
      results.memory = memory;
    });

    await section('idle', async () => {
      const { value, load, noisy } = await measure('the idle-connection rows', () =>
        idleRows({ echoPort: echo.port, connections: plan.idle.connections, archiveDir, mitm: findMitmdump(), keep: flags.keep, log }),
      );
      report.push(formatIdle(value) + `(other work on the machine meanwhile: ${load?.otherPercent ?? '?'}%${noisy ? ': NOISY' : ''})\n`);
      if (!value.ok) failures.push(`idle: ${value.problems.join('; ')}`);
      results.idle = { ...value, load, noisy };
    });

    const hooksRuns = [];
    await section('hooks', async () => {
      const mitm = findMitmdump();
      info.mitmdump = mitm ? { ...mitm } : null;
      const configs = plan.hooks.configs.filter((config) => mitm || HOOK_ROWS[config].kind !== 'mitmdump');
      if (!mitm) log('  note: mitmdump is not on PATH: the hooks rows have no mitmdump comparison');
      else log(`  ${mitm.version} (${mitm.command})`);
      const suite = hooksSuite({
        echoPort: echo.port,
        archiveDir,
        configs,
        maxPayload: plan.maxPayload,
        mitm,
        keep: flags.keep,
        log,
        clientOptions: deflateClientOptions,
      });
      if (!has('relay')) await warmUp(() => connect(`ws://127.0.0.1:${echo.port}/warm-up`), 'text');
      const { runs, used, usage } = await runSuite(suite, 150);
      hooksRuns.push(...runs);
      const summary = summariseHooks(
        used.flatMap((run) => run.results),
        { sizes: plan.sizes, configs },
      );
      const recordingOk = runs.every((run) => Object.values(run.recordings).every((r) => r.ok));
      const checksOk = runs.every((run) => run.checks?.ok);
      report.push(formatHooks(summary, usage, { mitm, notes: [...new Set(runs.flatMap((run) => run.checks?.notes ?? []))] }));
      report.push(
        (recordingOk
          ? 'Recording verified: every wstape archive holds exactly the frames the client sent and received, and the rewriting recorder marked every data frame "modified" by the script (the others none).\n'
          : 'RECORDING CHECK FAILED (hooks): see the archive lines above; the wstape figures are not valid.\n') +
          (checksOk
            ? `Rewrites verified: through each rewriting proxy the echo server received "TICK" and the client got its answer rewritten back (/peek)${mitm ? '; every mitmdump flow file holds every message, rewritten where the addon rewrites' : ''}.\n`
            : 'HOOKS CHECK FAILED: see the lines above; the figures of the rows concerned are not valid.\n'),
      );
      if (!recordingOk) failures.push('hooks: recording check failed');
      if (!checksOk) failures.push('hooks: rewrite or flow file check failed');
      results.hooks = {
        summary,
        usage,
        recordings: runs.map((r) => r.recordings),
        checks: runs.map((r) => r.checks),
        loadPerRun: runs.map((r) => r.load),
        runs: runs.flatMap((r) => r.results),
      };
    });

    const firstNames = Array.from({ length: plan.first.names }, (_, i) => `h${i + 1}.test`);
    let tlsSetup = null;
    if (has('wss') || has('first')) {
      tlsSetup = await setupTls(workDir, [...firstNames, 'warm.test']);
      wssServer = await startServer('wss-echo', tlsSetup.certsFile);
      livePids.add(wssServer.pid);
    }
    const wssRuns = [];
    await section('wss', async () => {
      const suite = wssSuite(tlsSetup, wssServer.port);
      await warmUp(() => connectWss({ wssPort: wssServer.port, proxyPort: null, ca: tlsSetup.upstreamCaPem, path: '/warm-up' }), 'text');
      const { runs, used, usage } = await runSuite(suite, 90);
      wssRuns.push(...runs);
      const summary = summarise(
        used.flatMap((run) => run.results),
        { sizes: plan.sizes, configs: plan.wss.configs, targets: WSS_TARGETS, floor: 'wstape-tunnel', alsoFloors: ['tls-pipe'] },
      );
      const recordingOk = runs.every((run) => run.recording?.ok);
      report.push(formatWss(summary, usage));
      report.push(
        recordingOk
          ? `Recording verified: every intercepting recorder's archive holds exactly the frames the client sent and received (${runs.map((r) => r.recording.frames.toLocaleString('en-US')).join(', ')} frames per run).\n`
          : 'RECORDING CHECK FAILED (wss): see the archive lines above; the wstape figures are not valid.\n',
      );
      if (!recordingOk) failures.push('wss: recording check failed');
      results.wss = { summary, usage, recordings: runs.map((r) => r.recording), loadPerRun: runs.map((r) => r.load), runs: runs.flatMap((r) => r.results) };
    });
    await section('first', async () => {
      const { value, load, noisy } = await measure('the first-connection rows', () => firstSection(tlsSetup, wssServer.port, firstNames));
      report.push(
        formatFirstConnections(value, value.leaf, NEW_HOST_LEAF_MS) +
          `(other work on the machine meanwhile: ${load?.otherPercent ?? '?'}%${noisy ? ': NOISY' : ''})\n`,
      );
      if (!value.ok) failures.push(`first: ${value.problems.join('; ')}`);
      results.first = { ...value, load, noisy };
    });
    if (wssServer) {
      await wssServer.stop();
      livePids.delete(wssServer.pid);
      wssServer = null;
    }
    await section('replay', async () => {
      const { value, load, noisy } = await measure('the replay rows', () => replayRows({ echo, workDir, count: plan.replay.count, log }));
      report.push(formatReplay(value) + `(other work on the machine meanwhile: ${load?.otherPercent ?? '?'}%${noisy ? ': NOISY' : ''})\n`);
      if (!value.ok) failures.push(`replay: ${value.problems.join('; ')}`);
      results.replay = { ...value, load, noisy };
    });
    await section('show', async () => {
      info.jq = toolVersion('jq');
      info.sed = toolVersion('sed');
      info.rg = toolVersion('rg');
      const shows = [];
      for (const [i, mib] of plan.show.mib.entries()) {
        const tools = ['wstape show', ...(info.jq && info.sed ? ['jq'] : []), ...(info.jq && i === 0 ? ['jq -R'] : []), ...(info.rg ? [FLOOR_TOOL] : [])];
        shows.push(await showRows({ bytes: mib * MiB, tools, log, measure }));
      }
      if (!info.jq) log('  jq is not installed: the show rows have no jq comparison');
      if (!info.rg) log('  rg is not installed (apt-get install ripgrep): the show rows have no floor');
      report.push(formatShow(shows, SHOW_TARGETS));
      if (!shows.every((show) => show.ok)) failures.push('show: check failed');
      results.show = shows;
    });
    await section('bigfiles', async () => {
      // Every command over one big archive (issue 12: every command streams).
      const commands = [await archiveCommandRows({ bytes: plan.bigfiles.mib * MiB, log, measure })];
      report.push(formatArchiveCommands(commands));
      if (!commands.every((set) => set.ok)) failures.push('bigfiles: check failed');
      results.archiveCommands = commands;
    });

    await section('startup', async () => {
      const startup = await startupRows({ runs: quick ? 10 : 30, log });
      report.push(formatStartup(startup));
      results.startup = startup;
    });

    console.log(report.join('\n'));
    info.loadDuring = machineLoad(cpuBefore, cpuTimes());
    if (info.loadDuring) {
      const l = info.loadDuring;
      const perRun = (runs) => runs.map((r) => `${r.load?.otherPercent ?? '?'}%`).join(', ');
      console.log(
        `Other work on the machine during the bench: ${l.otherCpuSeconds} CPU-s, ${l.otherPercent}% of all CPU time ` +
          `(relay runs: ${perRun(relayRuns) || '-'}; hooks runs: ${perRun(hooksRuns) || '-'}; wss runs: ${perRun(wssRuns) || '-'}; the bench's own processes used ${l.benchCpuSeconds} CPU-s); ` +
          `steal ${l.stealSeconds} s; just before: ${info.loadBefore?.otherPercent ?? '?'}%`,
      );
    }
    if (failures.length > 0) console.log(`\nFAILED: ${failures.join('; ')}`);
    const out = path.join(os.tmpdir(), `wstape-bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    results.seconds = (Date.now() - started) / 1000;
    results.failures = failures;
    writeFileSync(out, JSON.stringify(results, null, 2));
    console.log(`\nResults (JSON): ${out}`);
    log(`bench took ${((Date.now() - started) / 1000).toFixed(0)} s`);
    if (failures.length > 0) process.exitCode = 1;
  } finally {
    if (wssServer) await wssServer.stop();
    await echo.stop();
    if (!flags.keep && !flags.profile) {
      rmSync(workDir, { recursive: true, force: true });
      rmSync(archiveDir, { recursive: true, force: true });
    } else log(`kept: ${workDir}${archiveDir === workDir ? '' : ` and ${archiveDir}`}`);
  }
}

await main();

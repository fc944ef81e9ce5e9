#!/usr/bin/env node
/**
 * The `startup` rows: how long a short wstape command takes from exec to exit, next to
 * `node -e 0` (what any Node CLI pays before its first line of code). Measured side by side in
 * one hyperfine run, so the rows share the machine's state; the difference and the ratio to
 * `node -e 0` are what wstape itself costs (module loading, yargs, the command).
 *
 *   node -e 0
 *   wstape --version
 *   wstape list  demo.wstape.json
 *   wstape show  demo.wstape.json
 *
 * The archive is what `wstape demo --quiet -o DIR/demo.wstape.json` records, in a temporary
 * folder. Without hyperfine (apt-get install hyperfine) each command is run in a plain loop and
 * the median wall time reported, which is noisier but close.
 *
 *   node bench/startup.mjs            standalone (also `node bench/run.mjs --only startup`)
 *   node bench/startup.mjs --runs 50
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WSTAPE = path.join(ROOT, 'bin', 'wstape.js');

/** The targets from issue 9, in milliseconds over `node -e 0`. */
export const STARTUP_TARGETS = { 'wstape --version': 80, 'wstape show': 150 };

function hyperfineVersion() {
  try {
    return execFileSync('hyperfine', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** Quote one argument for the shell hyperfine runs commands in. */
const sh = (arg) => (/^[\w./=:-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);

/** The commands measured, by row name. */
function commands(archive) {
  const node = process.execPath;
  return [
    ['node -e 0', [node, '-e', '0']],
    ['wstape --version', [node, WSTAPE, '--version']],
    ['wstape list', [node, WSTAPE, 'list', archive]],
    ['wstape show', [node, WSTAPE, 'show', archive]],
  ];
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Without hyperfine: run each command `runs` times, interleaved, and take medians (ms). */
function loopTimes(rows, runs) {
  const times = rows.map(() => []);
  for (let run = 0; run < runs + 2; run++) {
    rows.forEach(([, argv], i) => {
      const started = process.hrtime.bigint();
      const result = spawnSync(argv[0], argv.slice(1), { stdio: 'ignore' });
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (result.status !== 0) throw new Error(`${argv.join(' ')} exited ${result.status}`);
      if (run >= 2) times[i].push(ms);
    });
  }
  return rows.map(([name], i) => ({ name, medianMs: median(times[i]), meanMs: times[i].reduce((a, b) => a + b, 0) / runs, stddevMs: null, cpuMs: null, runs }));
}

function hyperfineTimes(rows, runs, dir) {
  const out = path.join(dir, 'hyperfine.json');
  const args = ['--warmup', '3', '--runs', String(runs), '--shell=none', '--export-json', out, '--style', 'none'];
  for (const [name, argv] of rows) args.push('--command-name', name, argv.map(sh).join(' '));
  execFileSync('hyperfine', args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const { results } = JSON.parse(readFileSync(out, 'utf8'));
  // CPU time (user + system, mean per run): on a busy machine it moves much less than wall time.
  return results.map((r) => ({
    name: r.command,
    medianMs: r.median * 1000,
    meanMs: r.mean * 1000,
    stddevMs: r.stddev * 1000,
    cpuMs: (r.user + r.system) * 1000,
    runs: r.times.length,
  }));
}

/** Record the demo archive, then time the rows. Returns { tool, rows, archive }. */
export async function startupRows({ runs = 30, log = (line) => process.stderr.write(`${line}\n`) } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wstape-bench-startup-'));
  try {
    const archive = path.join(dir, 'demo.wstape.json');
    execFileSync(process.execPath, [WSTAPE, 'demo', '--quiet', '--out', archive], { stdio: 'ignore', cwd: dir });
    const rows = commands(archive);
    const tool = hyperfineVersion();
    log(`  startup: ${rows.length} commands, ${runs} runs each, ${tool ?? 'a plain loop (hyperfine not installed)'}`);
    const times = tool ? hyperfineTimes(rows, runs, dir) : loopTimes(rows, runs);
    const base = times[0].medianMs;
    for (const row of times) {
      row.overNodeMs = row.medianMs - base;
      row.cpuOverNodeMs = row.cpuMs === null || times[0].cpuMs === null ? null : row.cpuMs - times[0].cpuMs;
      row.ratio = row.medianMs / base;
      const target = STARTUP_TARGETS[row.name];
      if (target !== undefined) {
        row.targetMs = target;
        row.met = row.overNodeMs <= target;
      }
    }
    return { tool: tool ?? 'loop', rows: times };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The startup rows as a Markdown table. */
export function formatStartup({ tool, rows }) {
  const lines = [
    `### Startup (${tool}, median of ${rows[0]?.runs ?? '?'} runs)`,
    '',
    '| command | median | ± stddev | over `node -e 0` | ratio | CPU (user + sys) | CPU over `node -e 0` | target |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const row of rows) {
    const target = row.targetMs === undefined ? '' : `≤ +${row.targetMs} ms: ${row.met ? 'met' : '**not met**'}`;
    const sd = row.stddevMs === null ? '-' : `${row.stddevMs.toFixed(1)} ms`;
    const cpu = row.cpuMs === null ? '-' : `${row.cpuMs.toFixed(1)} ms`;
    const cpuOver = row.cpuOverNodeMs === null ? '-' : `+${row.cpuOverNodeMs.toFixed(1)} ms`;
    lines.push(
      `| \`${row.name}\` | ${row.medianMs.toFixed(1)} ms | ${sd} | +${row.overNodeMs.toFixed(1)} ms | ${row.ratio.toFixed(2)}× | ${cpu} | ${cpuOver} | ${target} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf('--runs');
  const runs = at === -1 ? 30 : Number(process.argv[at + 1]);
  if (!(Number.isInteger(runs) && runs >= 3 && runs <= 1000)) throw new Error('--runs must be 3..1000');
  console.log(formatStartup(await startupRows({ runs })));
}

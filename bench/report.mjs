/**
 * Turns the bench's raw measurements into medians, ratios to direct and target verdicts, and
 * prints them as plain-text tables.
 */

/** The targets for wstape, compared with direct. */
export const TARGETS = { throughputRatio: 0.8, addedP50Us: 50 };

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Medians per (size, config) over the runs, the ratio of median throughput to direct's, the
 * spread of the per-run ratios (each run's config vs the same run's direct), and the latency
 * added to direct's median p50/p99.
 */
export function summarise(results, plan) {
  return plan.sizes.map(({ size, label }) => {
    const ofSize = results.filter((r) => r.size === size);
    const rows = plan.configs.map((config) => {
      const mine = ofSize.filter((r) => r.config === config);
      return {
        config,
        runs: mine.length,
        msgPerSec: median(mine.map((r) => r.throughput.msgPerSec)),
        mibPerSec: median(mine.map((r) => r.throughput.mibPerSec)),
        messages: median(mine.map((r) => r.throughput.messages)),
        p50: median(mine.map((r) => r.latency.p50)),
        p99: median(mine.map((r) => r.latency.p99)),
        perRun: mine.map((r) => ({ rep: r.rep, msgPerSec: r.throughput.msgPerSec, p50: r.latency.p50, p99: r.latency.p99 })),
      };
    });
    const direct = rows.find((row) => row.config === 'direct');
    for (const row of rows) {
      if (!direct) continue;
      row.ratio = row.msgPerSec / direct.msgPerSec;
      const ratios = row.perRun.map((run) => {
        const same = direct.perRun.find((d) => d.rep === run.rep);
        return same ? run.msgPerSec / same.msgPerSec : NaN;
      });
      row.ratioRange = [Math.min(...ratios), Math.max(...ratios)];
      row.addedP50 = row.p50 - direct.p50;
      row.addedP99 = row.p99 - direct.p99;
    }
    const wstape = rows.find((row) => row.config === 'wstape');
    const targets = wstape && direct
      ? {
          throughput: { ratio: wstape.ratio, target: TARGETS.throughputRatio, met: wstape.ratio >= TARGETS.throughputRatio },
          latency: { addedP50: wstape.addedP50, target: TARGETS.addedP50Us, met: wstape.addedP50 < TARGETS.addedP50Us },
        }
      : null;
    // The cost of recording beyond the cost of one more Node process on the path.
    const pipe = rows.find((row) => row.config === 'tcp-pipe');
    const recordingCost = wstape && pipe
      ? { ratio: wstape.msgPerSec / pipe.msgPerSec, addedP50: wstape.p50 - pipe.p50, addedP99: wstape.p99 - pipe.p99 }
      : null;
    return { size, label, rows, targets, recordingCost };
  });
}

const num = (n, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-');
const signed = (n) => (Number.isFinite(n) ? (n >= 0 ? '+' : '') + num(n) : '-');
const pct = (n) => (Number.isFinite(n) ? `${(100 * n).toFixed(0)}%` : '-');

function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function formatTable(summary, plan, info, usage) {
  const out = [];
  out.push(`\nwstape bench — ${info.nproc} CPUs (${info.cpu}), Node ${info.node}; wstape ${info.source}`);
  const left = usage.noisy.length === usage.total
    ? '; EVERY run was disturbed by other work on the machine: these figures are unreliable'
    : usage.noisy.length > 0 ? `; left out, disturbed by other work on the machine: run ${usage.noisy.join(', ')}` : '';
  out.push(`${plan.type} messages; median of ${usage.used.length} interleaved run(s) (run ${usage.used.join(', ')}${left})`);
  out.push(`throughput: window ${plan.window} in flight, per row min(count, time) after a warm-up; MiB/s = payload one way`);
  out.push(`latency: ${plan.latency.count} sequential round trips after ${plan.latency.warmup} warm-up; µs\n`);
  for (const { label, rows, targets, recordingCost } of summary) {
    out.push(`${label} messages`);
    out.push(table(
      ['config', 'msg/s', 'MiB/s', 'vs direct', 'per run', 'p50 µs', 'p99 µs', '+p50 µs', '+p99 µs'],
      rows.map((row) => [
        row.config,
        num(row.msgPerSec),
        num(row.mibPerSec, 1),
        pct(row.ratio),
        row.runs > 1 ? `${pct(row.ratioRange[0])}-${pct(row.ratioRange[1])}` : '',
        num(row.p50),
        num(row.p99),
        row.config === 'direct' ? '' : signed(row.addedP50),
        row.config === 'direct' ? '' : signed(row.addedP99),
      ]),
    ));
    if (targets) {
      out.push(`target throughput >= ${pct(targets.throughput.target)} of direct: ${pct(targets.throughput.ratio)} — ${targets.throughput.met ? 'MET' : 'NOT MET'}`);
      out.push(`target added p50 < ${targets.latency.target} µs: ${signed(targets.latency.addedP50)} µs — ${targets.latency.met ? 'MET' : 'NOT MET'}`);
    }
    if (recordingCost) {
      out.push(`wstape vs tcp-pipe (recording cost beyond one extra hop): throughput ${pct(recordingCost.ratio)}, p50 ${signed(recordingCost.addedP50)} µs, p99 ${signed(recordingCost.addedP99)} µs`);
    }
    out.push('');
  }
  return out.join('\n');
}

export function formatMemory(rows) {
  const MiB = 1024;
  return [
    `One ${(rows[0].frameBytes / 1024 ** 2).toFixed(0)} MiB binary message through each proxy (wstape with the default --max-payload 16MiB): proxy process memory`,
    table(
      ['proxy', 'idle RSS MiB', 'peak RSS (VmHWM) MiB', 'seconds', 'archive'],
      rows.map((row) => [
        row.config,
        num(row.rssBeforeKiB / MiB),
        num(row.hwmKiB / MiB),
        num(row.seconds, 2),
        row.recording ? (row.recording.ok ? `ok, ${num(row.recording.archiveBytes / 1024 ** 2)} MiB` : 'MISMATCH') : '',
      ]),
    ),
    '',
  ].join('\n');
}

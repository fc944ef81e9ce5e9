/**
 * Turns the bench's raw measurements into medians, ratios to direct and target verdicts, and
 * prints them as plain-text tables.
 */

/** The issue's targets for wstape, compared with direct. */
export const TARGETS = { throughputRatio: 0.8, addedP50Us: 50 };
/**
 * Issue 13's targets, against rows of the same run: the tcp-pipe floor (a process on the path
 * that does nothing) and mitmdump recording the same traffic (message rate, by message size).
 */
export const ISSUE13_TARGETS = { pipeRatio: 0.9, addedP50Us: 25, addedP99Us: 300, vsMitmdump: { '1 KiB': 20, '64 KiB': 3 }, idleKiBPerConnection: 40 };
/** The targets of the later issues: wss relay, first connection to a new host, show's memory. */
export const WSS_TARGETS = { throughputRatio: 0.7 };
export const NEW_HOST_LEAF_MS = 50;
/** showRssMB: issue 8 (150 MB); seconds and rssMiB on the 1 GiB archive: issue 13. */
export const SHOW_TARGETS = { showRssMB: 150, seconds: 2.5, rssMiB: 150 };

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Medians per (size, config) over the runs, the ratio of median throughput to the baseline's
 * (direct), the spread of the per-run ratios (each run's config vs the same run's baseline), and
 * the latency added to the baseline's median p50/p99. `spec`: { sizes, configs, subject (the
 * row the targets judge), floor (the do-nothing hop it is compared with), alsoFloors (more rows
 * the subject is compared with the same way, each doing part of its work: `floorCosts`),
 * targets: { throughputRatio, addedP50Us? } }.
 */
export function summarise(results, spec) {
  const { subject = 'wstape', floor = 'tcp-pipe', alsoFloors = [], targets: goals = TARGETS } = spec;
  return spec.sizes.map(({ size, label }) => {
    const ofSize = results.filter((r) => r.size === size);
    const rows = spec.configs.map((config) => {
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
    for (const row of rows) {
      const cpu = mine(ofSize, row.config)
        .map((r) => r.throughput.cpuUsPerRoundTrip)
        .filter((v) => v !== undefined);
      row.cpuUs = cpu.length > 0 ? median(cpu) : null;
    }
    const wstape = rows.find((row) => row.config === subject);
    const targets =
      wstape && direct
        ? {
            throughput: { ratio: wstape.ratio, target: goals.throughputRatio, met: wstape.ratio >= goals.throughputRatio },
            ...(goals.addedP50Us === undefined
              ? {}
              : { latency: { addedP50: wstape.addedP50, target: goals.addedP50Us, met: wstape.addedP50 < goals.addedP50Us } }),
          }
        : null;
    // The cost of the subject's work beyond the cost of one more hop that does nothing.
    const recordingCost = costBeyond(rows, wstape, floor);
    const floorCosts = alsoFloors.map((other) => costBeyond(rows, wstape, other)).filter(Boolean);
    const issue13 = spec.issue13 && wstape ? issue13Verdicts(rows, wstape, label) : null;
    return { size, label, rows, targets, recordingCost, floorCosts, issue13 };
  });
}

/** The subject's throughput ratio and added latency against the `floor` row (null if either is missing). */
function costBeyond(rows, subject, floor) {
  const pipe = rows.find((row) => row.config === floor);
  if (!subject || !pipe) return null;
  const ratios = subject.perRun.map((run) => {
    const same = pipe.perRun.find((o) => o.rep === run.rep);
    return same ? run.msgPerSec / same.msgPerSec : NaN;
  });
  return {
    floor,
    ratio: subject.msgPerSec / pipe.msgPerSec,
    ratioRange: [Math.min(...ratios), Math.max(...ratios)],
    addedP50: subject.p50 - pipe.p50,
    addedP99: subject.p99 - pipe.p99,
    cpuRatio: subject.cpuUs && pipe.cpuUs ? subject.cpuUs / pipe.cpuUs : null,
  };
}

const mine = (results, config) => results.filter((r) => r.config === config);

/** Issue 13's verdicts for one message size: wstape against tcp-pipe and mitmdump of the same runs. */
function issue13Verdicts(rows, wstape, label) {
  const pipe = rows.find((row) => row.config === 'tcp-pipe');
  const mitm = rows.find((row) => row.config === 'mitmdump');
  const perRun = (other, f) =>
    wstape.perRun.map((run) => {
      const same = other.perRun.find((o) => o.rep === run.rep);
      return same ? f(run, same) : NaN;
    });
  const range = (values) => [Math.min(...values), Math.max(...values)];
  const out = {};
  if (pipe) {
    const ratio = wstape.msgPerSec / pipe.msgPerSec;
    out.pipe = {
      ratio,
      ratioRange: range(perRun(pipe, (r, o) => r.msgPerSec / o.msgPerSec)),
      addedP50: wstape.p50 - pipe.p50,
      addedP99: wstape.p99 - pipe.p99,
      cpuRatio: wstape.cpuUs && pipe.cpuUs ? wstape.cpuUs / pipe.cpuUs : null,
      met: {
        throughput: ratio >= ISSUE13_TARGETS.pipeRatio,
        p50: wstape.p50 - pipe.p50 <= ISSUE13_TARGETS.addedP50Us,
        p99: wstape.p99 - pipe.p99 <= ISSUE13_TARGETS.addedP99Us,
      },
    };
  }
  const target = ISSUE13_TARGETS.vsMitmdump[label];
  if (mitm && target !== undefined) {
    const ratio = wstape.msgPerSec / mitm.msgPerSec;
    out.mitmdump = {
      ratio,
      ratioRange: range(perRun(mitm, (r, o) => r.msgPerSec / o.msgPerSec)),
      target,
      met: ratio >= target,
      cpuRatio: wstape.cpuUs && mitm.cpuUs ? mitm.cpuUs / wstape.cpuUs : null,
      floorRatio: pipe ? pipe.msgPerSec / mitm.msgPerSec : null,
    };
  }
  return out;
}

const num = (n, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-');
const signed = (n) => (Number.isFinite(n) ? (n >= 0 ? '+' : '') + num(n) : '-');
const pct = (n) => (Number.isFinite(n) ? `${(100 * n).toFixed(0)}%` : '-');

/** A plain-text table: the first `left` columns aligned left, the others (figures) right. */
function table(header, rows, left = 1) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells) => cells.map((cell, i) => (i < left ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Which runs the medians use, as one line. */
function usageLine(usage) {
  const left =
    usage.noisy.length === usage.total
      ? '; EVERY run was disturbed by other work on the machine: these figures are unreliable'
      : usage.noisy.length > 0
        ? `; left out, disturbed by other work on the machine: run ${usage.noisy.join(', ')}`
        : '';
  return `median of ${usage.used.length} interleaved run(s) (run ${usage.used.join(', ')}${left})`;
}

/**
 * The throughput/latency rows of one suite, per message size, with the target verdicts.
 * `floorNotes`: what the subject does beyond each of the summary's `floorCosts` rows.
 */
function formatRows(summary, { subject = 'wstape', floorNote, floorNotes = {} } = {}) {
  const out = [];
  for (const { label, rows, targets, recordingCost, floorCosts = [], issue13 } of summary) {
    out.push(`${label} messages`);
    out.push(
      table(
        ['config', 'msg/s', 'MiB/s', 'vs direct', 'per run', 'p50 µs', 'p99 µs', '+p50 µs', '+p99 µs', 'CPU µs/rt'],
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
          row.cpuUs === null || row.cpuUs === undefined ? '' : num(row.cpuUs, 1),
        ]),
      ),
    );
    if (targets) {
      out.push(
        `target ${subject} throughput >= ${pct(targets.throughput.target)} of direct: ${pct(targets.throughput.ratio)} — ${targets.throughput.met ? 'MET' : 'NOT MET'}`,
      );
      if (targets.latency)
        out.push(`target added p50 < ${targets.latency.target} µs: ${signed(targets.latency.addedP50)} µs — ${targets.latency.met ? 'MET' : 'NOT MET'}`);
    }
    if (recordingCost) {
      out.push(
        `${subject} vs ${recordingCost.floor} (${floorNote ?? 'recording cost beyond one extra hop'}): throughput ${pct(recordingCost.ratio)}, p50 ${signed(recordingCost.addedP50)} µs, p99 ${signed(recordingCost.addedP99)} µs`,
      );
    }
    for (const cost of floorCosts) {
      const spread = cost.ratioRange.every(Number.isFinite) && rows[0].runs > 1 ? ` (per run ${pct(cost.ratioRange[0])}-${pct(cost.ratioRange[1])})` : '';
      out.push(
        `${subject} vs ${cost.floor} (${floorNotes[cost.floor] ?? 'its work beyond that row'}): throughput ${pct(cost.ratio)}${spread}, p50 ${signed(cost.addedP50)} µs, p99 ${signed(cost.addedP99)} µs` +
          (cost.cpuRatio === null ? '' : `; CPU per round trip ${cost.cpuRatio.toFixed(1)}x ${cost.floor}'s`),
      );
    }
    if (issue13?.pipe) {
      const v = issue13.pipe;
      const verdict = (met) => (met ? 'MET' : 'NOT MET');
      const spread = v.ratioRange.every(Number.isFinite) ? ` (per run ${pct(v.ratioRange[0])}-${pct(v.ratioRange[1])})` : '';
      out.push(`issue 13: ${subject} msg/s >= ${pct(ISSUE13_TARGETS.pipeRatio)} of tcp-pipe's: ${pct(v.ratio)}${spread} — ${verdict(v.met.throughput)}`);
      out.push(`issue 13: added p50 <= +${ISSUE13_TARGETS.addedP50Us} µs over tcp-pipe: ${signed(v.addedP50)} µs — ${verdict(v.met.p50)}`);
      out.push(`issue 13: added p99 <= +${ISSUE13_TARGETS.addedP99Us} µs over tcp-pipe: ${signed(v.addedP99)} µs — ${verdict(v.met.p99)}`);
      if (v.cpuRatio !== null) out.push(`(CPU per round trip: ${subject} ${v.cpuRatio.toFixed(1)}x tcp-pipe's)`);
    }
    if (issue13?.mitmdump) {
      const v = issue13.mitmdump;
      const spread = v.ratioRange.every(Number.isFinite) ? ` (per run ${v.ratioRange[0].toFixed(1)}x-${v.ratioRange[1].toFixed(1)}x)` : '';
      out.push(
        `issue 13: ${subject} msg/s >= ${v.target}x mitmdump's: ${v.ratio.toFixed(1)}x${spread}` +
          `${v.cpuRatio ? `; ${v.cpuRatio.toFixed(1)}x less CPU per round trip` : ''} — ${v.met ? 'MET' : 'NOT MET'}` +
          (v.floorRatio !== null && v.floorRatio < v.target ? ` (tcp-pipe itself reaches only ${v.floorRatio.toFixed(1)}x mitmdump's rate here)` : ''),
      );
    }
    out.push('');
  }
  return out;
}

export function formatTable(summary, plan, info, usage) {
  const out = [];
  out.push(`\nwstape bench — ${info.nproc} CPUs (${info.cpu}), Node ${info.node}; wstape ${info.source}; load average before ${info.loadavg.join(' ')}`);
  out.push(
    `ws:// relay, ${plan.type} messages${plan.deflate ? ', permessage-deflate (client and echo server, context takeover, every message compressed)' : ''}; ${usageLine(usage)}`,
  );
  if (plan.configs.includes('mitmdump'))
    out.push(`mitmdump: ${info.mitmdump?.version ?? 'mitmdump'} -q --mode reverse:http://… -w FLOWS (recording, no addon)`);
  out.push("CPU µs/rt: the proxy process's own CPU time (user + system, /proc, 10 ms ticks) during the throughput run, per round trip");
  out.push(`throughput: window ${plan.window} in flight, per row min(count, time) after a warm-up; MiB/s = payload one way`);
  out.push(`latency: ${plan.latency.count} sequential round trips after ${plan.latency.warmup} warm-up; µs\n`);
  out.push(...formatRows(summary));
  return out.join('\n');
}

export function formatWss(summary, usage) {
  return [
    `wss:// (TLS), text messages; ${usageLine(usage)}`,
    "direct: ws client -> https server; wstape: CONNECT tunnel, TLS intercepted with the recorder's CA, verified TLS upstream, recorded;",
    "wstape-tunnel: the same recorder with --no-intercept '*' (TLS passes through the CONNECT tunnel untouched, nothing recorded);",
    'tls-pipe: a Node process that answers the CONNECT, terminates TLS, opens verified TLS upstream and pipes the plaintext (nothing parsed or recorded)',
    "CPU µs/rt: the proxy process's own CPU time (user + system, /proc, 10 ms ticks) during the throughput run, per round trip\n",
    ...formatRows(summary, {
      floorNote: 'interception and recording beyond the tunnel hop',
      floorNotes: { 'tls-pipe': 'parsing and recording beyond TLS termination' },
    }),
  ].join('\n');
}

/** First connection to a new host through the intercepting recorder, and leaf timing in-process. */
export function formatFirstConnections(first, leaf, target) {
  const ms = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '-');
  const out = [
    `First connection to a new host name (${first.summary.names} names h1.test…, SNI to 127.0.0.1): ms from the start of the connection to the first echo (median, max)`,
  ];
  const kinds = [
    ['direct (no proxy)', first.summary.direct],
    ['wstape, new host', first.summary.first],
    ['wstape, repeat host', first.summary.repeat],
    ...(first.insecure
      ? [
          ['wstape -k, new host', first.insecure.first],
          ['wstape -k, repeat host', first.insecure.repeat],
        ]
      : []),
  ];
  const cell = (s) => (s ? `${ms(s.median)} (${ms(s.max)})` : '');
  out.push(
    table(
      ['path', 'total', 'CONNECT', 'TLS handshake', 'upgrade', 'first echo'],
      kinds.map(([name, s]) => [name, cell(s.total), cell(s.tunnel), cell(s.handshake), cell(s.upgrade), cell(s.echo)]),
    ),
  );
  out.push(
    `a new host adds ${ms(first.summary.addedByNewHost.median)} ms (max ${ms(first.summary.addedByNewHost.max)}) to the first echo, ${ms(first.summary.addedToHandshake.median)} ms to the TLS handshake (median over names, new minus repeat)`,
  );
  const vf = first.summary.veryFirst;
  if (vf)
    out.push(
      `the recorder's very first intercepted connection (not in the rows: it also loads the CA and node-forge): ${ms(vf.total)} ms, of which TLS handshake ${ms(vf.handshake)} ms, upgrade ${ms(vf.upgrade)} ms`,
    );
  if (leaf) {
    const per = leaf.perNameMs;
    out.push(
      `leaf certificates in a fresh process (LeafCertificates.contextFor, CA on disk): load CA ${ms(leaf.loadCaMs)} ms, node-forge ready ${ms(leaf.forgeReadyMs)} ms, ` +
        `first leaf ${ms(leaf.firstLeafMs)} ms, then ${per.length} new names: median ${ms(median(per))} ms, max ${ms(Math.max(...per))} ms; cached ${ms(leaf.cachedMs, 2)} ms`,
    );
    const worst = Math.max(leaf.firstLeafMs, ...per);
    out.push(
      `target a new host's leaf in < ${target} ms once the CA exists: slowest ${ms(worst)} ms in-process (first leaf included), +${ms(first.summary.addedByNewHost.max)} ms end to end at worst — ${worst < target && first.summary.addedByNewHost.max < target ? 'MET' : 'NOT MET'}`,
    );
  }
  out.push('');
  return out.join('\n');
}

export function formatReplay(replay) {
  const out = [
    `Replay with --asap: ${replay.count.toLocaleString('en-US')} distinct 1 KiB text messages per session, recorded through wstape record; msg/s from the first message to the last reply`,
  ];
  const direct = Object.fromEntries(replay.rows.filter((r) => r.mode === 'direct echo').map((r) => [r.conn, r]));
  out.push(
    table(
      ['mode', 'session', 'msg/s', 'vs direct', 'session s', 'process s'],
      replay.rows.map((r) => [
        r.mode,
        r.session,
        num(r.msgPerSec),
        r.mode === 'direct echo' ? '' : pct(r.msgPerSec / direct[r.conn]?.msgPerSec),
        num(r.seconds, 2),
        r.wallSeconds === null ? '' : num(r.wallSeconds, 2),
      ]),
      2,
    ),
  );
  out.push(
    "session s: first message to last reply (the bench client's clock for --as server, the echo server's for --as client); process s: the whole `wstape replay` process (start-up, loading the archive, exit)",
  );
  out.push(
    replay.ok
      ? 'replay verified: every session sent and received every recorded message (and the close)'
      : `REPLAY CHECK FAILED: ${replay.problems.join('; ')}`,
  );
  out.push('');
  return out.join('\n');
}

export function formatShow(shows, targets) {
  const out = ['`wstape show --json --dir in --type text --grep \'"type":"error"\'` vs jq on the same archive (page cache warm); wall time and peak RSS'];
  const rows = [];
  for (const show of shows) {
    const mine = show.runs.find((run) => run.tool === 'wstape show');
    for (const run of show.runs) {
      rows.push([
        `${num(show.fileBytes / 1024 ** 2)} MiB`,
        run.tool,
        num(run.seconds, 2),
        run.tool === 'wstape show' || !mine ? '' : `${(run.seconds / mine.seconds).toFixed(2)}x`,
        run.peaks.map((p) => `${p.command} ${num(p.hwmKiB / 1024)}`).join(' + '),
        num(run.rows),
        run.load ? `${run.load.otherPercent}%${run.noisy ? ' noisy' : ''}` : '',
      ]);
    }
  }
  out.push(
    "jq: sed '1d;$d;s/^,//' FILE | jq -c 'select(...)' (jq parses each entry line itself); jq -R: jq -cR 'ltrimstr(\",\") | fromjson? | select(...)' FILE (one process, the archive as it is); " +
      'rg -c (floor): rg -c -F on the JSON-escaped needle, reading the file without selecting by direction or type (its rows are its count output)',
  );
  out.push(table(['archive', 'tool', 'seconds', "its time / show's", 'peak RSS MiB', 'rows', 'other work'], rows, 2));
  const bad = shows.filter((show) => !show.ok);
  out.push(
    bad.length === 0
      ? 'rows verified: every tool printed the same frames (conn, index), as many as the generator wrote'
      : `SHOW CHECK FAILED: ${bad.flatMap((show) => show.problems).join('; ')}`,
  );
  const largest = shows[shows.length - 1];
  const show = largest.runs.find((run) => run.tool === 'wstape show');
  const jq = largest.runs.find((run) => run.tool === 'jq');
  if (show && largest.fileBytes >= 1024 ** 3)
    out.push(
      `target show over ${num(largest.fileBytes / 1024 ** 2)} MiB within ${targets.seconds} s and ${targets.rssMiB} MiB: ${num(show.seconds, 2)} s, ${num(show.peaks[0].hwmKiB / 1024)} MiB — ` +
        `${show.seconds <= targets.seconds && show.peaks[0].hwmKiB / 1024 <= targets.rssMiB ? 'MET' : 'NOT MET'}`,
    );
  if (show && jq)
    out.push(
      `target faster than jq (${num(largest.fileBytes / 1024 ** 2)} MiB): show ${num(show.seconds, 2)} s, jq ${num(jq.seconds, 2)} s — ${show.seconds < jq.seconds ? 'MET' : 'NOT MET'}`,
    );
  const peaks = shows
    .map((s) => s.runs.find((run) => run.tool === 'wstape show'))
    .filter(Boolean)
    .map((run) => run.peaks[0].hwmKiB);
  if (peaks.length > 0) {
    const worst = Math.max(...peaks);
    out.push(
      `target show's peak RSS < ${targets.showRssMB} MB (${num((targets.showRssMB * 1e6) / 1024 ** 2)} MiB) whatever the archive's size: ${peaks.map((kib) => `${num(kib / 1024)} MiB`).join(', ')} — ${worst * 1024 < targets.showRssMB * 1e6 ? 'MET' : 'NOT MET'}`,
    );
  }
  out.push('');
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

/** The hooks targets of issue 11: a script hook's message rate against mitmdump's with the same addon, and the p50 a pass-through hook adds. */
export const HOOK_TARGETS = { vsMitmdump: 5, passAddedP50Us: 100 };

/** [wstape row, mitmdump row with the same addon]. */
const HOOK_PAIRS = [
  ['wstape-pass', 'mitmdump-pass'],
  ['wstape-rewrite', 'mitmdump-rewrite'],
];

/**
 * The hooks rows per size: medians (summarise), each row against no-hook wstape and against
 * tcp-pipe, each wstape hook row against mitmdump with the same addon, and the p50 the
 * pass-through hook adds to no hook; per-run ranges (each run's rows against the same run's).
 */
export function summariseHooks(results, { sizes, configs }) {
  return summarise(results, { sizes, configs, floor: 'tcp-pipe' }).map(({ size, label, rows }) => {
    const by = Object.fromEntries(rows.map((row) => [row.config, row]));
    const perRun = (a, b, f) =>
      a.perRun.flatMap((run) => {
        const other = b.perRun.find((o) => o.rep === run.rep);
        return other ? [f(run, other)] : [];
      });
    const range = (values) => (values.length > 1 ? [Math.min(...values), Math.max(...values)] : null);
    for (const row of rows) {
      for (const [key, base] of [
        ['wstape', by.wstape],
        ['pipe', by['tcp-pipe']],
      ]) {
        if (!base || base === row) continue;
        row[key] = {
          ratio: row.msgPerSec / base.msgPerSec,
          ratioRange: range(perRun(row, base, (r, o) => r.msgPerSec / o.msgPerSec)),
          addedP50: row.p50 - base.p50,
          addedP99: row.p99 - base.p99,
        };
      }
    }
    for (const row of rows) {
      const cpu = results
        .filter((result) => result.size === size && result.config === row.config && result.throughput.cpuUsPerRoundTrip !== undefined)
        .map((result) => result.throughput.cpuUsPerRoundTrip);
      row.cpuUs = cpu.length > 0 ? median(cpu) : null;
    }
    const versus = HOOK_PAIRS.filter(([a, b]) => by[a] && by[b]).map(([a, b]) => {
      const ratio = by[a].msgPerSec / by[b].msgPerSec;
      return {
        subject: a,
        peer: b,
        ratio,
        // No process on the path can do better than the floor's own ratio to the peer.
        floorRatio: by['tcp-pipe'] ? by['tcp-pipe'].msgPerSec / by[b].msgPerSec : null,
        cpuRatio: by[a].cpuUs && by[b].cpuUs ? by[b].cpuUs / by[a].cpuUs : null,
        ratioRange: range(perRun(by[a], by[b], (r, o) => r.msgPerSec / o.msgPerSec)),
        p50Ratio: by[b].p50 / by[a].p50,
        target: HOOK_TARGETS.vsMitmdump,
        met: ratio >= HOOK_TARGETS.vsMitmdump,
      };
    });
    const pass = by['wstape-pass'] && by.wstape;
    const passAdded = pass
      ? {
          addedP50: by['wstape-pass'].p50 - by.wstape.p50,
          range: range(perRun(by['wstape-pass'], by.wstape, (r, o) => r.p50 - o.p50)),
          target: HOOK_TARGETS.passAddedP50Us,
          met: by['wstape-pass'].p50 - by.wstape.p50 < HOOK_TARGETS.passAddedP50Us,
        }
      : null;
    return { size, label, rows, versus, passAdded };
  });
}

export function formatHooks(summary, usage, { mitm, notes = [] }) {
  const out = [
    `Script hooks, ws:// text messages; ${usageLine(usage)}`,
    'wstape: `wstape record --target ws://… --quiet` (really recording); -pass / -rewrite: the same with --script bench/hooks/passthrough.mjs / rewrite.mjs',
    mitm
      ? `mitmdump (${mitm.version}): -q --mode reverse:http://… -w FLOWS (recording) -s bench/hooks/mitm_passthrough.py / mitm_rewrite.py (websocket_message)`
      : 'mitmdump is not on PATH: no mitmdump rows',
    'rewrite: parse the JSON, flip "type" (tick <-> TICK), re-serialise, both ways (the client gets back what it sent; the server gets "TICK")',
    'throughput and latency as in the relay rows; vs wstape / vs tcp-pipe: ratio of median msg/s; +p50 / +p99: µs over that row',
    "CPU µs/rt: the proxy process's own CPU time (user + system, /proc) during the throughput run, per round trip (each message crosses it twice); mitmdump's flow writing happens after the connection closes, outside it\n",
  ];
  const ratio = (r) => (r ? `${pct(r.ratio)}${r.ratioRange ? ` (${pct(r.ratioRange[0])}-${pct(r.ratioRange[1])})` : ''}` : '');
  for (const { label, rows, versus, passAdded } of summary) {
    out.push(`${label} messages`);
    out.push(
      table(
        ['config', 'msg/s', 'MiB/s', 'p50 µs', 'p99 µs', 'CPU µs/rt', 'vs wstape (per run)', '+p50', '+p99', 'vs tcp-pipe (per run)', '+p50', '+p99'],
        rows.map((row) => [
          row.config,
          num(row.msgPerSec),
          num(row.mibPerSec, 1),
          num(row.p50),
          num(row.p99),
          row.cpuUs === null ? '' : num(row.cpuUs),
          ratio(row.wstape),
          row.wstape ? signed(row.wstape.addedP50) : '',
          row.wstape ? signed(row.wstape.addedP99) : '',
          ratio(row.pipe),
          row.pipe ? signed(row.pipe.addedP50) : '',
          row.pipe ? signed(row.pipe.addedP99) : '',
        ]),
      ),
    );
    for (const v of versus) {
      const range = v.ratioRange ? ` (per run ${v.ratioRange[0].toFixed(1)}x-${v.ratioRange[1].toFixed(1)}x)` : '';
      out.push(
        `target ${v.subject} msg/s >= ${v.target}x ${v.peer}'s: ${v.ratio.toFixed(1)}x${range}; p50 ${v.p50Ratio.toFixed(1)}x lower` +
          `${v.cpuRatio ? `; ${v.cpuRatio.toFixed(1)}x less CPU per round trip` : ''} — ${v.met ? 'MET' : 'NOT MET'}` +
          (v.floorRatio !== null && v.floorRatio < v.target
            ? ` (the tcp-pipe floor itself reaches only ${v.floorRatio.toFixed(1)}x ${v.peer}'s rate here)`
            : ''),
      );
    }
    if (passAdded) {
      const range = passAdded.range ? ` (per run ${signed(passAdded.range[0])} to ${signed(passAdded.range[1])})` : '';
      out.push(
        `target pass-through hook adds < ${passAdded.target} µs p50 to no hook: ${signed(passAdded.addedP50)} µs${range} — ${passAdded.met ? 'MET' : 'NOT MET'}`,
      );
    }
    out.push('');
  }
  for (const note of notes) out.push(`note: ${note}`);
  return out.join('\n');
}

/** The idle-connection rows (bench/idle.mjs): RSS per held connection, per proxy. */
export function formatIdle({ connections, rows }) {
  const out = [`${connections.toLocaleString('en-US')} idle WebSocket connections held open through each proxy (opened, then nothing sent)`];
  out.push(
    table(
      ['proxy', 'RSS before MiB', 'RSS with them MiB', 'KiB per connection', 'after closing MiB', 'archive'],
      rows.map((row) => [
        row.config,
        num(row.rssBeforeKiB / 1024, 1),
        num(row.rssOpenKiB / 1024, 1),
        num(row.kibPerConnection, 1),
        num(row.rssAfterKiB / 1024, 1),
        row.recording ? (row.recording.ok ? `ok (${row.recording.connections} connections)` : `MISMATCH: ${row.recording.problems.join('; ')}`) : '',
      ]),
    ),
  );
  const wstape = rows.find((row) => row.config === 'wstape');
  if (wstape)
    out.push(
      `issue 13: recorder RSS per idle connection <= ${ISSUE13_TARGETS.idleKiBPerConnection} KiB: ${num(wstape.kibPerConnection, 1)} KiB — ${wstape.kibPerConnection <= ISSUE13_TARGETS.idleKiBPerConnection ? 'MET' : 'NOT MET'}`,
    );
  return out.join('\n') + '\n';
}

/**
 * The `show` rows: `wstape show --json` with a direction + type + grep filter over a large
 * archive (bench/archive-gen.mjs), next to jq doing the same selection on the same file. Wall
 * time and peak RSS (VmHWM, polled) of each; both outputs are counted and the matching frames
 * (connection id and index) must be the same set, of the size the generator wrote.
 *
 * The jq side:
 *   jq         sed '1d;$d;s/^,//' FILE | jq -c 'select(...)'
 *              sed drops the header and closing lines and each entry's leading comma, so jq reads
 *              one JSON object per line with its own parser. sed reads the same bytes from disk
 *              and runs on the other CPU in parallel: this helps jq, not wstape.
 *   jq -R      jq -cR 'ltrimstr(",") | fromjson? | select(...)' FILE
 *              one process, the archive as it is: each line read as a string and parsed with
 *              fromjson (the header and closing lines fail to parse and are skipped by `?`).
 * The select() is the same: .kind=="frame" and .dir=="in" and .type=="text" and
 * (.text|test("\"type\":\"error\"")). jq's `and` stops at the first false operand, so test() runs
 * on text frames only, as wstape's --grep does after its --dir and --type filters.
 */
import { createReadStream, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { ensureShowArchive, SHOW_FILTER } from './archive-gen.mjs';
import { ROOT, runPipeline } from './processes.mjs';

const WSTAPE = path.join(ROOT, 'bin', 'wstape.js');
const SELECT = `select(.kind=="frame" and .dir=="${SHOW_FILTER.dir}" and .type=="${SHOW_FILTER.type}" and (.text|test(${JSON.stringify(SHOW_FILTER.needle)})))`;

/** The commands of each tool, as pipelines of [command, args]. */
export function toolCommands(file) {
  return {
    'wstape show': [[process.execPath, [WSTAPE, 'show', file, '--dir', SHOW_FILTER.dir, '--type', SHOW_FILTER.type, '--grep', SHOW_FILTER.needle, '--json']]],
    jq: [
      ['sed', ['1d;$d;s/^,//', file]],
      ['jq', ['-c', SELECT]],
    ],
    'jq -R': [['jq', ['-cR', `ltrimstr(",") | fromjson? | ${SELECT}`, file]]],
  };
}

/** Counts output lines and fingerprints the set of (conn, index) they name, without keeping them. */
function rowCounter() {
  const state = { lines: 0, unnamed: 0, sum: 0n, xor: 0 };
  let head = '';
  let inLine = false; // past the first 200 characters of the current line
  const take = (line) => {
    state.lines++;
    const match = /"conn":"([^"]+)","index":(\d+)/.exec(line);
    if (!match) {
      state.unnamed++;
      return;
    }
    // Order-independent fingerprint of the set: sum and xor of a 32-bit FNV-1a of "conn:index".
    let h = 0x811c9dc5;
    const key = `${match[1]}:${match[2]}`;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0;
    state.sum += BigInt(h);
    state.xor = (state.xor ^ h) >>> 0;
  };
  return {
    onChunk(chunk) {
      let start = 0;
      for (;;) {
        const newline = chunk.indexOf(0x0a, start);
        const end = newline === -1 ? chunk.length : newline;
        if (!inLine && head.length < 200) head += chunk.toString('utf8', start, Math.min(end, start + 200 - head.length));
        if (head.length >= 200) inLine = true;
        if (newline === -1) return;
        take(head);
        head = '';
        inLine = false;
        start = newline + 1;
      }
    },
    result() {
      return { rows: state.lines, unnamed: state.unnamed, fingerprint: `${state.sum.toString(16)}-${state.xor.toString(16)}` };
    },
  };
}

/** Read the file once so every tool finds it in the page cache (the same for all). */
async function warmPageCache(file) {
  for await (const chunk of createReadStream(file, { highWaterMark: 8 * 1024 * 1024 })) void chunk;
}

/**
 * Run `tools` over an archive of about `bytes` bytes (generated once, cached). `measure(what,
 * step)` wraps each run with the bench's noise control. Returns { file, fileBytes, meta,
 * generatedSeconds, runs: [{ tool, seconds, peaks, rows, fingerprint, load, noisy }], problems }.
 */
export async function showRows({ bytes, tools, log, measure, timeoutMs = 240_000 }) {
  const { file, meta, generatedSeconds } = await ensureShowArchive(bytes, { log });
  await warmPageCache(file);
  const commands = toolCommands(file);
  const runs = [];
  const problems = [];
  for (const tool of tools) {
    const counter = rowCounter();
    const { value, load, noisy } = await measure(`${tool} over ${(meta.fileBytes / 1024 ** 2).toFixed(0)} MiB`, () =>
      runPipeline(commands[tool], { timeoutMs, onChunk: counter.onChunk }),
    );
    const counted = counter.result();
    const run = { tool, seconds: value.seconds, code: value.code, peaks: value.peaks, ...counted, load, noisy };
    runs.push(run);
    if (value.code !== 0) problems.push(`${tool}: exit code ${value.code}: ${value.stderr.slice(-500)}`);
    if (counted.rows !== meta.matches) problems.push(`${tool}: ${counted.rows} rows, the archive holds ${meta.matches} matching frames`);
    log(
      `  show ${(meta.fileBytes / 1024 ** 2).toFixed(0).padStart(5)} MiB  ${tool.padEnd(11)} ${value.seconds.toFixed(2).padStart(6)} s  ` +
        `peak RSS ${value.peaks.map((p) => `${p.command} ${(p.hwmKiB / 1024).toFixed(0)} MiB`).join(' + ')}  ${counted.rows} rows` +
        `${load ? `  (other work ${load.otherPercent}%${noisy ? ': noisy' : ''})` : ''}`,
    );
  }
  const prints = new Set(runs.map((run) => run.fingerprint));
  if (prints.size > 1) problems.push(`the tools selected different frames: ${runs.map((run) => `${run.tool} ${run.fingerprint}`).join(', ')}`);
  for (const problem of problems) log(`    ${problem}`);
  return { file, fileBytes: meta.fileBytes, meta, generatedSeconds, runs, problems, ok: problems.length === 0 };
}

/**
 * The big-file rows (issue 12: every command streams), on a generated archive (the show rows'
 * generator): `wstape show --json`, `list`, `stats`, `export -o X.har`, `import X.har` (the HAR
 * just written), `diff FILE FILE --json` (no differences, so every frame of both sides is
 * compared) and `redact -o R`. Wall time and peak RSS of each, checked: every command exits 0;
 * show prints a line per frame; the import counts every frame the generator wrote; diff prints
 * nothing. The HAR and the archives written are removed afterwards.
 * Returns { fileBytes, runs: [{ tool, seconds, peaks, load, noisy, inputBytes }], problems, ok }.
 */
export async function archiveCommandRows({ bytes, log, measure, timeoutMs = 900_000 }) {
  const { file, meta } = await ensureShowArchive(bytes, { log });
  const har = `${file}.bench.har`;
  const imported = `${file}.bench-import.wstape.json`;
  const redacted = `${file}.bench-redact.wstape.json`;
  const mib = (n) => `${(n / 1024 ** 2).toFixed(0)} MiB`;
  const steps = [
    ['wstape show --json', [WSTAPE, 'show', file, '--json'], () => meta.fileBytes],
    ['wstape list', [WSTAPE, 'list', file], () => meta.fileBytes],
    ['wstape stats', [WSTAPE, 'stats', file], () => meta.fileBytes],
    ['wstape export', [WSTAPE, 'export', file, '-o', har, '--force'], () => meta.fileBytes],
    ['wstape import', [WSTAPE, 'import', har, '-o', imported, '--force'], () => statSync(har).size],
    ['wstape diff', [WSTAPE, 'diff', file, file, '--json'], () => 2 * meta.fileBytes],
    ['wstape redact', [WSTAPE, 'redact', file, '-o', redacted, '--force'], () => meta.fileBytes],
  ];
  const runs = [];
  const problems = [];
  try {
    for (const [tool, args, input] of steps) {
      let output = 0;
      let lines = 0;
      const { value, load, noisy } = await measure(`${tool} over ${mib(meta.fileBytes)}`, () =>
        runPipeline([[process.execPath, args]], {
          timeoutMs,
          onChunk: (chunk) => {
            output += chunk.length;
            for (let at = chunk.indexOf(0x0a); at !== -1; at = chunk.indexOf(0x0a, at + 1)) lines++;
          },
        }),
      );
      const inputBytes = input();
      runs.push({ tool, seconds: value.seconds, code: value.code, peaks: value.peaks, load, noisy, inputBytes });
      if (value.code !== 0) problems.push(`${tool}: exit code ${value.code}: ${value.stderr.slice(-500)}`);
      if (tool === 'wstape show --json' && lines !== meta.frames) problems.push(`show --json: ${lines} lines, the archive holds ${meta.frames} frames`);
      if (tool === 'wstape import') {
        const frames = Number(/\(([\d,]+) frames?\)/.exec(value.stderr)?.[1]?.replace(/,/g, '') ?? NaN);
        if (frames !== meta.frames) problems.push(`import: ${frames} frames imported, the archive holds ${meta.frames}`);
      }
      if (tool === 'wstape diff' && output !== 0) problems.push(`diff of an archive with itself printed ${output} bytes`);
      log(
        `  ${tool.padEnd(18)} ${mib(inputBytes).padStart(9)} in  ${value.seconds.toFixed(2).padStart(6)} s  peak RSS ${(value.peaks[0].hwmKiB / 1024).toFixed(0)} MiB` +
          `${load ? `  (other work ${load.otherPercent}%${noisy ? ': noisy' : ''})` : ''}`,
      );
    }
  } finally {
    rmSync(har, { force: true });
    rmSync(imported, { force: true });
    rmSync(redacted, { force: true });
  }
  for (const problem of problems) log(`    ${problem}`);
  return { fileBytes: meta.fileBytes, runs, problems, ok: problems.length === 0 };
}

/** The target of issue 12: every command's peak RSS at most this, for a 1 GiB archive (or HAR). */
export const ARCHIVE_COMMAND_RSS_MIB = 200;

/** The big-file rows as a BENCHMARKS.md block, with the RSS target met or not. */
export function formatArchiveCommands(sets) {
  const out = [
    'Big files: `show --json`, `list`, `stats`, `export -o X.har`, `import X.har`, `diff FILE FILE --json`, `redact -o R` on a generated archive; wall time and peak RSS',
  ];
  out.push('');
  out.push('| archive | command | input | seconds | peak RSS MiB | other work |');
  out.push('| --- | --- | --- | --- | --- | --- |');
  for (const set of sets) {
    for (const run of set.runs) {
      out.push(
        `| ${(set.fileBytes / 1024 ** 2).toFixed(0)} MiB | ${run.tool} | ${(run.inputBytes / 1024 ** 2).toFixed(0)} MiB | ${run.seconds.toFixed(2)} | ${(run.peaks[0].hwmKiB / 1024).toFixed(0)} | ${run.load ? `${run.load.otherPercent}%${run.noisy ? ' noisy' : ''}` : ''} |`,
      );
    }
  }
  out.push('');
  for (const set of sets) {
    for (const run of set.runs) {
      const peak = run.peaks[0].hwmKiB / 1024;
      out.push(
        `target peak RSS <= ${ARCHIVE_COMMAND_RSS_MIB} MiB, ${run.tool} over ${(set.fileBytes / 1024 ** 2).toFixed(0)} MiB: ${peak.toFixed(0)} MiB — ${peak <= ARCHIVE_COMMAND_RSS_MIB ? 'MET' : 'NOT MET'}`,
      );
    }
  }
  const bad = sets.filter((set) => !set.ok);
  out.push(
    bad.length === 0
      ? 'outputs checked: show printed every frame, every frame imported back, no difference of an archive with itself'
      : `ARCHIVE COMMANDS CHECK FAILED: ${bad.flatMap((set) => set.problems).join('; ')}`,
  );
  out.push('');
  return out.join('\n');
}

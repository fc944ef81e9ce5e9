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
import { createReadStream } from 'node:fs';
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

/**
 * `wstape diff` over two archive files (the command's options are in commands/diff.ts): load each
 * archive's WebSocket conversations as FrameSets, compare them (diff.ts), print the differences.
 *
 * Memory: each archive is streamed once; of the connections being compared, each frame leaves
 * about 17 bytes in memory (diff-frames.ts) and its JSON in a temporary file, read back only for
 * the differences reported; everything else is dropped as it is read.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EXIT_DIFFERENT, EXIT_OK, cliError } from '../errors.js';
import type { FrameEntry } from '../format/schema.js';
import { useColor, warn, writeOut, type Io } from '../io.js';
import { makePalette } from '../output/colors.js';
import { openForReading } from '../inspect/open-archive.js';
import { FrameViewFilter, type ArchiveView } from '../inspect/views.js';
import { diffAllFrameSets, emptyTally, type DiffFrame } from './diff.js';
import { SpilledFrameSetBuilder } from './diff-frames.js';
import { formatDifference, summaryLine } from './diff-report.js';
import { compileIgnores, type IgnoreRules } from './match.js';

export interface DiffOptions {
  /** The first archive ("A", the expected side). */
  a: string;
  /** The second archive ("B", the actual side). */
  b: string;
  connA?: string | undefined;
  connB?: string | undefined;
  /** JSONPaths (`$.ts`) and `re:REGEX` patterns; see compileIgnores. */
  ignore?: string[] | undefined;
  /** Milliseconds; absent: timing is not compared. */
  timingTolerance?: number | undefined;
  /** Which side of a changed session each archive is read as (default: delivered). */
  viewA?: ArchiveView | undefined;
  viewB?: ArchiveView | undefined;
  json: boolean;
  /** No progress line. */
  quiet?: boolean | undefined;
}

/** The kept fields of a frame entry: what matching and the report need, without wire details. */
function diffFrame(entry: FrameEntry): DiffFrame {
  const frame: DiffFrame = { type: entry.type, fin: entry.fin, dir: entry.dir, index: entry.index, elapsed: entry.elapsed, size: entry.size };
  if (entry.text !== undefined) frame.text = entry.text;
  if (entry.data !== undefined) frame.data = entry.data;
  if (entry.code !== undefined) frame.code = entry.code;
  if (entry.reason !== undefined) frame.reason = entry.reason;
  if (entry.truncated === true) frame.truncated = true;
  return frame;
}

/**
 * The WebSocket conversations of an archive as FrameSets, in the order of their connection
 * entries, their frames kept in files under `dir`; with `only`, just that connection (ERR_USAGE
 * when the archive has no WebSocket connection by that id). The caller removes `dir`.
 */
async function loadFrameSets(
  file: string,
  io: Io,
  load: { only?: string | undefined; view: ArchiveView; quiet?: boolean | undefined; dir: string; rules: IgnoreRules; timing: boolean },
): Promise<SpilledFrameSetBuilder[]> {
  const { only, dir, rules, timing } = load;
  const reader = await openForReading(file, io, { progress: { label: `diff ${path.basename(file)}`, quiet: load.quiet } });
  const filter = new FrameViewFilter(load.view);
  const conversations = new Map<string, SpilledFrameSetBuilder>();
  const otherIds = new Map<string, string>();
  const allWebSocketIds: string[] = [];
  // Both archives' files share the directory: A's and B's connections may have the same ids.
  const side = mkdtempSync(path.join(dir, 'side-'));
  for await (const entry of reader.entries()) {
    switch (entry.kind) {
      case 'connection':
        allWebSocketIds.push(entry.id);
        if ((only === undefined || entry.id === only) && !conversations.has(entry.id)) {
          conversations.set(entry.id, new SpilledFrameSetBuilder(side, { id: entry.id, url: entry.url, start: entry.elapsed }, rules, timing));
        }
        break;
      case 'frame': {
        const conversation = conversations.get(entry.conn);
        if (conversation !== undefined) for (const frame of filter.push(entry)) conversation.push(diffFrame(frame));
        break;
      }
      case 'end': {
        const conversation = conversations.get(entry.conn);
        if (conversation !== undefined) conversation.info.end = { code: entry.closeCode, reason: entry.closeReason, closedBy: entry.closedBy };
        break;
      }
      case 'http':
        otherIds.set(entry.id, 'an HTTP exchange');
        break;
      case 'tunnel':
        otherIds.set(entry.id, 'a tunnel');
        break;
      case 'error':
        break;
    }
  }
  if (only !== undefined && !conversations.has(only)) {
    const other = otherIds.get(only);
    const listed = allWebSocketIds.length > 0 ? `its WebSocket connections: ${allWebSocketIds.join(', ')}` : 'it has no WebSocket connections';
    const what = other !== undefined ? `${only} is ${other}, not a WebSocket connection` : `there is no connection ${only}`;
    throw cliError('ERR_USAGE', `${file}: ${what} (${listed})`);
  }
  return [...conversations.values()];
}

/** Run `wstape diff`; returns 0 (no difference) or 1 (differences). Usage errors throw first. */
export async function runDiff(options: DiffOptions, io: Io): Promise<number> {
  const rules = compileIgnores(options.ignore ?? []);
  const tolerance = options.timingTolerance;
  if (tolerance !== undefined && !(Number.isFinite(tolerance) && tolerance >= 0)) {
    throw cliError('ERR_USAGE', `--timing-tolerance must be a number of milliseconds, 0 or more (got ${String(tolerance)})`);
  }
  const onlyA = options.connA ?? options.connB;
  const onlyB = options.connB ?? options.connA;
  const timing = tolerance !== undefined;
  // Each compared frame's JSON waits here until a difference needs it (0700, removed at the end).
  const dir = mkdtempSync(path.join(tmpdir(), 'wstape-diff-'));
  const builders: SpilledFrameSetBuilder[] = [];
  const tally = emptyTally();
  try {
    const load = { dir, rules, timing };
    builders.push(...(await loadFrameSets(options.a, io, { ...load, only: onlyA, view: options.viewA ?? 'delivered', quiet: options.quiet })));
    const countA = builders.length;
    builders.push(...(await loadFrameSets(options.b, io, { ...load, only: onlyB, view: options.viewB ?? 'delivered', quiet: options.quiet })));
    if (builders.length === 0) warn(io, 'neither archive has a WebSocket connection; nothing to compare');
    const sets = builders.map((builder) => builder.finish());
    const differences = diffAllFrameSets(sets.slice(0, countA), sets.slice(countA), { rules, timingToleranceMs: tolerance }, tally);
    const p = makePalette(useColor(io.stdout, io.env));
    for (const difference of differences) {
      await writeOut(io.stdout, options.json ? `${JSON.stringify(difference)}\n` : `${formatDifference(difference, p).join('\n')}\n`);
    }
    if (!options.json) {
      const total = Object.values(tally.counts).reduce((sum, count) => sum + count, 0);
      await writeOut(io.stdout, `${total > 0 ? p.bold(summaryLine(tally)) : p.green(summaryLine(tally))}\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const found = Object.values(tally.counts).some((count) => count > 0);
  return found ? EXIT_DIFFERENT : EXIT_OK;
}

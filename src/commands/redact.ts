/**
 * `wstape redact FILE [-o OUT] [--rule RULE]... [--no-defaults] [--dry-run] [--force] [--json]`
 * and `wstape redact --check FILE`: replace secrets in an archive (the engine is
 * src/redact/redactor.ts; the rules and what they cover are in docs/REDACTION.md).
 *
 * Writes OUT (default: FILE with `.redacted` before `.wstape.json`), never over an existing file
 * without --force and never over FILE itself; the archive is written to a temporary file next to
 * OUT and renamed when complete, so a failure leaves no half-written OUT. The summary (what each
 * rule redacted, and where) goes to stderr; `--json` also prints it on stdout as one object:
 *
 *   file      the archive read
 *   out       the archive written, or null (--dry-run, --check)
 *   written   true when OUT was written
 *   total     values redacted (or that would be)
 *   entries   entries changed
 *   rules     [{ id, kind, description, count, places, omitted }], one per rule
 *
 * Exit codes: 0 done (--check: nothing to redact); 1 (--check only) something would be redacted;
 * 2 bad usage or a bad archive; 3 OUT cannot be written.
 */
import { existsSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { EXIT_DIFFERENT, EXIT_OK, cliError } from '../errors.js';
import { ArchiveWriter } from '../format/archive-writer.js';
import type { ArchiveTrailer, Entry } from '../format/schema.js';
import { processIo, sameFile, writeOut, type Io } from '../io.js';
import { QUIET_OPTION } from '../output/progress.js';
import { Redactor } from '../redact/redactor.js';
import { rulesFor } from '../redact/rules.js';
import { formatSummary, type RedactionSummary } from '../redact/summary.js';
import { fileArgument, STDIN_FILE } from './common.js';
import { openForReading } from '../inspect/open-archive.js';

export interface RedactOptions {
  file: string;
  out?: string | undefined;
  /** `header:NAME`, `query:NAME`, `json:KEY-REGEX`, `regex:PATTERN` specs. */
  rule?: string[] | undefined;
  /** Only the --rule rules. */
  noDefaults: boolean;
  /** Report what would be redacted; write nothing. */
  dryRun: boolean;
  /** Exit 1 when anything would be redacted; write nothing. */
  check: boolean;
  /** Replace an existing OUT. */
  force: boolean;
  json: boolean;
  /** No progress line. */
  quiet?: boolean | undefined;
}

/** `a/b.wstape.json` → `a/b.redacted.wstape.json`; `b.json` → `b.redacted.json`; `b` → `b.redacted.wstape.json`. */
export function defaultRedactedPath(file: string): string {
  const match = /^(.*?)(\.wstape\.json|\.json)$/i.exec(file);
  if (match) return `${match[1]}.redacted${match[2]}`;
  return `${file}.redacted.wstape.json`;
}

/** A trailer for an archive that was never closed: its entries counted as the recorder counts them. */
class TrailerCounter {
  readonly summary = { connections: 0, exchanges: 0, tunnels: 0, frames: 0, bytes: 0, errors: 0 };
  lastTime: string | null = null;

  add(entry: Entry): void {
    this.lastTime = entry.time;
    if (entry.kind === 'connection') this.summary.connections++;
    else if (entry.kind === 'http') this.summary.exchanges++;
    else if (entry.kind === 'tunnel') this.summary.tunnels++;
    else if (entry.kind === 'frame') this.summary.frames++;
    else if (entry.kind === 'error') this.summary.errors++;
    else this.summary.bytes += entry.bytesIn + entry.bytesOut;
  }

  trailer(startedAt: string): ArchiveTrailer {
    return { stoppedAt: this.lastTime ?? startedAt, summary: { ...this.summary } };
  }
}

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** Run `wstape redact`; returns the exit code. */
export async function runRedact(options: RedactOptions, io: Io): Promise<number> {
  const rules = rulesFor(options);
  if (options.check && (options.out !== undefined || options.force))
    throw cliError('ERR_USAGE', '--check only reads the archive: it takes no --out or --force');
  const write = !options.check && !options.dryRun;
  const stdin = options.file === STDIN_FILE;
  if (stdin && write && options.out === undefined) throw cliError('ERR_USAGE', 'reading standard input (-): name the redacted archive with --out');
  const input = stdin ? STDIN_FILE : path.resolve(io.cwd, options.file);
  const out = path.resolve(io.cwd, options.out ?? defaultRedactedPath(options.file));
  if (write) {
    if (sameFile(input, out)) throw cliError('ERR_USAGE', `will not write the redacted archive over ${options.file} itself: pick another --out`);
    if (existsSync(out) && !options.force) throw cliError('ERR_USAGE', `${out} already exists: pass --force to replace it, or pick another --out`);
  }

  const reader = await openForReading(input, io, { progress: { label: 'redact', quiet: options.quiet } });
  const redactor = new Redactor(rules);
  const counter = new TrailerCounter();
  if (!write) {
    for await (const entry of reader.entries()) redactor.push(entry);
    redactor.flush();
  } else {
    const temporary = `${out}.${process.pid}.tmp`;
    const writer = ArchiveWriter.open(temporary, redactor.redactHeader(reader.header));
    const append = (entries: Entry[]): void => {
      for (const entry of entries) {
        counter.add(entry);
        writer.append(entry);
      }
    };
    try {
      for await (const entry of reader.entries()) append(redactor.push(entry));
      append(redactor.flush());
      writer.close(reader.trailer ?? counter.trailer(reader.header.startedAt));
      if (writer.error !== null) throw writer.error;
      if (writer.entriesDropped > 0)
        throw cliError('ERR_WRITE', `cannot write ${out}: ${plural(writer.entriesDropped, 'entry was', 'entries were')} too large to write`);
      renameSync(temporary, out);
    } catch (error) {
      writer.close(counter.trailer(reader.header.startedAt));
      rmSync(temporary, { force: true });
      throw error;
    }
  }

  const summary = redactor.summary();
  io.stderr.write(report(options, summary, rules.length, write ? out : null));
  if (options.json) {
    const fields = { file: options.file, out: write ? out : null, written: write, total: summary.total, entries: summary.entries, rules: summary.rules };
    await writeOut(io.stdout, `${JSON.stringify(fields)}\n`);
  }
  return options.check && summary.total > 0 ? EXIT_DIFFERENT : EXIT_OK;
}

/** The stderr report: one line saying what happened, then what each rule redacted and where. */
function report(options: RedactOptions, summary: RedactionSummary, ruleCount: number, out: string | null): string {
  const what = `${plural(summary.total, 'value', 'values')} in ${plural(summary.entries, 'entry', 'entries')}`;
  const details = formatSummary(summary);
  if (options.check) {
    if (summary.total === 0) return `wstape: ${options.file}: nothing to redact (${plural(ruleCount, 'rule', 'rules')} checked)\n`;
    return `wstape: ${options.file} holds secrets: ${what} would be redacted:\n${details}`;
  }
  if (out === null) {
    if (summary.total === 0) return `wstape: dry run: nothing to redact in ${options.file} (${plural(ruleCount, 'rule', 'rules')}); nothing written\n`;
    return `wstape: dry run: ${what} would be redacted; nothing written:\n${details}`;
  }
  const review = 'wstape: redaction is best-effort: review the archive before you share it\n';
  if (summary.total === 0) return `wstape: nothing to redact in ${options.file}; wrote a copy to ${out}\n${review}`;
  return `wstape: redacted ${what}; wrote ${out}:\n${details}${review}`;
}

/** yargs' view of the options, before they become RedactOptions. */
interface RedactArgs {
  file: string;
  out?: string | undefined;
  rule?: string[] | undefined;
  'no-defaults'?: boolean;
  defaults?: boolean;
  'dry-run'?: boolean;
  check?: boolean;
  force?: boolean;
  json?: boolean;
  quiet?: boolean;
}

/** argv → RedactOptions. `--no-defaults` is its own option (boolean negation is off in the CLI), or `defaults: false` where it is on. */
export function redactOptions(argv: RedactArgs): RedactOptions {
  return {
    file: argv.file,
    out: argv.out,
    rule: argv.rule,
    noDefaults: argv['no-defaults'] === true || argv.defaults === false,
    dryRun: argv['dry-run'] === true,
    check: argv.check === true,
    force: argv.force === true,
    json: argv.json === true,
    ...(argv.quiet === true ? { quiet: true } : {}),
  };
}

export const redactCommand: CommandModule<object, RedactArgs> = {
  command: 'redact <file>',
  builder: (yargs: Argv) =>
    fileArgument(yargs)
      .option('out', { alias: 'o', type: 'string', describe: 'Write the redacted archive here (default: FILE with .redacted before .wstape.json)' })
      .option('rule', {
        type: 'string',
        array: true,
        describe: 'Also redact: header:NAME, query:NAME, json:KEY-REGEX or regex:PATTERN (repeatable)',
      })
      .option('no-defaults', { type: 'boolean', default: false, describe: 'Use only the --rule rules, not the built-in ones' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'Report what would be redacted; write nothing' })
      .option('check', { type: 'boolean', describe: 'Exit 1 when anything would be redacted (a gate before sharing); write nothing' })
      .option('force', { type: 'boolean', describe: 'Replace OUT when it exists' })
      .option('quiet', QUIET_OPTION)
      .option('json', { type: 'boolean', default: false, describe: 'Also print the summary as one JSON object on stdout' })
      // No defaults on these two: yargs counts a defaulted option as given.
      .conflicts('check', ['out', 'force'])
      .example('$0 redact bug.wstape.json', 'Write bug.redacted.wstape.json')
      .example("$0 redact bug.wstape.json --rule 'json:^pin$' --rule header:X-Tenant", 'Also redact these')
      .example('$0 redact --check bug.redacted.wstape.json && attach it', 'A gate: exit 1 if secrets remain'),
  handler: async (argv) => {
    process.exitCode = await runRedact(redactOptions(argv), processIo());
  },
};

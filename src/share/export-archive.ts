/**
 * `wstape export`: an archive, or the part of it the show filters select, as a HAR 1.2 file
 * (src/har/to-har.ts, docs/HAR.md), a Markdown transcript (src/share/markdown.ts) or a
 * self-contained HTML viewer (src/share/viewer-html.ts, src/viewer/), with
 * `--redact` run over the entries first. The yargs side is src/commands/export.ts.
 *
 * Streaming: HAR entries are written as they are completed (a WebSocket connection at its end
 * entry), so memory holds the open connections, not the archive. The Markdown transcript keeps
 * a bounded number of lines per connection. The HTML page embeds every kept frame, so it is built
 * in memory (about the size of the page). Output goes to stdout, or to `out`, written under a
 * temporary name and renamed when complete, created readable by its owner only (0600): exports
 * hold what the archive holds, cookies and tokens included.
 */
import { createWriteStream, existsSync, mkdtempSync, renameSync, rmSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { EXIT_OK, cliError } from '../errors.js';
import type { ArchiveHeader, ArchiveTrailer, Entry } from '../format/schema.js';
import { describeFilters, keepsId, type ExportScope } from '../har/export-scope.js';
import { HarExporter, HarTextWriter } from '../har/to-har.js';
import { buildFrameFilter, type FrameFilterSpec } from '../inspect/frame-filter.js';
import { openForReading } from '../inspect/open-archive.js';
import { warn, writeOut, type Io, type OutputStream } from '../io.js';
import { TIME_FORMATS, type TimeFormat } from '../output/frame-line.js';
import { PACKAGE_VERSION } from '../version.js';
import { DEFAULT_MAX_FRAMES, MarkdownTranscript } from './markdown.js';
import type { ViewerMeta } from './viewer-data.js';

export type ExportFormat = 'har' | 'md' | 'html';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['har', 'md', 'html'];

export interface ExportOptions extends FrameFilterSpec {
  file: string;
  /** Default: from the extension of `out` (.md, .markdown → md; .html, .htm → html), otherwise har. */
  format?: ExportFormat | undefined;
  /** Write here instead of stdout. */
  out?: string | undefined;
  /** Replace an existing `out`. */
  force?: boolean | undefined;
  conn?: string[] | undefined;
  type?: string[] | undefined;
  /** Redact secrets with the default rules (and the --rule ones) before converting. */
  redact?: boolean | undefined;
  /** More redaction rules (header:NAME, query:NAME, json:KEY-REGEX, regex:PATTERN); implies --redact. */
  rule?: string[] | undefined;
  /** Markdown: frame lines per connection. */
  maxFrames?: number | undefined;
  /** Markdown: how times are shown (default utc); HTML: how the page first shows them (default clock). */
  time?: TimeFormat | undefined;
  /** No progress line. */
  quiet?: boolean | undefined;
}

/** What `--format` resolves to: explicit, else from the output's extension, else HAR. */
export function resolveExportFormat(options: Pick<ExportOptions, 'format' | 'out'>): ExportFormat {
  if (options.format !== undefined) {
    if (!EXPORT_FORMATS.includes(options.format)) throw cliError('ERR_USAGE', `unknown --format "${String(options.format)}"; use har, md or html`);
    return options.format;
  }
  if (options.out !== undefined && /\.(md|markdown)$/i.test(options.out)) return 'md';
  return options.out !== undefined && /\.html?$/i.test(options.out) ? 'html' : 'har';
}

/** Headers whose values are credentials: worth a warning when exporting without --redact. */
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'x-auth-token']);

function secretHeaderIn(entry: Entry): string | null {
  if (entry.kind !== 'connection' && entry.kind !== 'http') return null;
  const lists = [entry.request.headers, entry.response?.headers ?? []];
  for (const headers of lists) for (const [name] of headers) if (SECRET_HEADERS.has(name.toLowerCase())) return name;
  return null;
}

/** Where the export goes: stdout, or a file that appears complete or not at all. */
interface Output {
  stream: OutputStream;
  finish(): Promise<void>;
  abort(): void;
}

function stdoutOutput(io: Io): Output {
  return { stream: io.stdout, finish: () => Promise.resolve(), abort: () => {} };
}

async function fileOutput(path: string, force: boolean): Promise<Output> {
  if (!force && existsSync(path)) throw cliError('ERR_WRITE', `cannot write ${path}: the file already exists (pick another name, or add --force)`);
  const partial = join(dirname(path), `.${basename(path)}.${process.pid}.partial`);
  const stream: WriteStream = createWriteStream(partial, { flags: 'wx', mode: 0o600 });
  let failure: Error | null = null;
  stream.on('error', (error) => {
    failure ??= error;
  });
  await new Promise<void>((resolve) => {
    stream.once('open', () => resolve());
    stream.once('error', () => resolve());
  });
  const fail = (error: Error): never => {
    rmSync(partial, { force: true });
    const code = (error as NodeJS.ErrnoException).code;
    throw cliError('ERR_WRITE', `cannot write ${path}: ${code ?? error.message}`);
  };
  if (failure !== null) fail(failure);
  return {
    stream: {
      write: (chunk) => {
        if (failure !== null) fail(failure);
        return stream.write(chunk);
      },
      once: (event, listener) => stream.once(event, listener),
    },
    async finish() {
      await new Promise<void>((resolve) => stream.end(() => resolve()));
      if (failure !== null) fail(failure);
      try {
        renameSync(partial, path);
      } catch (error) {
        fail(error as Error);
      }
    },
    abort() {
      stream.destroy();
      rmSync(partial, { force: true });
    },
  };
}

/** Pieces of text written in batches of about WRITE_BATCH characters, with backpressure. */
const WRITE_BATCH = 256 * 1024;

async function writeChunks(stream: OutputStream, chunks: Iterable<string>): Promise<void> {
  let batch = '';
  for (const chunk of chunks) {
    batch += chunk;
    if (batch.length >= WRITE_BATCH) {
      await writeOut(stream, batch);
      batch = '';
    }
  }
  if (batch !== '') await writeOut(stream, batch);
}

/** What --redact does to the export, once its rules are parsed (before the archive is read). */
interface Redaction {
  /** The header too: the recorder's --target URL may carry credentials. */
  header(header: ArchiveHeader): ArchiveHeader;
  entries(entries: AsyncIterable<Entry>): AsyncIterable<Entry>;
  /** The summary on stderr: what each rule replaced, and where. */
  report(io: Io): void;
}

async function loadRedaction(options: ExportOptions): Promise<Redaction | null> {
  const rules = options.rule ?? [];
  if (options.redact !== true && rules.length === 0) return null;
  // Loaded only when asked for, so a plain export does not pay for the engine.
  const [{ Redactor, redactEntries }, { rulesFor }, { formatSummary }] = await Promise.all([
    import('../redact/redactor.js'),
    import('../redact/rules.js'),
    import('../redact/summary.js'),
  ]);
  const redactor = new Redactor(rulesFor({ rule: rules, noDefaults: false }));
  return {
    header: (header) => redactor.redactHeader(header),
    entries: (entries) => redactEntries(entries, redactor),
    report: (io) => {
      const summary = redactor.summary();
      const { total, entries } = summary;
      io.stderr.write(
        `wstape: redacted ${total} ${total === 1 ? 'value' : 'values'} in ${entries} ${entries === 1 ? 'entry' : 'entries'}${total > 0 ? ':' : ''}\n`,
      );
      io.stderr.write(formatSummary(summary));
      io.stderr.write('wstape: redaction is best-effort: review the export before you share it\n');
    },
  };
}

/** The HTML viewer page (src/share/viewer-html.ts): every kept entry is in memory until it is written. */
async function writeHtml(
  entries: AsyncIterable<Entry>,
  stream: OutputStream,
  options: Omit<ViewerMeta, 'wstape' | 'trailer'> & { trailer: () => ArchiveTrailer | null; scope: ExportScope; watch: (entry: Entry) => void },
): Promise<number> {
  // Loaded only for this format: the viewer's script is read from the package.
  const [{ ViewerDataBuilder }, { pageParts, scriptSafeJson }] = await Promise.all([import('./viewer-data.js'), import('./viewer-html.js')]);
  const parts = pageParts({ title: `wstape: ${options.source}`, live: false });
  const builder = new ViewerDataBuilder({ scope: options.scope });
  for await (const entry of entries) {
    options.watch(entry);
    builder.add(entry);
  }
  builder.finish();
  const data = builder.snapshot({ ...options, trailer: options.trailer(), wstape: PACKAGE_VERSION });
  await writeOut(stream, parts.head);
  await writeOut(stream, scriptSafeJson({ mode: 'static', data }));
  await writeOut(stream, parts.tail);
  return builder.empty ? 0 : 1;
}

/** Run `wstape export`; returns the exit code. Bad options throw ERR_USAGE before reading. */
export async function runExport(options: ExportOptions, io: Io): Promise<number> {
  const format = resolveExportFormat(options);
  const filter = buildFrameFilter(options);
  if (options.maxFrames !== undefined && (!Number.isSafeInteger(options.maxFrames) || options.maxFrames < 1)) {
    throw cliError('ERR_USAGE', '--max-frames takes a whole number, 1 or more');
  }
  if (options.time !== undefined && !TIME_FORMATS.includes(options.time)) {
    throw cliError('ERR_USAGE', `unknown --time "${String(options.time)}"; use ${TIME_FORMATS.join(', ')}`);
  }
  const scope: ExportScope = { filter };
  const filters = describeFilters(options);
  const redaction = await loadRedaction(options);
  const redacting = redaction !== null;

  const reader = await openForReading(options.file, io, { progress: { label: 'export', quiet: options.quiet, liveStdout: options.out === undefined } });
  const header = redaction !== null ? redaction.header(reader.header) : reader.header;
  const entries = redaction !== null ? redaction.entries(reader.entries()) : reader.entries();
  const output = options.out !== undefined ? await fileOutput(options.out, options.force === true) : stdoutOutput(io);
  // Assigned in the callback below, so not narrowed to null here.
  let secret = null as string | null;
  const watch = (entry: Entry): void => {
    if (redacting || secret !== null || (entry.kind !== 'connection' && entry.kind !== 'http') || !keepsId(scope, entry.id)) return;
    secret = secretHeaderIn(entry);
  };

  let exported: number;
  let spillDir: string | null = null;
  try {
    if (format === 'har') {
      // Each open connection's messages wait in a file there, not in memory (har/message-spill.ts).
      spillDir = mkdtempSync(join(tmpdir(), 'wstape-export-'));
      const exporter = new HarExporter({ scope, header, version: PACKAGE_VERSION, source: basename(options.file), filters, spillDir });
      const writer = new HarTextWriter();
      await writeOut(output.stream, writer.head(exporter.logHead()));
      for await (const entry of entries) {
        watch(entry);
        for (const har of exporter.add(entry)) await writeChunks(output.stream, writer.entry(har));
      }
      for (const har of exporter.finish()) await writeChunks(output.stream, writer.entry(har));
      await writeOut(output.stream, writer.tail(exporter.logTail(reader.trailer)));
      exported = exporter.entries;
    } else if (format === 'html') {
      exported = await writeHtml(entries, output.stream, {
        source: basename(options.file),
        header,
        trailer: () => reader.trailer,
        redacted: redacting,
        filters,
        time: options.time ?? 'clock',
        scope,
        watch,
      });
    } else {
      const transcript = new MarkdownTranscript({
        scope,
        source: options.file,
        header,
        filters,
        maxFrames: options.maxFrames ?? DEFAULT_MAX_FRAMES,
        time: options.time ?? 'utc',
        redacted: redacting,
      });
      for await (const entry of entries) {
        watch(entry);
        transcript.add(entry);
      }
      exported = transcript.empty ? 0 : 1;
      await writeOut(output.stream, transcript.render());
    }
    await output.finish();
  } catch (error) {
    output.abort();
    throw error;
  } finally {
    if (spillDir !== null) rmSync(spillDir, { recursive: true, force: true });
  }

  redaction?.report(io);
  if (exported === 0) warn(io, filters !== '' ? `nothing in ${options.file} matched the filters (${filters})` : `${options.file} holds nothing to export`);
  if (secret !== null) warn(io, `the export holds credentials (a ${secret} header, at least); --redact replaces them`);
  if (options.out !== undefined) io.stderr.write(`wstape: wrote ${options.out}\n`);
  return EXIT_OK;
}

/**
 * A Markdown transcript of an archive, to paste into a bug report: what `wstape export --format
 * md` prints. A table of the connections and exchanges, then per WebSocket connection its
 * handshake (request line and headers, in a code block), its frames in the arrow view (the lines
 * `wstape show` prints, without colour, in a fenced block), and how it closed with the close
 * diagnosis of `wstape stats`; per HTTP exchange its request and response with body previews.
 *
 * Bounded, so the result fits in an issue: at most `maxFrames` lines per connection (the first
 * half and the last half, with a note of how many were left out between them: a session's start
 * and its end are what a bug report needs), payloads cut to the line width, bodies to
 * MAX_BODY_CHARS. Memory holds those lines, not the frames.
 *
 * Everything from the wire is escaped (payload.ts) and code fences are made longer than any run
 * of backticks inside them, so recorded content cannot break out of its block.
 */
import { basename } from 'node:path';
import type { ArchiveHeader, Body, ConnectionEntry, EndEntry, Entry, HeaderList, HttpEntry, TunnelEntry } from '../format/schema.js';
import { StatsAccumulator, type ConnectionStats } from '../inspect/stats.js';
import { formatConnectionLine, formatFrameLine, type TimeFormat } from '../output/frame-line.js';
import { escapeText, payloadBytes, printableText } from '../output/payload.js';
import { formatDuration, formatSize } from '../output/units.js';
import { closeCodeName } from '../wire/close-codes.js';
import { filtersFrames, keepsExchange, keepsFrame, keepsId, type ExportScope } from '../har/export-scope.js';
import { decodeContent, headerValue } from '../har/har-common.js';

/** Default frame lines per connection. */
export const DEFAULT_MAX_FRAMES = 100;
/** Characters of an HTTP body shown. */
export const MAX_BODY_CHARS = 1000;
/** Default line width of the arrow view in the transcript. */
export const DEFAULT_MARKDOWN_WIDTH = 140;

export interface MarkdownOptions {
  scope: ExportScope;
  /** The archive's path (its base name is shown). */
  source: string;
  header: ArchiveHeader;
  /** The filters as given, e.g. `--conn c1 --type text` ("" for none). */
  filters: string;
  /** Frame lines per connection; the middle of a longer conversation is left out. */
  maxFrames?: number;
  time?: TimeFormat;
  maxWidth?: number;
  /** Whether the entries went through --redact. */
  redacted?: boolean;
}

/** The first `head` lines and the last `tail` lines of a stream, and how many fell between. */
class HeadTail {
  readonly head: string[] = [];
  readonly #tail: string[] = [];
  #tailStart = 0;
  omitted = 0;
  total = 0;

  constructor(
    private readonly headSize: number,
    private readonly tailSize: number,
  ) {}

  push(line: string): void {
    this.total++;
    if (this.head.length < this.headSize) {
      this.head.push(line);
      return;
    }
    if (this.tailSize === 0) {
      this.omitted++;
      return;
    }
    if (this.#tail.length < this.tailSize) {
      this.#tail.push(line);
      return;
    }
    // A ring: the oldest kept tail line is dropped.
    this.#tail[this.#tailStart] = line;
    this.#tailStart = (this.#tailStart + 1) % this.tailSize;
    this.omitted++;
  }

  get tail(): string[] {
    return [...this.#tail.slice(this.#tailStart), ...this.#tail.slice(0, this.#tailStart)];
  }
}

interface WsItem {
  kind: 'websocket';
  id: string;
  elapsed: number;
  connection: ConnectionEntry | null;
  end: EndEntry | null;
  lines: HeadTail;
  kept: number;
}

type Item =
  | WsItem
  | { kind: 'http'; id: string; elapsed: number; entry: HttpEntry }
  | { kind: 'tunnel'; id: string; elapsed: number; entry: TunnelEntry; end: EndEntry | null };

/** A fence for a code block: three backticks, or more than the longest run inside. */
function fence(content: string): string {
  let longest = 0;
  for (const run of content.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  return '`'.repeat(Math.max(3, longest + 1));
}

function codeBlock(content: string, language = ''): string {
  const f = fence(content);
  return `${f}${language}\n${content}\n${f}\n`;
}

/** Text for a table cell or a heading: escaped, pipes and Markdown punctuation neutralised. */
function inline(text: string): string {
  return escapeText(text).replace(/[\\`*_[\]<>|#]/g, (char) => `\\${char}`);
}

function headerLines(headers: HeaderList): string[] {
  return headers.map(([name, value]) => `${escapeText(name)}: ${escapeText(value)}`);
}

/**
 * A body preview: text cut at MAX_BODY_CHARS with newlines kept (decoded from its
 * Content-Encoding first, when it has one), or a note for binary bodies.
 */
function bodyPreview(body: Body | undefined, headers: HeaderList): string | null {
  if (body === undefined || (body.size === 0 && (body.text ?? body.data ?? '') === '')) return null;
  const raw = payloadBytes(body);
  const decoded = body.truncated === true ? null : decodeContent(raw, headers);
  const text = decoded !== null ? printableText(decoded) : (body.text ?? printableText(raw));
  const coding = decoded !== null ? `${headerValue(headers, 'content-encoding')?.trim() ?? ''}, ` : '';
  if (text === null) return `(binary body, ${coding}${formatSize(body.size)})`;
  const shown = [...text].slice(0, MAX_BODY_CHARS).join('');
  const lines = shown.split(/\r?\n/).map(escapeText).join('\n');
  const cut = shown.length < text.length || body.truncated === true;
  const note = decoded !== null ? `\n(${coding}${formatSize(body.size)} as sent)` : '';
  return cut ? `${lines}\n… (${formatSize(body.size)} in all)` : `${lines}${note}`;
}

function statusLine(version: string, status: number, statusText: string): string {
  return `HTTP/${escapeText(version)} ${status} ${escapeText(statusText)}`.trimEnd();
}

/** `1000 Normal closure "bye" by client (clean)`. */
function closeSummary(stats: ConnectionStats | undefined, end: EndEntry | null): string {
  if (end === null || end.closeCode === null) return 'still open';
  const reason = end.closeReason !== '' ? ` ${JSON.stringify(end.closeReason)}` : '';
  const by = end.closedBy !== null ? ` by ${end.closedBy}` : '';
  const clean = end.clean ? 'clean' : `not clean, ${end.droppedBy} dropped the TCP connection`;
  const name = stats?.close?.name ?? closeCodeName(end.closeCode);
  return `${end.closeCode} ${name}${reason}${by} (${clean})`;
}

/** Collects an archive's entries and renders the transcript (see the file comment). */
export class MarkdownTranscript {
  readonly #options: Required<Omit<MarkdownOptions, 'redacted'>> & { redacted: boolean };
  readonly #filtering: boolean;
  readonly #items = new Map<string, Item>();
  readonly #stats = new StatsAccumulator();
  readonly #looseErrors = new HeadTail(10, 10);

  constructor(options: MarkdownOptions) {
    this.#options = {
      maxFrames: DEFAULT_MAX_FRAMES,
      time: 'utc',
      maxWidth: DEFAULT_MARKDOWN_WIDTH,
      ...options,
      redacted: options.redacted === true,
    };
    this.#filtering = filtersFrames(options.scope.filter);
  }

  #lineOptions(): { color: false; time: TimeFormat; maxWidth: number } {
    return { color: false, time: this.#options.time, maxWidth: this.#options.maxWidth };
  }

  #ws(id: string, elapsed: number): WsItem {
    const existing = this.#items.get(id);
    if (existing?.kind === 'websocket') return existing;
    const max = Math.max(1, this.#options.maxFrames);
    const item: WsItem = { kind: 'websocket', id, elapsed, connection: null, end: null, lines: new HeadTail(Math.ceil(max / 2), Math.floor(max / 2)), kept: 0 };
    this.#items.set(id, item);
    return item;
  }

  /** Feed one entry, in archive order. */
  add(entry: Entry): void {
    const { scope } = this.#options;
    switch (entry.kind) {
      case 'connection':
        if (!keepsId(scope, entry.id)) return;
        this.#ws(entry.id, entry.elapsed).connection = entry;
        this.#stats.add(entry);
        return;
      case 'frame': {
        const item = this.#items.get(entry.conn);
        if (item?.kind !== 'websocket') return;
        this.#stats.add(entry);
        if (!keepsFrame(scope, entry)) return;
        item.kept++;
        item.lines.push(formatFrameLine(entry, this.#lineOptions()));
        return;
      }
      case 'end': {
        const item = this.#items.get(entry.conn);
        if (item?.kind === 'websocket') {
          item.end = entry;
          this.#stats.add(entry);
        } else if (item?.kind === 'tunnel') {
          item.end = entry;
        }
        return;
      }
      case 'http':
        if (keepsExchange(scope, entry)) this.#items.set(entry.id, { kind: 'http', id: entry.id, elapsed: entry.elapsed, entry });
        return;
      case 'tunnel':
        if (keepsExchange(scope, entry)) this.#items.set(entry.id, { kind: 'tunnel', id: entry.id, elapsed: entry.elapsed, entry, end: null });
        return;
      case 'error': {
        const item = entry.conn !== undefined ? this.#items.get(entry.conn) : undefined;
        if (item?.kind === 'websocket') {
          this.#stats.add(entry);
          item.lines.push(formatConnectionLine(entry, this.#lineOptions()));
        } else if (
          entry.conn === undefined
            ? scope.filter.conns === undefined && !this.#filtering
            : keepsExchange(scope, { id: entry.conn, time: entry.time, elapsed: entry.elapsed })
        ) {
          this.#looseErrors.push(formatConnectionLine(entry, this.#lineOptions()));
        }
        return;
      }
    }
  }

  /** The items that are exported, in order of their start. */
  #exported(): Item[] {
    return [...this.#items.values()]
      .filter((item) => item.kind !== 'websocket' || (item.connection !== null && (!this.#filtering || item.kept > 0)))
      .sort((a, b) => a.elapsed - b.elapsed);
  }

  /** True when nothing passed the filters. */
  get empty(): boolean {
    return this.#exported().length === 0;
  }

  /** The whole transcript. */
  render(): string {
    const items = this.#exported();
    const stats = new Map(this.#stats.report().map((report) => [report.conn, report]));
    const { header, source, filters, time } = this.#options;
    const out: string[] = [];
    out.push(`# wstape transcript: ${inline(basename(source))}\n`);
    const ws = items.filter((item) => item.kind === 'websocket').length;
    const http = items.filter((item) => item.kind === 'http').length;
    const tunnels = items.filter((item) => item.kind === 'tunnel').length;
    const counts = [
      `${ws} WebSocket ${ws === 1 ? 'connection' : 'connections'}`,
      `${http} HTTP ${http === 1 ? 'exchange' : 'exchanges'}`,
      ...(tunnels > 0 ? [`${tunnels} ${tunnels === 1 ? 'tunnel' : 'tunnels'}`] : []),
    ];
    out.push(`- Recorded: ${inline(header.startedAt)} by ${inline(header.creator.name)} ${inline(header.creator.version)}`);
    out.push(`- Exported: ${counts.join(', ')}${filters !== '' ? `, filtered with \`${filters.replace(/`/g, "'")}\`` : ''}`);
    out.push(`- Times: ${time === 'utc' ? 'UTC' : time === 'rel' ? 'seconds since the recording started' : `local time (UTC${utcOffset()})`}`);
    out.push(this.#options.redacted ? '- Redacted with `--redact`' : '- Not redacted: check headers and payloads for secrets before posting');
    out.push('');
    if (items.length === 0) {
      out.push('Nothing in the archive matched the filters.\n');
      return out.join('\n');
    }
    out.push('## Connections\n');
    out.push('| ID | Kind | URL | Status | Frames out/in | Close | Duration |');
    out.push('| --- | --- | --- | --- | --- | --- | --- |');
    for (const item of items) out.push(tableRow(item, stats.get(item.id)));
    out.push('');
    for (const item of items) {
      if (item.kind === 'websocket') out.push(this.#websocketSection(item, stats.get(item.id)));
      else if (item.kind === 'http') out.push(httpSection(item.entry));
    }
    if (this.#looseErrors.total > 0) {
      out.push('## Errors\n');
      out.push(codeBlock(linesOf(this.#looseErrors, 'errors')));
    }
    return out.join('\n');
  }

  #websocketSection(item: WsItem, stats: ConnectionStats | undefined): string {
    const connection = item.connection as ConnectionEntry;
    const parts: string[] = [`## ${inline(item.id)} · ${inline(connection.url)}\n`];
    const request = connection.request;
    const response = connection.response;
    const handshake = [
      `${escapeText(request.method)} ${escapeText(request.target)} HTTP/${escapeText(request.httpVersion)}`,
      ...headerLines(request.headers),
      '',
      statusLine(response.httpVersion, response.status, response.statusText),
      ...headerLines(response.headers),
    ].join('\n');
    parts.push('Handshake:\n');
    parts.push(codeBlock(handshake, 'http'));
    const { lines } = item;
    const what = this.#filtering ? 'Frames that matched the filters' : 'Frames';
    parts.push(
      lines.omitted > 0
        ? `${what}: the first ${lines.head.length} and the last ${lines.tail.length} of ${lines.total}, ${lines.omitted} left out between them (\`--max-frames N\` shows more):\n`
        : `${what} (${lines.total}):\n`,
    );
    if (lines.total > 0) {
      const end = item.end !== null ? formatConnectionLine(item.end, this.#lineOptions()) : null;
      parts.push(codeBlock(linesOf(lines, 'frames') + (end !== null ? `\n${end}` : '')));
    } else {
      parts.push('(none)\n');
    }
    parts.push(`- **Close:** ${inline(closeSummary(stats, item.end))}`);
    if (stats !== undefined) parts.push(`- **Diagnosis:** ${inline(stats.diagnosis)}`);
    parts.push('');
    return parts.join('\n');
  }
}

function linesOf(lines: HeadTail, noun: string): string {
  const middle = lines.omitted > 0 ? [`… ${lines.omitted} ${noun} left out …`] : [];
  return [...lines.head, ...middle, ...lines.tail].join('\n');
}

function utcOffset(): string {
  const minutes = -new Date().getTimezoneOffset();
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

function tableRow(item: Item, stats: ConnectionStats | undefined): string {
  const cell = (text: string): string => inline(text);
  switch (item.kind) {
    case 'websocket': {
      const connection = item.connection as ConnectionEntry;
      const duration = stats?.duration ?? null;
      const frames = stats !== undefined ? `${stats.framesOut}/${stats.framesIn}` : '-';
      const close =
        item.end === null || item.end.closeCode === null ? 'open' : `${item.end.closeCode}${item.end.closedBy !== null ? ` by ${item.end.closedBy}` : ''}`;
      return `| ${cell(item.id)} | WebSocket | ${cell(connection.url)} | ${connection.response.status} | ${frames} | ${cell(close)} | ${duration === null ? '-' : cell(formatDuration(duration))} |`;
    }
    case 'http': {
      const { entry } = item;
      const status = entry.response !== null ? String(entry.response.status) : 'no response';
      return `| ${cell(item.id)} | HTTP | ${cell(`${entry.request.method} ${entry.url}`)} | ${cell(status)} | - | - | ${cell(formatDuration(entry.duration / 1000))} |`;
    }
    case 'tunnel':
      return `| ${cell(item.id)} | Tunnel | ${cell(item.entry.url)} | - | - | - | ${item.end !== null ? cell(formatDuration(Math.max(0, item.end.elapsed - item.entry.elapsed))) : '-'} |`;
  }
}

function httpSection(entry: HttpEntry): string {
  const { request, response } = entry;
  const title = `${entry.request.method} ${entry.url} → ${response !== null ? response.status : 'no response'}`;
  const parts: string[] = [`## ${inline(entry.id)} · ${inline(title)}\n`];
  const lines = [`${escapeText(request.method)} ${escapeText(request.target)} HTTP/${escapeText(request.httpVersion)}`, ...headerLines(request.headers)];
  const requestBody = bodyPreview(request.body, request.headers);
  if (requestBody !== null) lines.push('', requestBody);
  if (response !== null) {
    lines.push('', statusLine(response.httpVersion, response.status, response.statusText), ...headerLines(response.headers));
    const responseBody = bodyPreview(response.body, response.headers);
    if (responseBody !== null) lines.push('', responseBody);
  }
  parts.push(codeBlock(lines.join('\n'), 'http'));
  const details = [`- **Duration:** ${inline(formatDuration(entry.duration / 1000))}`];
  if (entry.error !== undefined) details.push(`- **Error:** ${inline(entry.error)}`);
  parts.push(details.join('\n'), '');
  return parts.join('\n');
}

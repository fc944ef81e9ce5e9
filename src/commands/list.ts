/**
 * `wstape list FILE [--ws] [--host GLOB] [--status N] [--grep REGEX] [--json]`: one row per
 * WebSocket connection, HTTP exchange or tunnel, optionally filtered (filters combine with AND
 * and apply to the finished rows, so counts are never affected by them).
 *
 * One streaming pass over the entries aggregates per id; memory grows with the number of
 * connections, never with the number of frames.
 *
 * `--json` prints one object per line (stable field names: add, never rename):
 *   id           "c1", "h1", "t1"
 *   kind         "websocket" | "http" | "tunnel"
 *   url          ws://, wss://, http://, https:// (tunnels: the CONNECT target as https://host:port)
 *   status       HTTP status of the handshake or response; null when there was none
 *   framesOut    frames client to server (0 for http and tunnels)
 *   framesIn     frames server to client
 *   bytesOut     websocket and tunnel: wire bytes client to server after the handshake, from the
 *                end entry, or while open the sum of the frames' wireSize; http: request body size
 *   bytesIn      the same, server to client; http: response body size
 *   closeCode    websocket: the first close frame's code, 1005 for one without a code, 1006 when
 *                the connection ended without one; null while open, for http and for tunnels
 *   closedBy     "client" | "server": who closed first (tunnels: who hung up); null while open
 *                and for http
 *   time         start, ISO 8601 UTC (handshake response, request head, CONNECT)
 *   duration     seconds from start to end, microsecond precision; null while open
 *   method       http: the request method; null otherwise
 *   subprotocol  websocket: the negotiated subprotocol or null; null otherwise
 *   closeReason  websocket: the first close frame's reason ("" for none); null while open/otherwise
 *   clean        websocket: both sides sent a close frame; null while open and otherwise
 *   errors       number of error entries about this id
 */
import type { CommandModule } from 'yargs';
import { cliError } from '../errors.js';
import type { Entry } from '../format/schema.js';
import { processIo, useColor, type Io } from '../io.js';
import { makePalette, type Palette } from '../output/colors.js';
import { escapeText } from '../output/payload.js';
import { renderTable, type TableColumn } from '../output/table.js';
import { formatDuration, formatSize } from '../output/units.js';
import { fileArgument, openForReading, warn, writeOut, toList } from './common.js';
import { parseGrep, splitList } from './frame-filter.js';

export interface ListOptions {
  file: string;
  json: boolean;
  /** WebSocket connections only. */
  ws?: boolean | undefined;
  /** Host globs (`*` any run, `?` one character, case-insensitive); each item may be a comma list. */
  host?: string[] | undefined;
  /** Status codes (`101`) or classes (`4xx`); each item may be a comma list. */
  status?: string[] | undefined;
  /** A regular expression tested against the URL. */
  grep?: string | undefined;
  /** Make --grep case-insensitive. */
  ignoreCase?: boolean | undefined;
}

/** A validated list filter: a row passes when every part that is set matches. */
export interface ListFilter {
  ws?: true;
  hosts?: RegExp[];
  statuses?: { min: number; max: number }[];
  grep?: RegExp;
}

/** A host glob as a RegExp: `*` any run of characters, `?` one; case-insensitive, whole string. */
export function hostGlob(pattern: string): RegExp {
  const body = [...pattern].map((char) => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('');
  return new RegExp(`^${body}$`, 'i');
}

/** `101` → 101-101, `4xx` → 400-499, `5XX` → 500-599; anything else is ERR_USAGE. */
export function parseStatus(value: string): { min: number; max: number } {
  const text = value.trim().toLowerCase();
  if (/^[1-5]\d\d$/.test(text)) return { min: Number(text), max: Number(text) };
  if (/^[1-5]xx$/.test(text)) {
    const min = Number(text[0]) * 100;
    return { min, max: min + 99 };
  }
  throw cliError('ERR_USAGE', `invalid --status "${value}": give a status code (101, 404) or a class (4xx)`);
}

/** Build a ListFilter from command-line values, validating them. */
export function buildListFilter(options: Omit<ListOptions, 'file' | 'json'>): ListFilter {
  const filter: ListFilter = {};
  if (options.ws === true) filter.ws = true;
  const hosts = splitList(options.host ?? []);
  if (hosts.length > 0) filter.hosts = hosts.map(hostGlob);
  const statuses = splitList(options.status ?? []);
  if (statuses.length > 0) filter.statuses = statuses.map(parseStatus);
  if (options.grep !== undefined) filter.grep = parseGrep(options.grep, options.ignoreCase === true);
  return filter;
}

/** The host a row's URL names, without IPv6 brackets, and `host:port` when the URL has a port. */
function urlHosts(url: string): string[] {
  try {
    const parsed = new URL(url);
    const hostname = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
    return parsed.port === '' ? [hostname] : [hostname, `${hostname}:${parsed.port}`, `${parsed.hostname}:${parsed.port}`];
  } catch {
    return [];
  }
}

/** True when the row passes every filter that is set. */
export function rowMatches(row: ListRow, filter: ListFilter): boolean {
  if (filter.ws === true && row.kind !== 'websocket') return false;
  if (filter.hosts !== undefined) {
    const hosts = urlHosts(row.url);
    if (!filter.hosts.some((glob) => hosts.some((host) => glob.test(host)))) return false;
  }
  if (filter.statuses !== undefined) {
    const status = row.status;
    if (status === null || !filter.statuses.some((range) => status >= range.min && status <= range.max)) return false;
  }
  if (filter.grep !== undefined && !filter.grep.test(row.url)) return false;
  return true;
}

export type ListKind = 'websocket' | 'http' | 'tunnel';

/** One `list --json` line. Field order is the order they are printed in. */
export interface ListRow {
  id: string;
  kind: ListKind;
  url: string;
  status: number | null;
  framesOut: number;
  framesIn: number;
  bytesOut: number;
  bytesIn: number;
  closeCode: number | null;
  closedBy: 'client' | 'server' | null;
  time: string;
  duration: number | null;
  method: string | null;
  subprotocol: string | null;
  closeReason: string | null;
  clean: boolean | null;
  errors: number;
}

interface RowState {
  row: ListRow;
  /** Start, in seconds since the recording started, to order rows and compute duration. */
  start: number;
  /** True once an end entry set the byte counts. */
  ended: boolean;
}

/**
 * Folds archive entries into one row per connection, exchange or tunnel. Kept apart from I/O so
 * `wstape record` summaries or tests can reuse it.
 */
export class ListAggregator {
  readonly #rows = new Map<string, RowState>();
  readonly #unknown = new Set<string>();
  /** Ids that frames or ends referred to without a connection entry first (damaged archives). */
  get unknownIds(): ReadonlySet<string> {
    return this.#unknown;
  }

  add(entry: Entry): void {
    switch (entry.kind) {
      case 'connection':
        this.#open(entry.id, entry.elapsed, {
          kind: 'websocket',
          url: entry.url,
          status: entry.response.status,
          time: entry.time,
          subprotocol: entry.subprotocol,
        });
        break;
      case 'http': {
        const state = this.#open(entry.id, entry.elapsed, {
          kind: 'http',
          url: entry.url,
          status: entry.response?.status ?? null,
          time: entry.time,
          method: entry.request.method,
        });
        state.row.bytesOut = entry.request.body?.size ?? 0;
        state.row.bytesIn = entry.response?.body?.size ?? 0;
        state.row.duration = roundMicros(entry.duration / 1000);
        state.ended = true;
        break;
      }
      case 'tunnel':
        this.#open(entry.id, entry.elapsed, { kind: 'tunnel', url: entry.url, status: null, time: entry.time });
        break;
      case 'frame': {
        const state = this.#find(entry.conn);
        if (state === undefined) break;
        if (entry.dir === 'out') state.row.framesOut += 1;
        else state.row.framesIn += 1;
        if (!state.ended) {
          if (entry.dir === 'out') state.row.bytesOut += entry.wireSize;
          else state.row.bytesIn += entry.wireSize;
        }
        break;
      }
      case 'end': {
        const state = this.#find(entry.conn);
        if (state === undefined) break;
        const row = state.row;
        row.bytesOut = entry.bytesOut;
        row.bytesIn = entry.bytesIn;
        row.closedBy = entry.closedBy ?? entry.droppedBy;
        row.duration = roundMicros(Math.max(0, entry.elapsed - state.start));
        if (row.kind === 'websocket') {
          row.closeCode = entry.closeCode;
          row.closeReason = entry.closeReason;
          row.clean = entry.clean;
        }
        state.ended = true;
        break;
      }
      case 'error':
        if (entry.conn !== undefined) {
          const state = this.#rows.get(entry.conn);
          if (state !== undefined) state.row.errors += 1;
        }
        break;
    }
  }

  /** The rows in order of their start time (archive order for equal times). */
  rows(): ListRow[] {
    return [...this.#rows.values()].sort((a, b) => a.start - b.start).map((state) => state.row);
  }

  #open(
    id: string,
    start: number,
    fields: Pick<ListRow, 'kind' | 'url' | 'status' | 'time'> & Partial<Pick<ListRow, 'method' | 'subprotocol'>>,
  ): RowState {
    const state: RowState = {
      start,
      ended: false,
      row: {
        id,
        kind: fields.kind,
        url: fields.url,
        status: fields.status,
        framesOut: 0,
        framesIn: 0,
        bytesOut: 0,
        bytesIn: 0,
        closeCode: null,
        closedBy: null,
        time: fields.time,
        duration: null,
        method: fields.method ?? null,
        subprotocol: fields.subprotocol ?? null,
        closeReason: null,
        clean: null,
        errors: 0,
      },
    };
    this.#rows.set(id, state);
    return state;
  }

  #find(id: string): RowState | undefined {
    const state = this.#rows.get(id);
    if (state === undefined) this.#unknown.add(id);
    return state;
  }
}


function roundMicros(seconds: number): number {
  return Math.round(seconds * 1e6) / 1e6;
}

const COLUMNS: TableColumn[] = [
  { title: 'ID' },
  { title: 'KIND' },
  { title: 'URL' },
  { title: 'STATUS', align: 'right' },
  { title: 'FRAMES OUT/IN', align: 'right' },
  { title: 'BYTES OUT/IN', align: 'right' },
  { title: 'DURATION', align: 'right' },
  { title: 'CLOSE' },
];

/** WS / WSS / HTTP / HTTPS / TUNNEL. */
export function kindBadge(row: Pick<ListRow, 'kind' | 'url'>): string {
  const secure = /^(wss|https):/i.test(row.url);
  switch (row.kind) {
    case 'websocket':
      return secure ? 'WSS' : 'WS';
    case 'http':
      return secure ? 'HTTPS' : 'HTTP';
    case 'tunnel':
      return 'TUNNEL';
  }
}

function statusCell(status: number | null, p: Palette): string {
  if (status === null) return '-';
  const text = String(status);
  if (status >= 500) return p.red(text);
  if (status >= 400) return p.yellow(text);
  return p.green(text);
}

function closeCell(row: ListRow, p: Palette): string {
  if (row.kind === 'http') return '-';
  if (row.closedBy === null) return p.yellow('open');
  if (row.closeCode === null) return `by ${row.closedBy}`;
  const text = `${row.closeCode} ${row.closedBy}`;
  return row.closeCode === 1006 ? p.red(text) : text;
}

function tableRow(row: ListRow, p: Palette): string[] {
  const isWebSocket = row.kind === 'websocket';
  return [
    p.bold(row.id),
    kindBadge(row),
    (row.method !== null ? `${escapeText(row.method)} ` : '') + escapeText(row.url),
    statusCell(row.status, p),
    isWebSocket ? `${row.framesOut}/${row.framesIn}` : '-',
    `${formatSize(row.bytesOut)}/${formatSize(row.bytesIn)}`,
    row.duration === null ? '-' : formatDuration(row.duration),
    closeCell(row, p),
  ];
}

/** Run `wstape list`; returns the exit code. */
export async function runList(options: ListOptions, io: Io): Promise<number> {
  const filter = buildListFilter(options);
  const reader = await openForReading(options.file, io);
  const aggregator = new ListAggregator();
  for await (const entry of reader.entries()) aggregator.add(entry);
  if (aggregator.unknownIds.size > 0) {
    warn(io, `entries refer to unknown connection ids (${[...aggregator.unknownIds].join(', ')}); the archive may be damaged`);
  }

  const rows = aggregator.rows().filter((row) => rowMatches(row, filter));
  if (options.json) {
    for (const row of rows) await writeOut(io.stdout, `${JSON.stringify(row)}\n`);
    return 0;
  }
  const color = useColor(io.stdout, io.env);
  const p = makePalette(color);
  await writeOut(io.stdout, renderTable(COLUMNS, rows.map((row) => tableRow(row, p)), { color }));
  return 0;
}

export const listCommand: CommandModule<object, ListOptions> = {
  command: 'list <file>',
  describe: 'List the connections, HTTP exchanges and tunnels in an archive',
  builder: (yargs) =>
    fileArgument(yargs)
      .option('ws', {
        describe: 'WebSocket connections only',
        type: 'boolean',
      })
      .option('host', {
        describe: 'Only URLs whose host (or host:port) matches this glob, e.g. "*.example.com" (repeat, or use commas, for several)',
        type: 'string',
        coerce: toList,
      })
      .option('status', {
        describe: 'Only this HTTP status (101, 404) or class (4xx); repeat, or use commas, for several',
        type: 'string',
        coerce: toList,
      })
      .option('grep', {
        describe: 'Only URLs matching this regular expression',
        type: 'string',
        coerce: (value: unknown) => (Array.isArray(value) ? String(value[value.length - 1]) : value === undefined ? undefined : String(value)),
      })
      .option('ignore-case', {
        alias: 'i',
        describe: 'Make --grep case-insensitive',
        type: 'boolean',
      })
      .option('json', {
        describe: 'One JSON object per line (stable fields: see the README)',
        type: 'boolean',
        default: false,
      })
      .example('$0 list session.wstape.json', 'A table of the connections')
      .example('$0 list session.wstape.json --ws --host "*.example.com"', 'WebSocket connections to example.com and its subdomains')
      .example('$0 list session.wstape.json --status 4xx,5xx', 'Exchanges that failed')
      .example('$0 list session.wstape.json --json | jq -r "select(.closeCode == 1006) | .id"', 'Connections that ended abnormally'),
  handler: async (argv) => {
    process.exitCode = await runList(argv, processIo());
  },
};

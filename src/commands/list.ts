/**
 * `wstape list FILE [--ws] [--host GLOB] [--status N] [--grep REGEX] [--wide] [--json]`: one row per
 * WebSocket connection, HTTP exchange or tunnel, optionally filtered (filters combine with AND
 * and apply to the finished rows, so counts are never affected by them).
 *
 * On a terminal the table fits its width: the URL column is shortened in the middle
 * (`ws://host/very…/path`) so a row never wraps; `--wide`, a pipe or a file get full values.
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
import { EXIT_OK } from '../errors.js';
import { buildListFilter, rowMatches, type ListFilterSpec } from '../inspect/list-filter.js';
import { ListAggregator } from '../inspect/list-rows.js';
import { openForReading } from '../inspect/open-archive.js';
import { WhereMatcher } from '../inspect/where.js';
import { processIo, terminalColumns, useColor, warn, writeOut, type Io } from '../io.js';
import { makePalette } from '../output/colors.js';
import { listTableRow, renderListTable } from '../output/list-table.js';
import { QUIET_OPTION } from '../output/progress.js';
import { fileArgument, toList } from './common.js';

export interface ListOptions extends ListFilterSpec {
  file: string;
  /** No progress line. */
  quiet?: boolean | undefined;
  json: boolean;
  /** `--where EXPR`: only connections with at least one frame the expression holds for. */
  where?: string | undefined;
  /** Full values even on a terminal: no URL shortened to fit its width. */
  wide?: boolean | undefined;
}

/**
 * The width the table must fit: a terminal's (stdout's columns, else $COLUMNS); none when stdout
 * is a pipe or a file, or with --wide, so scripts get full values.
 */
export function listWidth(options: Pick<ListOptions, 'wide'>, io: Io): number | undefined {
  if (options.wide === true || io.stdout.isTTY !== true) return undefined;
  const columns = terminalColumns(io.stdout) ?? Number(io.env.COLUMNS);
  return Number.isSafeInteger(columns) && columns > 0 ? columns : undefined;
}

/** Run `wstape list`; returns the exit code. */
export async function runList(options: ListOptions, io: Io): Promise<number> {
  const filter = buildListFilter(options);
  const where = options.where !== undefined ? new WhereMatcher(options.where) : null;
  const reader = await openForReading(options.file, io, { progress: { label: 'list', quiet: options.quiet } });
  const aggregator = new ListAggregator();
  const matched = new Set<string>();
  for await (const entry of reader.entries()) {
    aggregator.add(entry);
    where?.observe(entry);
    if (where !== null && entry.kind === 'frame' && !matched.has(entry.conn) && where.matches(entry)) matched.add(entry.conn);
  }
  if (aggregator.unknownIds.size > 0) {
    warn(io, `entries refer to unknown connection ids (${[...aggregator.unknownIds].join(', ')}); the archive may be damaged`);
  }

  const rows = aggregator.rows().filter((row) => rowMatches(row, filter) && (where === null || matched.has(row.id)));
  if (options.json) {
    for (const row of rows) await writeOut(io.stdout, `${JSON.stringify(row)}\n`);
    return EXIT_OK;
  }
  const color = useColor(io.stdout, io.env);
  const p = makePalette(color);
  await writeOut(
    io.stdout,
    renderListTable(
      rows.map((row) => listTableRow(row, p)),
      { color, width: listWidth(options, io) },
    ),
  );
  return EXIT_OK;
}

export const listCommand: CommandModule<object, ListOptions> = {
  command: 'list <file>',
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
        coerce: (value: unknown) =>
          Array.isArray(value) ? String(value[value.length - 1] as string | number) : value === undefined ? undefined : String(value as string | number),
      })
      .option('ignore-case', {
        alias: 'i',
        describe: 'Make --grep case-insensitive',
        type: 'boolean',
      })
      .option('where', {
        describe: 'Only connections with at least one frame this expression holds for (see docs/WHERE.md)',
        type: 'string',
      })
      .option('wide', {
        describe: 'Full URLs even on a terminal (by default they are shortened in the middle to fit its width)',
        type: 'boolean',
      })
      .option('quiet', QUIET_OPTION)
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

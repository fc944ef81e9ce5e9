/**
 * `wstape stats FILE [--conn ID]... [--json]`: per WebSocket connection, what went over it and how
 * it ended. One streaming pass; the numbers come from StatsAccumulator (src/inspect/stats.ts).
 *
 * `--json` prints one object per connection per line, in order of their start. Field names are
 * stable (added, never renamed). "out" is client to server, "in" server to client; bytes are wire
 * bytes (frame headers included), payload is after decompression; times are ISO 8601 UTC;
 * seconds have microsecond precision, milliseconds three decimals.
 *
 *   conn               connection id, "c1"
 *   url                ws:// or wss:// URL; null when the archive lacks the connection entry
 *   subprotocol        negotiated subprotocol, or null
 *   time               start (the handshake's 101), ISO 8601
 *   open               true when the archive has no end entry for it (recording stopped first)
 *   connected          false for a WebSocket upgrade that never connected (no 101: refused,
 *                      unreachable, or a browser HAR's failed WebSocket); its diagnosis says why
 *   duration           seconds from start to end; null while open
 *   framesOut, framesIn       frames each way
 *   bytesOut, bytesIn         wire bytes each way (sum of the frames' wireSize)
 *   payloadOut, payloadIn     payload bytes each way (sum of the frames' size)
 *   messagesOut, messagesIn   complete data messages each way (data frames with FIN set)
 *   messagesPerSecond  both ways, over the duration (while open: start to last frame); null for 0 s
 *   types              { <frame type>: { framesOut, framesIn, bytesOut, bytesIn, payloadOut,
 *                      payloadIn } } for each type seen (text, binary, continuation, close, ping,
 *                      pong, reserved)
 *   compression        null without permessage-deflate frames, else { frames, wireBytes,
 *                      payloadBytes, ratio }: ratio = payloadBytes / wireBytes (4.2: the data was
 *                      4.2 times larger than on the wire); frames that could not be inflated are
 *                      left out
 *   largestFrame       null without frames, else { index, dir, type, size, wireSize, time }, by size
 *   pings              { out, in, answered, unanswered, unsolicitedPongs, rttMs, rttSampled }:
 *                      out/in = pings the client/server sent; a pong answers the oldest pending
 *                      ping from the other side with the same payload; rttMs = null or { min,
 *                      median, p95, max } in milliseconds (percentiles interpolated linearly;
 *                      from a sample of 100 000 when rttSampled is true)
 *   keepAlives         { protocol, out, in, intervalOut, intervalIn }: keep-alive messages of the
 *                      connection's own protocol (not WebSocket pings): Engine.IO "2"/"3",
 *                      graphql-transport-ws ping/pong, graphql-ws "ka", STOMP heart-beats (EOLs
 *                      only), SignalR pings (type 6), MQTT PINGREQ/PINGRESP; protocol = the
 *                      detection id of the first one seen (engine.io, graphql-transport-ws,
 *                      graphql-ws, stomp, signalr, mqtt) or null; out/in = sent by the
 *                      client/server; intervalOut/intervalIn = mean seconds between them, or null
 *   longestSilence     null with fewer than 2 frames, else the largest gap between consecutive
 *                      frames: { seconds, from, to, afterIndex, beforeIndex } (from/to: times of
 *                      the frames around it)
 *   anomalies          { <flag>: count } of the frames' anomaly flags
 *   actions            { <action>: count } of what wstape did: modified, dropped, delayed, injected
 *   errors             number of error entries about this connection
 *   errorCodes         { <code>: count } of those error entries
 *   close              null while open, else { code, name, reason, closedBy, droppedBy, clean,
 *                      time, handshakeMs, idle, keepAlive }: code/reason/closedBy/droppedBy/clean
 *                      as in the end entry, name = the code's name, time = when it ended,
 *                      handshakeMs = first close frame to the other side's (null if it never
 *                      came), idle = seconds from the last frame to the end, keepAlive = { client,
 *                      server }, each { pings, interval (mean seconds between its pings, or null),
 *                      lastPingBeforeEnd (seconds, or null), unansweredAtEnd (pings after its last
 *                      answered one, sent 1 s or more before the end, never answered), flowing
 *                      (2 or more pings, the last within 1.25 intervals + 1 s of the end), keepAlives,
 *                      keepAliveInterval, lastKeepAliveBeforeEnd, keepAlivesFlowing (the same four
 *                      for the protocol keep-alives of `keepAlives`) }
 *   diagnosis          one sentence: who closed and how, and for 1006 the likely cause
 */
import type { CommandModule } from 'yargs';
import { StatsAccumulator, type ConnectionStats, type TypeCounts } from '../inspect/stats.js';
import { EXIT_NO_MATCH, EXIT_OK } from '../errors.js';
import { processIo, useColor, warn, writeOut, type Io } from '../io.js';
import { makePalette, type Palette } from '../output/colors.js';
import { formatTimestamp } from '../output/frame-line.js';
import { QUIET_OPTION } from '../output/progress.js';
import { escapeText } from '../output/payload.js';
import { renderTable, type TableColumn } from '../output/table.js';
import { formatDuration, formatSize } from '../output/units.js';
import { fileArgument, toList } from './common.js';
import { openForReading } from '../inspect/open-archive.js';
import { splitList } from '../inspect/frame-filter.js';

export interface StatsOptions {
  file: string;
  /** No progress line. */
  quiet?: boolean | undefined;
  /** Connection ids; each item may be a comma list. */
  conn?: string[] | undefined;
  json: boolean;
}

const TYPE_COLUMNS: TableColumn[] = [
  { title: 'TYPE' },
  { title: 'FRAMES OUT', align: 'right' },
  { title: 'FRAMES IN', align: 'right' },
  { title: 'BYTES OUT', align: 'right' },
  { title: 'BYTES IN', align: 'right' },
  { title: 'PAYLOAD OUT', align: 'right' },
  { title: 'PAYLOAD IN', align: 'right' },
];

const TYPE_ORDER = ['text', 'binary', 'continuation', 'ping', 'pong', 'close', 'reserved'] as const;

function countsRow(name: string, counts: TypeCounts): string[] {
  return [
    name,
    String(counts.framesOut),
    String(counts.framesIn),
    formatSize(counts.bytesOut),
    formatSize(counts.bytesIn),
    formatSize(counts.payloadOut),
    formatSize(counts.payloadIn),
  ];
}

function ms(value: number): string {
  return `${value.toFixed(value < 10 ? 2 : 1)} ms`;
}

/** A rate with about three significant digits: `0.06`, `4.25`, `13.0`, `250`. */
function rate(perSecond: number): string {
  return perSecond.toFixed(perSecond >= 100 ? 0 : perSecond >= 10 ? 1 : 2);
}

function clock(time: string): string {
  return formatTimestamp(time, 0, 'clock');
}

function tally(counts: Record<string, number>): string {
  return Object.entries(counts)
    .map(([name, count]) => `${escapeText(name)} ${count}`)
    .join(', ');
}

/** The readable block for one connection: labelled lines, then the per-type table. */
export function formatStatsBlock(stats: ConnectionStats, p: Palette): string {
  const lines: string[] = [];
  const line = (label: string, value: string): void => {
    lines.push(`  ${p.dim(label.padEnd(12))} ${value}`);
  };
  const sub = stats.subprotocol !== null ? `  ${p.dim(`subprotocol ${escapeText(stats.subprotocol)}`)}` : '';
  lines.push(`${p.bold(stats.conn)}  ${escapeText(stats.url ?? '(no connection entry)')}${sub}`);

  const lasted = stats.duration !== null ? `, lasted ${formatDuration(stats.duration)}` : `, ${p.yellow(stats.connected ? 'still open' : 'never connected')}`;
  line('started', `${stats.time === '' ? '?' : clock(stats.time)}${lasted}`);
  const perSecond = stats.messagesPerSecond !== null ? `, ${rate(stats.messagesPerSecond)} messages/s` : '';
  line('messages', `${stats.messagesOut} out, ${stats.messagesIn} in${perSecond}`);
  if (stats.compression !== null) {
    const c = stats.compression;
    const ratio = c.ratio !== null ? `${c.ratio}x` : '-';
    line('compression', `${ratio} (${formatSize(c.payloadBytes)} of data in ${formatSize(c.wireBytes)} on the wire, ${c.frames} frames)`);
  }
  if (stats.largestFrame !== null) {
    const f = stats.largestFrame;
    line('largest', `#${f.index} ${f.dir === 'out' ? '-->' : '<--'} ${f.type} ${formatSize(f.size)} (${clock(f.time)})`);
  }
  const pings = stats.pings;
  if (pings.out + pings.in + pings.unsolicitedPongs > 0) {
    const parts = [`${pings.out} from client, ${pings.in} from server`, `${pings.answered} answered`];
    if (pings.unanswered > 0) parts.push(p.yellow(`${pings.unanswered} unanswered`));
    if (pings.unsolicitedPongs > 0) parts.push(`${pings.unsolicitedPongs} unsolicited pongs`);
    line('pings', parts.join(', '));
    if (pings.rttMs !== null) {
      const r = pings.rttMs;
      const sampled = pings.rttSampled ? ' (sampled)' : '';
      line('round trip', `min ${ms(r.min)}, median ${ms(r.median)}, p95 ${ms(r.p95)}, max ${ms(r.max)}${sampled}`);
    }
  }
  const keepAlives = stats.keepAlives;
  if (keepAlives.out + keepAlives.in > 0) {
    const every = (interval: number | null): string => (interval !== null ? ` every ${formatDuration(interval)}` : '');
    const who = `${keepAlives.out} from client${every(keepAlives.intervalOut)}, ${keepAlives.in} from server${every(keepAlives.intervalIn)}`;
    line('keep-alives', `${who} (${escapeText(keepAlives.protocol ?? '?')})`);
  }
  if (stats.longestSilence !== null) {
    const s = stats.longestSilence;
    line('silence', `longest ${formatDuration(s.seconds)}, between #${s.afterIndex} and #${s.beforeIndex} (${clock(s.from)} to ${clock(s.to)})`);
  }
  if (Object.keys(stats.anomalies).length > 0) line('anomalies', p.red(tally(stats.anomalies)));
  if (Object.keys(stats.actions).length > 0) line('wstape did', p.magenta(tally(stats.actions)));
  if (stats.errors > 0) line('errors', p.red(tally(stats.errorCodes)));
  if (stats.close !== null) {
    const c = stats.close;
    const reason = c.reason !== '' ? ` ${escapeText(JSON.stringify(c.reason))}` : '';
    const by = c.closedBy !== null ? ` by ${c.closedBy}${c.closedVia ? ` (${c.closedVia})` : ''}` : '';
    const text = `${c.code ?? '-'} ${c.name ?? ''}${reason}${by}, ${c.clean ? 'clean' : `not clean (${c.droppedBy} dropped the TCP connection)`}`;
    line('close', c.code === 1006 ? p.red(text) : c.clean ? p.green(text) : p.yellow(text));
  }
  line('diagnosis', escapeText(stats.diagnosis));

  const rows = TYPE_ORDER.flatMap((type) => {
    const counts = stats.types[type];
    return counts === undefined ? [] : [countsRow(type, counts)];
  });
  const total: TypeCounts = {
    framesOut: stats.framesOut,
    framesIn: stats.framesIn,
    bytesOut: stats.bytesOut,
    bytesIn: stats.bytesIn,
    payloadOut: stats.payloadOut,
    payloadIn: stats.payloadIn,
  };
  let block = `${lines.join('\n')}\n`;
  if (rows.length > 0) {
    const table = renderTable(TYPE_COLUMNS, [...rows, countsRow(p.bold('total'), total)], { color: p.enabled });
    block += `\n${table
      .trimEnd()
      .split('\n')
      .map((row) => `  ${row}`)
      .join('\n')}\n`;
  }
  return block;
}

/** Run `wstape stats`; returns the exit code. */
export async function runStats(options: StatsOptions, io: Io): Promise<number> {
  const wanted = options.conn !== undefined ? new Set(splitList(options.conn)) : null;
  const reader = await openForReading(options.file, io, { progress: { label: 'stats', quiet: options.quiet } });
  const accumulator = new StatsAccumulator();
  for await (const entry of reader.entries()) {
    if (wanted !== null) {
      const id = entry.kind === 'connection' ? entry.id : entry.kind === 'frame' || entry.kind === 'end' || entry.kind === 'error' ? entry.conn : undefined;
      if (id === undefined || !wanted.has(id)) continue;
    }
    accumulator.add(entry);
  }
  const reports = accumulator.report();
  let noMatch = false;
  if (wanted !== null) {
    const found = new Set(reports.map((report) => report.conn));
    const missing = [...wanted].filter((id) => !found.has(id));
    if (missing.length > 0) {
      warn(io, `no WebSocket connection ${missing.join(', ')} in ${options.file} (see wstape list)`);
      noMatch = true;
    }
  } else if (reports.length === 0) {
    warn(io, `${options.file} holds no WebSocket connections`);
  }

  const p = makePalette(!options.json && useColor(io.stdout, io.env));
  for (const [position, report] of reports.entries()) {
    if (options.json) await writeOut(io.stdout, `${JSON.stringify(report)}\n`);
    else await writeOut(io.stdout, `${position > 0 ? '\n' : ''}${formatStatsBlock(report, p)}`);
  }
  return noMatch ? EXIT_NO_MATCH : EXIT_OK;
}

export const statsCommand: CommandModule<object, StatsOptions> = {
  command: 'stats <file>',
  builder: (yargs) =>
    fileArgument(yargs)
      .option('conn', {
        describe: 'Only this connection id (repeat, or use commas, for several)',
        type: 'string',
        coerce: toList,
      })
      .option('quiet', QUIET_OPTION)
      .option('json', {
        describe: 'One JSON object per connection per line (stable field names)',
        type: 'boolean',
        default: false,
      })
      .example('$0 stats session.wstape.json', 'Every connection')
      .example('$0 stats session.wstape.json --conn c2', 'One connection')
      .example("$0 stats session.wstape.json --json | jq -r 'select(.close.code == 1006) | .diagnosis'", 'Why connections dropped'),
  handler: async (argv) => {
    process.exitCode = await runStats(argv, processIo());
  },
};

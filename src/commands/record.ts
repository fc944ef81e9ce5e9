/**
 * `wstape record`: run the recording proxy until SIGINT/SIGTERM, printing the live view.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { cliError } from '../errors.js';
import { processIo, useColor, type Io } from '../io.js';
import { formatEntryLine } from '../output/frame-line.js';
import { formatSize } from '../output/units.js';
import { ProxyServer } from '../record/proxy-server.js';
import type { LeafProvider } from '../record/client-tls.js';
import type { TlsSettings } from '../record/context.js';
import { Recorder, type EntryFilter } from '../record/recorder.js';
import { parseAbsoluteTarget, type UpstreamAddress } from '../record/upstream-address.js';
import type { ArchiveTrailer } from '../format/schema.js';

export interface RecordOptions {
  port: number;
  host: string;
  out?: string;
  target?: string;
  quiet: boolean;
  maxPayload: string | number;
  /** Where the root CA lives (default $WSTAPE_HOME or ~/.wstape). */
  caDir?: string;
  /** Skip upstream certificate verification. */
  insecure?: boolean;
  /** Extra CA files (PEM) trusted for upstreams. */
  upstreamCa?: string[];
  /** Host globs whose TLS passes through untouched. */
  noIntercept?: string[];
  /** Reverse mode: serve TLS to clients. */
  tls?: boolean;
  /** Redact secrets before they are written (default rules plus `rule`). */
  redact?: boolean;
  /** Extra redaction rules (header:NAME, query:NAME, json:KEY-REGEX, regex:PATTERN); imply --redact. */
  rule?: string[];
}

/** Held back at most while a fragmented text message is incomplete, when redacting live. */
const LIVE_REDACTION_HOLD_BYTES = 1024 * 1024;

export const DEFAULT_MAX_PAYLOAD = 16 * 1024 * 1024;

/** A running recording: where it listens, where it writes, and how to stop it. */
export interface RecordingSession {
  readonly url: string;
  readonly port: number;
  readonly path: string;
  readonly recorder: Recorder;
  /** Stop: give open connections `graceMs` to finish, close them, finish the archive. */
  stop(graceMs?: number): Promise<ArchiveTrailer>;
}

/** "16MiB", "64k", "1048576" → bytes. */
export function parseSize(value: string | number): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(i?b)?\s*$/i.exec(String(value));
  if (!match) throw cliError('ERR_USAGE', `not a size: "${value}" (use bytes, or a number with k, M or G, e.g. 16M)`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[match[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.floor(Number(match[1]) * unit);
}

/** The default archive name: wstape-20261125-103000.wstape.json in the current folder. */
export function defaultArchivePath(cwd: string, now = new Date()): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}-${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  return path.join(cwd, `wstape-${stamp}.wstape.json`);
}

/** Parse --target: a ws://, wss://, http:// or https:// URL → upstream address and whether it is TLS. */
export function parseTarget(target: string): { address: UpstreamAddress; secure: boolean } {
  const parsed = parseAbsoluteTarget(target);
  if (!parsed || !['ws', 'wss', 'http', 'https'].includes(parsed.scheme)) {
    throw cliError('ERR_USAGE', `--target must be a ws://, wss://, http:// or https:// URL, got "${target}"`);
  }
  return { address: parsed.address, secure: parsed.scheme === 'wss' || parsed.scheme === 'https' };
}

/** A host glob (--no-intercept): `*` matches any run of characters, `?` one; case-insensitive. */
export function hostGlobMatcher(patterns: readonly string[]): (host: string) => boolean {
  if (patterns.length === 0) return () => false;
  const regexes = patterns.map((pattern) => {
    const body = pattern
      .split('')
      .map((char) => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('');
    return new RegExp(`^${body}$`, 'i');
  });
  return (host) => regexes.some((regex) => regex.test(host));
}

/** Read the --upstream-ca files; a missing file is a usage error. */
function readCaFiles(files: readonly string[], cwd: string): string[] {
  return files.map((file) => {
    try {
      return readFileSync(path.resolve(cwd, file), 'utf8');
    } catch (error) {
      throw cliError('ERR_FILE', `cannot read --upstream-ca ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  });
}

/** The TLS settings of a recording; the root CA is only loaded (or created) when first needed. */
function tlsSettings(options: RecordOptions, io: Io): TlsSettings {
  let leaves: Promise<LeafProvider> | null = null;
  return {
    insecure: options.insecure ?? false,
    extraCa: readCaFiles(options.upstreamCa ?? [], io.cwd),
    passThrough: hostGlobMatcher(options.noIntercept ?? []),
    leaves: () => {
      leaves ??= (async () => {
        const { resolveCaDir, loadOrCreateCa } = await import('../tls/ca.js');
        const { LeafCertificates } = await import('../tls/leaf-certs.js');
        const dir = resolveCaDir({ ...(options.caDir ? { caDir: options.caDir } : {}) }, io.env);
        const ca = await loadOrCreateCa(dir, {
          onCreate: () => io.stderr.write(`wstape: created a root CA in ${dir}; clients must trust it to be intercepted (wstape ca info)\n`),
          onWarning: (message: string) => io.stderr.write(`wstape: warning: ${message}\n`),
        });
        return new LeafCertificates(ca).ready();
      })();
      return leaves;
    },
  };
}

/** Start the proxy and the archive. The live view goes to io.stdout unless quiet. */
export async function startRecording(options: RecordOptions, io: Io, extra: { overwrite?: boolean } = {}): Promise<RecordingSession> {
  const maxPayload = parseSize(options.maxPayload);
  const target = options.target ? parseTarget(options.target) : undefined;
  if (options.tls && !target) throw cliError('ERR_USAGE', '--tls serves TLS to clients in reverse mode: it needs --target');
  const tls = tlsSettings(options, io);
  let redactor: EntryFilter | undefined;
  if (options.redact || (options.rule?.length ?? 0) > 0) {
    const { defaultRules, parseRules } = await import('../redact/rules.js');
    const { Redactor } = await import('../redact/redactor.js');
    redactor = new Redactor([...defaultRules(), ...parseRules(options.rule ?? [])], { maxHeldBytes: LIVE_REDACTION_HOLD_BYTES });
  }
  const archivePath = path.resolve(io.cwd, options.out ?? defaultArchivePath(io.cwd));
  const recorder = new Recorder({
    path: archivePath,
    maxPayload,
    overwrite: extra.overwrite ?? false,
    ...(redactor ? { redactor } : {}),
    recorderInfo: {
      mode: target ? 'reverse' : 'forward',
      listen: `${options.host}:${options.port}`,
      ...(options.target ? { target: options.target } : {}),
      maxPayload,
    },
  });
  recorder.onWriteError = (error) => {
    io.stderr.write(`wstape: cannot write ${archivePath}: ${error.message}; recording stopped, traffic is still relayed\n`);
  };
  if (!options.quiet) {
    const color = useColor(io.stdout, io.env);
    const columns = (io.stdout as { columns?: number }).columns;
    recorder.onEntry((entry) => {
      io.stdout.write(`${formatEntryLine(entry, { color, ...(columns ? { maxWidth: columns } : {}) })}\n`);
    });
  }
  const server = new ProxyServer({
    recorder,
    host: options.host,
    port: options.port,
    tls,
    ...(target ? { target: target.address } : {}),
    ...(target?.secure ? { targetTls: { servername: target.address.host, insecure: tls.insecure, extraCa: tls.extraCa } } : {}),
    ...(options.tls ? { serveTls: { defaultHost: options.host } } : {}),
  });
  let address;
  try {
    address = await server.listen();
  } catch (error) {
    recorder.close();
    throw error;
  }
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const scheme = options.tls ? 'https' : 'http';
  let stopping: Promise<ArchiveTrailer> | null = null;
  return {
    url: `${scheme}://${host}:${address.port}`,
    port: address.port,
    path: archivePath,
    recorder,
    stop: (graceMs = 0) => {
      stopping ??= server.close(graceMs).then(() => recorder.close());
      return stopping;
    },
  };
}

export async function runRecord(options: RecordOptions, io: Io): Promise<number> {
  const session = await startRecording(options, io);
  const mode = options.target ? `reverse proxy for ${options.target}${options.tls ? ', serving TLS' : ''}` : 'forward proxy';
  io.stderr.write(`wstape: recording on ${session.url} (${mode})\n`);
  io.stderr.write(`wstape: archive ${session.path}\n`);
  if (!options.target) {
    io.stderr.write(`wstape: point clients at it, e.g. HTTP_PROXY=${session.url} or curl --proxy ${session.url}; Ctrl-C stops\n`);
  } else {
    io.stderr.write(`wstape: connect clients to ${session.url.replace(/^http/, 'ws')}/... instead of the target; Ctrl-C stops\n`);
  }
  await new Promise<void>((resolve) => {
    const onSignal = (): void => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  const trailer = await session.stop();
  io.stderr.write(`${summaryLine(trailer, session.path)}\n`);
  return 0;
}

export function summaryLine(trailer: ArchiveTrailer, archivePath: string): string {
  const s = trailer.summary;
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  return `wstape: recorded ${plural(s.connections, 'connection')}, ${plural(s.exchanges, 'HTTP exchange')}, ${plural(s.frames, 'frame')}, ${formatSize(s.bytes)} to ${archivePath}`;
}

export const recordCommand: CommandModule<object, RecordOptions> = {
  command: 'record',
  describe: 'Run a recording proxy: relay WebSocket and HTTP traffic unchanged and write it to an archive',
  builder: (yargs: Argv) =>
    yargs
      .option('port', { alias: 'p', type: 'number', default: 8080, describe: 'Port to listen on (0 picks a free one)' })
      .option('host', { type: 'string', default: '127.0.0.1', describe: 'Address to listen on (0.0.0.0 exposes the proxy to your network)' })
      .option('out', { alias: 'o', type: 'string', describe: 'Archive path (default: wstape-YYYYMMDD-HHMMSS.wstape.json here)' })
      .option('target', { alias: 't', type: 'string', describe: 'Reverse proxy: forward every connection to this ws:// or http:// URL' })
      .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Do not print frames as they pass' })
      .option('max-payload', { type: 'string', default: '16MiB', describe: 'Keep at most this much of each payload in the archive (forwarding is never cut)' })
      .option('ca-dir', { type: 'string', describe: 'Folder of the root CA used to intercept TLS (default $WSTAPE_HOME or ~/.wstape)' })
      .option('insecure', { alias: 'k', type: 'boolean', default: false, describe: 'Do not verify upstream TLS certificates' })
      .option('upstream-ca', { type: 'string', array: true, describe: 'Also trust this CA file (PEM) for upstream TLS (repeatable)' })
      .option('no-intercept', { type: 'string', array: true, describe: 'Pass TLS to hosts matching this glob through untouched, e.g. "*.apple.com" (repeatable)' })
      .option('tls', { type: 'boolean', default: false, describe: 'Reverse mode: serve TLS to clients with a wstape certificate for --host or the SNI name' })
      .option('redact', { type: 'boolean', default: false, describe: 'Redact secrets (tokens, cookies, passwords...) before they reach the archive (docs/REDACTION.md)' })
      .option('rule', { type: 'string', array: true, describe: 'An extra redaction rule: header:NAME, query:NAME, json:KEY-REGEX, regex:PATTERN (repeatable; implies --redact)' })
      .example('$0 record', 'forward proxy on 127.0.0.1:8080; set HTTP_PROXY=http://127.0.0.1:8080')
      .example('$0 record --target ws://localhost:9000 --port 9001', 'reverse proxy: clients connect to ws://127.0.0.1:9001')
      .example('$0 record -o bug-123.wstape.json --quiet', 'record silently to a chosen file')
      .example('$0 record --target wss://api.example.com --tls', 'reverse proxy to a TLS server, serving TLS too') as unknown as Argv<RecordOptions>,
  handler: async (argv) => {
    process.exitCode = await runRecord(argv, processIo());
  },
};

/**
 * A recording session: the proxy server, the recorder and its archive, wired from plain options.
 * `wstape record` runs one until Ctrl-C, `wstape demo` and the tests start one on port 0 and stop
 * it themselves; none of them needs yargs, so this lives here and not in src/commands/.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { startControlServer, type ControlServer } from '../control/server.js';
import { resolveHome } from '../control/registry.js';
import { cliError } from '../errors.js';
import { HookChain } from '../intervene/chain.js';
import { DEFAULT_HOOK_TIMEOUT_MS, type NamedHooks } from '../intervene/hooks.js';
import { ARCHIVE_FORMAT, ARCHIVE_VERSION, type ArchiveHeader, type ArchiveTrailer } from '../format/schema.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from '../version.js';
import { LiveConnections } from '../intervene/live.js';
import { useColor, warn, type Io } from '../io.js';
import { formatEntryLine } from '../output/frame-line.js';
import { ProtocolTagger } from '../output/protocol-tags.js';
import { formatSize } from '../output/units.js';
import type { LeafProvider } from './client-tls.js';
import type { TlsSettings } from './context.js';
import { DEFAULT_LIMITS } from './http-proxy-core.js';
import { ProxyServer } from './proxy-server.js';
import type { SocksCredentials } from './socks5-core.js';
import { Recorder, type EntryFilter } from './recorder.js';
import { upstreamProxies } from './upstream-proxy.js';
import { hostGlobMatcher, parseMaxPayload, parsePort, parseTarget } from './targets.js';

/** What a recording is started with (the `wstape record` options). */
export interface RecordOptions {
  /** A number, or the text given on the command line (checked by parsePort). */
  port: number | string;
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
  /** Chain every upstream connection through this http(s)://[user:pass@]host:port proxy. */
  upstreamProxy?: string;
  /** Host globs reached directly, not through the upstream proxy. */
  noUpstreamProxy?: string[];
  /** Take the upstream proxy from HTTPS_PROXY/HTTP_PROXY/NO_PROXY. */
  upstreamProxyEnv?: boolean;
  /** Redact secrets before they are written (default rules plus `rule`). */
  redact?: boolean;
  /** Extra redaction rules (header:NAME, query:NAME, json:KEY-REGEX, regex:PATTERN); imply --redact. */
  rule?: string[];
  /** Seconds a request head may take to arrive (and a response head, once begun); 0: no limit. */
  headerTimeout?: number;
  /** Seconds a connection may wait idle for its next request; 0: no limit. */
  idleTimeout?: number;
  /** Forward mode: USER:PASS that SOCKS5 clients must log in with (RFC 1929); absent: no authentication. */
  socksAuth?: string;
}

/** Held back at most while a fragmented text message is incomplete, when redacting live. */
const LIVE_REDACTION_HOLD_BYTES = 1024 * 1024;

/** The default --max-payload: 16 MiB of each payload is kept in the archive. */
export const DEFAULT_MAX_PAYLOAD = 16 * 1024 * 1024;

/** A running recording: where it listens, where it writes, and how to stop it. */
export interface RecordingSession {
  readonly url: string;
  readonly port: number;
  readonly path: string;
  readonly recorder: Recorder;
  /** The --target URL as it may be printed: with --redact, with its secrets redacted, as in the header. */
  readonly target?: string;
  /** The upstream proxy chain, as it may be printed (password masked); absent when direct. */
  readonly upstreamProxy?: string;
  /** Its open WebSocket connections, which `wstape send`/`close` act on through the control channel. */
  readonly live: LiveConnections;
  /** The control channel's socket; absent when it could not be set up (a warning said so). */
  readonly control?: { readonly socketPath: string };
  /** Stop: give open connections `graceMs` to finish, close them, finish the archive. */
  stop(graceMs?: number): Promise<ArchiveTrailer>;
}

/** The default archive name: wstape-20261125-103000.wstape.json in the current folder. */
export function defaultArchivePath(cwd: string, now = new Date()): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}-${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  return path.join(cwd, `wstape-${stamp}.wstape.json`);
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/**
 * Read the --upstream-ca files: a missing file, or one that holds no PEM certificate that parses,
 * is a usage error at start (not a failed TLS handshake on every connection later).
 */
export function readCaFiles(files: readonly string[], cwd: string): string[] {
  return files.map((file) => {
    let text: string;
    try {
      text = readFileSync(path.resolve(cwd, file), 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === 'EISDIR' ? 'it is a directory' : (code ?? (error as Error).message);
      throw cliError('ERR_FILE', `cannot read --upstream-ca ${file}: ${why}`);
    }
    const blocks = text.match(PEM_CERTIFICATE) ?? [];
    if (blocks.length === 0) throw cliError('ERR_USAGE', `--upstream-ca ${file} is not a PEM certificate file (no "-----BEGIN CERTIFICATE-----" block)`);
    blocks.forEach((block, at) => {
      try {
        new X509Certificate(block);
      } catch {
        throw cliError('ERR_USAGE', `--upstream-ca ${file}: certificate ${at + 1} in it is not a valid X.509 certificate`);
      }
    });
    return text;
  });
}

/**
 * Check --out before listening: a folder, or (unless overwriting) an existing file, would make
 * the recorder fail once it is up. The writer checks again when it creates the file.
 */
function checkArchivePath(archivePath: string, overwrite: boolean): void {
  let stat;
  try {
    stat = statSync(archivePath);
  } catch {
    return; // does not exist: the usual case
  }
  if (stat.isDirectory())
    throw cliError('ERR_USAGE', `--out ${archivePath} is a directory: name the archive file to write, e.g. ${path.join(archivePath, 'session.wstape.json')}`);
  if (!overwrite)
    throw cliError('ERR_WRITE', `cannot write ${archivePath}: the file already exists; wstape never overwrites an archive, so choose another name (--out)`);
}

/** A header holding only the --target URL, for the redactor to redact it for printing. */
function headerFor(target: string): ArchiveHeader {
  return {
    format: ARCHIVE_FORMAT,
    version: ARCHIVE_VERSION,
    creator: { name: PACKAGE_NAME, version: PACKAGE_VERSION },
    startedAt: new Date(0).toISOString(),
    recorder: { mode: 'reverse', listen: '', target, maxPayload: 0 },
  };
}

/** `host:port` for the header, an IPv6 address in brackets. */
function listenAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The TLS settings of a recording; the root CA is only loaded (or created) when first needed. */
export function tlsSettings(options: RecordOptions, io: Io): TlsSettings {
  let leaves: Promise<LeafProvider> | null = null;
  const insecure = options.insecure ?? false;
  const extraCa = readCaFiles(options.upstreamCa ?? [], io.cwd);
  return {
    insecure,
    extraCa,
    upstreamProxies: upstreamProxies({ ...options, insecure, extraCa }, io.env),
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

/**
 * Start the proxy and the archive. The live view goes to io.stdout unless quiet. Every option is
 * checked before anything is opened, and the archive is created only once the server listens: a
 * recording that cannot start leaves no file behind, so the same command can be run again.
 */
export async function startRecording(
  options: RecordOptions,
  io: Io,
  extra: { overwrite?: boolean; hooks?: NamedHooks[]; hookTimeoutMs?: number } = {},
): Promise<RecordingSession> {
  const port = parsePort(options.port);
  const maxPayload = parseMaxPayload(options.maxPayload);
  const target = options.target ? parseTarget(options.target) : undefined;
  if (options.tls && !target) throw cliError('ERR_USAGE', '--tls serves TLS to clients in reverse mode: it needs --target');
  if (options.socksAuth !== undefined && target)
    throw cliError('ERR_USAGE', '--socks-auth is for the forward proxy, which speaks SOCKS5: it cannot go with --target');
  const socksAuth = options.socksAuth !== undefined ? parseSocksAuth(options.socksAuth) : undefined;
  const tls = tlsSettings(options, io);
  const limits = {
    headerTimeoutMs: timeoutMs('--header-timeout', options.headerTimeout, DEFAULT_LIMITS.headerTimeoutMs),
    idleTimeoutMs: timeoutMs('--idle-timeout', options.idleTimeout, DEFAULT_LIMITS.idleTimeoutMs),
  };
  let redactor: EntryFilter | undefined;
  if (options.redact || (options.rule?.length ?? 0) > 0) {
    const { defaultRules, parseRules } = await import('../redact/rules.js');
    const { Redactor } = await import('../redact/redactor.js');
    redactor = new Redactor([...defaultRules(), ...parseRules(options.rule ?? [])], { maxHeldBytes: LIVE_REDACTION_HOLD_BYTES });
  }
  const archivePath = path.resolve(io.cwd, options.out ?? defaultArchivePath(io.cwd));
  const overwrite = extra.overwrite ?? false;
  checkArchivePath(archivePath, overwrite);
  const openRecorder = (bound: AddressInfo): Recorder => {
    const recorder = new Recorder({
      path: archivePath,
      maxPayload,
      overwrite,
      ...(redactor ? { redactor } : {}),
      recorderInfo: {
        mode: target ? 'reverse' : 'forward',
        // The bound port, not the one asked for: `--port 0` picks one.
        listen: listenAddress(options.host, bound.port),
        ...(options.target ? { target: options.target } : {}),
        maxPayload,
      },
    });
    recorder.onWriteError = (error) => {
      // Once, however many writes fail after it: error.message is "cannot write FILE: ENOSPC (...)".
      io.stderr.write(`wstape: ${error.message}; recording stopped, traffic is still relayed\n`);
    };
    if (!options.quiet) {
      const color = useColor(io.stdout, io.env);
      const columns = (io.stdout as { columns?: number }).columns;
      const tagger = new ProtocolTagger(); // [socket.io EVENT "chat"], [stomp SEND /queue/a]
      recorder.onEntry((entry) => {
        io.stdout.write(`${formatEntryLine(entry, { color, ...(columns ? { maxWidth: columns } : {}), tag: tagger.tag(entry) })}\n`);
      });
    }
    return recorder;
  };
  // The open WebSocket connections, for the control channel below (the relays register in it).
  const live = new LiveConnections();
  let recorder: Recorder | undefined;
  const server = new ProxyServer({
    recorder: (bound) => (recorder = openRecorder(bound)),
    host: options.host,
    port,
    tls,
    limits,
    hooks: extra.hooks && extra.hooks.length > 0 ? new HookChain(extra.hooks, extra.hookTimeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS) : null,
    live,
    ...(socksAuth ? { socksAuth } : {}),
    ...(target ? { target: target.address } : {}),
    ...(target?.secure ? { targetTls: { servername: target.address.host, insecure: tls.insecure, extraCa: tls.extraCa } } : {}),
    ...(options.tls ? { serveTls: { defaultHost: options.host } } : {}),
  });
  const address = await server.listen();
  if (recorder === undefined) throw new Error('the proxy server listened without opening the archive');
  const opened: Recorder = recorder;
  const shownTarget = options.target !== undefined ? (redactor?.redactHeader?.(headerFor(options.target)).recorder?.target ?? options.target) : undefined;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const scheme = options.tls ? 'https' : 'http';
  // The control channel (src/control), for `wstape send`/`close`: a recorder without one still records.
  const control = await startControlServer({ live, port: address.port, archivePath, home: resolveHome(io.env, io.cwd) }).catch(
    (error: unknown): ControlServer | undefined => {
      warn(io, `no control channel, so wstape send/close cannot reach this recorder: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    },
  );
  let stopping: Promise<ArchiveTrailer> | null = null;
  return {
    url: `${scheme}://${host}:${address.port}`,
    port: address.port,
    path: archivePath,
    recorder: opened,
    ...(shownTarget !== undefined ? { target: shownTarget } : {}),
    ...(tls.upstreamProxies ? { upstreamProxy: tls.upstreamProxies.shown } : {}),
    live,
    ...(control !== undefined ? { control: { socketPath: control.socketPath } } : {}),
    stop: (graceMs = 0) => {
      stopping ??= Promise.resolve(control?.close())
        .then(() => server.close(graceMs))
        .then(() => opened.close());
      return stopping;
    },
  };
}

/**
 * --socks-auth USER:PASS (split at the first colon). RFC 1929 §2 carries each in 1 to 255 bytes,
 * so an empty or longer one could never log in.
 */
export function parseSocksAuth(text: string): SocksCredentials {
  const colon = text.indexOf(':');
  const username = colon === -1 ? text : text.slice(0, colon);
  const password = colon === -1 ? '' : text.slice(colon + 1);
  const fits = (value: string): boolean => value.length > 0 && Buffer.byteLength(value, 'utf8') <= 255;
  if (colon === -1 || !fits(username) || !fits(password)) {
    throw cliError('ERR_USAGE', '--socks-auth must be USER:PASS, each 1 to 255 bytes (RFC 1929), e.g. --socks-auth me:secret');
  }
  return { username, password };
}

/** A timeout option in seconds as milliseconds: a number ≥ 0 (0 turns the limit off). */
function timeoutMs(flag: string, seconds: number | undefined, fallbackMs: number): number {
  if (seconds === undefined) return fallbackMs;
  if (!Number.isFinite(seconds) || seconds < 0) throw cliError('ERR_USAGE', `${flag} must be a number of seconds, 0 or more (0 turns it off)`);
  return Math.round(seconds * 1000);
}

/**
 * The one line `record` and `demo` print when the archive is closed. The trailer's counts are what
 * the archive holds; `lost` (entries that could not be written, after a write error) says that
 * the archive is incomplete and how much is missing from it.
 */
export function summaryLine(trailer: ArchiveTrailer, archivePath: string, lost = 0): string {
  const s = trailer.summary;
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  const incomplete = lost > 0 ? ` (incomplete: ${lost} ${lost === 1 ? 'entry' : 'entries'} not written)` : '';
  return `wstape: recorded ${plural(s.connections, 'connection')}, ${plural(s.exchanges, 'HTTP exchange')}, ${plural(s.frames, 'frame')}, ${formatSize(s.bytes)} to ${archivePath}${incomplete}`;
}

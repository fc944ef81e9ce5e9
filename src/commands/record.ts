/**
 * `wstape record`: run the recording proxy until SIGINT/SIGTERM, printing the live view. The
 * session itself is src/record/recording.ts.
 */
import type { Argv, CommandModule } from 'yargs';
import { EXIT_IO, EXIT_OK } from '../errors.js';
import { processIo, untilSignal, type Io } from '../io.js';
import { startRecording, summaryLine, type RecordOptions } from '../record/recording.js';
import { addInterventionOptions, interventionHooks, type InterventionOptions } from './intervention-options.js';

/** Run `wstape record` until Ctrl-C; returns the exit code. */
export async function runRecord(options: RecordOptions & Partial<InterventionOptions> & { view?: boolean }, io: Io): Promise<number> {
  // Scripts and flags are read before anything listens: a bad one is a usage error, no archive.
  const intervention = await interventionHooks(options, io.cwd);
  // The handlers go in before anything starts: a Ctrl-C the moment "Ctrl-C stops" is printed (or
  // while the proxy is still binding) must close the archive, not meet Node's default of exiting.
  const stopRequested = untilSignal();
  let session;
  try {
    session = await startRecording(options, io, { hooks: intervention.hooks, hookTimeoutMs: intervention.timeoutMs });
  } catch (error) {
    stopRequested.cancel();
    throw error;
  }
  // session.target, not options.target: with --redact, a token in the URL is not printed either.
  const mode = options.target ? `reverse proxy for ${session.target ?? options.target}${options.tls ? ', serving TLS' : ''}` : 'forward proxy';
  io.stderr.write(`wstape: recording on ${session.url} (${mode})\n`);
  io.stderr.write(`wstape: archive ${session.path}\n`);
  if (session.upstreamProxy) io.stderr.write(`wstape: upstream proxy ${session.upstreamProxy}\n`);
  if (session.control)
    io.stderr.write(`wstape: control: wstape send --recorder ${session.port} --conn c1 --to client MESSAGE, wstape close --recorder ${session.port} c1\n`);
  if (!options.target) {
    io.stderr.write(`wstape: point clients at it, e.g. HTTP_PROXY=${session.url} or curl --proxy ${session.url}; Ctrl-C stops\n`);
  } else {
    io.stderr.write(`wstape: connect clients to ${session.url.replace(/^http/, 'ws')}/... instead of the target; Ctrl-C stops\n`);
  }
  // --view: the browser viewer follows the archive, and stops with the recorder.
  let viewer: { close(options?: { drain?: boolean }): Promise<void> } | null = null;
  if (options.view === true) {
    try {
      // Loaded only for --view.
      viewer = await (await import('../share/live-viewer.js')).startRecordingViewer(session.path, io);
    } catch (error) {
      stopRequested.cancel();
      await session.stop();
      throw error;
    }
  }
  await stopRequested.signalled;
  const trailer = await session.stop();
  // The pages get the archive's last entries and its end before the viewer goes.
  await viewer?.close({ drain: true });
  // The counts are what the archive holds; after a write error (already reported, once) that is
  // less than what passed through, and the exit code says the archive could not be written.
  io.stderr.write(`${summaryLine(trailer, session.path, session.recorder.entriesLost)}\n`);
  return session.recorder.writeError ? EXIT_IO : EXIT_OK;
}

export const recordCommand: CommandModule<object, RecordOptions & InterventionOptions & { view?: boolean }> = {
  command: 'record',
  builder: (yargs: Argv) =>
    addInterventionOptions(yargs)
      .option('port', { alias: 'p', type: 'string', default: '8080', describe: 'Port to listen on, 0 to 65535 (0 picks a free one)' })
      .option('host', { type: 'string', default: '127.0.0.1', describe: 'Address to listen on (0.0.0.0 exposes the proxy to your network)' })
      .option('out', { alias: 'o', type: 'string', describe: 'Archive path (default: wstape-YYYYMMDD-HHMMSS.wstape.json here)' })
      .option('target', { alias: 't', type: 'string', describe: 'Reverse proxy: forward every connection to this ws:// or http:// URL' })
      .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Do not print frames as they pass' })
      .option('max-payload', {
        type: 'string',
        default: '16MiB',
        describe: 'Keep at most this much of each payload in the archive, up to 64MiB (forwarding is never cut)',
      })
      .option('ca-dir', { type: 'string', describe: 'Folder of the root CA used to intercept TLS (default $WSTAPE_HOME or ~/.wstape)' })
      .option('insecure', { alias: 'k', type: 'boolean', default: false, describe: 'Do not verify upstream TLS certificates' })
      .option('upstream-ca', { type: 'string', array: true, describe: 'Also trust this CA file (PEM) for upstream TLS (repeatable)' })
      .option('no-intercept', {
        type: 'string',
        array: true,
        describe: 'Pass TLS to hosts matching this glob through untouched, e.g. "*.apple.com" (repeatable)',
      })
      .option('upstream-proxy', {
        type: 'string',
        describe: 'Send every upstream connection through this proxy with CONNECT: http(s)://[user:pass@]host:port',
      })
      .option('no-upstream-proxy', {
        type: 'string',
        array: true,
        describe: 'Reach hosts matching this glob directly, not through the upstream proxy, e.g. "*.internal" (repeatable)',
      })
      .option('upstream-proxy-env', {
        type: 'boolean',
        default: false,
        describe: 'Take the upstream proxy from HTTPS_PROXY, HTTP_PROXY and NO_PROXY',
      })
      .option('header-timeout', {
        type: 'number',
        default: 30,
        describe: 'Seconds a request head may take to arrive (408 after), and a response head once begun (504); 0: no limit',
      })
      .option('idle-timeout', { type: 'number', default: 60, describe: 'Close a client connection idle this many seconds between requests; 0: never' })
      .option('socks-auth', {
        type: 'string',
        describe: 'Forward mode: SOCKS5 clients must log in with USER:PASS (RFC 1929); without it, SOCKS5 needs no login',
      })
      .option('tls', { type: 'boolean', default: false, describe: 'Reverse mode: serve TLS to clients with a wstape certificate for --host or the SNI name' })
      .option('redact', {
        type: 'boolean',
        default: false,
        describe: 'Redact secrets (tokens, cookies, passwords...) before they reach the archive (docs/REDACTION.md)',
      })
      .option('rule', {
        type: 'string',
        array: true,
        describe: 'An extra redaction rule: header:NAME, query:NAME, json:KEY-REGEX, regex:PATTERN (repeatable; implies --redact)',
      })
      .option('view', {
        type: 'boolean',
        default: false,
        describe: 'Also serve the browser viewer of the recording on 127.0.0.1 (its URL, with a token, is printed); it stops with the recorder',
      })
      .example('$0 record', 'forward proxy on 127.0.0.1:8080; set HTTP_PROXY=http://127.0.0.1:8080')
      .example('$0 record --target ws://localhost:9000 --port 9001', 'reverse proxy: clients connect to ws://127.0.0.1:9001')
      .example('$0 record --socks-auth me:secret', 'also a SOCKS5 proxy with a login: curl --socks5-hostname 127.0.0.1:8080 --proxy-user me:secret ...')
      .example('$0 record --upstream-proxy http://proxy.corp:3128', 'forward proxy that reaches the internet through a corporate proxy')
      .example('$0 record -o bug-123.wstape.json --quiet', 'record silently to a chosen file')
      .example('$0 record --target wss://api.example.com --tls', 'reverse proxy to a TLS server, serving TLS too') as unknown as Argv<
      RecordOptions & InterventionOptions & { view?: boolean }
    >,
  handler: async (argv) => {
    process.exitCode = await runRecord(argv, processIo());
  },
};

/**
 * The TLS rows: wss:// direct, through the intercepting recorder (forward proxy: the client
 * tunnels with HTTP CONNECT, then speaks TLS to the recorder, which answers with a leaf signed by
 * its own root CA and opens verified TLS to the real server), and through the same recorder
 * passing TLS through untouched (--no-intercept), plus the cost of the first connection to a new
 * host name.
 *
 * Two private CAs, made with wstape's own modules from dist/: the upstream's (its leaves for
 * `localhost` and for the first-connection names h1.test, h2.test... are written to a JSON file
 * for `servers.mjs wss-echo`), and the recorder's (`wstape ca cert --ca-dir`, as a user would).
 * Every connection goes to 127.0.0.1; the host name travels only as SNI (`servername`), so no
 * name needs to resolve.
 */
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { close, connect } from './client.mjs';
import { ROOT, runTool, runWstape } from './processes.mjs';
import { median } from './report.mjs';

/**
 * An https.Agent for `ws`: with `proxyPort`, it opens a CONNECT tunnel through the recorder and
 * speaks TLS inside it, as browsers do; without, it connects directly. Either way it notes when
 * the steps of the connection happened in `timings` (performance.now() ms): `tunnel` (the
 * recorder answered 200) and `secure` (the TLS handshake finished).
 */
export class TimedAgent extends https.Agent {
  constructor(proxyPort, timings = {}) {
    super({ keepAlive: false });
    this.proxyPort = proxyPort;
    this.timings = timings;
  }

  createConnection(options, callback) {
    const secureOver = (socket) => {
      const secure = tls.connect({ ...options, ...(socket ? { socket } : {}) });
      secure.once('secureConnect', () => {
        this.timings.secure = performance.now();
        callback(null, secure);
      });
      secure.once('error', (error) => callback(error, secure));
      return secure;
    };
    if (this.proxyPort === null) return secureOver(null);
    const raw = net.connect(this.proxyPort, '127.0.0.1');
    raw.setNoDelay(true);
    raw.write(`CONNECT ${options.host}:${options.port} HTTP/1.1\r\nHost: ${options.host}:${options.port}\r\n\r\n`);
    let buffered = Buffer.alloc(0);
    const onData = (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1) return;
      raw.removeListener('data', onData);
      this.timings.tunnel = performance.now();
      const status = buffered.toString('latin1').split('\r\n')[0];
      if (!status.startsWith('HTTP/1.1 200')) return callback(new Error(`CONNECT refused: ${status}`), raw);
      secureOver(raw);
    };
    raw.on('data', onData);
    raw.once('error', (error) => callback(error, raw));
    return undefined;
  }
}

/**
 * Make both CAs and the upstream's certificates. `names`: the SNI names the upstream must serve
 * besides localhost (the first-connection rows). Returns what the rows need.
 */
export async function setupTls(workDir, names) {
  const { loadOrCreateCa } = await import(path.join(ROOT, 'dist/tls/ca.js'));
  const { LeafCertificates } = await import(path.join(ROOT, 'dist/tls/leaf-certs.js'));
  const upstreamCa = await loadOrCreateCa(path.join(workDir, 'upstream-ca'));
  const leaves = await new LeafCertificates(upstreamCa).ready();
  const certs = {};
  for (const name of ['localhost', ...names]) certs[name] = leaves.certificateFor(name).certPem + upstreamCa.certPem;
  const certsFile = path.join(workDir, 'upstream-certs.json');
  writeFileSync(certsFile, JSON.stringify({ key: upstreamCa.leafKeyPem, certs, default: 'localhost' }), { mode: 0o600 });
  const recorderCaDir = path.join(workDir, 'recorder-ca');
  const caCert = await runWstape(['ca', 'cert', '--ca-dir', recorderCaDir], 60_000);
  if (caCert.code !== 0 || !caCert.stdout.includes('BEGIN CERTIFICATE'))
    throw new Error(`wstape ca cert failed (code ${caCert.code}): ${caCert.stderr.slice(-1000)}`);
  return {
    certsFile,
    upstreamCaPem: upstreamCa.certPem,
    upstreamCaFile: upstreamCa.paths.cert,
    recorderCaDir,
    recorderCaPem: caCert.stdout,
  };
}

/** The `wstape record` arguments of a forward proxy that intercepts (or, with passThrough, does not). */
export function forwardArgs(setup, { passThrough = false, insecure = false } = {}) {
  return [
    '--ca-dir',
    setup.recorderCaDir,
    ...(insecure ? ['--insecure'] : ['--upstream-ca', setup.upstreamCaFile]),
    ...(passThrough ? ['--no-intercept', '*'] : []),
  ];
}

/**
 * Open a wss:// connection to the upstream on `wssPort`, asking for `servername`: directly
 * (proxyPort null), or through a recorder's CONNECT. `ca` is what the client trusts: the
 * upstream's CA directly or through a pass-through tunnel, the recorder's when it intercepts.
 */
export function connectWss({ wssPort, proxyPort, ca, servername = 'localhost', path: urlPath = '/bench', timings }) {
  return connect(`wss://127.0.0.1:${wssPort}${urlPath}`, 10_000, { agent: new TimedAgent(proxyPort, timings), ca: [ca], servername });
}

/**
 * One connection, timed from its start to the first echo: returns { total, tunnel, handshake,
 * upgrade, echo } in ms (tunnel: CONNECT answered; handshake: TLS, from the tunnel or the start;
 * upgrade: HTTP upgrade to open; echo: one 64-byte message's round trip).
 */
export async function timedFirstMessage(options) {
  const timings = {};
  const start = performance.now();
  const ws = await connectWss({ ...options, timings });
  const opened = performance.now();
  const message = Buffer.alloc(64, 'x');
  const echoed = new Promise((resolve, reject) => {
    ws.once('message', (data) => (data.length === message.length ? resolve() : reject(new Error('wrong echo'))));
    ws.once('close', () => reject(new Error('closed before the echo')));
  });
  ws.send(message, { binary: false });
  await echoed;
  const done = performance.now();
  await close(ws);
  const afterTunnel = timings.tunnel ?? start;
  return {
    total: done - start,
    tunnel: timings.tunnel === undefined ? null : timings.tunnel - start,
    handshake: timings.secure - afterTunnel,
    upgrade: opened - timings.secure,
    echo: done - opened,
  };
}

/**
 * The first connection to each of `names` through a fresh recorder, each followed by a repeat
 * connection to the same name (its leaf now cached), and the same connections made directly.
 * The recorder first serves one warm-up name (not counted), so that its CA, node-forge and the
 * leaf for the CONNECT address (127.0.0.1) are ready: what is left is the per-name cost.
 * `direct: false` leaves out the direct connections (a second recorder's run).
 */
export async function firstConnections({ setup, wssPort, proxyPort, names, warmupName, direct = true }) {
  const viaRecorder = { ca: setup.recorderCaPem, wssPort, proxyPort };
  const veryFirst = await timedFirstMessage({ ...viaRecorder, servername: warmupName, path: '/warm-up' });
  await timedFirstMessage({ ...viaRecorder, servername: warmupName, path: '/warm-up' });
  const rows = [];
  rows.veryFirst = veryFirst;
  for (const name of names) {
    const first = await timedFirstMessage({ ...viaRecorder, servername: name, path: '/first' });
    const repeat = await timedFirstMessage({ ...viaRecorder, servername: name, path: '/repeat' });
    const row = { name, first, repeat };
    if (direct) row.direct = await timedFirstMessage({ ca: setup.upstreamCaPem, wssPort, proxyPort: null, servername: name, path: '/direct' });
    rows.push(row);
  }
  return rows;
}

/** Medians of firstConnections() rows: per kind (first, repeat, direct), per step. */
export function summariseFirstConnections(rows) {
  const steps = ['total', 'tunnel', 'handshake', 'upgrade', 'echo'];
  const of = (kind) =>
    Object.fromEntries(
      steps.map((step) => {
        const values = rows
          .filter((row) => row[kind])
          .map((row) => row[kind][step])
          .filter((v) => v !== null);
        return [step, values.length ? { median: median(values), max: Math.max(...values), min: Math.min(...values) } : null];
      }),
    );
  const extra = rows.map((row) => row.first.total - row.repeat.total);
  const extraHandshake = rows.map((row) => row.first.handshake - row.repeat.handshake);
  return {
    names: rows.length,
    /** The recorder's very first intercepted connection (loads the CA and node-forge too). */
    veryFirst: rows.veryFirst ?? null,
    first: of('first'),
    repeat: of('repeat'),
    direct: of('direct'),
    addedByNewHost: { median: median(extra), max: Math.max(...extra) },
    addedToHandshake: { median: median(extraHandshake), max: Math.max(...extraHandshake) },
  };
}

/** Leaf certificate timing inside a fresh process (bench/leaf-timing.mjs), bounded in time. */
export async function leafTiming(caDir, count) {
  const script = path.join(ROOT, 'bench', 'leaf-timing.mjs');
  const result = await runTool(process.execPath, [script, caDir, String(count)], { timeoutMs: 60_000, collect: true });
  if (result.code !== 0) throw new Error(`leaf-timing.mjs failed (code ${result.code}): ${result.stderr.slice(-1000)}`);
  return JSON.parse(result.stdout);
}

/**
 * The replay rows: how fast `wstape replay --asap` plays a recorded session back, as a mock of
 * the server and as the client against a live echo server, next to the same exchanges made
 * directly with the echo server.
 *
 * The session is recorded for real, through `wstape record` in reverse mode in front of the echo
 * server, as two connections of `count` distinct 1 KiB JSON text messages each:
 *   c1 /replay/lockstep   each message sent when the previous echo came back
 *   c2 /replay/pipelined  up to 64 messages in flight (the throughput rows' window)
 * Replay keeps the recording's order: it waits for a recorded peer frame before anything recorded
 * after it, so c1 replays in lockstep and c2 with about the recorded concurrency.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { checkConnection, scanArchive } from './archive-check.mjs';
import { close, connect, playMessages } from './client.mjs';
import { runWstape, startReplayServer, startWstape } from './processes.mjs';

const SESSIONS = [
  { conn: 'c1', path: '/replay/lockstep', window: 1, label: 'lockstep' },
  { conn: 'c2', path: '/replay/pipelined', window: 64, label: 'pipelined (64 in flight)' },
];

/** `count` distinct 1 KiB JSON text messages: {"type":"tick","seq":N,"data":"…"}. */
function messages(count, size = 1024) {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ';
  return Array.from({ length: count }, (_, i) => {
    const head = `{"type":"tick","seq":${i},"data":"`;
    const tail = '"}';
    let body = '';
    for (let j = 0; body.length < size - head.length - tail.length; j++) body += alphabet[(i + j * 7) % alphabet.length];
    return Buffer.from(head + body + tail, 'utf8');
  });
}

const sentReceived = (stderr) => {
  const match = /sent (\d+) frames, received (\d+)/.exec(stderr);
  return match ? { sent: Number(match[1]), received: Number(match[2]) } : null;
};

/**
 * Record the session, then time each way of playing it. Returns { count, archiveBytes, rows,
 * problems }: rows are { mode, session, messages, seconds, msgPerSec, wallSeconds } (seconds: from
 * the first message to the last reply; wallSeconds: the whole wstape process, start-up and
 * loading the archive included).
 */
export async function replayRows({ echo, workDir, count, log }) {
  const payloads = messages(count);
  const archive = path.join(workDir, 'replay-source.wstape.json');
  const problems = [];

  // The recording.
  const recorder = await startWstape({ targetPort: echo.port, out: archive });
  for (const session of SESSIONS) {
    const ws = await connect(`ws://127.0.0.1:${recorder.port}${session.path}`);
    await playMessages(ws, payloads, { window: session.window, maxMs: 120_000 });
    await close(ws);
  }
  await recorder.stop();
  const scan = await scanArchive(archive);
  SESSIONS.forEach((session) => problems.push(...checkConnection(scan, session.conn, { messages: count, size: 1024 })));
  const archiveBytes = statSync(archive).size;
  log(
    `  replay: recorded ${(2 * count).toLocaleString('en-US')} messages each way in ${(archiveBytes / 1024 ** 2).toFixed(0)} MiB: ${problems.length === 0 ? 'ok' : 'MISMATCH'}`,
  );

  const rows = [];
  const row = (mode, session, result, wallSeconds = null) => {
    const r = {
      mode,
      session: session.label,
      conn: session.conn,
      messages: result.messages,
      seconds: result.seconds,
      msgPerSec: result.messages / result.seconds,
      wallSeconds,
    };
    rows.push(r);
    log(
      `  replay ${mode.padEnd(22)} ${session.label.padEnd(24)} ${Math.round(r.msgPerSec).toLocaleString('en-US').padStart(8)} msg/s` +
        (wallSeconds === null ? '' : `  (process ${wallSeconds.toFixed(2)} s)`),
    );
  };

  for (const session of SESSIONS) {
    // Direct, for scale: the same messages to the echo server, no wstape at all.
    const ws = await connect(`ws://127.0.0.1:${echo.port}/direct${session.path}`);
    row('direct echo', session, await playMessages(ws, payloads, { window: session.window, maxMs: 120_000 }));
    await close(ws);
  }

  for (const session of SESSIONS) {
    // wstape as the server: the bench client plays the recorded client side.
    const started = performance.now();
    const server = await startReplayServer(archive, ['--asap', '--once', '--conn', session.conn]);
    const ws = await connect(`ws://127.0.0.1:${server.port}${session.path}`);
    const played = await playMessages(ws, payloads, { window: session.window, maxMs: 120_000 });
    await close(ws);
    const done = await server.done(30_000);
    const wall = (performance.now() - started) / 1000;
    const counts = sentReceived(done.stderr);
    if (done.code !== 0) problems.push(`replay --as server ${session.conn}: exit code ${done.code} ${done.signal ?? ''} ${done.stderr.slice(-300)}`);
    if (!counts || counts.sent !== count + 1 || counts.received !== count + 1)
      problems.push(
        `replay --as server ${session.conn}: ${counts ? `sent ${counts.sent}, received ${counts.received}` : 'no summary line'}, expected ${count + 1} each (with the close)`,
      );
    row('replay --as server', session, played, wall);
  }

  for (const session of SESSIONS) {
    // wstape as the client, against the echo server, which times the session (/timed paths).
    const target = `ws://127.0.0.1:${echo.port}/timed/${session.conn}`;
    const before = echo.output().stdout.length;
    const result = await runWstape(['replay', archive, '--as', 'client', '--asap', '--conn', session.conn, '--target', target], 180_000);
    let line = null;
    for (let i = 0; i < 50 && line === null; i++) {
      line = new RegExp(`^SESSION /timed/${session.conn} (\\d+) ([\\d.]+) ([\\d.]+)$`, 'm').exec(echo.output().stdout.slice(before));
      if (line === null) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const counts = sentReceived(result.stderr);
    if (result.code !== 0) problems.push(`replay --as client ${session.conn}: exit code ${result.code}: ${result.stderr.slice(-300)}`);
    if (!counts || counts.sent !== count + 1 || counts.received !== count + 1)
      problems.push(
        `replay --as client ${session.conn}: ${counts ? `sent ${counts.sent}, received ${counts.received}` : 'no summary line'}, expected ${count + 1} each (with the close)`,
      );
    if (!line || Number(line[1]) !== count) {
      problems.push(`replay --as client ${session.conn}: the echo server saw ${line ? line[1] : 'no session'} messages, expected ${count}`);
      continue;
    }
    row('replay --as client', session, { messages: Number(line[1]), seconds: Number(line[3]) / 1000 }, result.seconds);
  }
  for (const problem of problems) log(`    ${problem}`);
  return { count, archiveBytes, rows, problems, ok: problems.length === 0 };
}

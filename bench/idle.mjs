/**
 * The idle-connection rows (issue 13): how much memory a proxy holds per open WebSocket
 * connection that carries nothing. Through each proxy (tcp-pipe, wstape recording, mitmdump when
 * it is installed) the bench opens `connections` connections to the echo server, at most 50
 * handshakes at a time, waits until the proxy is idle, reads its RSS, closes them all and reads it
 * again. Per connection = (RSS with them open - RSS before) / connections, where "before" is read
 * after one connection was opened and closed (so lazily loaded code is not counted). wstape's
 * archive must then hold every connection, with its two close frames.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { scanArchive } from './archive-check.mjs';
import { close, connect } from './client.mjs';
import { memoryOf, startMitmdump, startServer, startWstape, waitIdle } from './processes.mjs';

const HANDSHAKES_AT_ONCE = 50;

/** Open `count` connections to `port`, at most HANDSHAKES_AT_ONCE at a time. */
async function openMany(port, count) {
  const sockets = [];
  for (let start = 0; start < count; start += HANDSHAKES_AT_ONCE) {
    const batch = Array.from({ length: Math.min(HANDSHAKES_AT_ONCE, count - start) }, () => connect(`ws://127.0.0.1:${port}/idle`, 30_000));
    sockets.push(...(await Promise.all(batch)));
  }
  return sockets;
}

async function closeAll(sockets) {
  for (let start = 0; start < sockets.length; start += HANDSHAKES_AT_ONCE) {
    await Promise.all(sockets.slice(start, start + HANDSHAKES_AT_ONCE).map((ws) => close(ws, 15_000)));
  }
}

/** { connections, rows: [{ config, rssBeforeKiB, rssOpenKiB, rssAfterKiB, kibPerConnection, recording? }], problems, ok } */
export async function idleRows({ echoPort, connections, archiveDir, mitm, keep, log }) {
  const rows = [];
  const problems = [];
  const configs = ['tcp-pipe', 'wstape', ...(mitm ? ['mitmdump'] : [])];
  for (const config of configs) {
    const archive = path.join(archiveDir, 'idle.wstape.json');
    const flows = path.join(archiveDir, 'idle.mitmdump.flows');
    const proxy =
      config === 'wstape'
        ? await startWstape({ targetPort: echoPort, out: archive })
        : config === 'mitmdump'
          ? await startMitmdump({ targetPort: echoPort, out: flows, confdir: path.join(archiveDir, 'mitmproxy-conf'), command: mitm.command })
          : await startServer(config, echoPort);
    try {
      await close(await connect(`ws://127.0.0.1:${proxy.port}/idle-warm-up`));
      await waitIdle(proxy.pid);
      const before = memoryOf(proxy.pid).rssKiB;
      const sockets = await openMany(proxy.port, connections);
      await waitIdle(proxy.pid);
      const open = memoryOf(proxy.pid).rssKiB;
      await closeAll(sockets);
      await waitIdle(proxy.pid);
      const after = memoryOf(proxy.pid).rssKiB;
      const row = { config, rssBeforeKiB: before, rssOpenKiB: open, rssAfterKiB: after, kibPerConnection: (open - before) / connections };
      rows.push(row);
      await proxy.stop();
      if (config === 'wstape') {
        const scan = await scanArchive(archive);
        const want = connections + 1;
        const found = [];
        if (scan.connections.size !== want) found.push(`${scan.connections.size} connections recorded, expected ${want}`);
        if (scan.frames !== 2 * want) found.push(`${scan.frames} frames recorded, expected ${2 * want} (the close frames)`);
        row.recording = { connections: scan.connections.size, frames: scan.frames, ok: found.length === 0, problems: found };
        problems.push(...found.map((p) => `idle wstape: ${p}`));
      }
      log(
        `  idle ${config.padEnd(9)} ${connections} connections: RSS ${(before / 1024).toFixed(1)} -> ${(open / 1024).toFixed(1)} MiB, ` +
          `${row.kibPerConnection.toFixed(1)} KiB each; ${(after / 1024).toFixed(1)} MiB after closing${row.recording ? `; archive ${row.recording.ok ? 'ok' : 'MISMATCH'}` : ''}`,
      );
    } finally {
      await proxy.stop().catch(() => {});
      if (!keep) {
        rmSync(archive, { force: true });
        rmSync(flows, { force: true });
      }
    }
  }
  return { connections, rows, problems, ok: problems.length === 0 };
}

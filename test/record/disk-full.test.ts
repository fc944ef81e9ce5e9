/**
 * A disk that fills up during a real session: the recorder keeps relaying every message, says so
 * once ("cannot write FILE: ENOSPC ..."), exits 3 when stopped, and its summary counts what the
 * archive holds. The disk is a 64 KiB tmpfs mounted for the test, which needs root: CI runs the
 * tests as root, so there a failing mount fails the test; anywhere else the test is skipped.
 */
import { execFileSync } from 'node:child_process';
import { rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FrameEntry } from '../../src/format/schema.js';
import { formatSize } from '../../src/output/units.js';
import { spawnRecorder } from '../helpers/cli.js';
import { openClient, readEntries, startWsServer, tempDir, waitFor } from '../helpers/peers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const isRoot = process.getuid?.() === 0;

/** Mount a tmpfs of `size` on a new temporary folder; throws (loudly) when mount fails. */
function mountTmpfs(size: string): string {
  const dir = tempDir('wstape-full-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '');
    throw new Error(`running as root, but cannot mount a tmpfs on ${dir}: ${stderr || String(error)}`, { cause: error });
  }
  cleanups.push(() => {
    execFileSync('umount', [dir]);
    rmdirSync(dir);
  });
  return dir;
}

describe('a full disk', () => {
  it.skipIf(!isRoot)(
    'ENOSPC mid-session (needs root to mount a tmpfs; skipped otherwise): traffic still relayed, one "cannot write" line, exit 3, summary = the archive',
    { timeout: 30_000 },
    async () => {
      const dir = mountTmpfs('64k');
      // Leave about 24 KiB: the header and the first frames fit, the session's later frames do not.
      writeFileSync(path.join(dir, 'filler'), Buffer.alloc(40 * 1024));
      const file = path.join(dir, 'full.wstape.json');

      const total = 60;
      const message = (from: string, i: number): string => `${from} ${i} ${'x'.repeat(2048)}`;
      const server = await startWsServer({ perMessageDeflate: false });
      const gotByServer: string[] = [];
      server.wss.on('connection', (socket) =>
        socket.on('message', (data) => {
          gotByServer.push(String(data));
          socket.send(message('server', gotByServer.length - 1));
        }),
      );
      const recorder = await spawnRecorder(['--quiet', '--target', server.url, '--out', file]);
      cleanups.push(server.close, () => recorder.child.kill('SIGKILL'));

      const client = await openClient(`ws://127.0.0.1:${recorder.port}/full`, { perMessageDeflate: false });
      const gotByClient: string[] = [];
      client.on('message', (data) => gotByClient.push(String(data)));
      for (let i = 0; i < total; i++) client.send(message('client', i));
      await waitFor(() => gotByClient.length === total, 10_000, 'the client to get every reply');
      // Every message got through both ways, unchanged, though the archive stopped growing.
      expect(gotByServer).toEqual(Array.from({ length: total }, (_, i) => message('client', i)));
      expect(gotByClient).toEqual(Array.from({ length: total }, (_, i) => message('server', i)));
      client.close(1000, 'done');
      await new Promise((resolve) => client.once('close', resolve));

      recorder.child.kill('SIGINT');
      const exit = await recorder.exited;
      expect(exit.code).toBe(3);

      const stderr = recorder.stderr();
      const cannot = stderr.split('\n').filter((line) => line.includes('cannot write'));
      expect(cannot).toHaveLength(1);
      expect(cannot[0]).toMatch(new RegExp(`^wstape: cannot write ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ENOSPC`));

      // The summary counts what the archive holds, and says entries were lost.
      const entries = await readEntries(file);
      const frames = entries.filter((entry): entry is FrameEntry => entry.kind === 'frame');
      expect(frames.length).toBeGreaterThan(0);
      expect(frames.length).toBeLessThan(2 * total + 2);
      const connections = entries.filter((entry) => entry.kind === 'connection').length;
      const bytes = entries.reduce((sum, entry) => sum + (entry.kind === 'end' ? entry.bytesIn + entry.bytesOut : 0), 0);
      const summary =
        /wstape: recorded (\d+) connections?, (\d+) HTTP exchanges?, (\d+) frames?, (.+) to (.+) \(incomplete: (\d+) entr(?:y|ies) not written\)$/m.exec(
          stderr,
        );
      expect(summary, stderr).not.toBeNull();
      const [, conns, exchanges, frameCount, size, to] = summary!;
      expect({ conns: Number(conns), exchanges: Number(exchanges), frames: Number(frameCount), size, to }).toEqual({
        conns: connections,
        exchanges: 0,
        frames: frames.length,
        size: formatSize(bytes),
        to: file,
      });
      // What was archived is the beginning of the session, in order.
      const out = frames.filter((frame) => frame.dir === 'out').map((frame) => frame.text);
      expect(out).toEqual(Array.from({ length: out.length }, (_, i) => message('client', i)));
    },
  );
});

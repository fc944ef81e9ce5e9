/**
 * `wstape record` stops on Ctrl-C at any moment after it says "Ctrl-C stops": the signal handlers
 * are in place before that line is written. Before the fix they went in just after it, so a SIGINT
 * sent the moment the line arrived (as a script or a test does) could meet Node's default action,
 * kill the process, and leave the archive without its trailer.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runRecord } from '../../src/commands/record.js';
import type { Io, OutputStream } from '../../src/io.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('record and Ctrl-C', () => {
  it('has its SIGINT handler installed when it prints "Ctrl-C stops", and a SIGINT then closes the archive', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wstape-signal-'));
    dirs.push(dir);
    const before = process.listenerCount('SIGINT');
    let listenersAtPrompt = -1;
    let stderr = '';
    const stderrStream = {
      isTTY: false,
      write(text: string): boolean {
        stderr += text;
        if (text.includes('Ctrl-C stops') && listenersAtPrompt < 0) {
          listenersAtPrompt = process.listenerCount('SIGINT');
          // What a user's Ctrl-C does the instant the line shows, without waiting a tick.
          process.emit('SIGINT');
        }
        return true;
      },
    } as unknown as OutputStream;
    const io: Io = { stdout: stderrStream, stderr: stderrStream, env: { NO_COLOR: '1' }, cwd: dir };
    const code = await runRecord({ port: '0', host: '127.0.0.1', out: 'a.wstape.json', quiet: true, maxPayload: '16MiB' }, io);
    expect(listenersAtPrompt).toBe(before + 1);
    expect(code).toBe(0);
    expect(process.listenerCount('SIGINT')).toBe(before);
    const archive = JSON.parse(readFileSync(path.join(dir, 'a.wstape.json'), 'utf8')) as { stoppedAt?: string };
    expect(archive.stoppedAt).toMatch(/^\d{4}-/);
    expect(stderr).toMatch(/wstape: recorded 0 connections/);
  });
});

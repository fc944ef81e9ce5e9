/**
 * `record --redact`: secrets never reach the archive, not even split over fragments of a message
 * or inside a handshake, while the peers still get every byte unchanged.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { FrameEntry } from '../../src/format/schema.js';
import { openClient, readEntries, startRecorder, startWsServer, waitFor } from '../helpers/peers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('record --redact', () => {
  it('keeps secrets out of the archive and forwards them untouched', async () => {
    const server = await startWsServer();
    const received: string[] = [];
    let authorization = '';
    server.wss.on('connection', (socket, request) => {
      authorization = request.headers.authorization ?? '';
      socket.on('message', (data) => {
        received.push(String(data));
        socket.send(JSON.stringify({ ok: true, session: 'srv-session-7f3a9c2e' }));
      });
    });
    const recorder = await startRecorder({ target: server.url, redact: true, rule: ['json:^pin$'] });
    cleanups.push(server.close, () => recorder.stop());

    const ws = await openClient(`ws://127.0.0.1:${recorder.port}/login?access_token=tok-abcdef123456`, {
      headers: { Authorization: 'Bearer sk-live-0123456789abcdef' },
    });
    const message = JSON.stringify({ user: 'ada', password: 'correct-horse-battery', pin: 'pin-zq7x' });
    const replies: string[] = [];
    ws.on('message', (data) => replies.push(String(data)));
    // The password is cut across three fragments.
    const cut1 = message.indexOf('correct') + 3;
    const cut2 = message.indexOf('battery') + 2;
    ws.send(message.slice(0, cut1), { fin: false });
    ws.send(message.slice(cut1, cut2), { fin: false });
    ws.send(message.slice(cut2), { fin: true });
    await waitFor(() => replies.length === 1, 5000, 'the reply');
    ws.close(1000, 'bye');
    await waitFor(() => recorder.recorder.totals.bytes > 0, 5000, 'the end');
    await recorder.stop();

    // The peers saw the real values.
    expect(received).toEqual([message]);
    expect(authorization).toBe('Bearer sk-live-0123456789abcdef');
    expect(JSON.parse(replies[0]!)).toMatchObject({ session: 'srv-session-7f3a9c2e' });
    // The archive holds none of them.
    const raw = readFileSync(recorder.path, 'utf8');
    for (const secret of ['correct-horse-battery', 'horse', 'sk-live-0123456789abcdef', 'tok-abcdef123456', 'srv-session-7f3a9c2e', 'pin-zq7x']) {
      expect(raw).not.toContain(secret);
    }
    // And it is still a complete, readable archive with the same frames.
    const entries = await readEntries(recorder.path);
    const out = entries.filter((entry): entry is FrameEntry => entry.kind === 'frame' && entry.dir === 'out' && entry.type !== 'close');
    expect(out.map((frame) => frame.type)).toEqual(['text', 'continuation', 'continuation']);
    expect(JSON.parse(out.map((frame) => frame.text).join(''))).toEqual({ user: 'ada', password: '[REDACTED]', pin: '[REDACTED]' });
  });
});

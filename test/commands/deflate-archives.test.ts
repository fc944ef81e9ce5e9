/**
 * The readers on compressed fragmented messages, in both layouts an archive can hold them
 * (docs/FORMAT.md, permessage-deflate): each fragment's own inflated content (this version,
 * `fragmentInflated: true`) and the whole message on the final frame with empty fragments before
 * it (archives written before per-fragment inflation). Both fixtures were recorded from the same
 * `ws` session by fixtures/archives/make-deflate-fixtures.mjs; every reader must give the same
 * whole messages from either: show --messages, hexdump --raw, redact, export (HAR) and replay.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FrameEntry } from '../../src/format/schema.js';
import { compileIgnores } from '../../src/replay/match.js';
import { MockServer } from '../../src/replay/mock-server.js';
import { loadRecording } from '../../src/replay/recording.js';
import { runCli } from '../helpers/cli.js';
import { captureIo, openClient, readEntries, tempDir, waitFor } from '../helpers/peers.js';

const FIXTURES = new URL('../../fixtures/archives/', import.meta.url).pathname;
const LAYOUTS = {
  'per fragment': path.join(FIXTURES, 'v2-deflate-per-fragment.wstape.json'),
  'whole message on the final frame (older archives)': path.join(FIXTURES, 'v2-deflate-whole-message.wstape.json'),
};

/** What the session's peers sent (make-deflate-fixtures.mjs), message by message. */
const SENT = {
  out: [
    '{"type":"say","text":"hello hello hello"}',
    '{"type":"say","text":"hello hello hello"}',
    Buffer.from('binary hello binary hello and its end').toString('hex'),
  ],
  in: ['{"type":"reply","part":1,"text":"hello from the server"}', '0001020300010203' + '04050607', '{"type":"reply","part":2,"text":"hello from the server"}'],
};

interface MessageRow {
  dir: 'out' | 'in';
  type: string;
  text?: string;
  data?: string;
  fragments: number;
  compressed?: boolean;
}

const payloadOf = (row: { text?: string; data?: string }): string => row.text ?? Buffer.from(row.data ?? '', 'base64').toString('hex');

async function messages(file: string): Promise<Record<'out' | 'in', string[]>> {
  const result = await runCli(['show', file, '--messages', '--json']);
  expect(result.code, result.stderr).toBe(0);
  const rows = result.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as MessageRow)
    .filter((row) => row.type === 'text' || row.type === 'binary');
  expect(rows.every((row) => row.compressed === true)).toBe(true);
  return { out: rows.filter((row) => row.dir === 'out').map(payloadOf), in: rows.filter((row) => row.dir === 'in').map(payloadOf) };
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('the two layouts of a compressed fragmented message', () => {
  it('tell themselves apart by fragmentInflated on the fragments', async () => {
    const frames = async (file: string) => (await readEntries(file)).filter((entry): entry is FrameEntry => entry.kind === 'frame' && entry.type !== 'close');
    const fresh = await frames(LAYOUTS['per fragment']);
    const older = await frames(LAYOUTS['whole message on the final frame (older archives)']);
    const fragmented = (frame: FrameEntry) => !frame.fin || frame.type === 'continuation';
    expect(fresh.filter(fragmented).every((frame) => frame.fragmentInflated === true)).toBe(true);
    expect(older.some((frame) => frame.fragmentInflated !== undefined)).toBe(false);
    // The older layout: empty fragments, then everything on the final frame.
    const first = older.find((frame) => frame.index === 0)!;
    expect([first.size, first.text]).toEqual([0, '']);
    expect(older.find((frame) => frame.index === 2)!.text).toBe(SENT.out[0]);
    // This layout: each fragment its part.
    expect(fresh.filter((frame) => frame.index <= 2).map((frame) => frame.text)).toEqual(['{"type":"say",', '"text":"hello hello hello"', '}']);
  });
});

describe.each(Object.entries(LAYOUTS))('readers on compressed fragments: %s', (_name, file) => {
  it('show --messages joins them into the messages that were sent', async () => {
    expect(await messages(file)).toEqual(SENT);
  });

  it('hexdump --raw of a binary message gives its bytes', async () => {
    const result = await runCli(['hexdump', file, '--raw', '--dir', 'in']);
    expect(result.code, result.stderr).toBe(0);
    expect(Buffer.from(result.stdout, 'latin1').toString('hex')).toBe(SENT.in[1]);
  });

  it('redact redacts across fragments and keeps the messages whole', async () => {
    const out = path.join(tempDir(), 'redacted.wstape.json');
    const result = await runCli(['redact', file, '--out', out, '--no-defaults', '--rule', 'json:^text$']);
    expect(result.code, result.stderr).toBe(0);
    const redacted = await messages(out);
    expect((await readFile(out, 'utf8')).includes('hello hello hello')).toBe(false);
    for (const text of [...redacted.out.slice(0, 2), redacted.in[0]!, redacted.in[2]!]) {
      const value = (JSON.parse(text) as { text: string }).text;
      expect(value).not.toMatch(/hello/);
    }
    expect(redacted.out[2]).toBe(SENT.out[2]);
    expect(redacted.in[1]).toBe(SENT.in[1]);
  });

  it('export (HAR) lists the whole messages', async () => {
    const result = await runCli(['export', file, '--format', 'har']);
    expect(result.code, result.stderr).toBe(0);
    const har = JSON.parse(result.stdout) as { log: { entries: Array<{ _webSocketMessages?: Array<{ type: string; opcode: number; data: string }> }> } };
    const list = har.log.entries.flatMap((entry) => entry._webSocketMessages ?? []);
    const dataOf = (m: { opcode: number; data: string }) => (m.opcode === 1 ? m.data : Buffer.from(m.data, 'base64').toString('hex'));
    expect(list.filter((m) => m.type === 'send').map(dataOf)).toEqual(SENT.out);
    expect(list.filter((m) => m.type === 'receive').map(dataOf)).toEqual(SENT.in);
  });

  it('replay --as server sends the whole messages, compressed again', async () => {
    const recording = await loadRecording(file, captureIo());
    const mock = new MockServer({ recording, host: '127.0.0.1', port: 0, speed: Infinity, strict: false, rules: compileIgnores([]), maxPayload: 1 << 24 });
    const address = await mock.listen();
    cleanups.push(() => mock.close());
    const ws = await openClient(`ws://127.0.0.1:${address.port}/chat`, { perMessageDeflate: { threshold: 0 } });
    expect(ws.extensions).toContain('permessage-deflate');
    const got: string[] = [];
    ws.on('message', (data, binary) => got.push(binary ? Buffer.from(data as Buffer).toString('hex') : String(data)));
    // The mock plays in lockstep, frame by frame: the client sends the recorded fragments.
    ws.send('{"type":"say",', { fin: false });
    ws.send('"text":"hello hello hello"', { fin: false });
    ws.send('}', { fin: true });
    ws.send(SENT.out[1]!);
    ws.send(Buffer.from('binary hello binary hello'), { fin: false, binary: true });
    ws.send(Buffer.from(' and its end'), { fin: true, binary: true });
    await waitFor(() => got.length === 3, 5000, `the replayed messages (got ${JSON.stringify(got)})`);
    expect(got).toEqual(SENT.in);
    ws.close(1000);
  });
});

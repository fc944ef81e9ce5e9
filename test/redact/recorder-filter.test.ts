/**
 * The engine as the recorder's entry filter (`record --redact`): entries appended in capture
 * order reach the archive redacted and in the same order, a fragmented message once complete,
 * and held entries are written when the recording closes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../src/format/schema.js';
import { Recorder } from '../../src/record/recorder.js';
import { Redactor } from '../../src/redact/redactor.js';
import { defaultRules } from '../../src/redact/rules.js';
import { readEntries, tempDir } from '../helpers/peers.js';
import { connection, end, frame } from '../output/test-archives.js';

describe('Redactor as the Recorder entry filter', () => {
  it('writes redacted entries in capture order; an unfinished message is written at close', async () => {
    const path = join(tempDir(), 'r.wstape.json');
    const recorder = new Recorder({
      path,
      maxPayload: 1024,
      recorderInfo: { mode: 'reverse', listen: '127.0.0.1:0', maxPayload: 1024 },
      redactor: new Redactor(defaultRules()),
    });
    const shown: Entry[] = [];
    recorder.onEntry((entry) => shown.push(entry));
    const text = (index: number, value: string, extra: Parameters<typeof frame>[0] = {}): Entry =>
      frame({ index, text: value, size: Buffer.byteLength(value), wireSize: Buffer.byteLength(value) + 6, ...extra });
    recorder.append(connection('c1', { request: { method: 'GET', target: '/?access_token=qs-secret-1', httpVersion: '1.1', headers: [] } }));
    recorder.append(text(0, '{"password":"split-', { fin: false }));
    expect(shown).toHaveLength(1);
    recorder.append(text(1, 'PING', { type: 'ping', opcode: 9, text: undefined, data: Buffer.from('PING').toString('base64') }));
    recorder.append(text(2, 'secret-2"}', { type: 'continuation', opcode: 0 }));
    expect(shown).toHaveLength(4);
    recorder.append(text(3, '{"token":"never-', { fin: false }));
    recorder.append(end('c1'));
    recorder.append(connection('c2'));
    recorder.append(text(0, '{"secret":"open-at-close', { conn: 'c2', fin: false }));
    recorder.close();

    const raw = readFileSync(path, 'utf8');
    for (const secret of ['qs-secret-1', 'split-', 'secret-2', 'never-', 'open-at-close']) expect(raw).not.toContain(secret);
    const entries = await readEntries(path);
    expect(entries.map((entry) => (entry.kind === 'frame' ? `${entry.conn}#${entry.index}` : entry.kind))).toEqual([
      'connection',
      'c1#0',
      'c1#1',
      'c1#2',
      'c1#3',
      'end',
      'connection',
      'c2#0',
    ]);
    expect(shown).toEqual(entries);
    expect(recorder.totals.frames).toBe(5);
  });
});

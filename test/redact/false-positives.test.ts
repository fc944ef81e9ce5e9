/**
 * What must not be redacted: the detection fixtures (real payloads of many formats) as binary and
 * text frames, the fixture archive and the demo-like chat traffic, random bytes. A `--check` gate
 * that cries wolf gets switched off.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../src/format/schema.js';
import { Redactor, redactEntries } from '../../src/redact/redactor.js';
import { defaultRules } from '../../src/redact/rules.js';
import { FIXTURES, readAll } from '../format/helpers.js';
import { openArchive } from '../../src/format/archive-reader.js';
import { frame } from '../output/test-archives.js';

const DETECT = new URL('../../fixtures/detect/', import.meta.url).pathname;

function binaryFrame(bytes: Buffer): Entry {
  return frame({ type: 'binary', opcode: 2, size: bytes.length, wireSize: bytes.length + 6, text: undefined, data: bytes.toString('base64') });
}

describe('no false positives', () => {
  it.each(readdirSync(DETECT))('fixtures/detect/%s', (name) => {
    const bytes = readFileSync(DETECT + name);
    const redactor = new Redactor(defaultRules());
    const entries: Entry[] = [binaryFrame(bytes)];
    if (bytes.toString('utf8') === bytes.toString('utf8').replace(/\uFFFD/g, '')) {
      entries.push(frame({ size: bytes.length, wireSize: bytes.length + 6, text: bytes.toString('utf8') }));
    }
    const out = entries.flatMap((entry) => redactor.push(entry));
    expect(redactor.summary().rules.filter((rule) => rule.count > 0)).toEqual([]);
    expect(out).toEqual(entries);
  });

  it('the fixture archive', async () => {
    const entries = await readAll(await openArchive(`${FIXTURES}v1-basic.wstape.json`));
    const redactor = new Redactor(defaultRules());
    const out: Entry[] = [];
    for await (const entry of redactEntries(entries, redactor)) out.push(entry);
    expect(redactor.redactedAnything).toBe(false);
    expect(out).toEqual(entries);
  });

  it('random bytes (8 MiB)', () => {
    const redactor = new Redactor(defaultRules());
    const entry = binaryFrame(randomBytes(8 * 1024 * 1024));
    expect(redactor.push(entry)).toEqual([entry]);
  });

  it.each([
    '{"type":"message","room":"general","text":"the token ring network, password managers and secret santa"}',
    '{"model":"gpt-4o","max_tokens":256,"usage":{"prompt_tokens":12,"completion_tokens":40,"total_tokens":52}}',
    '{"access_token_expires_in":3600,"token_type":"Bearer","scope":"read"}',
    'version 1.2.3 at api.example.test, file report.final.pdf',
    '{"session":{"modalities":["text"],"voice":"alloy"},"type":"session.update"}',
    'GET /search?q=tokens&page=2&sort=asc HTTP/1.1',
    'error code=500 in handler',
  ])('%s', (text) => {
    const redactor = new Redactor(defaultRules());
    const entry = frame({ size: Buffer.byteLength(text), text });
    expect(redactor.push(entry)).toEqual([entry]);
  });
});

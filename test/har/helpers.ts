/**
 * Helpers for the HAR tests: export an archive to a parsed HAR, import a HAR object to entries,
 * check a document against the HAR 1.2 schema with a readable failure, and compare entries.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { runExport, type ExportOptions } from '../../src/share/export-archive.js';
import { runImport } from '../../src/har/import-har.js';
import type { Entry } from '../../src/format/schema.js';
import { harSchema } from '../../src/har/har-schema.js';
import type { Har } from '../../src/har/har-types.js';
import { readEntries } from '../helpers/peers.js';
import { fakeIo, type FakeIo } from '../output/test-archives.js';

export function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'wstape-har-'));
}

/** `wstape export FILE --format har` to stdout, parsed. */
export async function exportHar(file: string, options: Partial<ExportOptions> = {}): Promise<{ har: Har; io: FakeIo }> {
  const io = fakeIo();
  expect(await runExport({ file, format: 'har', ...options }, io)).toBe(0);
  return { har: JSON.parse(io.out()) as Har, io };
}

/** `wstape import` of a HAR given as an object (or text), read back through the archive reader. */
export async function importHar(har: unknown, name = 'in.har'): Promise<{ entries: Entry[]; io: FakeIo; path: string }> {
  const dir = scratch();
  const input = join(dir, name);
  writeFileSync(input, typeof har === 'string' ? har : JSON.stringify(har));
  const io = fakeIo();
  const path = join(dir, 'out.wstape.json');
  expect(await runImport({ file: input, out: path }, io)).toBe(0);
  return { entries: await readEntries(path), io, path };
}

/** Assert a document is HAR 1.2, listing every problem on failure. */
export function expectValidHar(document: unknown): void {
  const result = harSchema.safeParse(document);
  const problems = result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  expect(problems).toEqual([]);
}

/** The same value with object keys sorted, for order-insensitive comparison. */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

/** A stable identity for an entry, to pair entries of two archives. */
export function entryKey(entry: Entry): string {
  switch (entry.kind) {
    case 'frame':
      return `frame ${entry.conn} #${entry.index}`;
    case 'end':
      return `end ${entry.conn}`;
    case 'error':
      return `error ${entry.conn ?? '-'} ${entry.code} ${entry.elapsed}`;
    default:
      return `${entry.kind} ${entry.id}`;
  }
}

/** Remove every `_wstape...` field, as a HAR tool that does not know them would keep the file. */
export function stripWstape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripWstape);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([key]) => !key.startsWith('_wstape'))
        .map(([key, inner]) => [key, stripWstape(inner)]),
    );
  }
  return value;
}

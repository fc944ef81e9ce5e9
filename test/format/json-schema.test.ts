import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonSchemaFiles } from '../../src/format/json-schema.js';
import { ARCHIVE_VERSION, archiveSchema, entrySchema } from '../../src/format/schema.js';
import { FIXTURES } from './helpers.js';

const SCHEMA_DIR = new URL('../../schema/', import.meta.url).pathname;

describe('the shipped JSON Schema', () => {
  it.each(jsonSchemaFiles().map((file) => [file.name, file.text]))(
    'schema/%s matches the zod schema (run `npm run schema` after changing schema.ts)',
    (name, text) => {
      expect(readFileSync(join(SCHEMA_DIR, name), 'utf8')).toBe(text);
    },
  );

  it('describes the archive and the entry, with no unrepresentable parts', () => {
    const [archive, entry] = jsonSchemaFiles().map((file) => JSON.parse(file.text) as Record<string, unknown>);
    expect(archive?.type).toBe('object');
    expect(archive?.required).toEqual(expect.arrayContaining(['format', 'version', 'entries', 'stoppedAt', 'summary']));
    expect(Array.isArray(entry?.oneOf)).toBe(true);
  });
});

describe('fixtures', () => {
  it('every complete fixture of the current version matches archiveSchema', () => {
    const names = readdirSync(FIXTURES).filter((name) => name.startsWith(`v${ARCHIVE_VERSION}-`));
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) {
      const document = archiveSchema.parse(JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')));
      for (const entry of document.entries) entrySchema.parse(entry);
    }
  });
});

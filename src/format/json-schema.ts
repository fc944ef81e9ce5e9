/**
 * The JSON Schema files shipped in schema/, generated from the zod schemas in schema.ts so the two
 * cannot drift apart: scripts/write-json-schema.mjs writes them, and a test compares the shipped
 * files with what this module generates now.
 */
import * as z from 'zod';
import { archiveSchema, ARCHIVE_VERSION, entrySchema } from './schema.js';

export interface JsonSchemaFile {
  /** File name under schema/. */
  name: string;
  /** The file's exact contents. */
  text: string;
}

/**
 * Generate the schema files. `io: 'input'` describes what a reader accepts: objects may carry
 * fields this version does not know (later versions add fields; readers ignore them).
 */
export function jsonSchemaFiles(): JsonSchemaFile[] {
  const options = { target: 'draft-2020-12', io: 'input' } as const;
  const archive = titled(
    z.toJSONSchema(archiveSchema, options),
    `wstape archive, version ${ARCHIVE_VERSION}`,
    'A wstape recording once it was closed cleanly. While recording (or after a crash) the file is a prefix of this document, one entry per line; see docs/FORMAT.md.',
  );
  const entry = titled(
    z.toJSONSchema(entrySchema, options),
    `wstape archive entry, version ${ARCHIVE_VERSION}`,
    'One element of an archive\'s "entries" array: one line of the archive file without its leading comma.',
  );
  return [
    { name: `wstape-archive.v${ARCHIVE_VERSION}.schema.json`, text: JSON.stringify(archive, null, 2) + '\n' },
    { name: `wstape-entry.v${ARCHIVE_VERSION}.schema.json`, text: JSON.stringify(entry, null, 2) + '\n' },
  ];
}

/** Put title and description right after $schema, where people reading the file look first. */
function titled(schema: Record<string, unknown>, title: string, description: string): Record<string, unknown> {
  const { $schema, ...rest } = schema;
  return { $schema, title, description, ...rest };
}

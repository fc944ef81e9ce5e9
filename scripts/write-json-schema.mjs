#!/usr/bin/env node
// Writes the JSON Schema files in schema/ from the zod schemas (src/format/schema.ts), through the
// built module dist/format/json-schema.js: `npm run schema` builds first, then runs this.
//
//   node scripts/write-json-schema.mjs [path/to/json-schema.js]
//
// The optional argument points at another build of that module (e.g. one compiled on its own
// into a temporary directory). test/format/json-schema.test.ts fails when the files are stale.
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const modulePath = resolve(process.argv[2] ?? `${root}/dist/format/json-schema.js`);
const { jsonSchemaFiles } = await import(pathToFileURL(modulePath).href);

const outDir = resolve(root, 'schema');
mkdirSync(outDir, { recursive: true });
for (const file of jsonSchemaFiles()) {
  writeFileSync(resolve(outDir, file.name), file.text);
  process.stdout.write(`wrote schema/${file.name}\n`);
}

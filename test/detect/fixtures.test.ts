/**
 * Table-driven over fixtures/detect/: every file there (except the generator, the .proto and the
 * table itself) is listed in expected.json with the context it is judged in and the detection it
 * must give. Regenerate with `node fixtures/detect/make-fixtures.mjs`.
 */

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { detect, isHeartbeat } from '../../src/detect/registry.js';

const DIR = join(import.meta.dirname, '../../fixtures/detect');
const NOT_FIXTURES = new Set(['make-fixtures.mjs', 'chat.proto', 'expected.json']);

interface Expectation {
  type: 'text' | 'binary';
  subprotocol: string | null;
  id: string | null;
  label?: string;
  heartbeat?: boolean;
}

const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as Record<string, Expectation>;
const rows = Object.entries(expected);

describe('fixtures/detect', () => {
  test('every fixture file has an expectation, and every expectation a file', () => {
    const files = readdirSync(DIR)
      .filter((name) => !NOT_FIXTURES.has(name))
      .sort();
    expect(files).toEqual(Object.keys(expected).sort());
  });

  test.each(rows)('%s', (name, want) => {
    const bytes = new Uint8Array(readFileSync(join(DIR, name)));
    const found = detect(bytes, { type: want.type, subprotocol: want.subprotocol });
    expect(found?.id ?? null).toBe(want.id);
    if (want.label !== undefined) expect(found?.label).toBe(want.label);
    expect(isHeartbeat(bytes, { type: want.type, subprotocol: want.subprotocol })).toBe(want.heartbeat === true);
    // The decoded value, when there is one, survives a JSON round trip unchanged.
    if (found?.decoded !== undefined) expect(JSON.parse(JSON.stringify(found.decoded))).toEqual(found.decoded);
  });

  test.each(rows)('%s: the detection is the same with a copy at an offset in a larger buffer', (name, want) => {
    const file = readFileSync(join(DIR, name));
    const backing = new Uint8Array(file.length + 16).fill(0xaa);
    backing.set(file, 7);
    const view = backing.subarray(7, 7 + file.length);
    const context = { type: want.type, subprotocol: want.subprotocol };
    expect(detect(view, context)).toEqual(detect(new Uint8Array(file), context));
  });
});

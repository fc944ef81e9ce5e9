/**
 * The README's exit-code table is the user's contract; src/errors.ts is where the numbers live.
 * This test reads the table and fails when the two disagree: a code the README lists that no
 * constant has, a constant or ERROR_CODES exit code the README leaves out.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, EXIT_CODES } from '../src/errors.js';

/** The `| code | meaning |` rows under `## Exit codes`, as numbers. */
function readmeExitCodes(): number[] {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const section = /^## Exit codes\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1];
  if (section === undefined) throw new Error('README.md has no "## Exit codes" section');
  return [...section.matchAll(/^\| (\d+) \|/gm)].map((match) => Number(match[1]));
}

describe('exit codes', () => {
  it('the README table lists exactly the EXIT_* constants, in order', () => {
    expect(readmeExitCodes()).toEqual(Object.values(EXIT_CODES).sort((a, b) => a - b));
  });

  it('every ERROR_CODES exit code is one of the EXIT_* constants', () => {
    const known = new Set<number>(Object.values(EXIT_CODES));
    for (const [code, exit] of Object.entries(ERROR_CODES)) expect(known.has(exit), `${code} → ${exit}`).toBe(true);
  });

  it('the README names each error code next to its exit code', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = /^## Exit codes\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1] ?? '';
    const rows = new Map([...section.matchAll(/^\| (\d+) \| (.*) \|$/gm)].map((m) => [Number(m[1]), m[2] ?? '']));
    for (const [code, exit] of Object.entries(ERROR_CODES)) expect(rows.get(exit) ?? '', `${code} in the row for ${exit}`).toContain(code);
  });
});

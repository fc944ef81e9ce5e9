/**
 * The package exports the hook contract's types (package.json "exports" → dist/index.d.ts), so a
 * user's hooks file typechecks against them. A TypeScript file that imports them is compiled with
 * the project's own tsc: a good script passes, one that breaks the contract fails.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url).pathname;
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');

function typecheck(source: string): { ok: boolean; output: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wstape-types-'));
  writeFileSync(path.join(dir, 'hooks.ts'), source.replace('WSTAPE', path.join(ROOT, 'dist/index.js')));
  try {
    execFileSync(
      process.execPath,
      [TSC, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--skipLibCheck', path.join(dir, 'hooks.ts')],
      {
        encoding: 'utf8',
      },
    );
    return { ok: true, output: '' };
  } catch (error) {
    return { ok: false, output: String((error as { stdout?: string }).stdout ?? error) };
  }
}

describe('the exported hook types', () => {
  it('package.json points at dist/index.d.ts', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { types: string; exports: Record<string, { types: string }> };
    expect(pkg.types).toBe('./dist/index.d.ts');
    expect(pkg.exports['.']!.types).toBe('./dist/index.d.ts');
  });

  it('a script written against them typechecks, and one that breaks the contract does not', () => {
    const good = `import type { Hooks } from 'WSTAPE';
export const hooks: Hooks = {
  onMessage(message, ctx) {
    if (message.dir === 'in' && message.text?.includes('presence')) return null;
    if (message.type === 'binary') return message.data;
    ctx.send('out', 'hello');
    return { delay: 100 };
  },
  onConnection(connection) {
    return connection.url.endsWith('/admin') ? { refuse: { status: 403 } } : undefined;
  },
};
`;
    expect(typecheck(good)).toEqual({ ok: true, output: '' });
    const bad = `import type { Hooks } from 'WSTAPE';
export const hooks: Hooks = { onMessage: (message) => message.index };
`;
    const result = typecheck(bad);
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/not assignable/);
  });
});

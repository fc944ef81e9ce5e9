/**
 * loadScripts on real files in a temporary folder: named exports, a default export, several
 * scripts in order, and each way a script cannot be used (one ERR_USAGE line, no stack).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCliError } from '../../src/errors.js';
import { HOOK_NAMES } from '../../src/intervene/hooks.js';
import { loadScripts } from '../../src/intervene/scripts.js';
import { fakeContext, textMessage } from './helpers.js';

let dir: string;
let counter = 0;

/** Write a script under a fresh name (a module is cached by its URL) and return that name. */
async function script(source: string, extension = '.mjs'): Promise<string> {
  counter += 1;
  const name = `script-${counter}${extension}`;
  await writeFile(join(dir, name), source);
  return name;
}

async function loadError(paths: string[]): Promise<Error> {
  try {
    await loadScripts(paths, dir);
  } catch (error) {
    expect(isCliError(error) && error.code).toBe('ERR_USAGE');
    return error as Error;
  }
  throw new Error('loadScripts did not fail');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wstape-scripts-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadScripts', () => {
  it('takes the named hook exports, named by the path as given, by script', async () => {
    const name = await script(`
      export function onMessage(message) { return message.text.toUpperCase(); }
      export const onControl = () => null;
      export const helper = 42;
    `);
    const [loaded, ...more] = await loadScripts([name], dir);
    expect(more).toEqual([]);
    expect(loaded).toMatchObject({ name, by: 'script' });
    expect(Object.keys(loaded?.hooks ?? {}).sort()).toEqual(['onControl', 'onMessage']);
    expect(await loaded?.hooks.onMessage?.(textMessage('in', 'hi'), fakeContext())).toBe('HI');
  });

  it('takes the same names on the default export, keeping its this', async () => {
    const name = await script(`
      export default {
        suffix: '!',
        onMessage(message) { return message.text + this.suffix; },
        async onRequest() { return { response: { status: 204 } }; },
      };
    `);
    const [loaded] = await loadScripts([name], dir);
    expect(Object.keys(loaded?.hooks ?? {}).sort()).toEqual(['onMessage', 'onRequest']);
    expect(await loaded?.hooks.onMessage?.(textMessage('in', 'hi'), fakeContext())).toBe('hi!');
  });

  it('prefers a named export to the default export of the same name', async () => {
    const name = await script(`
      export const onMessage = () => 'named';
      export default { onMessage: () => 'default', onConnection: () => undefined };
    `);
    const [loaded] = await loadScripts([name], dir);
    expect(await loaded?.hooks.onMessage?.(textMessage('in', 'x'), fakeContext())).toBe('named');
    expect(loaded?.hooks.onConnection).toBeTypeOf('function');
  });

  it('loads several, in order, from paths relative to cwd or absolute', async () => {
    await mkdir(join(dir, 'sub'), { recursive: true });
    await writeFile(join(dir, 'sub', 'b.mjs'), `export const onResponse = () => undefined;`);
    const a = await script(`export const onMessage = () => undefined;`);
    const absolute = join(dir, 'sub', 'b.mjs');
    const loaded = await loadScripts([a, 'sub/b.mjs', absolute], dir);
    expect(loaded.map((hooks) => hooks.name)).toEqual([a, 'sub/b.mjs', absolute]);
  });

  it('loads a CommonJS .js file through its default export', async () => {
    await mkdir(join(dir, 'cjs'), { recursive: true });
    await writeFile(join(dir, 'cjs', 'package.json'), '{"type": "commonjs"}');
    await writeFile(join(dir, 'cjs', 'hooks.js'), `module.exports = { onMessage: () => null };`);
    const [loaded] = await loadScripts(['cjs/hooks.js'], dir);
    expect(loaded?.hooks.onMessage?.(textMessage('in', 'x'), fakeContext())).toBeNull();
  });

  it('gives [] for no scripts', async () => {
    expect(await loadScripts([], dir)).toEqual([]);
  });

  it('refuses a file that does not exist', async () => {
    expect((await loadError(['missing.mjs'])).message).toBe('--script missing.mjs: no such file');
  });

  it('refuses a folder', async () => {
    await mkdir(join(dir, 'folder.mjs'), { recursive: true });
    expect((await loadError(['folder.mjs'])).message).toBe('--script folder.mjs: not a file');
  });

  it('refuses a module with a syntax error, with the first line of the error and no stack', async () => {
    const name = await script(`export function onMessage( {\n  return 1;\n}\n`);
    const { message } = await loadError([name]);
    expect(message).toMatch(new RegExp(`^--script ${name}: cannot load it: SyntaxError: \\S`));
    expect(message).not.toContain('\n');
  });

  it('says to compile a TypeScript file that Node cannot import', async () => {
    const name = await script(`export const onMessage = (m: unknown): undefined => undefined;`, '.ts');
    let loaded: unknown;
    try {
      loaded = await loadScripts([name], dir);
    } catch (error) {
      expect(isCliError(error) && error.message).toBe(
        `--script ${name}: cannot load it: Node cannot import .ts files; compile it to .mjs first (e.g. with tsc)`,
      );
      return;
    }
    // A Node that strips types (22.18 and later) runs it: then it loads like any module.
    expect(loaded).toHaveLength(1);
  });

  it('refuses a module that throws while it loads', async () => {
    const name = await script(`throw new TypeError('no config\\nsecond line');\nexport const onMessage = () => {};`);
    expect((await loadError([name])).message).toBe(`--script ${name}: cannot load it: TypeError: no config`);
  });

  it('refuses a module that throws something that is not an Error', async () => {
    const name = await script(`throw 'oops';\nexport const onMessage = () => {};`);
    expect((await loadError([name])).message).toBe(`--script ${name}: cannot load it: it threw oops`);
  });

  it.each<[string, string]>([
    ['export const onMessage = 42;', 'its export onMessage is a number, not a function'],
    ['export const onControl = null;', 'its export onControl is null, not a function'],
    ['export default { onRequest: "x" };', 'its default export onRequest is a string, not a function'],
    ['export const onResponse = {}; export const onMessage = () => {};', 'its export onResponse is an object, not a function'],
  ])('refuses a hook name that is not a function: %s', async (source, why) => {
    const name = await script(source);
    expect((await loadError([name])).message).toBe(`--script ${name}: ${why}`);
  });

  it.each([['export const onmessage = () => {};'], ['export default function onMessage() {}'], ['export default 5;'], ['']])(
    'refuses a module that exports none of the hook names: %j',
    async (source) => {
      const name = await script(source);
      const { message } = await loadError([name]);
      expect(message).toBe(`--script ${name}: it exports none of ${HOOK_NAMES.join(', ')} (as named exports or on its default export), so it would do nothing`);
    },
  );

  it('stops at the first script that cannot be used', async () => {
    const good = await script(`export const onMessage = () => {};`);
    expect((await loadError([good, 'missing.mjs'])).message).toMatch(/^--script missing\.mjs: /);
  });
});

/**
 * Loading `--script` modules: each is an ES module (.mjs, .js; a .ts file compiled by the user)
 * imported from its file URL, whose hooks are the exports named in HOOK_NAMES, or the same names
 * on its default export. A script that cannot be used stops the command before anything starts,
 * with one line that says why (a missing file, a syntax error, a hook that is not a function).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { cliError, type CliError } from '../errors.js';
import { HOOK_NAMES, type Hooks, type NamedHooks } from './hooks.js';

/**
 * Load each script, in order (hooks chain in this order). `paths` are as the user gave them,
 * relative to `cwd`; each NamedHooks is named by its path as given. Throws CliError ERR_USAGE.
 */
export async function loadScripts(paths: readonly string[], cwd: string): Promise<NamedHooks[]> {
  const loaded: NamedHooks[] = [];
  for (const given of paths) loaded.push({ hooks: await loadScript(given, cwd), name: given, by: 'script' });
  return loaded;
}

async function loadScript(given: string, cwd: string): Promise<Hooks> {
  const fail = (why: string): CliError => cliError('ERR_USAGE', `--script ${given}: ${why}`);
  const file = path.resolve(cwd, given);
  let isFile: boolean;
  try {
    isFile = (await stat(file)).isFile();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw fail(code === 'ENOENT' ? 'no such file' : `cannot read it (${code ?? String(error)})`);
  }
  if (!isFile) throw fail('not a file');
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    throw fail(`cannot load it: ${loadProblem(error, file)}`);
  }
  return hooksOf(namespace, fail);
}

/** The first line of what went wrong while importing, with no stack. */
function loadProblem(error: unknown, file: string): string {
  if (!(error instanceof Error)) return `it threw ${firstLine(String(error))}`;
  const code = (error as NodeJS.ErrnoException).code;
  // Node 20 imports .js and .mjs only; a TypeScript script must be compiled first.
  if (code === 'ERR_UNKNOWN_FILE_EXTENSION')
    return `Node cannot import ${path.extname(file) || 'this kind of'} files; compile it to .mjs first (e.g. with tsc)`;
  return `${error.name}: ${firstLine(error.message)}`;
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? '';
}

/** The hooks among a module's exports: named exports, else the same names on the default export. */
function hooksOf(namespace: Record<string, unknown>, fail: (why: string) => CliError): Hooks {
  const fallback: unknown = namespace.default;
  const hooks: Record<string, unknown> = {};
  for (const name of HOOK_NAMES) {
    let value: unknown = namespace[name];
    let where = 'export';
    if (value === undefined && typeof fallback === 'object' && fallback !== null) {
      value = (fallback as Record<string, unknown>)[name];
      where = 'default export';
    }
    if (value === undefined) continue;
    if (typeof value !== 'function') throw fail(`its ${where} ${name} is ${describe(value)}, not a function`);
    // Bound, so a default export that is an object with methods keeps its `this`.
    hooks[name] = where === 'export' ? value : (value as (...args: unknown[]) => unknown).bind(fallback);
  }
  if (Object.keys(hooks).length === 0) {
    throw fail(`it exports none of ${HOOK_NAMES.join(', ')} (as named exports or on its default export), so it would do nothing`);
  }
  return hooks;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return type === 'object' ? 'an object' : `a ${type}`;
}

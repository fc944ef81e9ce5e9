/**
 * A small JSONPath subset for naming the parts of a JSON payload that replay and diff ignore.
 * An expression is compiled once into a list of steps, then tested against concrete paths (the
 * keys and indexes leading from the document's root to one value) while a payload is walked.
 *
 * Supported syntax (nothing else; filters, slices, unions and negative indexes are refused):
 *
 *   $              the root
 *   .key           an object member (key: anything but . [ ] ' " * ( ) , ? and whitespace)
 *   ['key'] ["key"] an object member by a quoted name (JSON escapes: \' \" \\ \n \uXXXX ...)
 *   [n]            an array element, n >= 0
 *   [*]  .*        any one member or element
 *   ..key ..* ..['key'] ..[n]   recursive descent: the step that follows, at any depth below
 *
 * Matching is exact: `$.a` matches the path ['a'] and not ['a', 'b']. Ignoring a value ignores
 * everything under it, because the walker (match.ts) does not descend into ignored values.
 */
import { cliError, type CliError } from '../errors.js';

/** One element of a concrete path: an object key (string) or an array index (number). */
export type PathSegment = string | number;

type Selector = { kind: 'name'; name: string } | { kind: 'index'; index: number } | { kind: 'any' };

interface Step {
  selector: Selector;
  /** Recursive descent (`..`): the selector may match at any depth below the previous step. */
  descend: boolean;
}

/** A compiled expression; `source` is the text it was compiled from. */
export interface CompiledPath {
  readonly source: string;
  readonly steps: readonly Step[];
}

/** Characters a dotted name (`.key`) may not contain; such keys need `['...']`. */
const NOT_IN_NAME = /[.[\]'"*(),?\s]/;

/**
 * Compile a JSONPath expression of the supported subset (see the file header). Throws CliError
 * ERR_USAGE with a one-line message naming the problem and where it is.
 */
export function compileJsonPath(expression: string): CompiledPath {
  const source = expression;
  const fail = (problem: string): CliError => cliError('ERR_USAGE', `bad JSONPath ${JSON.stringify(source)}: ${problem}`);
  if (!source.startsWith('$')) throw fail('it must start with $ (the root), e.g. $.ts or $.items[*].id');
  const steps: Step[] = [];
  let i = 1;

  /** A name after `.` or `..`, or `*`. */
  const readDotted = (descend: boolean): void => {
    if (source[i] === '*') {
      steps.push({ selector: { kind: 'any' }, descend });
      i += 1;
      return;
    }
    const start = i;
    while (i < source.length && !NOT_IN_NAME.test(source[i] as string)) i += 1;
    if (i === start) {
      const found = i < source.length ? `'${source[i]}'` : 'the end';
      throw fail(`expected a name after '${descend ? '..' : '.'}' at character ${i + 1}, found ${found} (quote unusual names: ['a b'])`);
    }
    steps.push({ selector: { kind: 'name', name: source.slice(start, i) }, descend });
  };

  /** `[...]` starting at the `[`. */
  const readBracket = (descend: boolean): void => {
    const open = i;
    i += 1;
    skipSpaces();
    const c = source[i];
    let selector: Selector;
    if (c === undefined) throw fail(`missing ']' for the '[' at character ${open + 1}`);
    if (c === '*') {
      selector = { kind: 'any' };
      i += 1;
    } else if (c === "'" || c === '"') {
      selector = { kind: 'name', name: readQuoted(c) };
    } else if (/[0-9]/.test(c)) {
      const start = i;
      while (i < source.length && /[0-9]/.test(source[i] as string)) i += 1;
      const index = Number(source.slice(start, i));
      if (!Number.isSafeInteger(index)) throw fail(`index too large at character ${start + 1}`);
      selector = { kind: 'index', index };
    } else if (c === '-') {
      throw fail(`negative indexes are not supported (character ${i + 1})`);
    } else if (c === '?' || c === ':' || c === '(') {
      throw fail(`filters and slices are not supported (character ${i + 1}); use [n], [*] or ['name']`);
    } else {
      throw fail(`expected a number, * or a quoted name after '[' at character ${i + 1}`);
    }
    skipSpaces();
    if (source[i] === ',' || source[i] === ':') throw fail(`unions and slices are not supported (character ${i + 1})`);
    if (source[i] !== ']') throw fail(`missing ']' for the '[' at character ${open + 1}`);
    i += 1;
    steps.push({ selector, descend });
  };

  /** A quoted name starting at its opening quote; JSON escapes, plus \' in single quotes. */
  const readQuoted = (quote: string): string => {
    const start = i;
    i += 1;
    let raw = '';
    for (;;) {
      const c = source[i];
      if (c === undefined) throw fail(`unterminated quoted name starting at character ${start + 1}`);
      if (c === quote) break;
      if (c === '\\') {
        const next = source[i + 1];
        if (next === undefined) throw fail(`unterminated quoted name starting at character ${start + 1}`);
        // \' is not a JSON escape; everything else is handed to JSON.parse as written.
        raw += next === "'" ? "'" : c + next;
        i += 2;
        continue;
      }
      raw += c === '"' ? '\\"' : c;
      i += 1;
    }
    i += 1;
    try {
      return JSON.parse(`"${raw}"`) as string;
    } catch {
      throw fail(`bad escape or control character in the quoted name starting at character ${start + 1}`);
    }
  };

  const skipSpaces = (): void => {
    while (source[i] === ' ') i += 1;
  };

  while (i < source.length) {
    const c = source[i];
    if (c === '.') {
      if (source[i + 1] === '.') {
        i += 2;
        if (source[i] === '[') readBracket(true);
        else readDotted(true);
      } else {
        i += 1;
        readDotted(false);
      }
    } else if (c === '[') {
      readBracket(false);
    } else {
      throw fail(`unexpected '${c}' at character ${i + 1}; expected '.' or '['`);
    }
  }
  return { source, steps };
}

function selectorMatches(selector: Selector, segment: PathSegment): boolean {
  switch (selector.kind) {
    case 'any':
      return true;
    case 'name':
      return typeof segment === 'string' && segment === selector.name;
    case 'index':
      return typeof segment === 'number' && segment === selector.index;
  }
}

/**
 * Does this concrete path (e.g. `['items', 3, 'id']`; strings are object keys, numbers array
 * indexes) match the compiled expression exactly? `$.a` matches `['a']`, not `['a', 'b']`.
 */
export function pathMatches(path: ReadonlyArray<PathSegment>, compiled: CompiledPath): boolean {
  const { steps } = compiled;
  // Backtracking over `..` steps; remembering dead ends keeps it linear in steps x path length.
  const dead = new Set<number>();
  const width = path.length + 1;
  const from = (stepIndex: number, pathIndex: number): boolean => {
    if (stepIndex === steps.length) return pathIndex === path.length;
    const key = stepIndex * width + pathIndex;
    if (dead.has(key)) return false;
    const step = steps[stepIndex] as Step;
    let found = false;
    if (step.descend) {
      for (let k = pathIndex; k < path.length && !found; k++) {
        found = selectorMatches(step.selector, path[k] as PathSegment) && from(stepIndex + 1, k + 1);
      }
    } else {
      found = pathIndex < path.length && selectorMatches(step.selector, path[pathIndex] as PathSegment) && from(stepIndex + 1, pathIndex + 1);
    }
    if (!found) dead.add(key);
    return found;
  };
  return from(0, 0);
}

const PLAIN_NAME = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * A concrete path as JSONPath text: `$.user.name`, `$.items[2]`, `$["a b"]`. Compiling the result
 * gives an expression that matches exactly this path.
 */
export function formatJsonPath(path: ReadonlyArray<PathSegment>): string {
  let out = '$';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (PLAIN_NAME.test(segment)) out += `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/**
 * The one line a mistyped command or option gets instead of yargs's usage dump:
 *
 *   wstape: unknown option --dirr: did you mean --dir? See wstape show --help
 *   wstape: unknown command shwo: did you mean show? See wstape --help
 *
 * yargs says only that something failed, in English meant for people; we never match on its
 * wording. Instead the entry point asks here, with the argv and the command's own definition, what
 * was mistyped: the options a command knows are read by running its yargs builder against a
 * stand-in that records `.option()` and `.positional()` calls (and `.command()` for subcommands,
 * as `wstape ca regen`), and the nearest known name is the one within an edit distance of 2.
 * No I/O.
 */
import type { CommandModule } from 'yargs';

/** Options every command accepts (yargs's own). */
const GLOBAL_OPTIONS = ['help', 'h', 'version'];
/** The farthest a typo may be from the name it suggests. */
const MAX_DISTANCE = 2;

/**
 * The optimal string alignment distance (Damerau-Levenshtein with adjacent transpositions): the
 * fewest insertions, deletions, substitutions and swaps of neighbours that turn `a` into `b`.
 */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const row = rows[i]!;
      const above = rows[i - 1]!;
      row[j] = Math.min(above[j]! + 1, row[j - 1]! + 1, above[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, rows[i - 2]![j - 2]! + 1);
    }
  }
  return rows[a.length]![b.length]!;
}

/** The candidate nearest to `word` within MAX_DISTANCE (the first of equals), or undefined. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = MAX_DISTANCE + 1;
  for (const candidate of candidates) {
    const distance = editDistance(word, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** What a command's builder declares: its option names (aliases included) and its subcommands. */
interface Declared {
  options: Set<string>;
  subcommands: Map<string, CommandModule>;
}

/** The first word of a yargs command string: `regen [--yes]` → `regen`. */
function commandName(command: CommandModule['command']): string | undefined {
  const first: unknown = Array.isArray(command) ? (command as unknown[])[0] : command;
  return typeof first === 'string' ? first.split(' ')[0] : undefined;
}

function addNames(into: Set<string>, name: unknown, settings: unknown): void {
  if (typeof name === 'string') into.add(name);
  const alias = (settings as { alias?: unknown } | undefined)?.alias;
  for (const item of Array.isArray(alias) ? alias : [alias]) if (typeof item === 'string') into.add(item);
}

/** Run a builder against a stand-in that records declarations and answers every call with itself. */
function declaredBy(module: CommandModule): Declared {
  const declared: Declared = { options: new Set(), subcommands: new Map() };
  const record = (method: string, args: unknown[]): void => {
    if (method === 'option' || method === 'positional') {
      if (typeof args[0] === 'object' && args[0] !== null) for (const [name, settings] of Object.entries(args[0])) addNames(declared.options, name, settings);
      else addNames(declared.options, args[0], args[1]);
    } else if (method === 'options') {
      for (const [name, settings] of Object.entries((args[0] ?? {}) as Record<string, unknown>)) addNames(declared.options, name, settings);
    } else if (method === 'command' && typeof args[0] === 'object' && args[0] !== null) {
      const sub = args[0] as CommandModule;
      const name = commandName(sub.command);
      if (name !== undefined) declared.subcommands.set(name, sub);
    }
  };
  const standIn: object = new Proxy(
    {},
    {
      get: (_target, method) => {
        return (...args: unknown[]) => {
          if (typeof method === 'string') record(method, args);
          return standIn;
        };
      },
    },
  );
  const builder = module.builder;
  try {
    if (typeof builder === 'function') (builder as (yargs: unknown) => unknown)(standIn);
    else if (builder !== undefined) for (const [name, settings] of Object.entries(builder)) addNames(declared.options, name, settings);
  } catch {
    // A builder that needs more than chaining: suggest from what it declared before that.
  }
  return declared;
}

/** `ignore-case` → `ignoreCase`: yargs accepts both spellings of every option. */
function camelCase(name: string): string {
  return name.replace(/-([a-z])/g, (_match, letter: string) => letter.toUpperCase());
}

/** The option names in argv, as typed (`--dir=in` → `dir`, `-if` → `i`, `f`), up to `--`. */
export function optionsIn(argv: readonly string[]): Array<{ name: string; typed: string }> {
  const found: Array<{ name: string; typed: string }> = [];
  for (const word of argv) {
    if (word === '--') break;
    if (word.startsWith('--')) {
      const name = word.slice(2).split('=')[0] ?? '';
      if (name !== '') found.push({ name, typed: `--${name}` });
    } else if (/^-[A-Za-z]/.test(word)) {
      for (const letter of word.slice(1).split('=')[0] ?? '') found.push({ name: letter, typed: `-${letter}` });
    }
  }
  return found;
}

/** A command as the suggestions need it: its words (`ca regen`), names and aliases. */
export interface SuggestCommand {
  name: string;
  aliases?: readonly string[];
}

/**
 * The one line (without `wstape: `) for a usage failure: an unknown command or option with the
 * nearest known name, else yargs's message made one line; each ends by pointing at the `--help`
 * of the command that was meant. `module` is the loaded module of `argv[0]`'s command, if any.
 */
export function usageLine(argv: readonly string[], message: string, commands: readonly SuggestCommand[], module?: CommandModule): string {
  const words = argv.filter((word) => !word.startsWith('-'));
  let known = new Set(GLOBAL_OPTIONS);
  let help = 'wstape --help';
  if (module === undefined) {
    const first = argv[0];
    if (first !== undefined && !first.startsWith('-')) {
      const names = commands.flatMap((command) => [command.name, ...(command.aliases ?? [])]);
      const guess = nearest(first, names);
      return `unknown command ${first}${guess !== undefined ? `: did you mean ${guess}?` : '.'} See ${help}`;
    }
  } else {
    let declared = declaredBy(module);
    const path = [words[0] ?? ''];
    // A subcommand named next (`ca regen`) brings its own options and its own --help.
    const next = words[1];
    const sub = next !== undefined ? declared.subcommands.get(next) : undefined;
    if (sub !== undefined) {
      path.push(next as string);
      const inner = declaredBy(sub);
      declared = { options: new Set([...declared.options, ...inner.options]), subcommands: inner.subcommands };
    }
    known = new Set([...known, ...declared.options]);
    help = `wstape ${path.join(' ')} --help`;
  }
  const accepted = new Set([...known, ...[...known].map(camelCase)]);
  const unknown = optionsIn(argv).find((option) => !accepted.has(option.name));
  if (unknown !== undefined) {
    const guess =
      unknown.name.length > 1
        ? nearest(
            unknown.name,
            [...known].filter((name) => name.length > 1),
          )
        : undefined;
    return `unknown option ${unknown.typed}${guess !== undefined ? `: did you mean --${guess}?` : '.'} See ${help}`;
  }
  const text = message.replace(/\s*\n\s*/g, ' ').trim();
  return /--help\.?$/.test(text) ? text : `${text.replace(/[.:]$/, '')}. See ${help}`;
}

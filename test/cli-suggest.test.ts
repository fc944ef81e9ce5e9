/**
 * Mistyped commands and options: one line on stderr with the nearest known name and the
 * command's own --help, exit code 2 (usage), never yargs's usage dump.
 */
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../src/cli.js';
import { editDistance, nearest, optionsIn, usageLine } from '../src/cli-suggest.js';
import { caCommand } from '../src/commands/ca.js';
import { listCommand } from '../src/commands/list.js';
import { showCommand } from '../src/commands/show.js';
import type { CommandModule } from 'yargs';
import { runCli } from './helpers/cli.js';

const show = showCommand as unknown as CommandModule;

describe('edit distance', () => {
  it.each([
    ['dir', 'dir', 0],
    ['dirr', 'dir', 1],
    ['dri', 'dir', 1],
    ['ignroe-case', 'ignore-case', 1],
    ['follw', 'follow', 1],
    ['kitten', 'sitting', 3],
    ['', 'abc', 3],
  ])('%s -> %s is %i', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
    expect(editDistance(b, a)).toBe(distance);
  });

  it('suggests the nearest name within 2 edits, and nothing farther', () => {
    expect(nearest('jsno', ['json', 'messages'])).toBe('json');
    expect(nearest('xyzzy', ['json', 'messages'])).toBeUndefined();
  });
});

describe('usageLine', () => {
  it('reads option names from argv as typed', () => {
    expect(optionsIn(['show', 'f', '--dir=in', '-if', '--', '--not-an-option'])).toEqual([
      { name: 'dir', typed: '--dir' },
      { name: 'i', typed: '-i' },
      { name: 'f', typed: '-f' },
    ]);
  });

  it.each<[string[], CommandModule | undefined, string]>([
    [['show', 'a.json', '--dirr', 'in'], show, 'unknown option --dirr: did you mean --dir? See wstape show --help'],
    [['show', 'a.json', '--prety-json'], show, 'unknown option --prety-json: did you mean --pretty-json? See wstape show --help'],
    [['show', 'a.json', '--zzzzzz'], show, 'unknown option --zzzzzz. See wstape show --help'],
    [['show', 'a.json', '-Q'], show, 'unknown option -Q. See wstape show --help'],
    [['list', 'a.json', '--hots', 'x'], listCommand as unknown as CommandModule, 'unknown option --hots: did you mean --host? See wstape list --help'],
    [['ca', 'regen', '--yse'], caCommand, 'unknown option --yse: did you mean --yes? See wstape ca regen --help'],
    [['shwo', 'a.json'], undefined, 'unknown command shwo: did you mean show? See wstape --help'],
    [['frobnicate'], undefined, 'unknown command frobnicate. See wstape --help'],
  ])('%j', (argv, module, line) => {
    expect(usageLine(argv, 'whatever yargs said', COMMANDS, module)).toBe(line);
  });

  it('accepts known options in both spellings and aliases, and then passes the failure on as one line', () => {
    const line = usageLine(['show', 'a.json', '--ignoreCase', '-i', '-f', '--hide-heartbeats'], 'Invalid values:\n  Argument: dir', COMMANDS, show);
    expect(line).toBe('Invalid values: Argument: dir. See wstape show --help');
  });
});

describe('the CLI', () => {
  it.each([
    [['show', 'a.json', '--dirr', 'in'], 'wstape: unknown option --dirr: did you mean --dir? See wstape show --help'],
    [['shwo', 'a.json'], 'wstape: unknown command shwo: did you mean show? See wstape --help'],
    [['hexdump', 'a.json', '--indx', '4'], 'wstape: unknown option --indx: did you mean --index? See wstape hexdump --help'],
    [['show', 'a.json', '--dir', 'up'], 'wstape: Invalid values: Argument: dir, Given: "up", Choices: "out", "in". See wstape show --help'],
  ])('%j: one line, exit 2', async (argv, line) => {
    const result = await runCli(argv);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`${line}\n`);
    expect(result.stdout).toBe('');
  });
});

/**
 * addInterventionOptions on a stand-in command with a FILE positional (as replay has): argv to
 * options, repeated flags as lists that never swallow the positional, --hook-timeout, and
 * interventionHooks turning the options into the chain of NamedHooks.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yargs, { type Argv, type CommandModule } from 'yargs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addInterventionOptions, hookTimeoutMs, interventionHooks, type InterventionOptions } from '../../src/commands/intervention-options.js';
import { isCliError } from '../../src/errors.js';
import { FLAG_OPTIONS } from '../../src/intervene/flags.js';
import { parseCommand } from '../helpers/argv.js';

type Options = InterventionOptions & { file: string };

const command: CommandModule<object, Options> = {
  command: 'play <file>',
  builder: (y: Argv) => addInterventionOptions(y.positional('file', { type: 'string', demandOption: true })),
  handler: () => undefined,
};

async function parse(argv: string[]): Promise<Options> {
  return parseCommand(command, ['play', ...argv]);
}

describe('addInterventionOptions: argv -> options', () => {
  it.each<[string[], Partial<Options>]>([
    [['a.json'], { file: 'a.json', hookTimeout: 5 }],
    [['a.json', '--drop', 'in'], { drop: ['in'] }],
    [['a.json', '--drop', 'in', '--drop', 'out pong'], { drop: ['in', 'out pong'] }],
    [['--drop', 'in', 'a.json'], { file: 'a.json', drop: ['in'] }],
    [['--drop', 'in', 'a.json', '--delay', 'in 1s'], { file: 'a.json', drop: ['in'], delay: ['in 1s'] }],
    [['a.json', '--replace', 'in /a,b/c/g'], { replace: ['in /a,b/c/g'] }],
    [['a.json', '--set', 'in $.a=1'], { set: ['in $.a=1'] }],
    [['a.json', '--set=in $.a="x y"'], { set: ['in $.a="x y"'] }],
    [['a.json', '--close-after', 'in 5 1011 going away'], { closeAfter: ['in 5 1011 going away'] }],
    [['a.json', '--close-on', 'in /fatal/'], { closeOn: ['in /fatal/'] }],
    [['a.json', '--abort-after', 'out 3'], { abortAfter: ['out 3'] }],
    [['a.json', '--abort-on', 'in /crash/'], { abortOn: ['in /crash/'] }],
    [['a.json', '--inject-on', 'in /welcome/ out {"type":"subscribe"}'], { injectOn: ['in /welcome/ out {"type":"subscribe"}'] }],
    [['a.json', '--inject-at', '2s in {"type":"kick"}'], { injectAt: ['2s in {"type":"kick"}'] }],
    [['a.json', '--script', 'a.mjs', '--script', 'b.mjs'], { script: ['a.mjs', 'b.mjs'] }],
    [['--script', 'a.mjs', 'a.json'], { file: 'a.json', script: ['a.mjs'] }],
    [['a.json', '--hook-timeout', '0.5'], { hookTimeout: 0.5 }],
  ])('%j', async (argv, expected) => {
    expect(await parse(argv)).toMatchObject(expected);
  });

  it('leaves the flags out when none is given', async () => {
    const options = await parse(['a.json']);
    for (const field of ['script', ...Object.keys(FLAG_OPTIONS)]) expect(options[field as keyof Options]).toBeUndefined();
  });

  it('adds every flag of FLAG_OPTIONS', async () => {
    const argv = Object.values(FLAG_OPTIONS).flatMap((option) => [`--${option}`, 'x']);
    const options = await parse(['a.json', ...argv]);
    for (const field of Object.keys(FLAG_OPTIONS)) expect(options[field as keyof typeof FLAG_OPTIONS]).toEqual(['x']);
  });

  it('describes each option in --help', async () => {
    let help = '';
    await yargs()
      .command(command)
      .exitProcess(false)
      .wrap(null)
      .parseAsync(['play', '--help'], {}, (_error, _argv, output) => {
        help = output;
      });
    for (const option of ['script', 'hook-timeout', ...Object.values(FLAG_OPTIONS)]) expect(help).toMatch(new RegExp(`--${option} +\\S`));
  });
});

describe('hookTimeoutMs', () => {
  it.each([
    [5, 5000],
    [0.25, 250],
  ])('%d s is %d ms', (seconds, ms) => {
    expect(hookTimeoutMs(seconds)).toBe(ms);
  });

  it.each([[0], [-1], [Number.NaN], [Number.POSITIVE_INFINITY]])('refuses %d', (seconds) => {
    expect(() => hookTimeoutMs(seconds)).toThrow(expect.objectContaining({ code: 'ERR_USAGE' }));
  });
});

describe('interventionHooks', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wstape-scripts-'));
    await writeFile(join(dir, 'a.mjs'), 'export const onMessage = () => undefined;');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('nothing asked: no hooks', async () => {
    expect(await interventionHooks({ hookTimeout: 5 }, dir)).toEqual({ hooks: [], timeoutMs: 5000 });
  });

  it('the scripts in order, then the flags', async () => {
    const { hooks, timeoutMs } = await interventionHooks({ hookTimeout: 2, script: ['a.mjs'], drop: ['in'] }, dir);
    expect(hooks.map(({ name, by }) => [name, by])).toEqual([
      ['a.mjs', 'script'],
      ['flags', 'flag'],
    ]);
    expect(timeoutMs).toBe(2000);
  });

  it('a bad flag is reported before any script loads', async () => {
    const error: unknown = await interventionHooks({ hookTimeout: 5, script: ['missing.mjs'], drop: ['sideways'] }, dir).catch((e: unknown) => e);
    expect(isCliError(error) && error.message).toMatch(/^--drop "sideways": /);
  });
});

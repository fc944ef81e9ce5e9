/**
 * `skipHelpCache` (src/cli.ts) reaches into yargs's internals to stop it laying out a command's
 * help text before every run, which was most of `wstape show`'s start-up work (BENCHMARKS.md,
 * Startup). These tests fail if a yargs upgrade renames what it reaches, so the cost cannot come
 * back unnoticed, and check that `--help` is still the full text.
 */
import yargs, { type Argv } from 'yargs';
import { describe, expect, it } from 'vitest';
import { skipHelpCache } from '../src/cli.js';
import { runCli } from './helpers/cli.js';

interface UsageInternals {
  hasCachedHelpMessage(): boolean;
}

function usageOf(parser: Argv): UsageInternals {
  return (parser as unknown as { getInternalMethods(): { getUsageInstance(): UsageInternals } }).getInternalMethods().getUsageInstance();
}

function parserWithCommand(): Argv {
  return yargs(['go', '--n', '3']).command({ command: 'go', describe: 'a command', builder: (y) => y.option('n', { type: 'number' }), handler: () => {} });
}

describe('the help-text cache', () => {
  it('yargs caches the help text before a command runs (what the fix works around)', async () => {
    const parser = parserWithCommand();
    await parser.parseAsync();
    expect(usageOf(parser).hasCachedHelpMessage()).toBe(true);
  });

  it('skipHelpCache stops it', async () => {
    const parser = parserWithCommand();
    skipHelpCache(parser);
    const parsed = await parser.parseAsync();
    expect(parsed.n).toBe(3);
    expect(usageOf(parser).hasCachedHelpMessage()).toBe(false);
  });

  it('a command’s --help is still the whole text', async () => {
    const result = await runCli(['show', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^wstape show <file>/);
    for (const option of ['--dir', '--type', '--grep', '--json', '--follow']) expect(result.stdout).toContain(option);
  });
});

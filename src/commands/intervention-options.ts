/**
 * The options that act on a live session, shared by `wstape record` and `wstape replay`:
 * `--script`, `--hook-timeout` and the intervention flags (--drop, --replace... their syntax is
 * src/intervene/flag-syntax.ts, docs/HOOKS.md is the reference). Each command adds them with
 * addInterventionOptions and turns the parsed options into hooks with interventionHooks.
 */
import type { Argv } from 'yargs';
import { cliError } from '../errors.js';
import { compileFlags, FLAG_OPTIONS, type InterventionFlags } from '../intervene/flags.js';
import { DEFAULT_HOOK_TIMEOUT_MS, type NamedHooks } from '../intervene/hooks.js';
import { loadScripts } from '../intervene/scripts.js';

export type { InterventionFlags } from '../intervene/flags.js';

/** What addInterventionOptions adds to a command's options. */
export interface InterventionOptions extends InterventionFlags {
  script?: string[];
  /** Seconds (default 5). */
  hookTimeout?: number;
}

/** One line of --help per flag; the syntax is docs/HOOKS.md's. */
const FLAG_HELP: Record<keyof InterventionFlags, string> = {
  drop: 'Drop messages that match: "DIR [TYPE] [/REGEX/ | $.path=VALUE]", e.g. "in text /presence/", "in pong" (repeatable)',
  replace: 'Rewrite text messages: "DIR /REGEX/REPLACEMENT/FLAGS", e.g. "in /foo/bar/g" ($1 for groups; repeatable)',
  set: 'Set a JSON field in text messages: "DIR [MATCH] $.path=VALUE", e.g. \'in $.user.name="mallory"\' (repeatable)',
  delay: 'Hold messages back: "DIR [TYPE] [MATCH] TIME[~JITTER]", e.g. "in 200ms", "out 100ms~50ms" (repeatable)',
  closeAfter: 'Close both sides after the Nth matching message: "DIR [TYPE] [MATCH] N [CODE [REASON]]", e.g. "in 5 1011 going away"',
  closeOn: 'Close both sides when a message matches: "DIR [TYPE] [MATCH] [CODE [REASON]]", e.g. "in /fatal/ 1011"',
  abortAfter: 'Drop both TCP connections (peers see 1006) after the Nth matching message: "DIR [TYPE] [MATCH] N", e.g. "out 3"',
  abortOn: 'Drop both TCP connections when a message matches: "DIR [TYPE] [MATCH]", e.g. "in /crash/"',
  injectOn: 'When a message matches, send one: "DIR [TYPE] [MATCH] TO PAYLOAD", e.g. \'in /welcome/ out {"type":"subscribe"}\'',
  injectAt: 'Send a message this long after the connection opened: "TIME TO PAYLOAD", e.g. \'2s in {"type":"kick"}\'',
};

/** A repeatable string option's values as a list: yargs gives one string, or an array when repeated. */
function strings(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  return (Array.isArray(value) ? value : [value]).map((item) => String(item));
}

/**
 * Add --script, --hook-timeout and the intervention flags to a command. The flags are plain
 * string options made into lists (not yargs `array`, which would swallow a positional FILE that
 * follows: `replay --drop in bug.wstape.json`). `omit`: flags a command defines its own way
 * (replay's `--close-after N` and `--abort-after N` count the messages it sends).
 */
export function addInterventionOptions<T>(yargs: Argv<T>, omit: ReadonlyArray<keyof InterventionFlags> = []): Argv<T & InterventionOptions> {
  let result = yargs
    .option('script', {
      type: 'string',
      coerce: strings,
      describe: 'Run the hooks this ES module exports (onConnection, onMessage, onControl, onRequest, onResponse; repeatable, chained in order)',
    })
    .option('hook-timeout', {
      type: 'number',
      default: DEFAULT_HOOK_TIMEOUT_MS / 1000,
      describe: 'Seconds a hook may take before its message is forwarded unchanged (an error entry says so)',
    }) as unknown as Argv<T & InterventionOptions>;
  for (const [field, option] of Object.entries(FLAG_OPTIONS) as Array<[keyof InterventionFlags, string]>) {
    if (omit.includes(field)) continue;
    result = result.option(option, { type: 'string', coerce: strings, describe: FLAG_HELP[field] });
  }
  return result
    .example('$0 record --script hooks.mjs', 'run the hooks in hooks.mjs on every connection')
    .example(`$0 record --drop 'in text /"type":"presence"/' --delay 'out 100ms~50ms'`, 'drop presence updates, add 50-150 ms to what the client sends')
    .example(`$0 record --close-after 'in 5 1011 going away'`, 'close with 1011 after the server has sent 5 messages');
}

/** --hook-timeout in milliseconds; throws ERR_USAGE unless it is a number above 0. */
export function hookTimeoutMs(seconds: number): number {
  if (!Number.isFinite(seconds) || seconds <= 0) throw cliError('ERR_USAGE', `--hook-timeout ${String(seconds)}: expected seconds, more than 0 (default 5)`);
  return Math.round(seconds * 1000);
}

/**
 * The hooks the options ask for, in chain order: each --script, then the flags (none when no
 * flag is given). `cwd` resolves the script paths. Throws CliError ERR_USAGE.
 */
export async function interventionHooks(
  options: Omit<InterventionOptions, 'closeAfter' | 'abortAfter'> & InterventionFlags,
  cwd: string,
): Promise<{ hooks: NamedHooks[]; timeoutMs: number }> {
  const timeoutMs = options.hookTimeout === undefined ? DEFAULT_HOOK_TIMEOUT_MS : hookTimeoutMs(options.hookTimeout);
  // The flags first: a typo in one is reported before a script's top-level code runs.
  const flags = compileFlags(options);
  const scripts = await loadScripts(options.script ?? [], cwd);
  return { hooks: flags ? [...scripts, flags] : scripts, timeoutMs };
}

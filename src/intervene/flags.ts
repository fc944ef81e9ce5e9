/**
 * The intervention flags compiled into one Hooks object (`by: "flag"`, name "flags"), so the
 * common cases need no script: drop, rewrite, delay, close, abort and inject. The syntax is
 * flag-syntax.ts; docs/HOOKS.md ("Flags") is the user's reference.
 *
 * For each message, in this order:
 * 1. the triggers see it as it arrived (dropped or not): --inject-on, then --close-after and
 *    --close-on, then --abort-after and --abort-on. Once the flags have closed or aborted a
 *    connection, no trigger fires on it again.
 * 2. a --drop that matches drops it (nothing after runs);
 * 3. each --replace, then each --set, rewrites a text message, in the order given;
 * 4. the --delay values that match (as it arrived) add up.
 * A message nothing changes is answered `undefined`, so it keeps the relay's byte-exact path.
 *
 * Per-connection state (trigger counts, timers) lives in `ctx.state[FLAGS_STATE]`.
 */
import { cliError } from '../errors.js';
import {
  CONDITION_FORM,
  FlagScanner,
  assignment,
  closeSpec,
  compileRegex,
  condition,
  count,
  duration,
  injection,
  match,
  unescapeReplacement,
  type CloseSpec,
  type Condition,
  type Duration,
  type FrameType,
} from './flag-syntax.js';
import type { ControlFrame, Direction, Hooks, Message, MessageContext, MessageVerdict, NamedHooks } from './hooks.js';
import { getAt, jsonEqual, setAt, valuesAt } from './json-values.js';
import type { PathSegment } from '../replay/jsonpath.js';

/** The flag values as yargs gives them (camelCase; each flag repeatable). */
export interface InterventionFlags {
  drop?: string[];
  replace?: string[];
  set?: string[];
  delay?: string[];
  closeAfter?: string[];
  closeOn?: string[];
  abortAfter?: string[];
  abortOn?: string[];
  injectOn?: string[];
  injectAt?: string[];
}

/** Each field of InterventionFlags and its option name, in the order --help lists them. */
export const FLAG_OPTIONS = {
  drop: 'drop',
  replace: 'replace',
  set: 'set',
  delay: 'delay',
  closeAfter: 'close-after',
  closeOn: 'close-on',
  abortAfter: 'abort-after',
  abortOn: 'abort-on',
  injectOn: 'inject-on',
  injectAt: 'inject-at',
} as const satisfies Record<keyof InterventionFlags, string>;

/** The key of the flags' own entry in ctx.state. */
export const FLAGS_STATE = 'wstape.flags';

type Action = { kind: 'inject'; dir: Direction; payload: string | Uint8Array } | { kind: 'close'; close: CloseSpec } | { kind: 'abort' };

/** Something done when a message matches: every time, or (`after`) once, on the Nth match. */
interface Trigger {
  condition: Condition;
  after?: number;
  action: Action;
}

type Rewrite =
  | { kind: 'replace'; condition: Condition; regex: RegExp; replacement: string }
  | { kind: 'set'; condition: Condition; segments: PathSegment[]; value: unknown };

interface Plan {
  drops: Condition[];
  rewrites: Rewrite[];
  delays: Array<{ condition: Condition; delay: Duration }>;
  triggers: Trigger[];
  timed: Array<{ at: number; dir: Direction; payload: string | Uint8Array }>;
}

interface ConnectionState {
  /** Matches so far, per trigger (by index in plan.triggers). */
  counts: number[];
  /** The flags closed or aborted this connection. */
  ended: boolean;
  /** The --inject-at timers are running. */
  timersStarted: boolean;
}

export interface CompileOptions {
  /** Uniform in [0, 1), for --delay jitter; Math.random by default. */
  random?: () => number;
}

const MESSAGE_TYPES: readonly FrameType[] = ['text', 'binary'];

/**
 * Compile the flags into one Hooks object, or null when none is given, so that a session nobody
 * touches keeps the relay's byte-exact path. Throws CliError ERR_USAGE for a value that does not
 * parse, naming the flag.
 */
export function compileFlags(flags: InterventionFlags, options: CompileOptions = {}): NamedHooks | null {
  const plan: Plan = { drops: [], rewrites: [], delays: [], triggers: [], timed: [] };
  const each = (field: keyof InterventionFlags, parse: (scanner: FlagScanner) => void, hint?: string): void => {
    for (const value of flags[field] ?? []) {
      const scanner = new FlagScanner(String(value), (why) => cliError('ERR_USAGE', `--${FLAG_OPTIONS[field]} ${JSON.stringify(String(value))}: ${why}`));
      if (scanner.atEnd()) throw scanner.fail('empty value');
      parse(scanner);
      scanner.end(hint);
    }
  };
  each('drop', (s) => plan.drops.push(condition(s)), CONDITION_FORM);
  each('replace', (s) => {
    const cond = condition(s, ['text'], false);
    const { parts, flags: regexFlags } = s.slashed(2);
    const regex = compileRegex(s, parts[0] as string, regexFlags);
    plan.rewrites.push({ kind: 'replace', condition: { ...cond, type: 'text' }, regex, replacement: unescapeReplacement(parts[1] as string) });
  });
  each('set', (s) => {
    const cond = condition(s, ['text'], false);
    // `in $.a=1` is the assignment alone; `in $.type=x $.a=1` tests the first and sets the second.
    if (s.peek() === '/') cond.match = match(s, 'text');
    else if (s.peek() === '$') {
      const at = s.mark();
      const first = match(s, 'text');
      if (s.atEnd()) s.reset(at);
      else cond.match = first;
    }
    plan.rewrites.push({ kind: 'set', condition: { ...cond, type: 'text' }, ...assignment(s) });
  });
  each('delay', (s) => plan.delays.push({ condition: condition(s, MESSAGE_TYPES), delay: duration(s, true) }));
  each('injectOn', (s) => plan.triggers.push({ condition: condition(s), action: { kind: 'inject', ...injection(s) } }));
  each('closeAfter', (s) => plan.triggers.push({ condition: condition(s), after: count(s), action: { kind: 'close', close: closeSpec(s) } }));
  each('closeOn', (s) => plan.triggers.push({ condition: condition(s), action: { kind: 'close', close: closeSpec(s) } }));
  each('abortAfter', (s) => plan.triggers.push({ condition: condition(s), after: count(s), action: { kind: 'abort' } }));
  each('abortOn', (s) => plan.triggers.push({ condition: condition(s), action: { kind: 'abort' } }), CONDITION_FORM);
  each('injectAt', (s) => plan.timed.push({ at: duration(s, false).ms, ...injection(s) }));
  const empty = Object.values(plan).every((list: unknown[]) => list.length === 0);
  return empty ? null : { hooks: buildHooks(plan, options.random ?? Math.random), name: 'flags', by: 'flag' };
}

/** One arrived message or control frame; its text and JSON are worked out at most once. */
class Subject {
  private latin1: string | undefined;
  private parsed: { ok: boolean; value?: unknown } | undefined;

  constructor(readonly item: Message | ControlFrame) {}

  /** What a regex is tested on: the text of a text message, else the bytes as latin1. */
  text(): string {
    const { item } = this;
    if (item.type === 'text') return item.text ?? '';
    this.latin1 ??= Buffer.from(item.data?.buffer ?? new ArrayBuffer(0), item.data?.byteOffset ?? 0, item.data?.byteLength ?? 0).toString('latin1');
    return this.latin1;
  }

  /** A text message's JSON; `ok: false` for anything else. */
  json(): { ok: boolean; value?: unknown } {
    if (!this.parsed) {
      try {
        this.parsed = this.item.type === 'text' ? { ok: true, value: JSON.parse(this.item.text ?? '') as unknown } : { ok: false };
      } catch {
        this.parsed = { ok: false };
      }
    }
    return this.parsed;
  }
}

function isControl(condition: Condition): boolean {
  return condition.type === 'ping' || condition.type === 'pong';
}

/** Does the message or frame, as it arrived, meet the condition? */
function conditionMatches(condition: Condition, subject: Subject): boolean {
  const { item } = subject;
  if (!condition.dirs.includes(item.dir)) return false;
  if (condition.type ? item.type !== condition.type : item.type !== 'text' && item.type !== 'binary') return false;
  const { match } = condition;
  if (!match) return true;
  if (match.kind === 'regex') return match.regex.test(subject.text());
  const document = subject.json();
  if (!document.ok) return false;
  const values = valuesAt(document.value, match.path);
  const { equals } = match;
  return equals ? values.some((value) => jsonEqual(value, equals.value)) : values.length > 0;
}

/** The text with the field set, or the text itself when it is not JSON, lacks the parent, or already holds the value. */
function setField(text: string, segments: readonly PathSegment[], value: unknown): string {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    return text;
  }
  const current = getAt(document, segments);
  if (current.found && jsonEqual(current.value, value)) return text;
  return setAt(document, segments, value) ? JSON.stringify(document) : text;
}

/** One delay: fixed, or uniform in [ms - jitter, ms + jitter], never below 0. */
function pick(delay: Duration, random: () => number): number {
  if (delay.jitter === 0) return delay.ms;
  return Math.max(0, Math.round(delay.ms + (random() * 2 - 1) * delay.jitter));
}

function stateOf(ctx: MessageContext, triggers: number): ConnectionState {
  const existing = ctx.state[FLAGS_STATE] as ConnectionState | undefined;
  if (existing) return existing;
  const created: ConnectionState = { counts: new Array<number>(triggers).fill(0), ended: false, timersStarted: false };
  ctx.state[FLAGS_STATE] = created;
  return created;
}

function buildHooks(plan: Plan, random: () => number): Hooks {
  const conditions = [...plan.drops, ...plan.triggers.map((trigger) => trigger.condition)];
  const onControlNeeded = conditions.some(isControl);
  // --inject-at needs onMessage too: it starts the timers if the relay never called onOpen.
  const onMessageNeeded = conditions.some((c) => !isControl(c)) || plan.rewrites.length + plan.delays.length + plan.timed.length > 0;

  const startTimers = (state: ConnectionState, ctx: MessageContext): void => {
    if (state.timersStarted || plan.timed.length === 0) return;
    state.timersStarted = true;
    for (const { at, dir, payload } of plan.timed) {
      const timer = setTimeout(() => {
        if (!state.ended) ctx.send(dir, payload);
      }, at);
      // A pending injection must not keep the process alive once the recorder stops.
      timer.unref();
    }
  };

  const fire = (subject: Subject, ctx: MessageContext, state: ConnectionState): void => {
    plan.triggers.forEach((trigger, index) => {
      if (state.ended || !conditionMatches(trigger.condition, subject)) return;
      const seen = (state.counts[index] ?? 0) + 1;
      state.counts[index] = seen;
      if (trigger.after !== undefined && seen !== trigger.after) return;
      const { action } = trigger;
      if (action.kind === 'inject') {
        ctx.send(action.dir, action.payload);
      } else if (action.kind === 'close') {
        state.ended = true;
        ctx.close(action.close.code, action.close.reason);
      } else {
        state.ended = true;
        ctx.abort();
      }
    });
  };

  const hooks: Hooks = {};
  if (plan.timed.length > 0) {
    hooks.onOpen = (ctx) => startTimers(stateOf(ctx, plan.triggers.length), ctx);
  }
  if (onMessageNeeded) {
    hooks.onMessage = (message, ctx): MessageVerdict => {
      const state = stateOf(ctx, plan.triggers.length);
      startTimers(state, ctx);
      const subject = new Subject(message);
      fire(subject, ctx, state);
      if (plan.drops.some((c) => conditionMatches(c, subject))) return null;
      let text = message.text;
      if (message.type === 'text' && text !== undefined) {
        for (const rewrite of plan.rewrites) {
          if (!conditionMatches(rewrite.condition, subject)) continue;
          if (rewrite.kind === 'replace') {
            // A sticky (y) regex replaces from lastIndex: start each message from 0.
            rewrite.regex.lastIndex = 0;
            text = text.replace(rewrite.regex, rewrite.replacement);
          } else {
            text = setField(text, rewrite.segments, rewrite.value);
          }
        }
      }
      const changed = text !== message.text;
      let delay = 0;
      for (const entry of plan.delays) if (conditionMatches(entry.condition, subject)) delay += pick(entry.delay, random);
      if (delay > 0) return changed ? { delay, payload: text } : { delay };
      return changed ? text : undefined;
    };
  }
  if (onControlNeeded) {
    hooks.onControl = (frame, ctx) => {
      const state = stateOf(ctx, plan.triggers.length);
      startTimers(state, ctx);
      const subject = new Subject(frame);
      fire(subject, ctx, state);
      return plan.drops.some((c) => conditionMatches(c, subject)) ? null : undefined;
    };
  }
  return hooks;
}

/**
 * The fault shorthands of `wstape replay` (docs/HOOKS.md): --abort-after, --close-after
 * (with --close-code and --close-reason), --latency, --no-pong and --slow-read. Pure: parsing is
 * ERR_USAGE on a bad value, and compiling gives one more Hooks entry for the chain (by "flag",
 * named "replay flags") plus the one fault hooks cannot express, the read rate, which the socket
 * owners (mock-server.ts, replay-client.ts) apply.
 */
import { cliError } from '../errors.js';
import type { Direction, Hooks, MessageContext, NamedHooks } from '../intervene/hooks.js';
import { parseSize } from '../record/targets.js';
import { isValidWireCloseCode } from '../wire/close-codes.js';

/** The faults, checked. */
export interface ReplayFaults {
  /** Drop the TCP connection after this many of the replayer's messages were sent. */
  abortAfter?: number;
  /** Close with closeCode and closeReason after this many of the replayer's messages were sent. */
  closeAfter?: number;
  closeCode: number;
  closeReason: string;
  /** Added to each message the replayer sends: `ms`, plus or minus up to `jitterMs` (uniform). */
  latency?: { ms: number; jitterMs: number };
  /** Answer no ping of the live peer's. */
  noPong: boolean;
  /** Read the live peer's bytes at most this fast. */
  slowReadBytesPerSecond?: number;
}

/** The options as yargs gives them (strings, so that every check and message is ours). */
export interface ReplayFaultArgs {
  abortAfter?: unknown;
  closeAfter?: unknown;
  closeCode?: unknown;
  closeReason?: unknown;
  latency?: unknown;
  /** --no-pong given. */
  noPong?: unknown;
  slowRead?: unknown;
}

/** RFC 6455 §5.5: a close frame's payload is 125 bytes at most, 2 of them the code. */
const MAX_CLOSE_REASON_BYTES = 123;
/** The longest latency accepted: an hour (a typo of units should not hang a test for days). */
const MAX_LATENCY_MS = 60 * 60 * 1000;

/** The last value of an option given twice, as text. */
function lastText(value: unknown): string {
  const last: unknown = Array.isArray(value) ? value[value.length - 1] : value;
  return typeof last === 'number' ? String(last) : typeof last === 'string' ? last.trim() : '';
}

/** --abort-after, --close-after: a whole number of messages, 1 or more. */
export function parseMessageCount(value: unknown, flag: string): number {
  const text = lastText(value);
  const count = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(Number.isSafeInteger(count) && count >= 1)) throw cliError('ERR_USAGE', `${flag} must be a whole number of messages, 1 or more, got "${text}"`);
  return count;
}

/** --close-code: a code a close frame may carry (RFC 6455 §7.4: 1000-1003, 1007-1014, 3000-4999). */
export function parseCloseCode(value: unknown): number {
  const text = lastText(value);
  const code = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!isValidWireCloseCode(code)) {
    throw cliError('ERR_USAGE', `--close-code must be a close code a close frame may carry (1000-1003, 1007-1014, 3000-4999), got "${text}"`);
  }
  return code;
}

/** "50", "50ms", "0.5s" → milliseconds. */
function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(text);
  if (!match) throw cliError('ERR_USAGE', `${flag} takes MS[~JITTER] (e.g. 50ms~20ms, 50, 1s), got "${text}"`);
  return Number(match[1]) * (match[2] === 's' ? 1000 : 1);
}

/** --latency MS[~JITTER]: "50ms~20ms" is 30 to 70 ms, uniform; "50" is 50 ms. */
export function parseLatency(value: unknown): { ms: number; jitterMs: number } {
  const text = lastText(value);
  const [base, jitter, extra] = text.split('~');
  if (base === undefined || extra !== undefined) throw cliError('ERR_USAGE', `--latency takes MS[~JITTER] (e.g. 50ms~20ms), got "${text}"`);
  const ms = parseDuration(base.trim(), '--latency');
  const jitterMs = jitter === undefined ? 0 : parseDuration(jitter.trim(), '--latency');
  if (ms > MAX_LATENCY_MS) throw cliError('ERR_USAGE', `--latency ${text} is above an hour`);
  // A jitter above the latency would have to clip at 0, and the spread would no longer be uniform.
  if (jitterMs > ms) throw cliError('ERR_USAGE', `--latency ${text}: the jitter must not be more than the latency`);
  return { ms, jitterMs };
}

/** --slow-read: bytes per second, 1 or more ("65536", "64k", "1MiB", "64k/s"). */
export function parseReadRate(value: unknown): number {
  const text = lastText(value).replace(/\/s$/i, '');
  let rate: number;
  try {
    rate = parseSize(text);
  } catch {
    rate = NaN;
  }
  if (!(rate >= 1)) throw cliError('ERR_USAGE', `--slow-read must be a rate in bytes per second, 1 or more (e.g. 65536, 64k, 1MiB), got "${lastText(value)}"`);
  return rate;
}

/** Check the fault options; absent ones stay absent. */
export function parseReplayFaults(args: ReplayFaultArgs): ReplayFaults {
  const faults: ReplayFaults = { closeCode: 1000, closeReason: '', noPong: args.noPong === true };
  if (args.abortAfter !== undefined) faults.abortAfter = parseMessageCount(args.abortAfter, '--abort-after');
  if (args.closeAfter !== undefined) faults.closeAfter = parseMessageCount(args.closeAfter, '--close-after');
  if (faults.abortAfter !== undefined && faults.closeAfter !== undefined) {
    throw cliError('ERR_USAGE', '--abort-after and --close-after both end the connection: give one of them');
  }
  if (faults.closeAfter === undefined && (args.closeCode !== undefined || args.closeReason !== undefined)) {
    throw cliError('ERR_USAGE', '--close-code and --close-reason go with --close-after N');
  }
  if (args.closeCode !== undefined) faults.closeCode = parseCloseCode(args.closeCode);
  if (args.closeReason !== undefined) {
    const last: unknown = Array.isArray(args.closeReason) ? args.closeReason[args.closeReason.length - 1] : args.closeReason;
    const reason = typeof last === 'string' ? last : typeof last === 'number' ? String(last) : '';
    if (Buffer.byteLength(reason, 'utf8') > MAX_CLOSE_REASON_BYTES) {
      throw cliError('ERR_USAGE', `--close-reason must be at most ${MAX_CLOSE_REASON_BYTES} bytes of UTF-8 (a close frame's payload is 125 bytes)`);
    }
    faults.closeReason = reason;
  }
  if (args.latency !== undefined) faults.latency = parseLatency(args.latency);
  if (args.slowRead !== undefined) faults.slowReadBytesPerSecond = parseReadRate(args.slowRead);
  return faults;
}

/**
 * The faults as one Hooks entry (null when none of them is a hook), for the side the replayer
 * plays; `random` gives the jitter (tests pass their own).
 */
export function compileReplayFaults(faults: ReplayFaults, ours: Direction, random: () => number = Math.random): NamedHooks | null {
  const { abortAfter, closeAfter, latency } = faults;
  const hooks: Hooks = {};
  if (abortAfter !== undefined || closeAfter !== undefined || latency !== undefined) {
    // Messages sent so far, per connection (the mock server serves many clients with one chain).
    const sent = new WeakMap<MessageContext, number>();
    hooks.onMessage = (message, ctx) => {
      // The live peer's messages pass here too; only the replayer's own count.
      if (message.dir !== ours) return undefined;
      // The flags come last in the chain: a message that reaches them is sent.
      const count = (sent.get(ctx) ?? 0) + 1;
      sent.set(ctx, count);
      // Both run after this message is sent (replay-hooks.ts holds them until then).
      if (count === abortAfter) ctx.abort();
      if (count === closeAfter) ctx.close(faults.closeCode, faults.closeReason);
      if (!latency) return undefined;
      return { delay: Math.max(0, latency.ms + (random() * 2 - 1) * latency.jitterMs) };
    };
  }
  if (faults.noPong) hooks.onControl = (frame) => (frame.type === 'ping' && frame.dir !== ours ? null : undefined);
  if (!hooks.onMessage && !hooks.onControl) return null;
  return { hooks, name: 'replay flags', by: 'flag' };
}

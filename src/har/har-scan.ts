/**
 * The first of `wstape import`'s two passes over a HAR (har-tokens.ts walks the file): it
 * validates every part against har-schema.ts as it arrives (each `log` field, each entry without
 * its messages, each message), and keeps what the second pass (from-har.ts) must know before it
 * converts anything: each entry's start time (the archive starts at the earliest), whether it is
 * a WebSocket, its recorded id, and its message clock (seconds or milliseconds, decided by the
 * median of all its message times). About 100 bytes per entry with its id, more per WebSocket entry.
 *
 * A bad HAR gets the one line the whole-document validation gave (parseHarText): the same JSON
 * path and words, and the same choice of first problem (zod's order: `log.version` and
 * `log.creator`, then the entries in order, each in its fields' order, then the other `log`
 * fields), and nothing is written.
 */
import type * as z from 'zod';
import { cliError } from '../errors.js';
import { epochMicros } from './har-common.js';
import { describeIssue, harInputSchema, inputEntry, inputMessage, type HarInput, type HarInputEntry } from './har-schema.js';
import { MESSAGE_LISTS, type HarVisitor, type JsonKind, type MessageList } from './har-tokens.js';
import { EPOCH_SECONDS_FLOOR, TimeStats } from './message-clock.js';
import { makesFrames } from './websocket-from-har.js';

/** Flags kept per entry. */
export const IS_WEBSOCKET = 1;
export const FAILED = 2;
export const INDEXED = 4;

/** What the scan learnt (see the file comment). */
export interface HarScan {
  /** `log` without its entries (`entries: []`), validated. */
  log: HarInput['log'];
  /** Entries in the file. */
  count: number;
  /** Each entry's start, epoch microseconds (startOf in from-har.ts); NaN when it has none. */
  starts: Float64Array;
  /** IS_WEBSOCKET (after the failed-handshake rule), FAILED, INDEXED. */
  flags: Uint8Array;
  /** `_wstape.elapsed`, NaN when absent. */
  savedElapsed: Float64Array;
  /** `_wstape.id` of the entries that have one. */
  savedIds: Map<number, string>;
  /** The times of all message lists, per WebSocket entry (its clock). */
  clocks: Map<number, TimeStats>;
}

/** A value of this kind, for validating a part that was not built (the document, `log`). */
function standIn(kind: JsonKind): unknown {
  return { object: {}, array: [], string: '', number: 0, boolean: false, null: null }[kind];
}

/** Epoch microseconds of an ISO 8601 time, keeping digits past the millisecond (mitmproxy writes six). */
export function isoMicros(iso: string): number {
  const ms = Date.parse(iso);
  const fraction = /T[^.]*\.(\d+)/.exec(iso)?.[1] ?? '';
  const extra = Number(fraction.padEnd(6, '0').slice(3, 6));
  return Math.floor(ms) * 1000 + (Number.isFinite(extra) ? extra : 0);
}

/**
 * Start times before this (EPOCH_SECONDS_FLOOR, September 2001, in microseconds) are
 * placeholders, not times: Chrome writes `1969-12-31T23:59:59.999Z` or a few seconds into 1970
 * as the start of a WebSocket that never connected (it had no wall-clock time for the request).
 */
const PLACEHOLDER_BEFORE_MICROS = EPOCH_SECONDS_FLOOR * 1e6;

/** The fields of an entry in the order zod checks them: the first problem is the first in this order. */
const ENTRY_ORDER = Object.keys(inputEntry.shape);

/** What one entry's messages told the scan, as they passed. */
class EntryState {
  /** The first problem in each list. */
  readonly issues = new Map<MessageList, string>();
  /** `_webSocketMessages` only: for the start of an entry with a placeholder start, and failures. */
  readonly messageTimes = new TimeStats();
  messages = 0;
  errorMessages = 0;
  readonly allTimes = new TimeStats();
  framing = 0;
  framingWithMeta = 0;
}

/** Pass one as a HarVisitor; finish() gives the result or throws ERR_HAR. */
export class HarScanner implements HarVisitor {
  readonly #name: string;
  #rootKind: JsonKind | null = null;
  #logKind: JsonKind | null = null;
  #sawLog = false;
  readonly #logHead: Record<string, unknown> = {};
  #entriesStreamed = false;
  #entryIssue: string | null = null;
  #state: EntryState | null = null;
  #count = 0;
  #starts = new Float64Array(1024);
  #flags = new Uint8Array(1024);
  #savedElapsed = new Float64Array(1024);
  readonly #savedIds = new Map<number, string>();
  readonly #clocks = new Map<number, TimeStats>();

  /** `name`: the file, as the user named it (for messages). */
  constructor(name: string) {
    this.#name = name;
  }

  #problem(detail: string): Error {
    return cliError('ERR_HAR', `${this.#name} is not a HAR file wstape can import: ${detail}`);
  }

  rootNotObject(kind: JsonKind): void {
    this.#rootKind = kind;
  }

  format(value: unknown): void {
    if (value === 'wstape') {
      throw cliError('ERR_HAR', `${this.#name} is a wstape archive already, not a HAR file (wstape export --format har makes a HAR of it)`);
    }
  }

  logNotObject(kind: JsonKind): void {
    this.#sawLog = true;
    this.#logKind = kind;
  }

  logField(key: string, value: unknown): void {
    this.#sawLog = true;
    this.#logHead[key] = value;
  }

  entriesStart(): void {
    this.#sawLog = true;
    this.#entriesStreamed = true;
  }

  skipEntries(): boolean {
    return this.#entryIssue !== null;
  }

  message(entry: number, list: MessageList, at: number, value: unknown): void {
    const state = (this.#state ??= new EntryState());
    if (state.issues.has(list)) return;
    const result = inputMessage.safeParse(value);
    if (!result.success) {
      const issue = result.error.issues[0];
      state.issues.set(list, issue === undefined ? 'invalid' : describeIssue(issue, value, ['log', 'entries', entry, list, at]));
      return;
    }
    const message = result.data;
    state.allTimes.add(message.time);
    if (list === '_webSocketMessages') {
      state.messages++;
      state.messageTimes.add(message.time);
      if (message.type === 'error' || message.opcode === -1) state.errorMessages++;
    }
    if (makesFrames(message)) {
      state.framing++;
      if (message._wstapeFrames !== undefined) state.framingWithMeta++;
    }
  }

  entry(index: number, value: unknown): void {
    const state = this.#state ?? new EntryState();
    this.#state = null;
    const result = inputEntry.safeParse(value);
    const issue = this.#firstIssue(result, value, index, state);
    if (issue !== null) {
      this.#entryIssue = issue;
      return;
    }
    if (!result.success) return;
    this.#record(index, result.data, state);
  }

  /** The entry's first problem in zod's order: its own fields', or its messages'. */
  #firstIssue(result: z.ZodSafeParseResult<HarInputEntry>, value: unknown, index: number, state: EntryState): string | null {
    const prefix = ['log', 'entries', index];
    let best: { position: number; text: string } | null = null;
    if (!result.success) {
      const issue = result.error.issues[0];
      const key = issue?.path[0];
      // The entry's own refinement (an entry that ends after 9999) runs after its fields.
      const refinement = issue?.code === 'custom' && issue.path.length === 1 && key === 'time';
      const position = typeof key === 'string' && !refinement ? ENTRY_ORDER.indexOf(key) : Infinity;
      best = { position: position === -1 ? Infinity : position, text: issue === undefined ? 'invalid' : describeIssue(issue, value, prefix) };
    }
    for (const list of MESSAGE_LISTS) {
      const text = state.issues.get(list);
      const position = ENTRY_ORDER.indexOf(list);
      if (text !== undefined && (best === null || position < best.position)) best = { position, text };
    }
    return best?.text ?? null;
  }

  #record(index: number, entry: HarInputEntry, state: EntryState): void {
    if (index >= this.#starts.length) {
      const grow = <T extends Float64Array | Uint8Array>(old: T, make: (n: number) => T): T => {
        const next = make(old.length * 2);
        next.set(old);
        return next;
      };
      this.#starts = grow(this.#starts, (n) => new Float64Array(n));
      this.#flags = grow(this.#flags, (n) => new Uint8Array(n));
      this.#savedElapsed = grow(this.#savedElapsed, (n) => new Float64Array(n));
    }
    this.#count = Math.max(this.#count, index + 1);
    this.#starts[index] = startOf(entry, state);
    // Chrome's record of a WebSocket that never connected: no 101, only error messages.
    const failed = entry.response.status !== 101 && state.messages > 0 && state.errorMessages === state.messages;
    let websocket = entry._resourceType?.toLowerCase() === 'websocket' || /^wss?:/i.test(entry.request.url) || state.messages > 0;
    // A WebSocket entry whose handshake failed (no 101, no messages, or only Chrome's error
    // messages) is an HTTP exchange that failed, as the recorder writes a failed upgrade.
    if (websocket && entry.response.status !== 101 && (state.messages === 0 || failed)) websocket = false;
    const indexed = state.framing > 0 && state.framingWithMeta === state.framing;
    this.#flags[index] = (websocket ? IS_WEBSOCKET : 0) | (failed ? FAILED : 0) | (indexed ? INDEXED : 0);
    this.#savedElapsed[index] = entry._wstape?.elapsed ?? NaN;
    if (entry._wstape?.id !== undefined) this.#savedIds.set(index, entry._wstape.id);
    if (websocket) this.#clocks.set(index, state.allTimes);
  }

  /** The document has ended: the scan, or the first problem (ERR_HAR). */
  finish(): HarScan {
    const fail = (value: unknown): never => {
      const result = harInputSchema.safeParse(value);
      const issue = result.success ? undefined : result.error.issues[0];
      throw this.#problem(issue === undefined ? 'invalid' : describeIssue(issue, value));
    };
    if (this.#rootKind !== null) fail(standIn(this.#rootKind));
    if (!this.#sawLog) fail({});
    if (this.#logKind !== null) fail({ log: standIn(this.#logKind) });
    const document = { log: { ...this.#logHead, ...(this.#entriesStreamed ? { entries: [] } : {}) } };
    const result = harInputSchema.safeParse(document);
    const issue = result.success ? undefined : result.error.issues[0];
    // zod checks log.version and log.creator before log.entries, the other fields after.
    const early = issue !== undefined && (issue.path[1] === 'version' || issue.path[1] === 'creator');
    if (this.#entryIssue !== null && !early) throw this.#problem(this.#entryIssue);
    if (!result.success) throw this.#problem(issue === undefined ? 'invalid' : describeIssue(issue, document));
    return {
      log: result.data.log,
      count: this.#count,
      starts: this.#starts.subarray(0, this.#count),
      flags: this.#flags.subarray(0, this.#count),
      savedElapsed: this.#savedElapsed.subarray(0, this.#count),
      savedIds: this.#savedIds,
      clocks: this.#clocks,
    };
  }
}

/**
 * An entry's start in epoch microseconds: its startedDateTime, or, when that is a placeholder
 * (see PLACEHOLDER_BEFORE_MICROS), its first message's time; NaN when it has neither.
 */
function startOf(entry: HarInputEntry, state: EntryState): number {
  const start = isoMicros(entry.startedDateTime);
  if (start >= PLACEHOLDER_BEFORE_MICROS) return start;
  const times = state.messageTimes;
  if (times.count === 0) return NaN;
  const micros = epochMicros(times.first, times.unit);
  return micros >= PLACEHOLDER_BEFORE_MICROS ? micros : NaN;
}

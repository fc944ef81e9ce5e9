/**
 * Runs the hooks of every --script (and of the flags) in order, and turns what they return into
 * one decision. A hook that throws, takes longer than the timeout, or returns something outside
 * its contract does not decide anything: the message (or request) goes on as it was, and the
 * failure is returned for an error entry. Nothing a hook does can throw out of here.
 *
 * Chaining: each onMessage sees the message as the hooks before it left it (a replacement changes
 * `type`, `text` and `data`); a drop ends the chain; delays add up. The first onConnection that
 * refuses wins. onRequest changes compose; the first local response ends the chain. onResponse
 * changes compose.
 */
import type { Actor, ConnectionInfo, ControlFrame, HeaderPairs, HttpRequest, HttpResponse, Message, MessageContext, NamedHooks } from './hooks.js';

/** Why a hook's answer was not used; the codes of the archive's error entries. */
export type HookFailureCode = 'HOOK_ERROR' | 'HOOK_TIMEOUT' | 'HOOK_RESULT';

export interface HookFailure {
  code: HookFailureCode;
  /** "hooks.mjs onMessage" */
  hook: string;
  /** What went wrong, one line. */
  message: string;
}

/** A message payload as forwarded. */
export type Payload = { type: 'text'; text: string } | { type: 'binary'; data: Uint8Array };

export interface MessageDecision {
  outcome: 'unchanged' | 'replaced' | 'dropped';
  /** The payload to forward instead, when replaced. */
  payload?: Payload;
  /** Milliseconds to hold the message (or its replacement) before forwarding it. */
  delayMs: number;
  /** Who changed, dropped or delayed it; null when nobody did. */
  by: Actor | null;
  failures: HookFailure[];
}

export interface ControlDecision {
  drop: boolean;
  by: Actor | null;
  failures: HookFailure[];
}

export interface ConnectionDecision {
  refuse?: { status: number; headers: Record<string, string>; body: string };
  by: Actor | null;
  failures: HookFailure[];
}

/** A changed request to forward, or a response to give without the upstream. */
export interface RequestDecision {
  request?: { method: string; url: string; headers: HeaderPairs; body: Uint8Array };
  response?: HttpResponse;
  by: Actor | null;
  failures: HookFailure[];
}

export interface ResponseDecision {
  response?: HttpResponse;
  by: Actor | null;
  failures: HookFailure[];
}

type Outcome<T> = { ok: true; value: T } | { ok: false; failure: HookFailure };

const MAX_DELAY_MS = 24 * 60 * 60 * 1000;

/** RFC 9110 §5.6.2: a token (a method, a header name). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export class HookChain {
  constructor(
    private readonly list: readonly NamedHooks[],
    private readonly timeoutMs: number,
  ) {}

  /** Whether any hook looks at WebSocket messages or control frames (else the relay need not hold them). */
  get watchesMessages(): boolean {
    return this.list.some(({ hooks }) => hooks.onMessage !== undefined || hooks.onControl !== undefined || hooks.onOpen !== undefined);
  }

  get watchesConnections(): boolean {
    return this.list.some(({ hooks }) => hooks.onConnection !== undefined);
  }

  get watchesHttp(): boolean {
    return this.list.some(({ hooks }) => hooks.onRequest !== undefined || hooks.onResponse !== undefined);
  }

  /** Whether any hook looks at plain HTTP requests (else the proxy need not hold their bodies). */
  get watchesRequests(): boolean {
    return this.list.some(({ hooks }) => hooks.onRequest !== undefined);
  }

  /** Whether any hook looks at plain HTTP responses (else the proxy streams them as they come). */
  get watchesResponses(): boolean {
    return this.list.some(({ hooks }) => hooks.onResponse !== undefined);
  }

  /**
   * `ctx`: the context, or one per actor (so what a flag injects is recorded `by: "flag"`).
   * While every hook answers with a plain value, the decision comes back at once, not as a
   * promise: a relay holds nothing and waits for no turn of the event loop. From the first hook
   * that returns a promise on, the rest of the chain runs after it settles.
   */
  decideMessage(message: Message, ctx: MessageContext | ((by: Actor) => MessageContext)): MessageDecision | Promise<MessageDecision> {
    return this.runMessageHooks({ outcome: 'unchanged', delayMs: 0, by: null, failures: [] }, message, ctx, 0);
  }

  private runMessageHooks(
    decision: MessageDecision,
    message: Message,
    ctx: MessageContext | ((by: Actor) => MessageContext),
    from: number,
  ): MessageDecision | Promise<MessageDecision> {
    let current: Message | null = message;
    for (let i = from; i < this.list.length && current !== null; i++) {
      const named = this.list[i]!;
      const hook = named.hooks.onMessage;
      if (!hook) continue;
      const context = typeof ctx === 'function' ? ctx(named.by) : ctx;
      const asked: Message = current;
      const outcome = this.call(named, 'onMessage', () => hook.call(named.hooks, { ...asked }, context));
      if (outcome instanceof Promise) {
        return outcome.then((settled) => {
          const next = applyMessageOutcome(decision, named, settled, asked);
          return next === null ? decision : this.runMessageHooks(decision, next, ctx, i + 1);
        });
      }
      current = applyMessageOutcome(decision, named, outcome, asked);
    }
    return decision;
  }

  /** A WebSocket connection is open: run every onOpen (their failures are returned, nothing else). */
  async open(ctx: (by: Actor) => MessageContext): Promise<HookFailure[]> {
    const failures: HookFailure[] = [];
    for (const named of this.list) {
      const hook = named.hooks.onOpen;
      if (!hook) continue;
      const outcome = await this.call(named, 'onOpen', () => hook.call(named.hooks, ctx(named.by)));
      if (!outcome.ok) failures.push(outcome.failure);
    }
    return failures;
  }

  /** onControl is synchronous: a ping or pong is never held for a promise. */
  decideControl(frame: ControlFrame, ctx: MessageContext | ((by: Actor) => MessageContext)): ControlDecision {
    const decision: ControlDecision = { drop: false, by: null, failures: [] };
    for (const named of this.list) {
      const hook = named.hooks.onControl;
      if (!hook) continue;
      let value: unknown;
      try {
        value = hook.call(named.hooks, { ...frame }, typeof ctx === 'function' ? ctx(named.by) : ctx);
      } catch (error) {
        decision.failures.push({
          code: 'HOOK_ERROR',
          hook: hookName(named, 'onControl'),
          message: `${hookName(named, 'onControl')} failed: ${describeError(error)}`,
        });
        continue;
      }
      if (value === null) {
        decision.drop = true;
        decision.by = named.by;
        break;
      }
      if (value !== undefined) decision.failures.push(invalid(named, 'onControl', 'null or undefined (it is not awaited)', value));
    }
    return decision;
  }

  async decideConnection(info: ConnectionInfo): Promise<ConnectionDecision> {
    const decision: ConnectionDecision = { by: null, failures: [] };
    for (const named of this.list) {
      const hook = named.hooks.onConnection;
      if (!hook) continue;
      const outcome = await this.call(named, 'onConnection', () =>
        hook.call(named.hooks, { ...info, headers: [...info.headers], protocols: [...info.protocols] }),
      );
      if (!outcome.ok) {
        decision.failures.push(outcome.failure);
        continue;
      }
      const value = outcome.value;
      if (value === undefined) continue;
      const refuse = isRecord(value) && isRecord(value.refuse) ? value.refuse : null;
      if (!refuse || !isStatus(refuse.status) || (refuse.body !== undefined && typeof refuse.body !== 'string') || !isStringRecord(refuse.headers)) {
        decision.failures.push(invalid(named, 'onConnection', 'undefined or { refuse: { status, headers?, body? } }', value));
        continue;
      }
      decision.refuse = { status: refuse.status, headers: (refuse.headers ?? {}) as Record<string, string>, body: refuse.body ?? '' };
      decision.by = named.by;
      break;
    }
    return decision;
  }

  async decideRequest(request: HttpRequest): Promise<RequestDecision> {
    const decision: RequestDecision = { by: null, failures: [] };
    let current = { method: request.method, url: request.url, headers: request.headers, body: request.body };
    let changed = false;
    for (const named of this.list) {
      const hook = named.hooks.onRequest;
      if (!hook) continue;
      const outcome = await this.call(named, 'onRequest', () =>
        hook.call(named.hooks, { id: request.id, ...current, headers: current.headers.map((pair): [string, string] => [pair[0], pair[1]]) }),
      );
      if (!outcome.ok) {
        decision.failures.push(outcome.failure);
        continue;
      }
      const value = outcome.value;
      if (value === undefined) continue;
      if (isRecord(value) && 'response' in value) {
        const response = readResponse(value.response);
        if (!response) {
          decision.failures.push(invalid(named, 'onRequest', '{ response: { status, statusText?, headers?, body? } }', value));
          continue;
        }
        decision.response = response;
        decision.by = named.by;
        return decision;
      }
      const change = readRequestChange(value);
      if (!change) {
        decision.failures.push(invalid(named, 'onRequest', 'undefined, { method?, url?, headers?, body? } or { response }', value));
        continue;
      }
      current = { ...current, ...change };
      changed = true;
      decision.by = named.by;
    }
    if (changed) decision.request = current;
    return decision;
  }

  async decideResponse(response: HttpResponse, request: HttpRequest): Promise<ResponseDecision> {
    const decision: ResponseDecision = { by: null, failures: [] };
    let current = response;
    let changed = false;
    for (const named of this.list) {
      const hook = named.hooks.onResponse;
      if (!hook) continue;
      const outcome = await this.call(named, 'onResponse', () =>
        hook.call(named.hooks, { ...current, headers: current.headers.map((pair): [string, string] => [pair[0], pair[1]]) }, request),
      );
      if (!outcome.ok) {
        decision.failures.push(outcome.failure);
        continue;
      }
      if (outcome.value === undefined) continue;
      const change = readResponseChange(outcome.value);
      if (!change) {
        decision.failures.push(invalid(named, 'onResponse', 'undefined or { status?, statusText?, headers?, body? }', outcome.value));
        continue;
      }
      current = { ...current, ...change };
      changed = true;
      decision.by = named.by;
    }
    if (changed) decision.response = current;
    return decision;
  }

  /** Call one hook with the timeout; a throw, a rejection or the timeout is a failure. */
  /** Run one hook: its outcome at once for a plain value, a promise of it for a promise. */
  private call(named: NamedHooks, name: string, run: () => unknown): Outcome<unknown> | Promise<Outcome<unknown>> {
    const label = hookName(named, name);
    let value: unknown;
    try {
      value = run();
    } catch (error) {
      return { ok: false, failure: { code: 'HOOK_ERROR', hook: label, message: `${label} failed: ${describeError(error)}` } };
    }
    if (!isThenable(value)) return { ok: true, value };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Outcome<unknown>>((resolve) => {
      timer = setTimeout(
        () => resolve({ ok: false, failure: { code: 'HOOK_TIMEOUT', hook: label, message: `${label} did not settle within ${this.timeoutMs} ms` } }),
        this.timeoutMs,
      );
    });
    const settled = Promise.resolve(value).then(
      (resolved): Outcome<unknown> => ({ ok: true, value: resolved }),
      (error: unknown): Outcome<unknown> => ({
        ok: false,
        failure: { code: 'HOOK_ERROR', hook: label, message: `${label} failed: ${describeError(error)}` },
      }),
    );
    return Promise.race([settled, timeout]).finally(() => clearTimeout(timer));
  }
}

/**
 * Fold one onMessage outcome into the decision; the message as the next hook sees it, or null
 * when the chain ends here (a drop).
 */
function applyMessageOutcome(decision: MessageDecision, named: NamedHooks, outcome: Outcome<unknown>, current: Message): Message | null {
  if (!outcome.ok) {
    decision.failures.push(outcome.failure);
    return current;
  }
  const verdict = readMessageVerdict(outcome.value);
  if (verdict === 'invalid') {
    decision.failures.push(invalid(named, 'onMessage', 'a string, a Uint8Array, null, undefined or { delay, payload }', outcome.value));
    return current;
  }
  if (verdict.delayMs > 0) {
    decision.delayMs = Math.min(MAX_DELAY_MS, decision.delayMs + verdict.delayMs);
    decision.by ??= named.by;
  }
  if (verdict.payload === null) {
    decision.outcome = 'dropped';
    decision.payload = undefined;
    decision.by = named.by;
    return null;
  }
  if (verdict.payload === undefined) return current;
  decision.outcome = 'replaced';
  decision.payload = verdict.payload;
  decision.by = named.by;
  const base = { conn: current.conn, dir: current.dir, index: current.index, time: current.time };
  return verdict.payload.type === 'text' ? { ...base, type: 'text', text: verdict.payload.text } : { ...base, type: 'binary', data: verdict.payload.data };
}

function readMessageVerdict(value: unknown): { payload: Payload | null | undefined; delayMs: number } | 'invalid' {
  if (value === undefined) return { payload: undefined, delayMs: 0 };
  const payload = readPayload(value);
  if (payload !== 'invalid') return { payload, delayMs: 0 };
  if (!isRecord(value) || isThenable(value)) return 'invalid';
  // Only { delay, payload }: an object with other fields is a mistake to report, not a pass.
  const keys = Object.keys(value);
  if (keys.length === 0 || keys.some((key) => key !== 'delay' && key !== 'payload')) return 'invalid';
  const delay = value.delay ?? 0;
  if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0) return 'invalid';
  const replacement = 'payload' in value && value.payload !== undefined ? readPayload(value.payload) : undefined;
  if (replacement === 'invalid') return 'invalid';
  return { payload: replacement, delayMs: delay };
}

function readPayload(value: unknown): Payload | null | 'invalid' {
  if (value === null) return null;
  if (typeof value === 'string') return { type: 'text', text: value };
  if (value instanceof Uint8Array) return { type: 'binary', data: value };
  if (value instanceof ArrayBuffer) return { type: 'binary', data: new Uint8Array(value) };
  return 'invalid';
}

function readBody(value: unknown): Uint8Array | null {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (value instanceof Uint8Array) return value;
  return null;
}

function readHeaders(value: unknown): HeaderPairs | null {
  if (!Array.isArray(value)) return null;
  const pairs: HeaderPairs = [];
  for (const pair of value) {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') return null;
    // RFC 9110 §5.5: a field value never holds CR, LF or NUL; a hook must not smuggle a header in.
    if (/[\r\n\0]/.test(pair[0] + pair[1]) || !TOKEN.test(pair[0])) return null;
    pairs.push([pair[0], pair[1]]);
  }
  return pairs;
}

function readRequestChange(value: unknown): { method?: string; url?: string; headers?: HeaderPairs; body?: Uint8Array } | null {
  if (!isRecord(value)) return null;
  const change: { method?: string; url?: string; headers?: HeaderPairs; body?: Uint8Array } = {};
  if (value.method !== undefined) {
    if (typeof value.method !== 'string' || !TOKEN.test(value.method)) return null;
    change.method = value.method;
  }
  if (value.url !== undefined) {
    if (typeof value.url !== 'string' || !/^https?:\/\//.test(value.url) || !URL.canParse(value.url)) return null;
    change.url = value.url;
  }
  const parts = readHeadersAndBody(value);
  return parts && { ...change, ...parts };
}

/** A local response from onRequest: a status, the rest defaulted. */
function readResponse(value: unknown): HttpResponse | null {
  if (!isRecord(value) || !isStatus(value.status)) return null;
  const change = readResponseChange(value);
  if (!change) return null;
  return {
    status: value.status,
    headers: change.headers ?? [],
    body: change.body ?? new Uint8Array(0),
    ...(change.statusText ? { statusText: change.statusText } : {}),
  };
}

function readResponseChange(value: unknown): Partial<HttpResponse> | null {
  if (!isRecord(value)) return null;
  const change: Partial<HttpResponse> = {};
  if (value.status !== undefined) {
    if (!isStatus(value.status)) return null;
    change.status = value.status;
  }
  if (value.statusText !== undefined) {
    if (typeof value.statusText !== 'string' || /[\r\n]/.test(value.statusText)) return null;
    change.statusText = value.statusText;
  }
  const parts = readHeadersAndBody(value);
  return parts && { ...change, ...parts };
}

/** The `headers` and `body` a request or response change gives, each checked; null if one is invalid. */
function readHeadersAndBody(value: Record<string, unknown>): { headers?: HeaderPairs; body?: Uint8Array } | null {
  const parts: { headers?: HeaderPairs; body?: Uint8Array } = {};
  if (value.headers !== undefined) {
    const headers = readHeaders(value.headers);
    if (!headers) return null;
    parts.headers = headers;
  }
  if (value.body !== undefined) {
    const body = readBody(value.body);
    if (!body) return null;
    parts.body = body;
  }
  return parts;
}

function isStatus(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 100 && value <= 999;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function isStringRecord(value: unknown): boolean {
  if (value === undefined) return true;
  return isRecord(value) && Object.values(value).every((item) => typeof item === 'string' && !/[\r\n\0]/.test(item));
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function hookName(named: NamedHooks, name: string): string {
  return `${named.name} ${name}`;
}

function invalid(named: NamedHooks, name: string, expected: string, value: unknown): HookFailure {
  return { code: 'HOOK_RESULT', hook: hookName(named, name), message: `${hookName(named, name)} returned ${describeValue(value)}; expected ${expected}` };
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (isThenable(value)) return 'a promise';
  if (typeof value === 'object') return `an object with ${Object.keys(value).slice(0, 5).join(', ') || 'no fields'}`;
  if (typeof value === 'string') return `a string (${value.slice(0, 40)})`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `a ${typeof value} (${value})`;
  return `a ${typeof value}`;
}

function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : `threw ${describeValue(error)}`;
  return text.split('\n')[0]!.slice(0, 300);
}

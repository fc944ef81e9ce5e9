/**
 * Drives the sans-io HttpProxyCore through a script of socket events, with no socket, and turns
 * the actions it returns into a transcript that does not depend on how the bytes were split:
 * consecutive writes to one side are joined, and bytes that arrive after the core handed the
 * sockets on are added to what it handed on (the next owner would have read them). Every scenario
 * is then run whole, one byte at a time, at every 2-way split and at random splits, and the
 * transcripts must be equal.
 *
 * Flow control (pause, resume) and timers (set-timer, clear-timer) depend on how bytes were split
 * (a head that arrives whole never starts a head timer), so they are left out of the transcript
 * unless a scenario asks for them with `control: true` (then it is run whole only). The harness
 * checks their rules on every run: a `timeout` step is only fed when that timer runs, pause and
 * resume alternate on each side (a new upstream starts unpaused), and nothing follows a hand-off.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import type { Stamp } from '../../src/record/clock.js';
import {
  HttpProxyCore,
  type HttpProxyCoreOptions,
  type HttpRoute,
  type Peer,
  type ProxyAction,
  type ProxyEvent,
  type ProxyTimer,
  type HookAnswer,
} from '../../src/record/http-proxy-core.js';

export type Item =
  | { write: Peer; bytes: string }
  | { connect: string; tls: boolean }
  | { close: Peer; how: 'end' | 'destroy'; reason: string }
  | { record: unknown }
  | { error: string; message: string; conn?: string }
  /** An ask-hooks action: the question, bodies as latin1 text. */
  | { ask: string; id: string; question: unknown }
  | { handOff: 'websocket' | 'tunnel' | 'intercept-tls'; detail: unknown; clientBytes: string; serverBytes: string }
  | { release: true }
  | { control: string };

export interface Scenario {
  route: HttpRoute;
  upstream?: HttpProxyCoreOptions['upstream'];
  passThrough?: (host: string) => boolean;
  steps: ProxyEvent[];
  limits?: HttpProxyCoreOptions['limits'];
  isOwnAddress?: HttpProxyCoreOptions['isOwnAddress'];
  /** Which hooks the core asks (answer with `answered` steps). */
  hooks?: HttpProxyCoreOptions['hooks'];
  /** The recorder's --max-payload (default 1024). */
  maxPayload?: number;
}

const STAMP: Stamp = { time: '2026-12-03T00:00:00.000Z', elapsed: 1 };

/** Shorthands for script steps; strings are latin1 so every byte value can be written. */
export const client = (text: string): ProxyEvent => ({ type: 'client-bytes', bytes: Buffer.from(text, 'latin1') });
export const server = (text: string): ProxyEvent => ({ type: 'upstream-bytes', bytes: Buffer.from(text, 'latin1') });
export const connected: ProxyEvent = { type: 'upstream-connected' };
export const serverEnds: ProxyEvent = { type: 'upstream-ended' };
export const clientEnds: ProxyEvent = { type: 'client-ended' };
export const clientGone: ProxyEvent = { type: 'client-closed' };
export const timeout = (timer: ProxyTimer): ProxyEvent => ({ type: 'timeout', timer });
/** The hooks' answer to an ask-hooks action. */
export const answered = (answer: HookAnswer): ProxyEvent => ({ type: 'hooks-answered', answer });
export const serverFails = (code: string | null): ProxyEvent => ({
  type: 'upstream-failed',
  error: code === null ? null : { code, message: `${code} (test)` },
});

/** Run a scenario with each bytes step cut at the positions `cuts(stepIndex, length)` gives. */
export function transcript(scenario: Scenario, cuts: (step: number, length: number) => number[] = () => [], control = false): Item[] {
  const counters = { c: 0, h: 0, t: 0 };
  const core = new HttpProxyCore({
    recorder: {
      now: () => STAMP,
      nextId: (prefix) => `${prefix}${++counters[prefix]}`,
      maxPayload: scenario.maxPayload ?? 1024,
    },
    route: scenario.route,
    client: { address: '127.0.0.1', port: 50000 },
    passThrough: scenario.passThrough ?? (() => false),
    ...(scenario.upstream ? { upstream: scenario.upstream } : {}),
    ...(scenario.limits ? { limits: scenario.limits } : {}),
    ...(scenario.isOwnAddress ? { isOwnAddress: scenario.isOwnAddress } : {}),
    ...(scenario.hooks ? { hooks: scenario.hooks } : {}),
  });
  const items: Item[] = [];
  let handedOff: Extract<Item, { handOff: string }> | null = null;
  let released = false;
  const timers = new Set<ProxyTimer>();
  const paused = new Set<Peer>();

  const take = (actions: ProxyAction[]): void => {
    for (const action of actions) {
      expect(handedOff === null && !released, `${action.type} after the core was done`).toBe(true);
      const last = items[items.length - 1];
      switch (action.type) {
        case 'pause':
        case 'resume':
          expect(paused.has(action.side), `${action.type} ${action.side} twice`).toBe(action.type === 'resume');
          if (action.type === 'pause') paused.add(action.side);
          else paused.delete(action.side);
          if (control) items.push({ control: `${action.type} ${action.side}` });
          break;
        case 'set-timer':
          timers.add(action.timer);
          if (control) items.push({ control: `set ${action.timer} ${action.ms}` });
          break;
        case 'clear-timer':
          expect(timers.has(action.timer), `clear-timer ${action.timer} that is not running`).toBe(true);
          timers.delete(action.timer);
          if (control) items.push({ control: `clear ${action.timer}` });
          break;
        case 'write': {
          const bytes = Buffer.from(action.bytes).toString('latin1');
          if (last && 'write' in last && last.write === action.to) last.bytes += bytes;
          else items.push({ write: action.to, bytes });
          break;
        }
        case 'connect':
          // A new upstream socket is not paused.
          paused.delete('upstream');
          items.push({ connect: `${action.address.host}:${action.address.port}`, tls: action.tls !== undefined });
          break;
        case 'close':
          items.push({ close: action.side, how: action.how, reason: action.reason });
          break;
        case 'record':
          items.push({ record: JSON.parse(JSON.stringify(action.entry)) });
          break;
        case 'error':
          items.push(
            action.conn === undefined ? { error: action.code, message: action.message } : { error: action.code, message: action.message, conn: action.conn },
          );
          break;
        case 'ask-hooks': {
          const { hook, id, ...rest } = action.question;
          items.push({ ask: hook, id, question: JSON.parse(JSON.stringify(rest, (_key, value: unknown) => (isBytes(value) ? latin1(value) : value))) });
          break;
        }
        case 'release':
          released = true;
          items.push({ release: true });
          break;
        default: {
          const { type, ...rest } = action;
          const detail: Record<string, unknown> = { ...rest };
          let clientBytes = '';
          let serverBytes = '';
          if ('clientBytes' in rest) clientBytes = Buffer.from(rest.clientBytes).toString('latin1');
          if ('serverBytes' in rest) serverBytes = Buffer.from(rest.serverBytes).toString('latin1');
          if ('hello' in rest) clientBytes = Buffer.from(rest.hello).toString('latin1');
          delete detail.clientBytes;
          delete detail.serverBytes;
          delete detail.hello;
          // The connection entry is in the transcript already, as the record before the hand-off.
          if ('connection' in rest) {
            const entry = JSON.stringify(rest.connection);
            if (!items.some((item) => 'record' in item && JSON.stringify(item.record) === entry)) {
              throw new Error('the websocket hand-off carries a connection entry that was not recorded');
            }
            delete detail.connection;
          }
          handedOff = { handOff: type, detail, clientBytes, serverBytes };
          items.push(handedOff);
        }
      }
    }
  };

  take(core.start());
  scenario.steps.forEach((step, index) => {
    if (step.type === 'timeout') {
      // The adapter reports a timeout only for a timer the core started and did not clear.
      expect(timers.has(step.timer), `timeout of ${step.timer}, which is not running`).toBe(true);
      timers.delete(step.timer);
    }
    if (step.type !== 'client-bytes' && step.type !== 'upstream-bytes') {
      if (!handedOff && !released) take(core.handle(step));
      return;
    }
    let from = 0;
    for (const cut of [...cuts(index, step.bytes.length), step.bytes.length]) {
      const piece = step.bytes.subarray(from, cut);
      from = cut;
      if (piece.length === 0) continue;
      if (handedOff) {
        // The next owner reads these from the socket.
        if (step.type === 'client-bytes') handedOff.clientBytes += Buffer.from(piece).toString('latin1');
        else handedOff.serverBytes += Buffer.from(piece).toString('latin1');
      } else if (!released) {
        take(core.handle({ ...step, bytes: piece }));
      }
    }
  });
  expect(core.done).toBe(handedOff !== null || released);
  return items;
}

/** The whole transcript with flow control and timers in it (`{ control }` items). */
export function withControl(scenario: Scenario): Item[] {
  return transcript(scenario, () => [], true);
}

/**
 * The transcript of a scenario fed whole, after checking that it is the same fed one byte at a
 * time, at every 2-way split of each bytes step, and at random 3-way splits.
 */
export function atEverySplit(scenario: Scenario): Item[] {
  const whole = transcript(scenario);
  expect(transcript(scenario, (_step, length) => [...Array(length).keys()].slice(1))).toEqual(whole);
  scenario.steps.forEach((step, index) => {
    if (step.type !== 'client-bytes' && step.type !== 'upstream-bytes') return;
    for (let cut = 1; cut < step.bytes.length; cut++) {
      expect(transcript(scenario, (at) => (at === index ? [cut] : []))).toEqual(whole);
    }
  });
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: scenario.steps.length, maxLength: scenario.steps.length }), (pairs) => {
      const cuts = (at: number, length: number): number[] => {
        const [a, b] = pairs[at]!;
        return [a % (length + 1), b % (length + 1)].sort((x, y) => x - y);
      };
      expect(transcript(scenario, cuts)).toEqual(whole);
    }),
    { numRuns: 50 },
  );
  return whole;
}

/** The bytes written to one side over the whole transcript. */
export function written(items: Item[], side: Peer): string {
  return items.map((item) => ('write' in item && item.write === side ? item.bytes : '')).join('');
}

/** The entries recorded, in order. */
export function records(items: Item[]): Array<Record<string, unknown>> {
  return items.flatMap((item) => ('record' in item ? [item.record as Record<string, unknown>] : []));
}

function isBytes(value: unknown): value is Uint8Array {
  // JSON.stringify hands a Buffer to the replacer as { type: 'Buffer', data } after toJSON.
  return value instanceof Uint8Array || (typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'Buffer');
}

function latin1(value: Uint8Array | { data: number[] }): string {
  return Buffer.from(value instanceof Uint8Array ? value : value.data).toString('latin1');
}

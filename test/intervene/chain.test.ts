/** HookChain: how the hooks of several scripts combine, and how a bad hook is contained. */
import { describe, expect, it } from 'vitest';
import { HookChain } from '../../src/intervene/chain.js';
import type { Hooks, Message, MessageContext, NamedHooks } from '../../src/intervene/hooks.js';

const message: Message = { conn: 'c1', dir: 'in', type: 'text', text: '{"type":"presence"}', index: 3, time: '2026-12-03T10:00:00.000Z' };
const ctx: MessageContext = {
  connection: { id: 'c1', url: 'ws://x/', headers: [], protocols: [], subprotocol: null },
  send: () => {},
  close: () => {},
  abort: () => {},
  state: {},
};
const named = (hooks: Hooks, name = 'a.mjs'): NamedHooks => ({ hooks, name, by: 'script' });

describe('HookChain.decideMessage', () => {
  it('forwards unchanged when every hook returns undefined', async () => {
    const chain = new HookChain([named({ onMessage: () => undefined }), named({ onMessage: () => Promise.resolve(undefined) })], 1000);
    expect(await chain.decideMessage(message, ctx)).toEqual({ outcome: 'unchanged', delayMs: 0, by: null, failures: [] });
  });

  it('decides at once while every hook answers with a plain value, and goes on after a promise', async () => {
    const sync = new HookChain([named({ onMessage: () => undefined }), named({ onMessage: () => 'changed' }, 'b.mjs')], 1000);
    const now = sync.decideMessage(message, ctx);
    expect(now).not.toBeInstanceOf(Promise);
    expect(now).toMatchObject({ outcome: 'replaced', payload: { type: 'text', text: 'changed' } });
    // A plain hook after an async one still runs, on what the async one returned.
    const seen: string[] = [];
    const mixed = new HookChain(
      [
        named({ onMessage: () => Promise.resolve('from async') }),
        named({ onMessage: (m: Message) => (seen.push(m.text!), { delay: 5 }) }, 'b.mjs'),
        named({ onMessage: () => null }, 'c.mjs'),
        named({ onMessage: () => 'never asked' }, 'd.mjs'),
      ],
      1000,
    );
    const later = mixed.decideMessage(message, ctx);
    expect(later).toBeInstanceOf(Promise);
    expect(await later).toMatchObject({ outcome: 'dropped', delayMs: 5, payload: undefined });
    expect(seen).toEqual(['from async']);
  });

  it('passes a replacement on to the next hook, which sees its type', async () => {
    const seen: Message[] = [];
    const record = (m: Message): undefined => {
      seen.push(m);
      return undefined;
    };
    const chain = new HookChain([named({ onMessage: () => new Uint8Array([1, 2]) }), named({ onMessage: record }, 'b.mjs')], 1000);
    const decision = await chain.decideMessage(message, ctx);
    expect(decision.outcome).toBe('replaced');
    expect(decision.payload).toEqual({ type: 'binary', data: new Uint8Array([1, 2]) });
    expect(seen[0]).toMatchObject({ type: 'binary', data: new Uint8Array([1, 2]), index: 3 });
    expect(seen[0]!.text).toBeUndefined();
  });

  it('a drop ends the chain; delays add up', async () => {
    let later = 0;
    const count = (): undefined => {
      later++;
      return undefined;
    };
    const chain = new HookChain(
      [named({ onMessage: () => ({ delay: 20 }) }), named({ onMessage: () => ({ delay: 30, payload: null }) }), named({ onMessage: count })],
      1000,
    );
    const decision = await chain.decideMessage(message, ctx);
    expect(decision).toMatchObject({ outcome: 'dropped', delayMs: 50, by: 'script' });
    expect(later).toBe(0);
  });

  it('a hook that throws, rejects, never settles or returns garbage changes nothing and is reported', async () => {
    const throws = (): undefined => {
      throw new TypeError('boom\n    at stack');
    };
    const chain = new HookChain(
      [
        named({ onMessage: throws }, 'throws.mjs'),
        named({ onMessage: () => Promise.reject(new Error('nope')) }, 'rejects.mjs'),
        named({ onMessage: () => new Promise(() => {}) }, 'hangs.mjs'),
        named({ onMessage: () => 42 as unknown as undefined }, 'garbage.mjs'),
        named({ onMessage: () => ({ delay: -1 }) }, 'negative.mjs'),
      ],
      50,
    );
    const decision = await chain.decideMessage(message, ctx);
    expect(decision.outcome).toBe('unchanged');
    expect(decision.failures.map((failure) => [failure.code, failure.hook])).toEqual([
      ['HOOK_ERROR', 'throws.mjs onMessage'],
      ['HOOK_ERROR', 'rejects.mjs onMessage'],
      ['HOOK_TIMEOUT', 'hangs.mjs onMessage'],
      ['HOOK_RESULT', 'garbage.mjs onMessage'],
      ['HOOK_RESULT', 'negative.mjs onMessage'],
    ]);
    expect(decision.failures[0]!.message).toBe('throws.mjs onMessage failed: TypeError: boom');
  });
});

describe('HookChain: connections, control frames, HTTP', () => {
  it('the first refusal wins; a refusal with a bad status is a failure, not a refusal', async () => {
    const chain = new HookChain(
      [named({ onConnection: () => ({ refuse: { status: 42 } }) }), named({ onConnection: () => ({ refuse: { status: 403, body: 'no' } }) })],
      1000,
    );
    const decision = await chain.decideConnection(ctx.connection);
    expect(decision.refuse).toEqual({ status: 403, headers: {}, body: 'no' });
    expect(decision.failures.map((failure) => failure.code)).toEqual(['HOOK_RESULT']);
  });

  it('onControl drops a pong with null, and a promise is refused (it is not awaited)', () => {
    const pong = { conn: 'c1', dir: 'in' as const, type: 'pong' as const, data: new Uint8Array() };
    expect(new HookChain([named({ onControl: () => null })], 1000).decideControl(pong, ctx)).toMatchObject({ drop: true, by: 'script' });
    const asyncHook = new HookChain([named({ onControl: (() => Promise.resolve(null)) as unknown as () => null })], 1000).decideControl(pong, ctx);
    expect(asyncHook.drop).toBe(false);
    expect(asyncHook.failures[0]!.code).toBe('HOOK_RESULT');
  });

  it('onRequest changes compose, a local response ends the chain, and a header with CRLF is refused', async () => {
    const request = { id: 'h1', method: 'GET', url: 'http://x/a', headers: [['Host', 'x']] as Array<[string, string]>, body: new Uint8Array() };
    const changed = await new HookChain(
      [named({ onRequest: () => ({ url: 'http://x/b' }) }), named({ onRequest: (r) => ({ headers: [...r.headers, ['X-A', r.url]] }) })],
      1000,
    ).decideRequest(request);
    expect(changed.request).toMatchObject({
      method: 'GET',
      url: 'http://x/b',
      headers: [
        ['Host', 'x'],
        ['X-A', 'http://x/b'],
      ],
    });
    const mocked = await new HookChain(
      [named({ onRequest: () => ({ response: { status: 204 } }) }), named({ onRequest: () => ({ url: 'http://y/' }) })],
      1000,
    ).decideRequest(request);
    expect(mocked.response).toEqual({ status: 204, headers: [], body: new Uint8Array() });
    expect(mocked.request).toBeUndefined();
    const smuggled = await new HookChain([named({ onRequest: () => ({ headers: [['X-A', 'a\r\nTransfer-Encoding: chunked']] }) })], 1000).decideRequest(
      request,
    );
    expect(smuggled.request).toBeUndefined();
    expect(smuggled.failures[0]!.code).toBe('HOOK_RESULT');
  });

  it('onResponse keeps what a change does not name', async () => {
    const response = { status: 200, headers: [['Content-Type', 'text/plain']] as Array<[string, string]>, body: Buffer.from('hi') };
    const request = { id: 'h1', method: 'GET', url: 'http://x/', headers: [], body: new Uint8Array() };
    const decision = await new HookChain([named({ onResponse: () => ({ status: 500 }) })], 1000).decideResponse(response, request);
    expect(decision.response).toEqual({ ...response, status: 500 });
  });
});

/**
 * What the compiled flags do: their hooks called with messages and control frames and a fake
 * context that records send, close and abort; the verdicts and the calls are checked.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { compileFlags, type InterventionFlags } from '../../src/intervene/flags.js';
import type { ControlFrame, Hooks, Message, MessageVerdict } from '../../src/intervene/hooks.js';
import { binaryMessage, control, fakeContext, textMessage, type FakeContext } from './helpers.js';

function hooksOf(flags: InterventionFlags, random?: () => number): Hooks {
  const compiled = compileFlags(flags, random ? { random } : {});
  if (!compiled) throw new Error('no hooks');
  return compiled.hooks;
}

/** onMessage's verdict, synchronously (the flags never return a promise). */
function verdict(hooks: Hooks, message: Message, ctx: FakeContext = fakeContext()): MessageVerdict {
  if (!hooks.onMessage) throw new Error('no onMessage');
  const result = hooks.onMessage(message, ctx);
  if (result instanceof Promise) throw new Error('onMessage returned a promise');
  return result;
}

/** A short title for a message in a test name: `in text "hi"`. */
function label(item: Message | ControlFrame): string {
  const body = item.type === 'text' ? (item.text ?? '') : Buffer.from(item.data ?? new Uint8Array()).toString('latin1');
  return `${item.dir} ${item.type} ${JSON.stringify(body)}`;
}

/** Table rows [spec, message, expected] as [spec, title, expected, message], for short test names. */
function titled<M extends Message | ControlFrame, E>(rows: Array<[string, M, E]>): Array<[string, string, E, M]> {
  return rows.map(([spec, item, expected]) => [spec, label(item), expected, item]);
}

function controlVerdict(hooks: Hooks, frame: ControlFrame, ctx: FakeContext = fakeContext()): null | undefined | void {
  if (!hooks.onControl) throw new Error('no onControl');
  return hooks.onControl(frame, ctx);
}

describe('--drop', () => {
  it.each(
    titled<Message, boolean>([
      ['in', textMessage('in', 'hi'), true],
      ['in', textMessage('out', 'hi'), false],
      ['in', binaryMessage('in', 'x'), true],
      ['out', textMessage('out', 'hi'), true],
      ['both', textMessage('in', 'hi'), true],
      ['both', textMessage('out', 'hi'), true],
      ['in text', textMessage('in', 'hi'), true],
      ['in text', binaryMessage('in', 'hi'), false],
      ['in binary', binaryMessage('in', 'hi'), true],
      ['in binary', textMessage('in', 'hi'), false],
      ['in text /"type":"presence"/', textMessage('in', '{"type":"presence","user":"a"}'), true],
      ['in text /"type":"presence"/', textMessage('in', '{"type":"chat"}'), false],
      ['in /PRESENCE/i', textMessage('in', 'presence'), true],
      ['in /PRESENCE/', textMessage('in', 'presence'), false],
      ['in /a\\/b/', textMessage('in', 'x a/b y'), true],
      ['in /^\\x00\\xff/', binaryMessage('in', new Uint8Array([0, 255, 1])), true],
      ['in /^\\x00\\xff/', binaryMessage('in', new Uint8Array([1, 0, 255])), false],
      ['out $.type=ping', textMessage('out', '{"type":"ping"}'), true],
      ['out $.type=ping', textMessage('out', '{"type":"pong"}'), false],
      ['out $.type=ping', textMessage('out', '{"kind":"ping"}'), false],
      ['out $.type=ping', textMessage('out', 'type=ping, not JSON'), false],
      ['out $.type="two words"', textMessage('out', '{"type":"two words"}'), true],
      ['out $.n=3', textMessage('out', '{"n":3}'), true],
      ['out $.n=3', textMessage('out', '{"n":"3"}'), false],
      ['out $.n="3"', textMessage('out', '{"n":"3"}'), true],
      ['out $.ok=true', textMessage('out', '{"ok":true}'), true],
      ['out $.v=null', textMessage('out', '{"v":null}'), true],
      ['out $.v=null', textMessage('out', '{}'), false],
      ['out $.o={"b":1,"a":[2]}', textMessage('out', '{"o":{"a":[2],"b":1}}'), true],
      ['out $.o={"b":1,"a":[2]}', textMessage('out', '{"o":{"a":[2],"b":1,"c":0}}'), false],
      ['out $.items[1].id=7', textMessage('out', '{"items":[{"id":1},{"id":7}]}'), true],
      ['out $.items[1].id=7', textMessage('out', '{"items":[{"id":7},{"id":1}]}'), false],
      ['out $..id=7', textMessage('out', '{"a":{"b":[{"id":7}]}}'), true],
      ['out $..id=7', textMessage('out', '{"a":{"b":[{"id":8}]}}'), false],
      ['out $.items[*].id=1', textMessage('out', '{"items":[{"id":3},{"id":1}]}'), true],
      ['out $.user', textMessage('out', '{"user":null}'), true],
      ['out $.user', textMessage('out', '{"users":[]}'), false],
      ['out $.items[5]', textMessage('out', '{"items":[1]}'), false],
      ['out $.items[0]', textMessage('out', '{"items":[1]}'), true],
      ['out $.o={"a":1,"b":2}', textMessage('out', '{"o":{"a":1}}'), false],
      ["out $['a]b']=1", textMessage('out', '{"a]b":1}'), true],
      ["out $['a b']=1", textMessage('out', '{"a b":1}'), true],
      ['out $.type=ping', binaryMessage('out', '{"type":"ping"}'), false],
    ]),
  )('%s on %s: dropped %s', (spec, _title, dropped, message) => {
    expect(verdict(hooksOf({ drop: [spec] }), message)).toBe(dropped ? null : undefined);
  });

  it.each(
    titled<ControlFrame, boolean>([
      ['in pong', control('in', 'pong'), true],
      ['in pong', control('out', 'pong'), false],
      ['in pong', control('in', 'ping'), false],
      ['both ping', control('out', 'ping'), true],
      ['out ping /keepalive/', control('out', 'ping', 'keepalive 1'), true],
      ['out ping /keepalive/', control('out', 'ping', 'other'), false],
      ['in', control('in', 'pong'), false],
    ]),
  )('%s on %s: dropped %s', (spec, _title, dropped, frame) => {
    const hooks = hooksOf({ drop: [spec, 'in ping /never-matches/'] });
    expect(controlVerdict(hooks, frame)).toBe(dropped ? null : undefined);
  });

  it('installs only the hooks it needs', () => {
    expect(Object.keys(hooksOf({ drop: ['in pong'] }))).toEqual(['onControl']);
    expect(Object.keys(hooksOf({ drop: ['in'] }))).toEqual(['onMessage']);
    expect(Object.keys(hooksOf({ drop: ['in'], closeOn: ['out ping'] })).sort()).toEqual(['onControl', 'onMessage']);
  });

  it('a g or y flag does not make the test stateful', () => {
    const hooks = hooksOf({ drop: ['in /a/g', 'out /a/y'] });
    for (const dir of ['in', 'out', 'in', 'out'] as const) expect(verdict(hooks, textMessage(dir, 'a'))).toBeNull();
  });

  it('drops when any of several matches', () => {
    const hooks = hooksOf({ drop: ['in /a/', 'in /b/'] });
    expect(verdict(hooks, textMessage('in', 'b'))).toBeNull();
    expect(verdict(hooks, textMessage('in', 'c'))).toBeUndefined();
  });
});

describe('--replace', () => {
  it.each(
    titled<Message, MessageVerdict>([
      ['in /foo/bar/', textMessage('in', 'foo foo'), 'bar foo'],
      ['in /foo/bar/g', textMessage('in', 'foo foo'), 'bar bar'],
      ['in /FOO/bar/gi', textMessage('in', 'Foo foo'), 'bar bar'],
      ['in /(\\w+)@example\\.com/$1@test.invalid/g', textMessage('in', 'mail ann@example.com'), 'mail ann@test.invalid'],
      ['in /(?<n>\\d+)/[$<n>]/', textMessage('in', 'n=42'), 'n=[42]'],
      ['in /a\\/b/c\\/d/', textMessage('in', 'a/b'), 'c/d'],
      ['in /x/\\\\/', textMessage('in', 'x'), '\\'],
      ['in /x//g', textMessage('in', 'axbx'), 'ab'],
      ['in /foo/bar/', textMessage('in', 'nothing here'), undefined],
      ['in /foo/bar/', textMessage('out', 'foo'), undefined],
      ['both /foo/bar/', textMessage('out', 'foo'), 'bar'],
      ['in /foo/foo/', textMessage('in', 'foo'), undefined],
      ['in /foo/bar/', binaryMessage('in', 'foo'), undefined],
    ]),
  )('%s on %s gives %j', (spec, _title, expected, message) => {
    expect(verdict(hooksOf({ replace: [spec] }), message)).toBe(expected);
  });

  it('applies several in order, each to the result of the one before', () => {
    expect(verdict(hooksOf({ replace: ['in /a/b/g', 'in /b/c/'] }), textMessage('in', 'ab'))).toBe('cb');
  });

  it('a sticky regex replaces the same on every message', () => {
    const hooks = hooksOf({ replace: ['in /a/b/y'] });
    expect(verdict(hooks, textMessage('in', 'aa'))).toBe('ba');
    expect(verdict(hooks, textMessage('in', 'aa'))).toBe('ba');
  });
});

describe('--set', () => {
  it.each<[string, string, MessageVerdict]>([
    ['in $.user.name="mallory"', '{"user":{"name":"alice","id":1}}', '{"user":{"name":"mallory","id":1}}'],
    ['in $.user.name=mallory', '{"user":{"name":"alice"}}', '{"user":{"name":"mallory"}}'],
    ['in $.user.id=2', '{"user":{"id":1}}', '{"user":{"id":2}}'],
    ['in $.user.id="2"', '{"user":{"id":1}}', '{"user":{"id":"2"}}'],
    ['in $.debug=true', '{"a":1}', '{"a":1,"debug":true}'],
    ['in $.user={"name":"m a"}', '{"user":null}', '{"user":{"name":"m a"}}'],
    ['in $.items[1]=0', '{"items":[5,6,7]}', '{"items":[5,0,7]}'],
    ['in $.items[3]=8', '{"items":[5,6,7]}', '{"items":[5,6,7,8]}'],
    ['in $.items[9]=8', '{"items":[5,6,7]}', undefined],
    ['in $.user.name=x', '{"other":1}', undefined],
    ['in $.user.name=x', '{"user":"alice"}', undefined],
    ['in $.user.name=x', 'not json', undefined],
    ['in $.user.name="alice"', '{ "user": { "name": "alice" } }', undefined],
    ['in $["__proto__"]=1', '{}', '{"__proto__":1}'],
    ['out $.type=profile $.admin=true', '{"type":"profile"}', '{"type":"profile","admin":true}'],
    ['out $.type=profile $.admin=true', '{"type":"other"}', undefined],
    ['out /profile/ $.admin=true', '{"type":"profile"}', '{"type":"profile","admin":true}'],
    ['out $.type="pro file" $.admin=true', '{"type":"pro file"}', '{"type":"pro file","admin":true}'],
    ['out $.type={"a":1} $.admin=true', '{"type":{"a":1}}', '{"type":{"a":1},"admin":true}'],
  ])('%s on %s gives %j', (spec, text, expected) => {
    const dir = spec.startsWith('in') ? 'in' : 'out';
    expect(verdict(hooksOf({ set: [spec] }), textMessage(dir, text))).toBe(expected);
  });

  it('only in its direction', () => {
    expect(verdict(hooksOf({ set: ['in $.a=2'] }), textMessage('out', '{"a":1}'))).toBeUndefined();
  });

  it('runs after --replace', () => {
    expect(verdict(hooksOf({ replace: ['in /alice/bob/'], set: ['in $.id=2'] }), textMessage('in', '{"name":"alice","id":1}'))).toBe('{"name":"bob","id":2}');
  });
});

describe('--delay', () => {
  it.each(
    titled<Message, MessageVerdict>([
      ['in 200ms', textMessage('in', 'x'), { delay: 200 }],
      ['in 1.5s', textMessage('in', 'x'), { delay: 1500 }],
      ['in 200ms', textMessage('out', 'x'), undefined],
      ['in 200ms', binaryMessage('in', 'x'), { delay: 200 }],
      ['in text 200ms', binaryMessage('in', 'x'), undefined],
      ['in /presence/ 2s', textMessage('in', 'presence'), { delay: 2000 }],
      ['in /presence/ 2s', textMessage('in', 'chat'), undefined],
      ['in 0ms', textMessage('in', 'x'), undefined],
    ]),
  )('%s on %s gives %j', (spec, _title, expected, message) => {
    expect(verdict(hooksOf({ delay: [spec] }), message)).toEqual(expected);
  });

  it.each<[number, number]>([
    [0, 50],
    [0.5, 100],
    [0.999999, 150],
  ])('jitter: random() = %d gives %d ms for 100ms~50ms', (random, ms) => {
    expect(
      verdict(
        hooksOf({ delay: ['out 100ms~50ms'] }, () => random),
        textMessage('out', 'x'),
      ),
    ).toEqual({ delay: ms });
  });

  it('jitter never goes below 0', () => {
    expect(
      verdict(
        hooksOf({ delay: ['out 10ms~50ms'] }, () => 0),
        textMessage('out', 'x'),
      ),
    ).toBeUndefined();
    // A negative pick would take time off the other delay.
    const hooks = hooksOf({ delay: ['out 100ms', 'out 10ms~50ms'] }, () => 0);
    expect(verdict(hooks, textMessage('out', 'x'))).toEqual({ delay: 100 });
  });

  it('matching delays add up', () => {
    expect(verdict(hooksOf({ delay: ['in 100ms', 'in /slow/ 1s'] }), textMessage('in', 'slow'))).toEqual({ delay: 1100 });
  });

  it('carries a rewritten payload', () => {
    expect(verdict(hooksOf({ delay: ['in 100ms'], replace: ['in /a/b/'] }), textMessage('in', 'a'))).toEqual({ delay: 100, payload: 'b' });
  });

  it('a dropped message is not delayed', () => {
    expect(verdict(hooksOf({ delay: ['in 100ms'], drop: ['in'] }), textMessage('in', 'a'))).toBeNull();
  });
});

describe('--close-after and --abort-after', () => {
  it('closes on the Nth message in that direction, not before, and only once', () => {
    const hooks = hooksOf({ closeAfter: ['in 3 1011 going away'] });
    const ctx = fakeContext();
    expect(verdict(hooks, textMessage('in', 'a', 0), ctx)).toBeUndefined();
    expect(verdict(hooks, textMessage('out', 'b', 0), ctx)).toBeUndefined();
    expect(verdict(hooks, textMessage('in', 'c', 1), ctx)).toBeUndefined();
    expect(ctx.closed).toEqual([]);
    // The Nth message itself is forwarded; the close follows it.
    expect(verdict(hooks, textMessage('in', 'd', 2), ctx)).toBeUndefined();
    expect(ctx.closed).toEqual([[1011, 'going away']]);
    verdict(hooks, textMessage('in', 'e', 3), ctx);
    expect(ctx.closed).toHaveLength(1);
    expect(ctx.aborted).toBe(0);
  });

  it('counts per connection', () => {
    const hooks = hooksOf({ closeAfter: ['in 2'] });
    const one = fakeContext();
    const two = fakeContext();
    verdict(hooks, textMessage('in', 'a'), one);
    verdict(hooks, textMessage('in', 'a'), two);
    expect([one.closed, two.closed]).toEqual([[], []]);
    verdict(hooks, textMessage('in', 'a'), one);
    expect([one.closed, two.closed]).toEqual([[[1000, '']], []]);
  });

  it('counts only messages that meet the condition, dropped ones included', () => {
    const hooks = hooksOf({ closeAfter: ['in /x/ 2'], drop: ['in'] });
    const ctx = fakeContext();
    verdict(hooks, textMessage('in', 'x'), ctx);
    verdict(hooks, textMessage('in', 'y'), ctx);
    expect(ctx.closed).toEqual([]);
    expect(verdict(hooks, textMessage('in', 'x'), ctx)).toBeNull();
    expect(ctx.closed).toEqual([[1000, '']]);
  });

  it('both: the two directions count together', () => {
    const hooks = hooksOf({ abortAfter: ['both 2'] });
    const ctx = fakeContext();
    verdict(hooks, textMessage('in', 'a'), ctx);
    expect(ctx.aborted).toBe(0);
    verdict(hooks, textMessage('out', 'b'), ctx);
    expect(ctx.aborted).toBe(1);
  });

  it('--abort-after aborts on the Nth, once', () => {
    const hooks = hooksOf({ abortAfter: ['out 3'] });
    const ctx = fakeContext();
    for (let i = 0; i < 2; i++) verdict(hooks, textMessage('out', 'x', i), ctx);
    expect(ctx.aborted).toBe(0);
    verdict(hooks, textMessage('out', 'x', 2), ctx);
    verdict(hooks, textMessage('out', 'x', 3), ctx);
    expect(ctx.aborted).toBe(1);
    expect(ctx.closed).toEqual([]);
  });

  it('counts control frames when the condition names them', () => {
    const hooks = hooksOf({ closeAfter: ['in ping 2 4000 no more pings'] });
    const ctx = fakeContext();
    controlVerdict(hooks, control('in', 'ping'), ctx);
    expect(ctx.closed).toEqual([]);
    controlVerdict(hooks, control('in', 'ping'), ctx);
    expect(ctx.closed).toEqual([[4000, 'no more pings']]);
  });
});

describe('--close-on and --abort-on', () => {
  it('closes when a message matches, once', () => {
    const hooks = hooksOf({ closeOn: ['in /fatal/ 1011'] });
    const ctx = fakeContext();
    verdict(hooks, textMessage('in', 'fine'), ctx);
    verdict(hooks, textMessage('out', 'fatal'), ctx);
    expect(ctx.closed).toEqual([]);
    expect(verdict(hooks, textMessage('in', 'a fatal error'), ctx)).toBeUndefined();
    verdict(hooks, textMessage('in', 'fatal again'), ctx);
    expect(ctx.closed).toEqual([[1011, '']]);
  });

  it('aborts when a message matches', () => {
    const hooks = hooksOf({ abortOn: ['in $.type=crash'] });
    const ctx = fakeContext();
    verdict(hooks, textMessage('in', '{"type":"ok"}'), ctx);
    expect(ctx.aborted).toBe(0);
    verdict(hooks, textMessage('in', '{"type":"crash"}'), ctx);
    expect(ctx.aborted).toBe(1);
  });

  it('after a close, no abort and no injection follow', () => {
    const hooks = hooksOf({ closeOn: ['in /x/'], abortOn: ['in /x/'], injectOn: ['in /y/ out hi'] });
    const ctx = fakeContext();
    verdict(hooks, textMessage('in', 'x'), ctx);
    verdict(hooks, textMessage('in', 'y'), ctx);
    expect([ctx.closed, ctx.aborted, ctx.sent]).toEqual([[[1000, '']], 0, []]);
  });
});

describe('--inject-on', () => {
  it('sends the message in the given direction each time one matches', () => {
    const hooks = hooksOf({ injectOn: ['in /welcome/ out {"type":"subscribe", "room": "a b"}'] });
    const ctx = fakeContext();
    expect(verdict(hooks, textMessage('in', 'hello'), ctx)).toBeUndefined();
    expect(ctx.sent).toEqual([]);
    expect(verdict(hooks, textMessage('in', 'welcome!'), ctx)).toBeUndefined();
    expect(ctx.sent).toEqual([['out', '{"type":"subscribe", "room": "a b"}']]);
    verdict(hooks, textMessage('in', 'welcome back'), ctx);
    expect(ctx.sent).toHaveLength(2);
  });

  it('sends a binary message given as hex: or base64:, and text: as text', () => {
    const hooks = hooksOf({ injectOn: ['in /a/ out hex:00ff 80', 'in /a/ in base64:AQID', 'in /a/ out text:hex:not bytes'] });
    const ctx = fakeContext();
    verdict(hooks, textMessage('in', 'a'), ctx);
    expect(ctx.sent).toEqual([
      ['out', new Uint8Array([0x00, 0xff, 0x80])],
      ['in', new Uint8Array([1, 2, 3])],
      ['out', 'hex:not bytes'],
    ]);
  });

  it('on a control frame', () => {
    const hooks = hooksOf({ injectOn: ['out ping in {"type":"pinged"}'] });
    const ctx = fakeContext();
    expect(controlVerdict(hooks, control('out', 'ping'), ctx)).toBeUndefined();
    expect(ctx.sent).toEqual([['in', '{"type":"pinged"}']]);
  });

  it('injects before it closes, when one message does both', () => {
    const hooks = hooksOf({ injectOn: ['in /bye/ out ack'], closeOn: ['in /bye/'] });
    const calls: string[] = [];
    const ctx = fakeContext();
    ctx.send = () => void calls.push('send');
    ctx.close = () => void calls.push('close');
    verdict(hooks, textMessage('in', 'bye'), ctx);
    expect(calls).toEqual(['send', 'close']);
  });
});

describe('--inject-at', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends at the time after onOpen', async () => {
    const hooks = hooksOf({ injectAt: ['2s in {"type":"kick"}', '500ms out hello there'] });
    const ctx = fakeContext();
    await hooks.onOpen?.(ctx);
    vi.advanceTimersByTime(499);
    expect(ctx.sent).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(ctx.sent).toEqual([['out', 'hello there']]);
    vi.advanceTimersByTime(1499);
    expect(ctx.sent).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(ctx.sent).toEqual([
      ['out', 'hello there'],
      ['in', '{"type":"kick"}'],
    ]);
  });

  it('starts the timers once per connection, on the first message when onOpen was not called', () => {
    const hooks = hooksOf({ injectAt: ['1s in kick'] });
    const ctx = fakeContext();
    expect(verdict(hooks, textMessage('out', 'a'), ctx)).toBeUndefined();
    verdict(hooks, textMessage('out', 'b'), ctx);
    vi.advanceTimersByTime(1000);
    expect(ctx.sent).toEqual([['in', 'kick']]);
  });

  it('does not send on a connection the flags closed', async () => {
    const hooks = hooksOf({ injectAt: ['1s in kick'], closeAfter: ['in 1'] });
    const ctx = fakeContext();
    await hooks.onOpen?.(ctx);
    verdict(hooks, textMessage('in', 'a'), ctx);
    vi.advanceTimersByTime(1000);
    expect(ctx.sent).toEqual([]);
  });
});

describe('order', () => {
  it('conditions see the message as it arrived', () => {
    const hooks = hooksOf({ replace: ['in /secret/public/'], drop: ['in /public/'], closeOn: ['in /secret/'] });
    const ctx = fakeContext();
    expect(verdict(hooks, textMessage('in', 'secret'), ctx)).toBe('public');
    expect(ctx.closed).toHaveLength(1);
  });
});

/** The fault flags of `wstape replay`: their syntax, their errors, and the hooks they compile to. */
import { describe, expect, it } from 'vitest';
import { isCliError } from '../../src/errors.js';
import type { MessageContext } from '../../src/intervene/hooks.js';
import { compileReplayFaults, parseReplayFaults, type ReplayFaultArgs } from '../../src/replay/faults.js';
import { runCli } from '../helpers/cli.js';

const usageError = (args: ReplayFaultArgs): string => {
  try {
    parseReplayFaults(args);
  } catch (error) {
    if (isCliError(error)) return error.code;
    throw error;
  }
  return 'no error';
};

describe('parseReplayFaults', () => {
  it.each<[ReplayFaultArgs, object]>([
    [{}, { closeCode: 1000, closeReason: '', noPong: false }],
    [{ abortAfter: '3' }, { abortAfter: 3 }],
    [
      { closeAfter: 2, closeCode: '1011', closeReason: 'try later' },
      { closeAfter: 2, closeCode: 1011, closeReason: 'try later' },
    ],
    [{ closeAfter: '1', closeCode: '4000' }, { closeCode: 4000 }],
    [{ latency: '50' }, { latency: { ms: 50, jitterMs: 0 } }],
    [{ latency: '50ms~20ms' }, { latency: { ms: 50, jitterMs: 20 } }],
    [{ latency: '1s~250ms' }, { latency: { ms: 1000, jitterMs: 250 } }],
    [{ latency: '0' }, { latency: { ms: 0, jitterMs: 0 } }],
    [{ noPong: true }, { noPong: true }],
    [{ slowRead: '65536' }, { slowReadBytesPerSecond: 65536 }],
    [{ slowRead: '64k' }, { slowReadBytesPerSecond: 65536 }],
    [{ slowRead: '1MiB/s' }, { slowReadBytesPerSecond: 1048576 }],
    [{ abortAfter: ['1', '5'] }, { abortAfter: 5 }],
  ])('%j', (args, expected) => {
    expect(parseReplayFaults(args)).toMatchObject(expected);
  });

  it.each<ReplayFaultArgs>([
    { abortAfter: '0' },
    { abortAfter: 'two' },
    { closeAfter: '-1' },
    { abortAfter: '1', closeAfter: '2' },
    { closeCode: '1011' },
    { closeReason: 'bye' },
    { closeAfter: '1', closeCode: '1006' },
    { closeAfter: '1', closeCode: '999' },
    { closeAfter: '1', closeReason: 'x'.repeat(124) },
    { latency: 'fast' },
    { latency: '50~80' },
    { latency: '50~20~10' },
    { latency: '-5' },
    { latency: '2h' },
    { slowRead: '0' },
    { slowRead: 'slow' },
  ])('%j is a usage error', (args) => {
    expect(usageError(args)).toBe('ERR_USAGE');
  });
});

describe('compileReplayFaults', () => {
  const ctx = (): MessageContext & { actions: string[] } => {
    const actions: string[] = [];
    return {
      actions,
      connection: { id: 'c1', url: 'ws://x/', headers: [], protocols: [], subprotocol: null },
      send: () => {},
      close: (code, reason) => actions.push(`close ${code} ${reason}`),
      abort: () => actions.push('abort'),
      state: {},
    };
  };
  const message = (dir: 'in' | 'out', index: number) => ({ conn: 'c1', dir, type: 'text' as const, text: 'x', index, time: '' });

  it('is no hook at all when only --slow-read (or nothing) is given', () => {
    expect(compileReplayFaults(parseReplayFaults({ slowRead: '100' }), 'in')).toBeNull();
  });

  it("counts the replayer's own messages per connection, not the peer's", () => {
    const named = compileReplayFaults(parseReplayFaults({ closeAfter: '2', closeCode: '1011', closeReason: 'r' }), 'in')!;
    expect(named).toMatchObject({ name: 'replay flags', by: 'flag' });
    const one = ctx();
    const two = ctx();
    const onMessage = named.hooks.onMessage!;
    void onMessage(message('out', 0), one);
    void onMessage(message('in', 0), one);
    void onMessage(message('in', 0), two);
    expect(one.actions).toEqual([]);
    void onMessage(message('in', 1), one);
    expect(one.actions).toEqual(['close 1011 r']);
    expect(two.actions).toEqual([]);
  });

  it("--no-pong silences the peer's pings only", () => {
    const named = compileReplayFaults(parseReplayFaults({ noPong: true }), 'out')!;
    const onControl = named.hooks.onControl!;
    expect(onControl({ conn: 'c1', dir: 'in', type: 'ping', data: new Uint8Array() }, ctx())).toBeNull();
    expect(onControl({ conn: 'c1', dir: 'in', type: 'pong', data: new Uint8Array() }, ctx())).toBeUndefined();
  });
});

describe('wstape replay with a bad fault flag', () => {
  it('prints one line and exits with the usage code', async () => {
    const result = await runCli(['replay', 'missing.wstape.json', '--as', 'server', '--latency', '50ms~80ms']);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/--latency/);
  });
});

/**
 * ClientTrust: a client that left after the certificate is a trust failure only when no
 * handshake for the same host finished within the grace time around it (Chromium abandons
 * handshakes it trusts; Node's clients reject without an alert). Fake timers: the grace time is
 * the subject here, so the clock is the test's.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ClientTlsFailure } from '../../src/record/client-tls.js';
import { ClientTrust } from '../../src/record/client-trust.js';

const GRACE = 1000;
const left = (host: string): ClientTlsFailure => ({ kind: 'left-after-certificate', host });
const alert: ClientTlsFailure = { kind: 'error', error: Object.assign(new Error('alert'), { code: 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA' }) };

let reported: string[];
let trust: ClientTrust;
beforeEach(() => {
  vi.useFakeTimers();
  reported = [];
  trust = new ClientTrust(
    (message) => reported.push(message),
    GRACE,
    () => Date.now(),
  );
});
afterEach(() => {
  vi.useRealTimers();
});

describe('ClientTrust', () => {
  it('a handshake error is reported at once', () => {
    trust.trusted('a.test');
    trust.failed(alert, 'a.test', 'alert for a.test');
    expect(reported).toEqual(['alert for a.test']);
  });

  it('a client that left after the certificate is reported once the grace time passed with no finished handshake', () => {
    trust.failed(left('a.test'), 'a.test', 'left a.test');
    vi.advanceTimersByTime(GRACE - 1);
    expect(reported).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(reported).toEqual(['left a.test']);
    vi.advanceTimersByTime(10 * GRACE);
    expect(reported).toEqual(['left a.test']);
  });

  it('not when a handshake for the same host finishes within the grace time after (a browser abandoning a handshake)', () => {
    trust.failed(left('a.test'), 'a.test', 'left a.test');
    vi.advanceTimersByTime(GRACE / 2);
    trust.trusted('a.test');
    vi.advanceTimersByTime(10 * GRACE);
    expect(reported).toEqual([]);
  });

  it('not when one finished within the grace time before; yes when that was longer ago', () => {
    trust.trusted('a.test');
    vi.advanceTimersByTime(GRACE);
    trust.failed(left('a.test'), 'a.test', 'soon after');
    vi.advanceTimersByTime(1);
    trust.failed(left('a.test'), 'a.test', 'later');
    vi.advanceTimersByTime(GRACE);
    expect(reported).toEqual(['later']);
  });

  it('another host finishing its handshake changes nothing', () => {
    trust.failed(left('a.test'), 'a.test', 'left a.test');
    trust.trusted('b.test');
    vi.advanceTimersByTime(GRACE);
    expect(reported).toEqual(['left a.test']);
  });

  it('shutdown writes what is still waiting, once', () => {
    trust.failed(left('a.test'), 'a.test', 'first');
    trust.failed(left('b.test'), 'b.test', 'second');
    trust.shutdown();
    expect(reported.sort()).toEqual(['first', 'second']);
    vi.advanceTimersByTime(10 * GRACE);
    expect(reported).toHaveLength(2);
  });
});

import { describe, expect, it } from 'vitest';
import { CloseCode, closeCodeName, isValidWireCloseCode, parseClosePayload } from '../../src/wire/close-codes.js';
import { encodeClosePayload } from '../../src/wire/frame-encoder.js';
import { hex } from './split-helpers.js';

describe('close codes', () => {
  it('names the registered codes', () => {
    expect(closeCodeName(1000)).toBe('Normal closure');
    expect(closeCodeName(1001)).toBe('Going away');
    expect(closeCodeName(1002)).toBe('Protocol error');
    expect(closeCodeName(1003)).toBe('Unsupported data');
    expect(closeCodeName(1005)).toBe('No status received');
    expect(closeCodeName(1006)).toBe('Abnormal closure');
    expect(closeCodeName(1007)).toBe('Invalid frame payload data');
    expect(closeCodeName(1008)).toBe('Policy violation');
    expect(closeCodeName(1009)).toBe('Message too big');
    expect(closeCodeName(1010)).toBe('Mandatory extension');
    expect(closeCodeName(1011)).toBe('Internal error');
    expect(closeCodeName(1012)).toBe('Service restart');
    expect(closeCodeName(1013)).toBe('Try again later');
    expect(closeCodeName(1014)).toBe('Bad gateway');
    expect(closeCodeName(1015)).toBe('TLS handshake');
  });

  it('names the ranges', () => {
    expect(closeCodeName(0)).toBe('Unused');
    expect(closeCodeName(999)).toBe('Unused');
    expect(closeCodeName(1016)).toBe('Reserved');
    expect(closeCodeName(2999)).toBe('Reserved');
    expect(closeCodeName(3000)).toBe('Registered (library/framework use)');
    expect(closeCodeName(4000)).toBe('Private use');
    expect(closeCodeName(4999)).toBe('Private use');
    expect(closeCodeName(5000)).toBe('Invalid');
    expect(closeCodeName(-1)).toBe('Invalid');
  });

  it('knows which codes may be sent (RFC 6455 §7.4.1, §7.4.2)', () => {
    const valid = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999];
    const invalid = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535];
    for (const code of valid) expect(isValidWireCloseCode(code), String(code)).toBe(true);
    for (const code of invalid) expect(isValidWireCloseCode(code), String(code)).toBe(false);
    for (let code = 0; code < 65536; code++) {
      const expected = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
      if (isValidWireCloseCode(code) !== expected) throw new Error(`code ${code}`);
    }
  });
});

describe('parseClosePayload', () => {
  it('reads an empty payload as no code', () => {
    expect(parseClosePayload(new Uint8Array(0))).toEqual({ reason: '', flags: [] });
  });

  it('flags a 1-byte payload (RFC 6455 §5.5.1)', () => {
    expect(parseClosePayload(hex('03'))).toEqual({ reason: '', flags: ['invalid-close-payload'] });
  });

  it('reads a code and a reason', () => {
    expect(parseClosePayload(encodeClosePayload(1000, 'done ✓'))).toEqual({ code: 1000, reason: 'done ✓', flags: [] });
  });

  it('flags codes that must not be sent', () => {
    for (const code of [0, 1005, 1006, 1015, 2000, 5000]) {
      expect(parseClosePayload(encodeClosePayload(code)).flags).toEqual(['invalid-close-code']);
    }
  });

  it('flags a reason that is not UTF-8 and decodes it with replacement characters', () => {
    const result = parseClosePayload(hex('03 e8 61 ff 62'));
    expect(result).toEqual({ code: 1000, reason: 'a\uFFFDb', flags: ['invalid-utf8'] });
  });

  it('does not hold a code point cut by truncation against a partial payload', () => {
    const payload = hex('03 e8 e2 82');
    expect(parseClosePayload(payload).flags).toEqual(['invalid-utf8']);
    expect(parseClosePayload(payload, true).flags).toEqual([]);
  });
});

describe('CloseCode', () => {
  it('names 1000-1015 in order, each with its registry name', () => {
    const codes = Object.values(CloseCode);
    expect(codes).toEqual(Array.from({ length: 16 }, (_, i) => 1000 + i));
    expect(closeCodeName(CloseCode.NormalClosure)).toBe('Normal closure');
    expect(closeCodeName(CloseCode.AbnormalClosure)).toBe('Abnormal closure');
    expect(closeCodeName(CloseCode.TlsHandshake)).toBe('TLS handshake');
  });

  it('marks the codes that never go on the wire (RFC 6455 §7.4.1)', () => {
    const unsendable = Object.values(CloseCode).filter((code) => !isValidWireCloseCode(code));
    expect(unsendable).toEqual([CloseCode.Reserved, CloseCode.NoStatusReceived, CloseCode.AbnormalClosure, CloseCode.TlsHandshake]);
  });
});

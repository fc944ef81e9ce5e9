import { describe, expect, it } from 'vitest';
import { escapeText, hexBytes, payloadBytes, payloadMatchString, payloadPrefix, printableText } from '../../src/output/payload.js';

describe('escapeText', () => {
  it.each([
    ['plain', 'plain'],
    ['a\nb', 'a\\nb'],
    ['a\r\n\tb', 'a\\r\\n\\tb'],
    ['\u001b[31mred', '\\x1b[31mred'],
    ['\u0000\u007f\u009b', '\\x00\\x7f\\x9b'],
    ['abc\u202egpj.exe', 'abc\\u202egpj.exe'],
    ['line\u2028sep', 'line\\u2028sep'],
    ['héllo ✓ 😀', 'héllo ✓ 😀'],
  ])('%j -> %j', (input, output) => {
    expect(escapeText(input)).toBe(output);
  });
});

describe('printableText', () => {
  it('accepts printable UTF-8', () => {
    expect(printableText(Buffer.from('heartbeat ✓'))).toBe('heartbeat ✓');
  });
  it('rejects control characters and invalid UTF-8', () => {
    expect(printableText(Buffer.from([0x68, 0x00]))).toBeNull();
    expect(printableText(Buffer.from([0xff, 0xfe]))).toBeNull();
  });
});

describe('payload helpers', () => {
  it('decodes text and base64 data', () => {
    expect(Buffer.from(payloadBytes({ text: 'hé' })).toString('hex')).toBe('68c3a9');
    expect(Buffer.from(payloadBytes({ data: 'iVBORw==' })).toString('hex')).toBe('89504e47');
    expect(payloadBytes({}).length).toBe(0);
  });
  it('decodes only a prefix when asked', () => {
    const data = Buffer.from(Array.from({ length: 100 }, (_, i) => i)).toString('base64');
    for (const count of [0, 1, 2, 3, 4, 16, 17]) {
      expect([...payloadPrefix({ data }, count)]).toEqual(Array.from({ length: count }, (_, i) => i));
    }
    expect(Buffer.from(payloadPrefix({ text: 'hello' }, 3)).toString()).toBe('hel');
    expect([...payloadPrefix({ data: 'AQI=' }, 16)]).toEqual([1, 2]);
  });
  it('reads binary payloads as latin1 for matching', () => {
    expect(payloadMatchString({ data: Buffer.from([0x89, 0x50, 0x4e, 0x47]).toString('base64') })).toBe('\u0089PNG');
    expect(payloadMatchString({ text: 'x' })).toBe('x');
  });
  it('formats hex pairs', () => {
    expect(hexBytes(Uint8Array.of(0x89, 0x0a, 0xff))).toBe('89 0a ff');
  });
});

/** The edit bookkeeping (TextDoc) and the position-aware JSON scanner under the JSON rules. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findJson, scanJsonAt } from '../../src/redact/json-scan.js';
import { defaultRules, MARKER } from '../../src/redact/rules.js';
import { fitMarker, TextDoc, type PlannedEdit } from '../../src/redact/text-doc.js';

const rule = defaultRules()[0]!;
const raw = (start: number, end: number): PlannedEdit => ({ start, end, shape: 'raw', hits: [{ rule, detail: '' }] });

describe('TextDoc', () => {
  it('applies edits, and maps offsets: inside a replaced span to the end of its replacement', () => {
    const doc = new TextDoc('aaSECRETbbKEYcc', 'utf8');
    expect(doc.apply([raw(10, 13), raw(2, 8)])).toHaveLength(2);
    expect(doc.text).toBe(`aa${MARKER}bb${MARKER}cc`);
    expect([0, 2, 3, 8, 9, 10, 11, 13, 15].map((offset) => doc.mapOffset(offset))).toEqual([0, 2, 12, 12, 13, 14, 24, 24, 26]);
  });

  it('maps UTF-8 byte offsets', () => {
    const doc = new TextDoc('é✓secret!', 'utf8');
    doc.apply([raw(2, 8)]);
    // é is 2 bytes and ✓ 3: the secret spans bytes 5 to 11.
    expect([5, 6, 11, 12].map((offset) => doc.mapOffset(offset))).toEqual([5, 15, 15, 16]);
  });

  it('drops overlapping edits, no-ops, and edits touching a marker already there', () => {
    const doc = new TextDoc(`x ${MARKER} yyyy`, 'utf8');
    expect(doc.apply([raw(0, 1), raw(0, 1), raw(2, 5), raw(13, 17)])).toHaveLength(2);
    expect(doc.text).toBe(`${MARKER} ${MARKER} ${MARKER}`);
    expect(doc.apply([raw(0, 3)])).toHaveLength(0);
  });

  it('keeps lengths in fixed-length and latin1 documents', () => {
    expect([fitMarker(3), fitMarker(10), fitMarker(12)]).toEqual(['***', MARKER, `${MARKER}**`]);
    const doc = new TextDoc('pw=hunter2 x', 'utf8', { fixedLength: true });
    doc.apply([raw(3, 10), { start: 11, end: 12, shape: { literal: 'long literal' }, hits: [] }]);
    expect(doc.text).toBe('pw=******* x');
    const json = new TextDoc('{"p":"a-long-secret-value"}', 'latin1');
    json.apply([{ start: 5, end: 26, shape: 'json-string', hits: [] }]);
    expect(json.text).toBe(`{"p":"${MARKER}*********"}`);
  });

  it('the pieces of the redacted bytes hold no part of a secret, whatever the cuts (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }), fc.array(fc.nat(), { maxLength: 4 }), (before, after, rawCuts) => {
        const secret = 'SECRETVALUE';
        const text = `${before}${secret}${after}`.replace(/[SECRTVALU]/g, 's');
        const withSecret = text.slice(0, before.length) + secret + text.slice(before.length + secret.length);
        const bytes = Buffer.from(withSecret, 'utf8');
        const start = Buffer.byteLength(withSecret.slice(0, before.length));
        const cuts = [...new Set(rawCuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
        const doc = new TextDoc(withSecret, 'utf8');
        doc.apply([raw(before.length, before.length + secret.length)]);
        const out = doc.bytes();
        const bounds = [0, ...cuts.map((cut) => doc.mapOffset(cut)), out.length];
        for (let i = 0; i + 1 < bounds.length; i++) {
          expect(bounds[i]!).toBeLessThanOrEqual(bounds[i + 1]!);
          const piece = out.subarray(bounds[i], bounds[i + 1]).toString('latin1');
          for (const part of ['SECR', 'ECRE', 'CRET', 'RETV', 'ETVA', 'TVAL', 'VALU', 'ALUE']) expect(piece).not.toContain(part);
        }
        // Bytes outside the secret keep their cut positions.
        for (const cut of cuts) if (cut <= start) expect(doc.mapOffset(cut)).toBe(cut);
      }),
    );
  });
});

describe('JSON scanning', () => {
  it('reports members with paths and spans, containers before their members', () => {
    const text = '{"a":{"b":[1,{"c":"x"}]},"x-y":true,"s":"[1]"}';
    const value = scanJsonAt(text, 0)!;
    expect(value.end).toBe(text.length);
    expect(value.nodes.map((node) => [node.path, node.type, text.slice(node.start, node.end)])).toEqual([
      ['$.a', 'object', '{"b":[1,{"c":"x"}]}'],
      ['$.a.b', 'array', '[1,{"c":"x"}]'],
      ['$.a.b[1].c', 'string', '"x"'],
      ['$["x-y"]', 'literal', 'true'],
      ['$.s', 'string', '"[1]"'],
    ]);
  });

  it('decodes escaped keys', () => {
    const value = scanJsonAt('{"pass\\u0077ord":1}', 0)!;
    expect(value.nodes[0]!.key).toBe('password');
  });

  it.each(['{"a":}', '{"a":1', '[1,]', '{"a" 1}', '{a:1}', '"unterminated', '{"a":"\u0001"}', '01'])('%j is not JSON', (text) => {
    const value = scanJsonAt(text, 0);
    expect(value === null || value.end < text.length).toBe(true);
  });

  it('finds JSON embedded in text: Socket.IO, SignalR records', () => {
    expect(findJson('42["msg",{"a":1}]').map((value) => [value.start, value.end])).toEqual([[2, 17]]);
    const signalr = '{"protocol":"json"}\u001e{"type":1}\u001e';
    expect(findJson(signalr).map((value) => [value.start, value.end])).toEqual([
      [0, 19],
      [20, 30],
    ]);
    expect(findJson('plain text [1] no members')).toEqual([]);
  });

  it('survives deep nesting', () => {
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    expect(scanJsonAt(deep, 0)).toBeNull();
    expect(findJson(deep)).toEqual([]);
  });
});

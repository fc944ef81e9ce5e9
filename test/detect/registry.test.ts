import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { DETECTORS, DETECTOR_IDS, detect, detectorForSubprotocol, isHeartbeat } from '../../src/detect/registry.js';
import type { DetectContext } from '../../src/detect/types.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const TEXT: DetectContext = { type: 'text', subprotocol: null };
const BINARY: DetectContext = { type: 'binary', subprotocol: null };

describe('registry', () => {
  test('DETECTOR_IDS: every detector id, each once, and each documented in docs/DETECTION.md and types.ts', () => {
    expect(new Set(DETECTOR_IDS).size).toBe(DETECTOR_IDS.length);
    expect([...DETECTOR_IDS].sort()).toEqual(DETECTORS.map((d) => d.id).sort());
    const docs = readFileSync(join(import.meta.dirname, '../../docs/DETECTION.md'), 'utf8');
    const types = readFileSync(join(import.meta.dirname, '../../src/detect/types.ts'), 'utf8');
    for (const id of DETECTOR_IDS) {
      expect(docs).toContain(`| \`${id}\` |`);
      expect(types).toContain(id);
    }
  });

  test.each([
    ['graphql-transport-ws', 'graphql-transport-ws'],
    ['graphql-ws', 'graphql-ws'],
    ['v12.stomp', 'stomp'],
    ['STOMP', 'stomp'],
    ['mqtt', 'mqtt'],
    ['mqttv3.1', 'mqtt'],
    ['chat.v1', null],
  ])('subprotocol %s declares %s', (subprotocol, id) => {
    expect(detectorForSubprotocol(subprotocol)?.id ?? null).toBe(id);
  });

  test('the declared subprotocol wins over shape detection', () => {
    const init = text('{"type":"connection_init","payload":{}}');
    expect(detect(init, TEXT)?.id).toBe('graphql-transport-ws');
    expect(detect(init, { type: 'text', subprotocol: 'graphql-ws' })?.id).toBe('graphql-ws');
  });

  test('magic numbers come before text shapes and serialisations', () => {
    // A PNG signature followed by bytes that would parse as protobuf is still a PNG.
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x08, 0x01]);
    expect(detect(png, BINARY)?.id).toBe('png');
  });

  test('a reused buffer is judged by its current content (no stale cache)', () => {
    const buffer = new Uint8Array(16);
    buffer.set(text('{"a":1}         '));
    expect(detect(buffer.subarray(0, 7), TEXT)?.id).toBe('json');
    const view = buffer.subarray(0, 7);
    expect(detect(view, TEXT)?.id).toBe('json');
    view.set(text('hello!!'));
    expect(detect(view, TEXT)).toBeNull();
  });

  test('labels never carry raw control characters', () => {
    const found = detect(text('42["\\u009b31m\\u001b]0;pwned\\u0007"]'), TEXT);
    expect(found?.id).toBe('socket.io');
    expect(found?.label).toBe('socket.io EVENT "\\u009b31m\\u001b]0;pwned\\u0007"');
    // eslint-disable-next-line no-control-regex -- matching control bytes (C0 controls, ANSI escapes) is the point
    expect(found?.label).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });

  test('never throws, whatever the bytes and context', () => {
    const random = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 2654435761) >>> 24);
    for (const subprotocol of [null, 'mqtt', 'v12.stomp', 'graphql-ws', 'graphql-transport-ws']) {
      for (const type of ['text', 'binary'] as const) {
        for (const n of [1, 2, 3, 7, 64, 1000]) expect(() => detect(random(n), { type, subprotocol })).not.toThrow();
      }
    }
  });
});

describe('isHeartbeat', () => {
  test.each<[string, string | number[], DetectContext, boolean]>([
    ['Engine.IO ping', '2', TEXT, true],
    ['Engine.IO pong', '3', TEXT, true],
    ['Engine.IO probe (an upgrade step, not a heart-beat)', '2probe', TEXT, false],
    ['Socket.IO event', '42["x"]', TEXT, false],
    ['graphql-transport-ws ping', '{"type":"ping"}', TEXT, true],
    ['graphql-transport-ws pong with payload', '{"type":"pong","payload":{"t":1}}', { type: 'text', subprotocol: 'graphql-transport-ws' }, true],
    ['graphql-transport-ws next', '{"id":"1","type":"next","payload":{}}', TEXT, false],
    ['legacy ka', '{"type":"ka"}', TEXT, true],
    ['legacy ka on its declared subprotocol', '{"type":"ka"}', { type: 'text', subprotocol: 'graphql-ws' }, true],
    ['STOMP LF', '\n', TEXT, true],
    ['STOMP CRLF', '\r\n', { type: 'text', subprotocol: 'v12.stomp' }, true],
    ['STOMP frame', 'SEND\ndestination:/q\n\n\0', TEXT, false],
    ['SignalR ping', '{"type":6}\x1e', TEXT, true],
    ['SignalR two pings', '{"type":6}\x1e{"type":6}\x1e', TEXT, true],
    ['SignalR ping and invocation', '{"type":6}\x1e{"type":1,"target":"a","arguments":[]}\x1e', TEXT, false],
    ['MQTT PINGREQ', [0xc0, 0x00], BINARY, true],
    ['MQTT PINGRESP', [0xd0, 0x00], { type: 'binary', subprotocol: 'mqtt' }, true],
    ['plain JSON', '{"type":"pong!"}', TEXT, false],
    ['"2" on an MQTT connection', '2', { type: 'text', subprotocol: 'mqtt' }, false],
    ['empty', '', TEXT, false],
  ])('%s → %s', (_name, input, context, want) => {
    const bytes = typeof input === 'string' ? text(input) : Uint8Array.from(input);
    expect(isHeartbeat(bytes, context)).toBe(want);
  });

  test('large payloads are rejected without being parsed', () => {
    const big = text(`{"type":"ping","payload":"${'x'.repeat(10_000)}"}`);
    expect(isHeartbeat(big, TEXT)).toBe(false);
  });
});

describe('work is capped on huge payloads', () => {
  test('a 16 MiB binary payload and a 2 MiB text payload are judged in well under 50 ms', () => {
    const huge = Uint8Array.from({ length: 16 * 1024 * 1024 }, (_, i) => (i * 2654435761) >>> 24);
    const bigText = new Uint8Array(2 * 1024 * 1024).fill(0x61);
    bigText[0] = 0x5b;
    bigText[bigText.length - 1] = 0x5d;
    detect(huge, BINARY);
    const start = performance.now();
    expect(detect(huge, BINARY)).toBeNull();
    const found = detect(bigText, TEXT);
    expect(performance.now() - start).toBeLessThan(50);
    expect(found).toEqual({ id: 'json', label: 'JSON (not parsed: over 1 MiB)' });
  });

  test('magic numbers are found in payloads of any size', () => {
    const big = new Uint8Array(8 * 1024 * 1024);
    big.set([0x28, 0xb5, 0x2f, 0xfd, 0x00]);
    expect(detect(big, BINARY)?.id).toBe('zstd');
  });
});

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { isCliError } from '../../src/errors.js';
import { loadProtoDecoder } from '../../src/detect/registry.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/detect');
const PROTO = join(FIXTURES, 'chat.proto');

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isCliError(error)) return error.code;
    throw error;
  }
  throw new Error('expected a CliError');
}

describe('loadProtoDecoder (--proto fixtures/detect/chat.proto --message chat.Message)', () => {
  test('decodes the fixture message with its schema', async () => {
    const decode = await loadProtoDecoder(PROTO, 'chat.Message');
    const bytes = new Uint8Array(readFileSync(join(FIXTURES, 'message.pb')));
    expect(decode(bytes)).toEqual({
      id: '42', // uint64: a decimal string
      room: 'general',
      from: { name: 'ada', id: 7 },
      text: 'hello',
      kind: 'TEXT', // enums by name
      tags: ['x', 'y'],
      sent_at: 1700000000.5, // field names as written in the .proto
      attachment: '3q2+7w==', // bytes as base64
    });
  });

  test('a leading dot in the type name is accepted; nested types work', async () => {
    const decode = await loadProtoDecoder(PROTO, '.chat.User');
    expect(decode(Uint8Array.from([0x0a, 0x02, 0x61, 0x62, 0x10, 0x05]))).toEqual({ name: 'ab', id: 5 });
  });

  test('bytes that are not the type throw ERR_USAGE', async () => {
    const decode = await loadProtoDecoder(PROTO, 'chat.Message');
    expect(() => decode(Uint8Array.from([0x0a, 0x09, 0x01]))).toThrow(expect.objectContaining({ code: 'ERR_USAGE' }));
  });

  test('a missing file is ERR_FILE', async () => {
    expect(await codeOf(loadProtoDecoder(join(FIXTURES, 'nope.proto'), 'chat.Message'))).toBe('ERR_FILE');
  });

  test('a folder is ERR_FILE', async () => {
    expect(await codeOf(loadProtoDecoder(FIXTURES, 'chat.Message'))).toBe('ERR_FILE');
  });

  test('a file that is not a .proto is ERR_FILE', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wstape-proto-'));
    const bad = join(dir, 'bad.proto');
    writeFileSync(bad, 'message { this is not protobuf');
    expect(await codeOf(loadProtoDecoder(bad, 'chat.Message'))).toBe('ERR_FILE');
  });

  test.each(['chat.Nope', 'Message', 'chat', 'chat.Message.Kind', ''])('unknown message type %j is ERR_USAGE', async (type) => {
    expect(await codeOf(loadProtoDecoder(PROTO, type))).toBe('ERR_USAGE');
  });
});

import { describe, expect, it } from 'vitest';
import { frameTypeSchema } from '../../src/format/schema.js';
import {
  CONTROL_FRAME_TYPES,
  DATA_FRAME_TYPES,
  FRAME_TYPES,
  frameTypeLabel,
  frameTypeOf,
  isControlFrameType,
  isControlOpcode,
  isDataFrameType,
  isReservedOpcode,
  Opcode,
  opcodeOf,
  startsMessage,
} from '../../src/wire/opcodes.js';

describe('opcodes', () => {
  it.each([
    [0x0, 'continuation'],
    [0x1, 'text'],
    [0x2, 'binary'],
    [0x3, 'reserved'],
    [0x7, 'reserved'],
    [0x8, 'close'],
    [0x9, 'ping'],
    [0xa, 'pong'],
    [0xb, 'reserved'],
    [0xf, 'reserved'],
    [16, 'reserved'],
    [-1, 'reserved'],
    [1.5, 'reserved'],
  ] as const)('opcode %s is %s (RFC 6455 §5.2)', (opcode, type) => {
    expect(frameTypeOf(opcode)).toBe(type);
    expect(isReservedOpcode(opcode)).toBe(type === 'reserved');
  });

  it('maps every named type back to its opcode', () => {
    for (const [name, opcode] of Object.entries(Opcode)) {
      const type = frameTypeOf(opcode);
      expect(type, name).not.toBe('reserved');
      if (type !== 'reserved') expect(opcodeOf(type)).toBe(opcode);
    }
  });

  it('tells control opcodes by their high bit (RFC 6455 §5.5)', () => {
    const control = Array.from({ length: 16 }, (_, opcode) => opcode).filter(isControlOpcode);
    expect(control).toEqual([8, 9, 10, 11, 12, 13, 14, 15]);
  });

  it('knows which opcodes begin a message', () => {
    const starts = Array.from({ length: 16 }, (_, opcode) => opcode).filter(startsMessage);
    expect(starts).toEqual([Opcode.Text, Opcode.Binary]);
  });

  it('lists the archive schema types, in its order', () => {
    expect([...FRAME_TYPES]).toEqual(frameTypeSchema.options);
  });

  it('splits the named types into data and control', () => {
    expect(FRAME_TYPES.filter(isDataFrameType)).toEqual([...DATA_FRAME_TYPES]);
    expect(FRAME_TYPES.filter(isControlFrameType)).toEqual([...CONTROL_FRAME_TYPES]);
  });

  it('labels reserved opcodes by number', () => {
    expect(frameTypeLabel('text', 1)).toBe('text');
    expect(frameTypeLabel('reserved', 0xb)).toBe('opcode 0xb');
  });
});

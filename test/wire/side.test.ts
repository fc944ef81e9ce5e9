import { describe, expect, it } from 'vitest';
import { endEntrySchema, frameEntrySchema } from '../../src/format/schema.js';
import { arrowOf, directionOf, DIRECTIONS, otherDirection, otherSide, senderOf, SIDES, streamKey } from '../../src/wire/side.js';

describe('sides and directions', () => {
  it('are the archive schema values', () => {
    expect([...DIRECTIONS]).toEqual(frameEntrySchema.shape.dir.options);
    expect([...SIDES]).toEqual(endEntrySchema.shape.droppedBy.options);
  });

  it.each([
    ['out', 'client', 'in', 'server', '-->'],
    ['in', 'server', 'out', 'client', '<--'],
  ] as const)('%s is sent by the %s', (dir, side, other, peer, arrow) => {
    expect(senderOf(dir)).toBe(side);
    expect(directionOf(side)).toBe(dir);
    expect(otherDirection(dir)).toBe(other);
    expect(otherSide(side)).toBe(peer);
    expect(arrowOf(dir)).toBe(arrow);
  });

  it('keys each direction of each connection apart', () => {
    const keys = new Set(['c1', 'c2'].flatMap((conn) => DIRECTIONS.map((dir) => streamKey(conn, dir))));
    expect(keys.size).toBe(4);
  });
});

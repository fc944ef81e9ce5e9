/**
 * Protocol Buffers without a schema: a binary message of at most MAX_PROTOBUF bytes that parses,
 * to its last byte, as a message under the strict rules of protobuf-wire.ts. Decoded to a list of
 * `{ field, wire, value | string | message | bytes }` (see docs/DETECTION.md).
 *
 * This runs last: nearly every other binary format would parse as *something* if the rules were
 * loose. A typed decode with a .proto file is `loadProtoDecoder` (proto-schema.ts).
 */

import { decodeMessage, scanMessage, type ProtoField } from './protobuf-wire.js';
import { plural } from './json.js';
import type { Detection, Detector } from './types.js';

/** Binary messages above this size are not tried as protobuf. */
export const MAX_PROTOBUF = 256 * 1024;

export const protobuf: Detector = {
  id: 'protobuf',
  detect(bytes, context): Detection | null {
    if (context.type !== 'binary' || bytes.length < 2 || bytes.length > MAX_PROTOBUF) return null;
    const count = scanMessage(bytes, 0, bytes.length);
    if (count <= 0) return null;
    const fields = decodeMessage(bytes, 0, bytes.length);
    // One len field whose content is neither text nor a message is what random bytes that happen
    // to start with a tag and the right length look like: too little evidence to claim.
    if (fields.length === 1 && 'bytes' in (fields[0] as ProtoField)) return null;
    // Fixed-width values of random bytes are absurd numbers (1e-254, -8e116): when most fields
    // are such, the message is most likely noise.
    if (implausibleCount(fields) * 2 > fields.length) return null;
    const numbers = [...new Set(fields.map((f) => f.field))];
    const shown = numbers.slice(0, 8).join(',') + (numbers.length > 8 ? ',…' : '');
    return { id: 'protobuf', label: `protobuf message (${plural(count, 'field')}: ${shown})`, decoded: fields };
  },
};

/** A number an application would plausibly send: 0, or a magnitude between 1e-9 and 1e15. */
function plausible(value: number): boolean {
  const magnitude = Math.abs(value);
  return magnitude === 0 || (magnitude > 1e-9 && magnitude < 1e15);
}

/**
 * How many fixed-width fields hold a value that is neither a plausible float/double nor a small
 * integer (|n| < 2^24 for i32, < 2^53 for i64: counters, timestamps, sfixed ids).
 */
function implausibleCount(fields: readonly ProtoField[]): number {
  let count = 0;
  for (const field of fields) {
    if (field.wire === 'i64') {
      const unsigned = BigInt(field.value);
      const signed = BigInt.asIntN(64, unsigned);
      const small = signed < 2n ** 53n && signed > -(2n ** 53n);
      if (!small && !(typeof field.double === 'number' && plausible(field.double))) count++;
    } else if (field.wire === 'i32') {
      const signed = field.value | 0;
      const small = signed < 0x1000000 && signed > -0x1000000;
      if (!small && !(typeof field.float === 'number' && plausible(field.float))) count++;
    }
  }
  return count;
}

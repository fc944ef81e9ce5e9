/**
 * WebSocket close codes: names from the IANA "WebSocket Close Code Number Registry", which codes
 * may appear on the wire (RFC 6455 §7.4), and the parsing of a close frame's payload (§5.5.1).
 */

import type { AnomalyFlag } from './types.js';
import { isValidUtf8, Utf8Validator } from './utf8.js';

/** Names of the codes 1000-1015 as the IANA registry lists them. */
const NAMES: ReadonlyMap<number, string> = new Map([
  [1000, 'Normal closure'],
  [1001, 'Going away'],
  [1002, 'Protocol error'],
  [1003, 'Unsupported data'],
  [1004, 'Reserved'],
  [1005, 'No status received'],
  [1006, 'Abnormal closure'],
  [1007, 'Invalid frame payload data'],
  [1008, 'Policy violation'],
  [1009, 'Message too big'],
  [1010, 'Mandatory extension'],
  [1011, 'Internal error'],
  [1012, 'Service restart'],
  [1013, 'Try again later'],
  [1014, 'Bad gateway'],
  [1015, 'TLS handshake'],
]);

/**
 * A human name for a close code: the registry name for 1000-1015, otherwise the name of the
 * range it falls in (RFC 6455 §7.4.2).
 */
export function closeCodeName(code: number): string {
  const name = NAMES.get(code);
  if (name !== undefined) return name;
  if (!Number.isInteger(code) || code < 0 || code > 0xffff) return 'Invalid';
  if (code < 1000) return 'Unused';
  if (code < 3000) return 'Reserved';
  if (code < 4000) return 'Registered (library/framework use)';
  if (code < 5000) return 'Private use';
  return 'Invalid';
}

/**
 * Whether an endpoint may send `code` in a close frame.
 *
 * RFC 6455 §7.4.1: 1004 is reserved and 1005, 1006 and 1015 "MUST NOT be set as a status code
 * in a Close control frame by an endpoint". §7.4.2: 0-999 are not used and 1000-2999 are for the
 * protocol (those defined since are 1012-1014, from the IANA registry); 3000-4999 are for
 * libraries, frameworks and applications.
 */
export function isValidWireCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1003) ||
    (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999)
  );
}

/** What a close frame's payload says. */
export interface ClosePayload {
  /** Undefined when the payload has fewer than 2 bytes. */
  code?: number;
  /** The reason, decoded with U+FFFD for invalid bytes. */
  reason: string;
  flags: AnomalyFlag[];
}

const decoder = new TextDecoder('utf-8', { fatal: false });

/**
 * Parses a close frame's payload (RFC 6455 §5.5.1): empty, or a 2-byte code and a UTF-8 reason.
 *
 * @param partial true when `bytes` is only the start of the payload (the rest was not kept):
 *   then a code point cut at the end of the reason is not held against it.
 */
export function parseClosePayload(bytes: Uint8Array, partial = false): ClosePayload {
  const flags: AnomalyFlag[] = [];
  if (bytes.length === 0) return { reason: '', flags };
  // RFC 6455 §5.5.1: "If there is a body, the first two bytes of the body MUST be a 2-byte
  // unsigned integer" - so a body of one byte is malformed.
  if (bytes.length === 1) {
    flags.push('invalid-close-payload');
    return { reason: '', flags };
  }
  const code = ((bytes[0] as number) << 8) | (bytes[1] as number);
  // RFC 6455 §7.4: only some codes may be sent (see isValidWireCloseCode).
  if (!isValidWireCloseCode(code)) flags.push('invalid-close-code');
  const reasonBytes = bytes.subarray(2);
  // RFC 6455 §5.5.1: the reason is UTF-8; §8.1 makes invalid UTF-8 a failure.
  const valid = partial ? new Utf8Validator().push(reasonBytes) : isValidUtf8(reasonBytes);
  if (!valid) flags.push('invalid-utf8');
  return { code, reason: decoder.decode(reasonBytes), flags };
}

/**
 * WebSocket close codes: their names (re-exported from close-code-names.ts, the one table), which
 * codes may appear on the wire (RFC 6455 §7.4), and the parsing of a close frame's payload (§5.5.1). Building a close payload is the encoder's
 * (frame-encoder.ts, encodeClosePayload).
 */

import type { AnomalyFlag } from './types.js';
import { isValidUtf8, Utf8Validator } from './utf8.js';

export { CloseCode, closeCodeName, type NamedCloseCode } from './close-code-names.js';

/**
 * Whether an endpoint may send `code` in a close frame.
 *
 * RFC 6455 §7.4.1: 1004 is reserved and 1005, 1006 and 1015 "MUST NOT be set as a status code
 * in a Close control frame by an endpoint". §7.4.2: 0-999 are not used and 1000-2999 are for the
 * protocol (those defined since are 1012-1014, from the IANA registry); 3000-4999 are for
 * libraries, frameworks and applications.
 */
export function isValidWireCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
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

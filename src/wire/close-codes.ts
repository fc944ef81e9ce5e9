/**
 * WebSocket close codes: the one table of their names (RFC 6455 §7.4.1 and the IANA "WebSocket
 * Close Code Number Registry"), which codes may appear on the wire (RFC 6455 §7.4), and the
 * parsing of a close frame's payload (§5.5.1). Building a close payload is the encoder's
 * (frame-encoder.ts, encodeClosePayload).
 */

import type { AnomalyFlag } from './types.js';
import { isValidUtf8, Utf8Validator } from './utf8.js';

/**
 * The close codes RFC 6455 §7.4.1 defines and those the IANA "WebSocket Close Code Number
 * Registry" added since (1012-1014), by name.
 *
 * @example
 *   encodeClosePayload(CloseCode.NormalClosure, 'bye');
 */
export const CloseCode = {
  /** 1000: the purpose of the connection was fulfilled. */
  NormalClosure: 1000,
  /** 1001: an endpoint is going away (server down, page navigated away). */
  GoingAway: 1001,
  /** 1002: a protocol error. */
  ProtocolError: 1002,
  /** 1003: a type of data the endpoint cannot accept. */
  UnsupportedData: 1003,
  /** 1004: reserved. */
  Reserved: 1004,
  /** 1005: no status code was present (never sent on the wire, §7.4.1). */
  NoStatusReceived: 1005,
  /** 1006: the connection closed without a close frame (never sent on the wire, §7.4.1). */
  AbnormalClosure: 1006,
  /** 1007: message data inconsistent with its type (e.g. non-UTF-8 in a text message). */
  InvalidFramePayloadData: 1007,
  /** 1008: a message that violates the endpoint's policy. */
  PolicyViolation: 1008,
  /** 1009: a message too big to process. */
  MessageTooBig: 1009,
  /** 1010: the client expected an extension the server did not negotiate. */
  MandatoryExtension: 1010,
  /** 1011: the server met an unexpected condition. */
  InternalError: 1011,
  /** 1012: the service is restarting (IANA registry). */
  ServiceRestart: 1012,
  /** 1013: try again later (IANA registry). */
  TryAgainLater: 1013,
  /** 1014: a gateway or proxy got an invalid response upstream (IANA registry). */
  BadGateway: 1014,
  /** 1015: the TLS handshake failed (never sent on the wire, §7.4.1). */
  TlsHandshake: 1015,
} as const;

/** A close code with a name (1000-1015). */
export type NamedCloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Names of the codes 1000-1015 as the IANA registry lists them. */
const NAMES: ReadonlyMap<number, string> = new Map([
  [CloseCode.NormalClosure, 'Normal closure'],
  [CloseCode.GoingAway, 'Going away'],
  [CloseCode.ProtocolError, 'Protocol error'],
  [CloseCode.UnsupportedData, 'Unsupported data'],
  [CloseCode.Reserved, 'Reserved'],
  [CloseCode.NoStatusReceived, 'No status received'],
  [CloseCode.AbnormalClosure, 'Abnormal closure'],
  [CloseCode.InvalidFramePayloadData, 'Invalid frame payload data'],
  [CloseCode.PolicyViolation, 'Policy violation'],
  [CloseCode.MessageTooBig, 'Message too big'],
  [CloseCode.MandatoryExtension, 'Mandatory extension'],
  [CloseCode.InternalError, 'Internal error'],
  [CloseCode.ServiceRestart, 'Service restart'],
  [CloseCode.TryAgainLater, 'Try again later'],
  [CloseCode.BadGateway, 'Bad gateway'],
  [CloseCode.TlsHandshake, 'TLS handshake'],
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

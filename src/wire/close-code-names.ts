/**
 * The names of WebSocket close codes (RFC 6455 §7.4.1 and the IANA "WebSocket Close Code Number
 * Registry"): the one table, apart from close-codes.ts's payload parsing so that code which runs
 * in a browser (src/viewer/) can name codes without Node's UTF-8 validator.
 */

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

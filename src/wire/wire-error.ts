/**
 * The error the wire codec throws. Callers branch on `code`, never on the message.
 *
 * Only a few calls throw at all (inflating, parsing an extension header); stream problems are
 * events (StreamError), not exceptions.
 */

/** Stable codes of {@link WireError}. Add new ones; never rename. */
export type WireErrorCode =
  /** A Sec-WebSocket-Extensions value does not follow RFC 6455 §9.1. */
  | 'WS_INVALID_EXTENSION_HEADER'
  /** The compressed bytes are not valid DEFLATE data (RFC 7692 §7.2.2). */
  | 'WS_INFLATE_FAILED'
  /** The message inflates to more than the inflater's maxInflatedSize. */
  | 'WS_INFLATE_TOO_LARGE'
  /** An earlier message was not inflated, so the shared LZ77 window is unknown. */
  | 'WS_INFLATE_UNAVAILABLE';

/** An error from the wire codec, with a stable `code`. */
export class WireError extends Error {
  readonly code: WireErrorCode;

  constructor(code: WireErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WireError';
    this.code = code;
  }
}

/** Makes a WireError; the one helper the wire modules use. */
export function wireError(code: WireErrorCode, message: string, cause?: unknown): WireError {
  return new WireError(code, message, cause === undefined ? undefined : { cause });
}

/** True for a WireError, optionally of one code. */
export function isWireError(error: unknown, code?: WireErrorCode): error is WireError {
  return error instanceof WireError && (code === undefined || error.code === code);
}

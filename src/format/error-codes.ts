/**
 * The closed table of codes an error entry can carry. Every code the recorder (or `wstape
 * import`) writes is listed here, with its meaning; docs/FORMAT.md lists the same table. Stable
 * names: add, never rename (scripts match on them).
 */
import type { StreamError } from '../wire/types.js';

/** Codes of error entries written while recording. */
export type RecorderErrorCode =
  /** A request or response that is not HTTP/1.x (or breaks a limit of the parser). */
  | 'HTTP_PARSE'
  /** The upstream could not be reached: refused, unknown host, unreachable, closed before connecting. */
  | 'UPSTREAM_CONNECT'
  /** The upstream's TLS handshake failed or its certificate did not verify. */
  | 'UPSTREAM_TLS'
  /** The upstream closed or failed in the middle of a response. */
  | 'UPSTREAM_CLOSED'
  /** A client's TLS handshake with the recorder failed (often: it does not trust the wstape CA). */
  | 'CLIENT_TLS'
  /** TLS could not be intercepted: the root CA could not be loaded or created. */
  | 'CA_UNAVAILABLE'
  /** A connection was still open when recording stopped; the recorder closed it. */
  | 'RECORDING_STOPPED'
  /** The WebSocket stream in one direction could not be parsed (or inflated) any further. */
  | StreamError['code'];

/** Codes of error entries `wstape import` writes from a HAR file. */
export type ImportErrorCode =
  /** A WebSocket error message saved in a HAR (Chrome's `_webSocketMessages` type "error"). */
  'HAR_WEBSOCKET_ERROR';

/** Every code an error entry in an archive of this version can carry. */
export type ErrorEntryCode = RecorderErrorCode | ImportErrorCode;

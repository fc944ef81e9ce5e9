/**
 * The closed table of codes an error entry can carry: every code the recorder (or `wstape
 * import`) writes, with its meaning. The arrays are the one list in code: the union types below
 * and the schema's z.enum (schema.ts) are derived from them, and a test checks that
 * docs/FORMAT.md lists exactly the same codes. Stable names: add, never rename (scripts match on
 * them); see the schema's error entry for what adding one means for readers.
 */
import type { StreamError } from '../wire/types.js';

/**
 * Codes the stream observer reports (src/wire, StreamError), recorded with the direction they
 * concern. Spelled out here so this file holds the whole list; `satisfies` keeps them real codes
 * and test/format/error-codes.test.ts checks that none is missing.
 */
const STREAM_ERROR_CODES = [
  // The frames in one direction could not be parsed any further (a 64-bit length with its top
  // bit set, or above 2^53 - 1); the rest of that direction is forwarded but not recorded.
  'WS_STREAM_UNPARSEABLE',
  // A compressed message was not inflated and its sender uses context takeover: later
  // compressed messages from that side are recorded as sent (compressed, flagged inflate-error).
  'WS_INFLATE_UNAVAILABLE',
] as const satisfies readonly StreamError['code'][];

/** Codes of error entries written while recording. */
export const RECORDER_ERROR_CODES = [
  // A request or response that is not HTTP/1.x, or that ended in the middle of a message.
  'HTTP_PARSE',
  // An HTTP message with malformed or ambiguous framing (Content-Length with Transfer-Encoding,
  // Content-Lengths that disagree, a Transfer-Encoding not ending in chunked, a bad chunk line,
  // whitespace before a header's colon, obsolete line folding, a control byte in a header):
  // the shapes request smuggling uses. It was not forwarded: 400 to a request, 502 for a response.
  'HTTP_FRAMING',
  // A request or response head larger than the parser's limit (64 KiB): 431 or 502.
  'HTTP_HEAD_TOO_LARGE',
  // A request head (or a response head, once begun) not complete within --header-timeout: 408 or 504.
  'HTTP_TIMEOUT',
  // A request, CONNECT or SOCKS5 CONNECT would reach the recorder's own listening socket: 508
  // Loop Detected (SOCKS5: reply 0x02).
  'PROXY_LOOP',
  // A client sent TLS straight to the proxy port (https:// as the proxy scheme): a TLS alert, closed.
  'PROXY_TLS',
  // A SOCKS5 handshake that was malformed, asked for what is not supported (BIND, UDP ASSOCIATE,
  // an unknown address type), offered no acceptable method, or did not complete in --header-timeout.
  'SOCKS_HANDSHAKE',
  // A SOCKS5 client did not log in with the --socks-auth username and password (RFC 1929).
  'SOCKS_AUTH',
  // The upstream could not be reached: refused, unknown host, unreachable, closed before connecting.
  'UPSTREAM_CONNECT',
  // The tunnel through --upstream-proxy did not open: the proxy refused the CONNECT (407, 502,
  // any non-2xx answer), could not be reached, or closed first. The client got a 502 saying which.
  'UPSTREAM_PROXY',
  // The upstream's TLS handshake failed or its certificate did not verify.
  'UPSTREAM_TLS',
  // The upstream closed or failed in the middle of a response.
  'UPSTREAM_CLOSED',
  // A client's TLS handshake with the recorder failed (often: it does not trust the wstape CA).
  'CLIENT_TLS',
  // TLS could not be intercepted: the root CA could not be loaded or created.
  'CA_UNAVAILABLE',
  // A connection was still open when recording stopped; the recorder closed it.
  'RECORDING_STOPPED',
  // A --script hook (or a flag's) threw or rejected; what it was deciding went on unchanged.
  'HOOK_ERROR',
  // A hook did not settle within its timeout (5 s by default); what it was deciding went on unchanged.
  'HOOK_TIMEOUT',
  // A hook returned something outside its contract; what it was deciding went on unchanged.
  'HOOK_RESULT',
  // Hooks were not asked: a plain HTTP body too large to hold for onRequest/onResponse (over
  // 16 MiB, or over --max-payload), or a WebSocket message too large to hold or not inflated.
  // It went on unchanged.
  'HOOK_SKIPPED',
  ...STREAM_ERROR_CODES,
] as const;

/** Codes of error entries `wstape import` writes from a HAR file. */
export const IMPORT_ERROR_CODES = [
  // A WebSocket error message saved in a HAR (Chrome's `_webSocketMessages` type "error").
  'HAR_WEBSOCKET_ERROR',
] as const;

/** Every code an error entry in an archive of this version can carry. */
export const ERROR_ENTRY_CODES = [...RECORDER_ERROR_CODES, ...IMPORT_ERROR_CODES] as const;

export type RecorderErrorCode = (typeof RECORDER_ERROR_CODES)[number];
export type ImportErrorCode = (typeof IMPORT_ERROR_CODES)[number];
export type ErrorEntryCode = (typeof ERROR_ENTRY_CODES)[number];

/** The code of the error entry for a WebSocket error message in a HAR. */
export const HAR_WEBSOCKET_ERROR: ImportErrorCode = 'HAR_WEBSOCKET_ERROR';

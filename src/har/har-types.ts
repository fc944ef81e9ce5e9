/**
 * The HAR 1.2 objects wstape writes (http://www.softwareishard.com/blog/har-12-spec/), with the
 * browser extensions it uses (`_resourceType`, `_webSocketMessages`, HTTP Toolkit's
 * `_webSocketClose`) and its own `_wstape...` extras. docs/HAR.md describes every field.
 *
 * These are the writer's types. What the importer accepts is wider (other tools' quirks) and is
 * the lenient zod schema in har-schema.ts.
 */
import type { ArchiveHeader, ArchiveTrailer, EndEntry, ErrorEntry, FrameEntry, TunnelEntry } from '../format/schema.js';

export interface HarNameValue {
  name: string;
  value: string;
}

export interface HarCookie {
  name: string;
  value: string;
  path?: string;
  domain?: string;
  /** ISO 8601. */
  expires?: string;
  httpOnly?: boolean;
  secure?: boolean;
  /** SameSite: not a HAR 1.2 field, so a custom one (Chrome writes it without the underscore). */
  _sameSite?: string;
}

export interface HarPostData {
  mimeType: string;
  text: string;
  /** wstape: `"base64"` when `text` holds a binary body as base64 (HAR 1.2 has no field for it). */
  _encoding?: 'base64';
  /** wstape: the archive kept only the first bytes of the body. */
  _wstapeTruncated?: true;
  comment?: string;
}

export interface HarRequest {
  method: string;
  url: string;
  httpVersion: string;
  cookies: HarCookie[];
  headers: HarNameValue[];
  queryString: HarNameValue[];
  postData?: HarPostData;
  headersSize: number;
  bodySize: number;
}

export interface HarContent {
  size: number;
  compression?: number;
  mimeType: string;
  text?: string;
  encoding?: 'base64';
  comment?: string;
  /** wstape: the archive kept only the first bytes of the body. */
  _wstapeTruncated?: true;
}

export interface HarResponse {
  status: number;
  statusText: string;
  httpVersion: string;
  cookies: HarCookie[];
  headers: HarNameValue[];
  content: HarContent;
  redirectURL: string;
  headersSize: number;
  bodySize: number;
  /** Chrome's field for why the request failed (null when it did not). */
  _error?: string | null;
}

export interface HarTimings {
  blocked: number;
  dns: number;
  connect: number;
  send: number;
  wait: number;
  receive: number;
  ssl: number;
}

/**
 * A frame of a WebSocket message as the archive has it, less what the message says already
 * (`kind`, `conn`, `dir`) and less its payload, which is the message's `data`; `bytes` says how
 * many of the message's payload bytes this frame carried and `as` how the archive kept them.
 */
export type WstapeFrameMeta = Omit<FrameEntry, 'kind' | 'conn' | 'dir' | 'text' | 'data'> & {
  bytes: number;
  as: 'text' | 'data' | 'none';
};

/** One item of `_webSocketMessages` (Chrome's shape), with wstape's extras. */
export interface HarWebSocketMessage {
  type: 'send' | 'receive';
  /** Epoch seconds, a float (Chrome's unit). */
  time: number;
  opcode: number;
  /** Opcode 1: the text; otherwise base64 (as Chrome writes CDP payloads). */
  data: string;
  /** wstape: the frames of the message, in order (one for an unfragmented message). */
  _wstapeFrames?: WstapeFrameMeta[];
  /** wstape: the exact payload as base64, when a text message is not valid UTF-8. */
  _wstapeData?: string;
  /** wstape: the message never got its final fragment. */
  _wstapeIncomplete?: true;
  /** wstape: anomaly flags of its frames. */
  _wstapeFlags?: string[];
  /** wstape changed this message (hooks, flags, `wstape send`): modified, delayed or injected. */
  _wstapeAction?: 'modified' | 'dropped' | 'delayed' | 'injected';
  /** Who: script, flag or control. */
  _wstapeBy?: string;
  /** A modified message: `data` is what the receiver got; this is the original payload as base64. */
  _wstapeOriginal?: string;
}

/** HTTP Toolkit's `_webSocketClose`: the close frame's code and reason, or `"aborted"`. */
export type HarWebSocketClose = { code?: number; reason?: string; timestamp?: number } | 'aborted';

/** What `_wstape` says about an entry that HAR cannot. */
export interface WstapeEntryExtras {
  /** The archive id: `c1`, `h1`. */
  id: string;
  /** Seconds since the recording started (monotonic clock). */
  elapsed: number;
  mode: string;
  client: { address: string; port: number };
  server: { host: string; port: number };
  /** The request-target exactly as the client sent it. */
  target: string;
  /** Request and response HTTP versions as archived ("1.1"). */
  requestHttpVersion: string;
  responseHttpVersion?: string;
  /** WebSocket: negotiated subprotocol, extensions and permessage-deflate parameters. */
  subprotocol?: string | null;
  extensions?: string | null;
  permessageDeflate?: { serverNoContextTakeover: boolean; clientNoContextTakeover: boolean; serverMaxWindowBits: number; clientMaxWindowBits: number } | null;
  /** WebSocket: the end entry, less `kind` and `conn`. */
  end?: Omit<EndEntry, 'kind' | 'conn'>;
  /** HTTP: milliseconds from the request head to the end of the response, and why it failed. */
  duration?: number;
  error?: string;
  /** Anomaly flags of the connection's frames, counted. */
  anomalies?: Record<string, number>;
  /** Error entries about this connection or exchange, less `kind` and `conn`. */
  errors?: Omit<ErrorEntry, 'kind' | 'conn'>[];
}

export interface HarEntry {
  pageref?: string;
  startedDateTime: string;
  time: number;
  request: HarRequest;
  response: HarResponse;
  cache: Record<string, never>;
  timings: HarTimings;
  serverIPAddress?: string;
  comment?: string;
  _resourceType?: string;
  _webSocketMessages?: HarWebSocketMessage[];
  _webSocketClose?: HarWebSocketClose;
  /** wstape: close, ping, pong, reserved and stray continuation frames, as messages are written. */
  _wstapeControlFrames?: HarWebSocketMessage[];
  /** Messages that arrived and wstape dropped (no receiver saw them), in the same shape. */
  _wstapeDropped?: HarWebSocketMessage[];
  _wstape?: WstapeEntryExtras;
}

export interface HarLog {
  version: '1.2';
  creator: { name: string; version: string; comment?: string };
  pages?: unknown[];
  entries: HarEntry[];
  comment?: string;
  /** wstape: the archive's header and closing fields. */
  _wstapeHeader?: ArchiveHeader;
  _wstapeTrailer?: ArchiveTrailer | null;
  /** wstape: CONNECT tunnels (not HTTP exchanges: Chrome would show them as requests). */
  _wstapeTunnels?: (Omit<TunnelEntry, 'kind'> & { end?: Omit<EndEntry, 'kind' | 'conn'> })[];
  /** wstape: error entries that concern no exported entry. */
  _wstapeErrors?: Omit<ErrorEntry, 'kind'>[];
}

export interface Har {
  log: HarLog;
}

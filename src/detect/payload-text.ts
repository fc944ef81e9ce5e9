/**
 * The payload as text and as JSON, computed at most once per `detect()` call.
 *
 * Several text detectors (socket.io, graphql, json...) look at the same payload; decoding UTF-8 and
 * running JSON.parse once instead of once per detector is most of the cost of detecting the common
 * case, a JSON text message. The cache has one slot keyed by the array's identity; the registry
 * clears it at the start of every `detect()` so that a caller reusing one buffer for successive
 * payloads never sees a stale result.
 */

import { isUtf8 } from 'node:buffer';
import { bufferView, skipWhitespace, trimEnd } from './bytes.js';

/** Payloads above this size are not decoded or parsed as text (only cheap prefix checks). */
export const MAX_TEXT_PARSE = 1024 * 1024;

let slot: Uint8Array | null = null;
let text: string | null | undefined;
let json: { value: unknown } | null | undefined;

/** Forgets the cached payload. The registry calls this at the start of every detection. */
export function resetPayloadCache(): void {
  slot = null;
  text = undefined;
  json = undefined;
}

function use(bytes: Uint8Array): void {
  if (slot !== bytes) {
    slot = bytes;
    text = undefined;
    json = undefined;
  }
}

/** The payload as a string when it is valid UTF-8 of at most MAX_TEXT_PARSE bytes, else null. */
export function payloadText(bytes: Uint8Array): string | null {
  use(bytes);
  if (text === undefined) {
    const view = bufferView(bytes);
    text = bytes.length <= MAX_TEXT_PARSE && isUtf8(view) ? view.toString('utf8') : null;
  }
  return text;
}

/**
 * True when the payload, without surrounding whitespace, starts with `{` and ends with `}` or
 * starts with `[` and ends with `]`: the cheap test run before any JSON.parse.
 */
export function looksLikeJsonContainer(bytes: Uint8Array): boolean {
  const start = skipWhitespace(bytes);
  const end = trimEnd(bytes);
  if (end - start < 2) return false;
  const first = bytes[start];
  const last = bytes[end - 1];
  return (first === 0x7b && last === 0x7d) || (first === 0x5b && last === 0x5d);
}

/**
 * The payload parsed as JSON when it is a JSON object or array (after the cheap bracket test),
 * else null. Scalars are not parsed: see docs/DETECTION.md for why they are not claimed.
 */
export function payloadJson(bytes: Uint8Array): { value: unknown } | null {
  use(bytes);
  if (json === undefined) {
    json = null;
    if (looksLikeJsonContainer(bytes)) {
      const source = payloadText(bytes);
      if (source !== null) {
        try {
          json = { value: JSON.parse(source) as unknown };
        } catch {
          json = null;
        }
      }
    }
  }
  return json;
}

/** True for a non-null, non-array object (a parsed JSON object). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A JSON object with a string `type` field: the envelope GraphQL-over-WebSocket protocols (and
 * many others) use. Null for anything else; cheap for payloads that do not start like an object.
 */
export function typedJsonMessage(bytes: Uint8Array): (Record<string, unknown> & { type: string }) | null {
  const first = bytes[0];
  if (first !== 0x7b && first !== 0x20 && first !== 0x0a && first !== 0x0d && first !== 0x09) return null;
  const parsed = payloadJson(bytes);
  if (parsed === null) return null;
  const message = parsed.value;
  if (!isRecord(message) || typeof message.type !== 'string') return null;
  return message as Record<string, unknown> & { type: string };
}

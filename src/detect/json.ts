/**
 * JSON (RFC 8259): a payload that is, as a whole, a JSON object or array.
 *
 * Scalars are not claimed: a message "42", "true" or "ok" is as likely plain text as JSON, and
 * "2" / "3" are Engine.IO ping / pong. Payloads over MAX_TEXT_PARSE are not parsed: a text
 * message whose first and last non-blank bytes are matching brackets is reported, undecoded.
 */

import { looksLikeJsonContainer, MAX_TEXT_PARSE, payloadJson } from './payload-text.js';
import type { Detection, Detector } from './types.js';

export const json: Detector = {
  id: 'json',
  detect(bytes, context): Detection | null {
    if (bytes.length > MAX_TEXT_PARSE) {
      if (context.type !== 'text' || !looksLikeJsonContainer(bytes)) return null;
      return { id: 'json', label: `JSON (not parsed: over ${MAX_TEXT_PARSE / 1024 / 1024} MiB)` };
    }
    const parsed = payloadJson(bytes);
    if (parsed === null) return null;
    return { id: 'json', label: describeJson(parsed.value), decoded: parsed.value };
  },
};

/** "JSON object (3 keys)", "JSON array (2 items)". */
export function describeJson(value: unknown): string {
  if (Array.isArray(value)) return `JSON array (${plural(value.length, 'item')})`;
  if (typeof value === 'object' && value !== null) {
    return `JSON object (${plural(Object.keys(value).length, 'key')})`;
  }
  return 'JSON';
}

export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/**
 * Turning archived payloads into something safe to print. Recorded traffic is untrusted: a text
 * frame may carry ESC sequences or bidi controls that would repaint the user's terminal, so every
 * string that came from the wire goes through escapeText before it reaches a line of output.
 */

/** The fields of a frame entry (or any archived body) that hold its payload. */
export interface PayloadFields {
  text?: string | undefined;
  data?: string | undefined;
}

/** The kept payload bytes: the UTF-8 of `text`, or the decoded base64 `data`, or none. */
export function payloadBytes(payload: PayloadFields): Uint8Array {
  if (payload.text !== undefined) return Buffer.from(payload.text, 'utf8');
  if (payload.data !== undefined) return Buffer.from(payload.data, 'base64');
  return new Uint8Array(0);
}

/** At most the first `count` payload bytes, decoding no more of a large payload than needed. */
export function payloadPrefix(payload: PayloadFields, count: number): Uint8Array {
  if (payload.text !== undefined) return Buffer.from(payload.text.slice(0, count), 'utf8').subarray(0, count);
  if (payload.data !== undefined) {
    // Every 4 base64 characters hold 3 bytes.
    return Buffer.from(payload.data.slice(0, Math.ceil(count / 3) * 4), 'base64').subarray(0, count);
  }
  return new Uint8Array(0);
}

/**
 * The payload as a string for pattern matching: the text itself, or the bytes read as latin1 (one
 * character per byte), so an ASCII pattern also matches inside a binary payload.
 */
export function payloadMatchString(payload: PayloadFields): string {
  if (payload.text !== undefined) return payload.text;
  if (payload.data !== undefined) return Buffer.from(payload.data, 'base64').toString('latin1');
  return '';
}

const NAMED_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** True for code points that must not reach a terminal as they are. */
function needsEscape(codePoint: number): boolean {
  return (
    codePoint < 0x20 || // C0 controls, ESC among them
    (codePoint >= 0x7f && codePoint <= 0x9f) || // DEL and C1 controls (0x9b is a one-byte CSI)
    codePoint === 0x2028 ||
    codePoint === 0x2029 ||
    (codePoint >= 0x202a && codePoint <= 0x202e) || // bidi embeddings and overrides
    (codePoint >= 0x2066 && codePoint <= 0x2069) || // bidi isolates
    (codePoint >= 0xd800 && codePoint <= 0xdfff) // lone surrogates
  );
}

function escapeCodePoint(char: string, codePoint: number): string {
  const named = NAMED_ESCAPES[char];
  if (named !== undefined) return named;
  if (codePoint <= 0xff) return `\\x${codePoint.toString(16).padStart(2, '0')}`;
  return `\\u${codePoint.toString(16).padStart(4, '0')}`;
}

/**
 * One code point as it is displayed: itself, or its escape (`\n`, `\x1b`, `\u202e`). Callers
 * that cut text do it between code points, so an escape or a surrogate pair is never split.
 */
export function escapeChar(char: string): string {
  const codePoint = char.codePointAt(0) ?? 0;
  return needsEscape(codePoint) ? escapeCodePoint(char, codePoint) : char;
}

/** The text on one line with control characters escaped (see escapeChar). */
export function escapeText(text: string): string {
  let out = '';
  for (const char of text) out += escapeChar(char);
  return out;
}

/**
 * The payload as printable text, or null when it is not: valid UTF-8 without control characters.
 * Used for ping, pong and close payloads, which carry no text/binary type of their own.
 */
export function printableText(bytes: Uint8Array): string | null {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
  for (const char of text) {
    if (needsEscape(char.codePointAt(0) ?? 0)) return null;
  }
  return text;
}

/** Bytes as lowercase hex pairs separated by spaces: `89 50 4e 47`. */
export function hexBytes(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join(' ');
}

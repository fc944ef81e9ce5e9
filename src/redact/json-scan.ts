/**
 * A JSON scanner that reports *where* things are: each object member's key, its JSONPath and the
 * span of its value in the text, so a value can be replaced without re-serialising the document
 * (key order, spacing and escapes stay as the sender wrote them, and the rest of the text keeps
 * its byte offsets).
 *
 * Also finds JSON values embedded in other text: Socket.IO's `42["event",{...}]`, SignalR's
 * records separated by U+001E, a JSON object after a STOMP header block.
 *
 * RFC 8259 syntax; anything else (a cut-short payload, JavaScript) is not JSON, and the caller
 * falls back to patterns.
 */

export type JsonType = 'object' | 'array' | 'string' | 'number' | 'literal';

/** An object member, or a string value worth a second look (it may hold JSON itself). */
export interface JsonNode {
  /** JSONPath of the value: `$.user.password`, `$.items[0]`, `$["x-api-key"]`. */
  path: string;
  /** The member's key (decoded); undefined for a string that is an array element or the root. */
  key?: string;
  type: JsonType;
  /** The value's span in the text: [start, end). */
  start: number;
  end: number;
}

/** Nesting deeper than this is not scanned (it is not JSON anyone sends on purpose). */
const MAX_DEPTH = 512;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

class NotJson extends Error {}

/** True when the string literal at [start, end) has a `{` or `[` in it: it may hold JSON. */
export function mayHoldJson(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b || c === 0x5b) return true;
  }
  return false;
}

function memberPath(path: string, key: string): string {
  return IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

class Scanner {
  at: number;
  readonly nodes: JsonNode[] = [];

  constructor(
    readonly text: string,
    start: number,
  ) {
    this.at = start;
  }

  fail(): never {
    throw new NotJson();
  }

  ws(): void {
    const { text } = this;
    while (this.at < text.length) {
      const c = text.charCodeAt(this.at);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      this.at++;
    }
  }

  /** Scan a string starting at `"`; returns its end, and whether it has escapes. */
  string(): { end: number; escaped: boolean } {
    const { text } = this;
    let i = this.at + 1;
    let escaped = false;
    for (;;) {
      if (i >= text.length) this.fail();
      const c = text.charCodeAt(i);
      if (c === 0x22) break;
      if (c < 0x20) this.fail();
      if (c === 0x5c) {
        escaped = true;
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) this.fail();
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) {
          i += 2;
        } else {
          this.fail();
        }
        continue;
      }
      i++;
    }
    this.at = i + 1;
    return { end: i + 1, escaped };
  }

  value(path: string, depth: number, key?: string): void {
    if (depth > MAX_DEPTH) this.fail();
    const { text } = this;
    const start = this.at;
    const c = text[start];
    const record = (type: JsonType): void => {
      if (key !== undefined) this.nodes.push({ path, key, type, start, end: this.at });
    };
    if (c === '{') {
      // Recorded before its members, so callers meet the container first.
      const node: JsonNode | null = key !== undefined ? { path, key, type: 'object', start, end: start } : null;
      if (node) this.nodes.push(node);
      this.at++;
      this.ws();
      if (text[this.at] === '}') {
        this.at++;
      } else {
        for (;;) {
          if (text[this.at] !== '"') this.fail();
          const keyStart = this.at;
          const { end, escaped } = this.string();
          const name = escaped ? (JSON.parse(text.slice(keyStart, end)) as string) : text.slice(keyStart + 1, end - 1);
          this.ws();
          if (text[this.at] !== ':') this.fail();
          this.at++;
          this.ws();
          this.value(memberPath(path, name), depth + 1, name);
          this.ws();
          if (text[this.at] === ',') {
            this.at++;
            this.ws();
            continue;
          }
          if (text[this.at] !== '}') this.fail();
          this.at++;
          break;
        }
      }
      if (node) node.end = this.at;
      return;
    }
    if (c === '[') {
      const node: JsonNode | null = key !== undefined ? { path, key, type: 'array', start, end: start } : null;
      if (node) this.nodes.push(node);
      this.at++;
      this.ws();
      if (text[this.at] === ']') {
        this.at++;
      } else {
        for (let index = 0; ; index++) {
          this.value(`${path}[${index}]`, depth + 1);
          this.ws();
          if (text[this.at] === ',') {
            this.at++;
            this.ws();
            continue;
          }
          if (text[this.at] !== ']') this.fail();
          this.at++;
          break;
        }
      }
      if (node) node.end = this.at;
      return;
    }
    if (c === '"') {
      this.string();
      // Keep strings that may hold JSON themselves even when they are not member values.
      if (key !== undefined) record('string');
      else if (mayHoldJson(text, start, this.at)) this.nodes.push({ path, type: 'string', start, end: this.at });
      return;
    }
    if (text.startsWith('true', start) || text.startsWith('null', start)) {
      this.at += 4;
      record('literal');
      return;
    }
    if (text.startsWith('false', start)) {
      this.at += 5;
      record('literal');
      return;
    }
    NUMBER.lastIndex = start;
    if (NUMBER.exec(text) === null) this.fail();
    this.at = NUMBER.lastIndex;
    record('number');
  }
}

/** One JSON value found in text: its span and the nodes inside it, in document order. */
export interface JsonValue {
  start: number;
  end: number;
  nodes: JsonNode[];
}

/** Scan the JSON value that starts at `start`; null when there is none. Does not require it to end the text. */
export function scanJsonAt(text: string, start: number): JsonValue | null {
  const scanner = new Scanner(text, start);
  try {
    scanner.value('$', 0);
  } catch (error) {
    if (error instanceof NotJson || error instanceof SyntaxError) return null;
    throw error;
  }
  return { start, end: scanner.at, nodes: scanner.nodes };
}

/** At most this many attempts to find JSON inside text that is not JSON as a whole. */
const MAX_ATTEMPTS = 64;

/**
 * The JSON values in a text: the whole text when it is one JSON value (surrounding whitespace
 * allowed), else the objects and arrays embedded in it, left to right, without overlap.
 */
export function findJson(text: string): JsonValue[] {
  const first = text.search(/\S/);
  if (first === -1) return [];
  const whole = scanJsonAt(text, first);
  if (whole !== null && text.slice(whole.end).trim() === '') return [whole];
  const found: JsonValue[] = [];
  const opening = /[{[]/g;
  for (let attempts = 0; attempts < MAX_ATTEMPTS; attempts++) {
    const match = opening.exec(text);
    if (match === null) break;
    const value = scanJsonAt(text, match.index);
    // A bare `[1]` inside prose is JSON too, but has nothing to redact: keep values with members.
    if (value !== null && value.nodes.length > 0) {
      found.push(value);
      opening.lastIndex = value.end;
    }
  }
  return found;
}

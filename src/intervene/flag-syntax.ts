/**
 * The syntax of the intervention flags (--drop, --replace, --set, --delay, --close-after,
 * --close-on, --abort-after, --abort-on, --inject-on, --inject-at), parsed into plain data that
 * flags.ts turns into hooks. docs/HOOKS.md ("Flags") is the reference; in short, most flags
 * start with a condition:
 *
 *   DIRECTION [TYPE] [MATCH]
 *   DIRECTION   in | out | both
 *   TYPE        text | binary | ping | pong      (none: text and binary messages)
 *   MATCH       /REGEX/FLAGS                     (text; binary and control payloads as latin1)
 *             | $.json.path=VALUE | $.json.path  (text messages that are JSON; VALUE is JSON or a bare word)
 *
 * Every value that does not parse is a one-line CliError ERR_USAGE naming the flag and the value.
 */
import { isCliError, type CliError } from '../errors.js';
import { compileJsonPath, type CompiledPath, type PathSegment } from '../replay/jsonpath.js';
import { isValidWireCloseCode } from '../wire/close-codes.js';
import type { Direction } from './hooks.js';
import { concreteSegments } from './json-values.js';

export type FrameType = 'text' | 'binary' | 'ping' | 'pong';

/** What a condition may hold, for error messages. */
export const CONDITION_FORM = 'a condition is DIR [text|binary|ping|pong] [/REGEX/FLAGS | $.path=VALUE | $.path]';
const FRAME_TYPES: readonly FrameType[] = ['text', 'binary', 'ping', 'pong'];

/** What a condition looks for in a message or control frame. */
export type Match = { kind: 'regex'; regex: RegExp } | { kind: 'json'; path: CompiledPath; equals?: { value: unknown } };

export interface Condition {
  /** One direction, or both. */
  dirs: readonly Direction[];
  /** One frame type, or undefined: text and binary messages, never control frames. */
  type?: FrameType;
  match?: Match;
}

/** A delay in milliseconds, uniform in [ms - jitter, ms + jitter] (never below 0). */
export interface Duration {
  ms: number;
  jitter: number;
}

export interface CloseSpec {
  code: number;
  reason: string;
}

/** setTimeout's limit (2^31 - 1 ms, about 24.8 days); a longer timer fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** RFC 6455 §5.5: a control frame's payload is at most 125 bytes, 2 of them the close code. */
const MAX_REASON_BYTES = 123;

/** Reads one flag value from left to right; `fail` makes the flag's one-line error. */
export class FlagScanner {
  private i = 0;

  constructor(
    private readonly text: string,
    readonly fail: (why: string) => CliError,
  ) {}

  private skipSpaces(): void {
    while (this.i < this.text.length && /\s/.test(this.text[this.i] as string)) this.i += 1;
  }

  atEnd(): boolean {
    this.skipSpaces();
    return this.i >= this.text.length;
  }

  /** The next non-space character, not consumed. */
  peek(): string | undefined {
    this.skipSpaces();
    return this.text[this.i];
  }

  /** The next run of non-space characters, consumed ("" at the end). */
  word(): string {
    this.skipSpaces();
    const start = this.i;
    while (this.i < this.text.length && !/\s/.test(this.text[this.i] as string)) this.i += 1;
    return this.text.slice(start, this.i);
  }

  peekWord(): string {
    const at = this.i;
    const word = this.word();
    this.i = at;
    return word;
  }

  /** The cursor, for reset(). */
  mark(): number {
    return this.i;
  }

  reset(at: number): void {
    this.i = at;
  }

  /** Everything left, trimmed. */
  rest(): string {
    this.skipSpaces();
    const rest = this.text.slice(this.i).trimEnd();
    this.i = this.text.length;
    return rest;
  }

  /** Fails unless nothing is left; `hint` says what the value may hold. */
  end(hint?: string): void {
    if (!this.atEnd()) throw this.fail(`unexpected "${this.rest()}" at the end${hint ? `; ${hint}` : ''}`);
  }

  /**
   * `/part/part.../FLAGS` at the cursor: `count` parts between slashes, then the flags. `\/` is a
   * slash inside a part (kept with its backslash, which a RegExp reads as a slash).
   */
  slashed(count: number): { parts: string[]; flags: string } {
    this.skipSpaces();
    if (this.text[this.i] !== '/') throw this.fail(`expected ${count === 1 ? '/REGEX/' : '/REGEX/REPLACEMENT/'} at "${this.rest()}"`);
    const start = this.i;
    this.i += 1;
    const parts: string[] = [];
    while (parts.length < count) {
      let part = '';
      for (;;) {
        const c = this.text[this.i];
        if (c === undefined) throw this.fail(`the ${count === 1 ? '/REGEX/' : '/REGEX/REPLACEMENT/'} starting at character ${start + 1} is not closed with /`);
        this.i += 1;
        if (c === '/') break;
        if (c === '\\' && this.text[this.i] !== undefined) {
          part += c + (this.text[this.i] as string);
          this.i += 1;
          continue;
        }
        part += c;
      }
      parts.push(part);
    }
    const flagsStart = this.i;
    while (this.i < this.text.length && /[a-z]/i.test(this.text[this.i] as string)) this.i += 1;
    const flags = this.text.slice(flagsStart, this.i);
    if (this.i < this.text.length && !/\s/.test(this.text[this.i] as string)) {
      throw this.fail(`unexpected "${this.text[this.i]}" after the regular expression's closing /`);
    }
    return { parts, flags };
  }

  /** `$.path`, `$.path=VALUE` at the cursor. */
  jsonTest(): { path: CompiledPath; equals?: { value: unknown } } {
    this.skipSpaces();
    const start = this.i;
    let quote: string | null = null;
    let depth = 0;
    for (; this.i < this.text.length; this.i += 1) {
      const c = this.text[this.i] as string;
      if (quote) {
        if (c === '\\') this.i += 1;
        else if (c === quote) quote = null;
      } else if (depth > 0 && (c === "'" || c === '"')) quote = c;
      else if (c === '[') depth += 1;
      else if (c === ']') depth -= 1;
      else if (depth === 0 && (c === '=' || /\s/.test(c))) break;
    }
    const source = this.text.slice(start, this.i);
    let path: CompiledPath;
    try {
      path = compileJsonPath(source);
    } catch (error) {
      throw isCliError(error) ? this.fail(error.message) : error;
    }
    if (this.text[this.i] !== '=') return { path };
    this.i += 1;
    return { path, equals: { value: this.jsonValue() } };
  }

  /** A JSON value (a string, object or array may hold spaces) or a bare word, taken as a string. */
  jsonValue(): unknown {
    const start = this.i;
    const c = this.text[this.i];
    if (c === undefined || /\s/.test(c)) throw this.fail(`expected a value after "=" (JSON, or a bare word for a string)`);
    if (c === '"' || c === '{' || c === '[') {
      let depth = 0;
      let inString = false;
      for (; this.i < this.text.length; this.i += 1) {
        const d = this.text[this.i] as string;
        if (inString) {
          if (d === '\\') this.i += 1;
          else if (d === '"') inString = false;
        } else if (d === '"') inString = true;
        else if (d === '{' || d === '[') depth += 1;
        else if (d === '}' || d === ']') depth -= 1;
        if (!inString && depth === 0) break;
      }
      this.i += 1;
      const json = this.text.slice(start, this.i);
      try {
        return JSON.parse(json) as unknown;
      } catch {
        throw this.fail(`${json} is not valid JSON (strings take double quotes: "two words")`);
      }
    }
    const word = this.word();
    try {
      return JSON.parse(word) as unknown;
    } catch {
      return word;
    }
  }
}

/** A regular expression from its source and flags, or the flag's error. */
export function compileRegex(scanner: FlagScanner, source: string, flags: string): RegExp {
  try {
    return new RegExp(source, flags);
  } catch (error) {
    const message = error instanceof Error ? error.message.replace(/^Invalid regular expression: /, '') : String(error);
    throw scanner.fail(`not a valid regular expression (${message.replace(/\s*\n\s*/g, ' ')})`);
  }
}

/** `in`, `out` or (when allowed) `both`. */
export function direction(scanner: FlagScanner, allowBoth = true): Direction[] {
  const word = scanner.word();
  if (word === 'in' || word === 'out') return [word];
  if (allowBoth && word === 'both') return ['out', 'in'];
  const expected = allowBoth ? 'in, out or both' : 'in (to the client) or out (to the server)';
  throw scanner.fail(word === '' ? `expected a direction: ${expected}` : `expected a direction (${expected}), found "${word}"`);
}

/**
 * DIRECTION [TYPE] [MATCH], stopping before anything else. `types` are the frame types the flag
 * can act on (--delay cannot hold a ping, --set only rewrites text); `withMatch: false` leaves the
 * MATCH to the caller.
 */
export function condition(scanner: FlagScanner, types: readonly FrameType[] = FRAME_TYPES, withMatch = true): Condition {
  const dirs = direction(scanner);
  const result: Condition = { dirs };
  const word = scanner.peekWord();
  if ((FRAME_TYPES as readonly string[]).includes(word)) {
    if (!types.includes(word as FrameType)) throw scanner.fail(`this flag acts on ${types.join(' or ')} messages, not ${word}`);
    result.type = word as FrameType;
    scanner.word();
  }
  if (withMatch) {
    const next = scanner.peek();
    if (next === '/' || next === '$') result.match = match(scanner, result.type);
  }
  return result;
}

/** A /REGEX/FLAGS or a $.json.path test at the cursor, for frames of `type` (undefined: messages). */
export function match(scanner: FlagScanner, type: FrameType | undefined): Match {
  if (scanner.peek() === '/') {
    const { parts, flags } = scanner.slashed(1);
    // g and y make RegExp.test stateful (lastIndex); a condition is a plain "does it match".
    return { kind: 'regex', regex: compileRegex(scanner, parts[0] as string, flags.replace(/[gy]/g, '')) };
  }
  if (type && type !== 'text') throw scanner.fail(`a JSONPath test applies to text messages, not ${type}`);
  return { kind: 'json', ...scanner.jsonTest() };
}

/** `200ms`, `1.5s`; with `allowJitter`, also `100ms~50ms`. */
export function duration(scanner: FlagScanner, allowJitter: boolean): Duration {
  const word = scanner.word();
  const expected = allowJitter ? 'a time such as 200ms, 1.5s or 100ms~50ms (jitter)' : 'a time such as 200ms or 1.5s';
  if (word === '') throw scanner.fail(`expected ${expected}`);
  const [base, jitter, extra] = word.split('~');
  const ms = milliseconds(base as string);
  const jitterMs = jitter === undefined ? 0 : milliseconds(jitter);
  if (ms === null || jitterMs === null || extra !== undefined || (!allowJitter && jitter !== undefined)) {
    throw scanner.fail(`expected ${expected}, found "${word}"`);
  }
  if (ms + jitterMs > MAX_TIMER_MS) throw scanner.fail(`"${word}" is too long (at most 24 days)`);
  return { ms, jitter: jitterMs };
}

function milliseconds(text: string): number | null {
  const found = /^(\d+(?:\.\d+)?)(ms|s)$/.exec(text);
  if (!found) return null;
  const value = Number(found[1]);
  return Math.round(found[2] === 's' ? value * 1000 : value);
}

/** A whole number, 1 or more: the N of --close-after and --abort-after. */
export function count(scanner: FlagScanner): number {
  const word = scanner.word();
  const n = /^\d+$/.test(word) ? Number(word) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw scanner.fail(word === '' ? 'expected a count N (act after the Nth message)' : `expected a count, a whole number 1 or more, found "${word}"`);
  }
  return n;
}

/** Optional `CODE [REASON...]` to the end; 1000 and "" when absent. */
export function closeSpec(scanner: FlagScanner): CloseSpec {
  if (scanner.atEnd()) return { code: 1000, reason: '' };
  const word = scanner.word();
  const code = /^\d+$/.test(word) ? Number(word) : NaN;
  // RFC 6455 §7.4.1-2: 1004 is reserved, 1005, 1006 and 1015 must never be sent, 1016-2999 are unassigned.
  if (!isValidWireCloseCode(code)) {
    throw scanner.fail(`"${word}" is not a close code that can be sent: use 1000-1003, 1007-1014 or 3000-4999`);
  }
  const reason = scanner.rest();
  if (Buffer.byteLength(reason, 'utf8') > MAX_REASON_BYTES) throw scanner.fail(`the close reason is longer than ${MAX_REASON_BYTES} bytes (RFC 6455 §5.5)`);
  return { code, reason };
}

/**
 * `DIRECTION PAYLOAD...`: where an injected message goes and what it is (the rest of the value):
 * text as written, or a binary message given as `hex:0a1b...` or `base64:...`; `text:` sends the
 * rest as text even when it begins with one of these prefixes.
 */
export function injection(scanner: FlagScanner): { dir: Direction; payload: string | Uint8Array } {
  const [dir] = direction(scanner, false) as [Direction];
  const rest = scanner.rest();
  if (rest === '') throw scanner.fail(`expected the message to send after "${dir}"`);
  return { dir, payload: injectedPayload(rest, scanner) };
}

function injectedPayload(value: string, scanner: FlagScanner): string | Uint8Array {
  if (value.startsWith('text:')) return value.slice('text:'.length);
  if (value.startsWith('hex:')) {
    const hex = value.slice('hex:'.length).replace(/\s+/g, '');
    if (hex === '' || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex)) throw scanner.fail('hex: takes an even number of hex digits, e.g. hex:01ff');
    return new Uint8Array(Buffer.from(hex, 'hex'));
  }
  if (value.startsWith('base64:')) {
    const base64 = value.slice('base64:'.length).trim();
    if (base64 === '' || !/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(base64)) {
      throw scanner.fail('base64: takes standard base64 with its padding, e.g. base64:AQID');
    }
    return new Uint8Array(Buffer.from(base64, 'base64'));
  }
  return value;
}

/** `$.path=VALUE` where the path names one member or element: what --set writes. */
export function assignment(scanner: FlagScanner): { segments: PathSegment[]; value: unknown } {
  if (scanner.peek() !== '$') throw scanner.fail('expected $.path=VALUE, e.g. $.user.name="mallory"');
  const { path, equals } = scanner.jsonTest();
  const segments = concreteSegments(path);
  if (!segments) throw scanner.fail(`${path.source} names more than one place: --set takes a plain path such as $.a.b[0]`);
  if (segments.length === 0) throw scanner.fail('$ is the whole message: name a field, e.g. $.user.name');
  if (!equals) throw scanner.fail(`expected "=VALUE" after ${path.source}`);
  return { segments, value: equals.value };
}

/**
 * The replacement half of `/REGEX/REPLACEMENT/`: `\/` is a slash and `\\` a backslash; `$1`,
 * `$<name>` and `$&` are String.prototype.replace's.
 */
export function unescapeReplacement(text: string): string {
  return text.replace(/\\([\\/])/g, '$1');
}

/**
 * THE frame-matching key for replay and diff: when two frames count as "the same", in one place,
 * with the ignore rules spelled out (as mitmproxy's serverplayback does for HTTP flows). `wstape
 * replay` uses it to decide whether a live frame is the one the recording expects, `wstape diff`
 * to align two conversations. No I/O here.
 *
 * Two frames are equal when:
 *   - they have the same type and the same FIN bit;
 *   - close frames: the same code (or both none) and the same reason;
 *   - text frames: the payload text with every `re:` pattern match replaced by MASK_PLACEHOLDER
 *     on both sides is then, when both sides are a JSON object or array, structurally equal
 *     (key order, whitespace and number spelling do not matter; values at ignored JSONPaths do
 *     not count), otherwise the same string;
 *   - binary, continuation, ping, pong and reserved frames (and a text frame whose payload is not
 *     valid UTF-8): the same bytes;
 *   - when either payload was cut by --max-payload (`truncated`), also the same real size.
 *
 * Patterns are applied to the raw text before it is parsed, so a pattern can cover any part of
 * it; one that matches only inside string values (a UUID, an ISO date) leaves the JSON intact and
 * keeps the comparison structural. For JSON fields prefer a JSONPath: it also works for numbers.
 * Numbers are compared as JavaScript numbers (IEEE doubles), as JSON.parse reads them.
 *
 * frameKey gives the same relation as a string, so frames can be hashed and aligned:
 * frameKey(a) === frameKey(b) exactly when compareFrames(a, b) is null.
 */
import { createHash } from 'node:crypto';
import { cliError } from '../errors.js';
import type { FrameType } from '../format/schema.js';
import { escapeText, hexBytes, payloadBytes, printableText } from '../output/payload.js';
import { formatSize } from '../output/units.js';
import { closeCodeName } from '../wire/close-codes.js';
import { compileJsonPath, formatJsonPath, pathMatches, type CompiledPath, type PathSegment } from './jsonpath.js';

/** What to leave out of comparisons: JSONPaths into JSON payloads, and patterns in text. */
export interface IgnoreRules {
  jsonPaths: CompiledPath[];
  textPatterns: RegExp[];
}

/** No ignores: exact comparison. */
export const NO_IGNORES: IgnoreRules = Object.freeze({ jsonPaths: Object.freeze([]), textPatterns: Object.freeze([]) }) as unknown as IgnoreRules;

/** What a `re:` pattern's matches are replaced with, on both sides, before comparing. */
export const MASK_PLACEHOLDER = '<ignored>';

/** The prefix that makes an --ignore spec a regular expression. */
export const REGEX_PREFIX = 're:';

/**
 * Compile `--ignore` specs. Each is a JSONPath (`$.ts`, `$.items[*].id`, `$..requestId`; see
 * jsonpath.ts) or `re:PATTERN`, a JavaScript regular expression whose matches in text payloads
 * and close reasons are masked. Throws CliError ERR_USAGE for a bad spec, a bad pattern, or a
 * pattern that matches the empty string (it would match between every two characters).
 */
export function compileIgnores(specs: readonly string[]): IgnoreRules {
  const rules: IgnoreRules = { jsonPaths: [], textPatterns: [] };
  for (const spec of specs) {
    if (spec.startsWith(REGEX_PREFIX)) {
      const pattern = spec.slice(REGEX_PREFIX.length);
      let regex: RegExp;
      try {
        regex = new RegExp(pattern, 'g');
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        throw cliError('ERR_USAGE', `bad --ignore ${JSON.stringify(spec)}: not a valid regular expression (${why.replace(/\s*\n\s*/g, ' ')})`);
      }
      if (new RegExp(pattern).test('')) {
        throw cliError(
          'ERR_USAGE',
          `bad --ignore ${JSON.stringify(spec)}: the pattern matches the empty string; make it match at least one character (e.g. \\d+ rather than \\d*)`,
        );
      }
      rules.textPatterns.push(regex);
    } else if (spec.startsWith('$')) {
      rules.jsonPaths.push(compileJsonPath(spec));
    } else {
      throw cliError('ERR_USAGE', `bad --ignore ${JSON.stringify(spec)}: give a JSONPath starting with $ (e.g. '$.ts', '$.items[*].id') or re:REGEX`);
    }
  }
  return rules;
}

/** True when the value at this concrete path is ignored (matches one of the rules' JSONPaths). */
export function isIgnoredPath(path: ReadonlyArray<PathSegment>, rules: IgnoreRules): boolean {
  for (const compiled of rules.jsonPaths) if (pathMatches(path, compiled)) return true;
  return false;
}

/** The text with every match of every `re:` pattern replaced by MASK_PLACEHOLDER, in order. */
export function maskText(text: string, rules: IgnoreRules): string {
  let out = text;
  for (const pattern of rules.textPatterns) {
    pattern.lastIndex = 0;
    out = out.replace(pattern, MASK_PLACEHOLDER);
  }
  return out;
}

/** The frame fields matching looks at. A FrameEntry (or a `show --json` object) satisfies it. */
export interface FrameView {
  type: FrameType;
  fin?: boolean | undefined;
  text?: string | undefined;
  /** base64 */
  data?: string | undefined;
  code?: number | undefined;
  reason?: string | undefined;
  /** Real payload size; only compared when a payload was truncated. */
  size?: number | undefined;
  truncated?: boolean | undefined;
}

/** One structural difference between two JSON values. */
export interface JsonChange {
  /** Where, as JSONPath: `$.a.b[2]`, `$["odd key"]`. */
  path: string;
  kind: 'changed' | 'added' | 'removed';
  /** The first value (absent for `added`). */
  from?: unknown;
  /** The second value (absent for `removed`). */
  to?: unknown;
}

/** Why two frames differ, with both sides rendered short for people. */
export interface FrameMismatch {
  /** `type`: type or FIN bit differ; `close`: code or reason differ; `payload`: the payload. */
  reason: 'type' | 'payload' | 'close';
  /** Short rendering of the expected (first) frame, e.g. `{"a":1}` or `BINARY 12 B 01 02 …`. */
  expected: string;
  actual: string;
  /** For JSON text payloads: what differs, path by path. */
  changes?: JsonChange[];
}

type Parsed = { json: true; value: unknown } | { json: false };

/**
 * A text payload as JSON, when it is a JSON object or array. Bare scalars (`42`, `"x"`, `true`)
 * stay text: "1.0" and "1" are different messages in a text protocol.
 */
function parseJsonPayload(text: string): Parsed {
  const first = /\S/.exec(text)?.[0];
  if (first !== '{' && first !== '[') return { json: false };
  try {
    return { json: true, value: JSON.parse(text) as unknown };
  } catch {
    return { json: false };
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The payload compared as text (masked, maybe JSON): a text frame's `text`, or its `data` when
 * that is valid UTF-8 (hand-made frames). Undefined for other types and invalid UTF-8, which are
 * compared as bytes.
 */
function comparableText(frame: FrameView): string | undefined {
  if (frame.type !== 'text') return undefined;
  if (frame.text !== undefined) return frame.text;
  if (frame.data === undefined) return '';
  try {
    return strictUtf8.decode(Buffer.from(frame.data, 'base64'));
  } catch {
    return undefined;
  }
}

function sizesDiffer(a: FrameView, b: FrameView): boolean {
  return (a.truncated === true || b.truncated === true) && a.size !== b.size;
}

/**
 * Compare an expected frame with an actual one under the rules (see the file header for what
 * counts). Returns null when they are equal, otherwise why not, with both sides rendered.
 */
export function compareFrames(expected: FrameView, actual: FrameView, rules: IgnoreRules): FrameMismatch | null {
  if (expected.type !== actual.type || (expected.fin ?? true) !== (actual.fin ?? true)) {
    return { reason: 'type', expected: renderFrame(expected), actual: renderFrame(actual) };
  }
  if (expected.type === 'close') {
    const same = expected.code === actual.code && maskText(expected.reason ?? '', rules) === maskText(actual.reason ?? '', rules);
    return same ? null : { reason: 'close', expected: renderFrame(expected), actual: renderFrame(actual) };
  }
  const textA = comparableText(expected);
  const textB = comparableText(actual);
  if (textA !== undefined && textB !== undefined) {
    const maskedA = maskText(textA, rules);
    const maskedB = maskText(textB, rules);
    const parsedA = parseJsonPayload(maskedA);
    const parsedB = parseJsonPayload(maskedB);
    if (parsedA.json && parsedB.json) {
      const changes = jsonChanges(parsedA.value, parsedB.value, rules);
      if (changes.length > 0) return { reason: 'payload', expected: renderFrame(expected), actual: renderFrame(actual), changes };
    } else if (maskedA !== maskedB) {
      const at = firstDifference(maskedA, maskedB);
      return { reason: 'payload', expected: renderFrame(expected, { at }), actual: renderFrame(actual, { at }) };
    }
  } else {
    const bytesA = payloadBytes(expected);
    const bytesB = payloadBytes(actual);
    if (!Buffer.from(bytesA).equals(bytesB)) {
      const at = firstByteDifference(bytesA, bytesB);
      return { reason: 'payload', expected: renderFrame(expected, { at }), actual: renderFrame(actual, { at }) };
    }
  }
  if (sizesDiffer(expected, actual)) return { reason: 'payload', expected: renderFrame(expected), actual: renderFrame(actual) };
  return null;
}

/**
 * The structural differences between two JSON values: object members compared by key (order
 * does not matter), arrays element by element (extra elements at the end are `added` or
 * `removed`), anything else by value. Values at paths matching rules.jsonPaths, and everything
 * under them, are skipped; `basePath` is where `a` and `b` sit in their documents. Text patterns
 * are not applied here: compareFrames masks them in the payload text before parsing it.
 */
export function jsonChanges(a: unknown, b: unknown, rules: IgnoreRules, basePath: ReadonlyArray<PathSegment> = []): JsonChange[] {
  const changes: JsonChange[] = [];
  walk(a, b, [...basePath], rules, changes);
  return changes;
}

function walk(a: unknown, b: unknown, path: PathSegment[], rules: IgnoreRules, out: JsonChange[]): void {
  if (isIgnoredPath(path, rules)) return;
  const child = (segment: PathSegment): PathSegment[] => [...path, segment];
  if (isPlainObject(a) && isPlainObject(b)) {
    for (const key of Object.keys(a)) {
      const at = child(key);
      if (Object.hasOwn(b, key)) walk(a[key], b[key], at, rules, out);
      else if (!isIgnoredPath(at, rules)) out.push({ path: formatJsonPath(at), kind: 'removed', from: a[key] });
    }
    for (const key of Object.keys(b)) {
      if (Object.hasOwn(a, key)) continue;
      const at = child(key);
      if (!isIgnoredPath(at, rules)) out.push({ path: formatJsonPath(at), kind: 'added', to: b[key] });
    }
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const length = Math.max(a.length, b.length);
    for (let index = 0; index < length; index++) {
      const at = child(index);
      if (index < a.length && index < b.length) walk(a[index], b[index], at, rules, out);
      else if (isIgnoredPath(at, rules)) continue;
      else if (index < a.length) out.push({ path: formatJsonPath(at), kind: 'removed', from: a[index] });
      else out.push({ path: formatJsonPath(at), kind: 'added', to: b[index] });
    }
    return;
  }
  const scalarA = typeof a !== 'object' || a === null;
  const scalarB = typeof b !== 'object' || b === null;
  if (scalarA && scalarB && a === b) return;
  out.push({ path: formatJsonPath(path), kind: 'changed', from: a, to: b });
}

/** Stands for an ignored value in canonical JSON; not valid JSON, so it equals no real value. */
const IGNORED_TOKEN = '~';

/**
 * Canonical JSON: keys sorted, no whitespace, ignored members left out, ignored array elements
 * replaced by IGNORED_TOKEN and trailing ones dropped (so that, as in jsonChanges, an ignored
 * element that only one side has makes no difference).
 */
function canonicalJson(value: unknown, path: PathSegment[], rules: IgnoreRules): string {
  if (rules.jsonPaths.length > 0 && isIgnoredPath(path, rules)) return IGNORED_TOKEN;
  if (Array.isArray(value)) {
    const items = value.map((item, index) => canonicalJson(item, [...path, index], rules));
    while (items.length > 0 && items[items.length - 1] === IGNORED_TOKEN) items.pop();
    return `[${items.join(',')}]`;
  }
  if (isPlainObject(value)) {
    const members: string[] = [];
    for (const key of Object.keys(value).sort()) {
      const item = canonicalJson(value[key], [...path, key], rules);
      if (item !== IGNORED_TOKEN) members.push(`${JSON.stringify(key)}:${item}`);
    }
    return `{${members.join(',')}}`;
  }
  if (typeof value === 'number') return Object.is(value, -0) ? '0' : String(value);
  return JSON.stringify(value) ?? 'null';
}

/** Keys longer than this are replaced by a SHA-256 digest, so aligning large payloads stays cheap. */
const MAX_PLAIN_KEY = 512;

/**
 * A canonical key for the frame: equal keys exactly when compareFrames finds the frames equal.
 * `type[+]:` (+ when FIN is clear) then the normalised payload: `j:` canonical JSON (sorted keys,
 * ignored paths removed, patterns masked), `t:` masked text, `b:` base64 bytes, or for close
 * frames `code:"reason"`. A truncated payload adds `|size=N`. Keys over 512 characters are
 * shortened to `type:#sha256:HEX`.
 */
export function frameKey(frame: FrameView, rules: IgnoreRules): string {
  const head = `${frame.type}${(frame.fin ?? true) ? '' : '+'}`;
  let body: string;
  if (frame.type === 'close') {
    body = `${frame.code ?? '-'}:${JSON.stringify(maskText(frame.reason ?? '', rules))}`;
  } else {
    const text = comparableText(frame);
    if (text !== undefined) {
      const masked = maskText(text, rules);
      const parsed = parseJsonPayload(masked);
      body = parsed.json ? `j:${canonicalJson(parsed.value, [], rules)}` : `t:${masked}`;
    } else {
      body = `b:${Buffer.from(payloadBytes(frame)).toString('base64')}`;
    }
    if (frame.truncated === true) body += `|size=${frame.size ?? '?'}`;
  }
  const key = `${head}:${body}`;
  if (key.length <= MAX_PLAIN_KEY) return key;
  return `${head}:#sha256:${createHash('sha256').update(body).digest('hex')}`;
}

// ---------------------------------------------------------------------------------------------
// Short renderings, for people

/** Characters of text (or bytes of hex) a rendering shows. */
const RENDER_CHARS = 200;
const RENDER_BYTES = 16;

export interface RenderOptions {
  /** Show the payload from around this offset (characters for text, bytes for binary). */
  at?: number;
  /** Characters of text to show (default 200). */
  maxChars?: number;
}

/**
 * A frame in one short line: `{"a":1}` for text, `BINARY 12 B 01 02 …`, `PING "hb"`,
 * `CLOSE 1000 Normal closure "bye"`, `[frag]` when FIN is clear. Control characters are escaped,
 * so the result is safe to print. With `at`, a long payload is shown from near that offset.
 */
export function renderFrame(frame: FrameView, options: RenderOptions = {}): string {
  const maxChars = options.maxChars ?? RENDER_CHARS;
  const frag = (frame.fin ?? true) ? '' : ' [frag]';
  const cut = frame.truncated === true ? ` [truncated, ${formatSize(frame.size ?? 0)}]` : '';
  switch (frame.type) {
    case 'close': {
      const parts = ['CLOSE'];
      if (frame.code !== undefined) parts.push(`${frame.code} ${closeCodeName(frame.code)}`);
      if (frame.reason !== undefined && frame.reason !== '') parts.push(escapeText(JSON.stringify(frame.reason)));
      return parts.join(' ');
    }
    case 'text':
      if (frame.text !== undefined) return renderText(frame.text, maxChars, options.at) + frag + cut;
      return `TEXT ${renderBytes(payloadBytes(frame), options.at)}${frag}${cut}`;
    case 'binary':
      return `BINARY ${renderBytes(payloadBytes(frame), options.at)}${frag}${cut}`;
    case 'continuation':
      if (frame.text !== undefined) return `CONT ${renderText(frame.text, maxChars, options.at)}${frag}${cut}`;
      return `CONT ${renderBytes(payloadBytes(frame), options.at)}${frag}${cut}`;
    case 'ping':
    case 'pong': {
      const bytes = payloadBytes(frame);
      const printable = printableText(bytes);
      const label = frame.type.toUpperCase();
      if (bytes.length === 0) return label;
      return `${label} ${printable !== null ? JSON.stringify(printable) : renderBytes(bytes, options.at)}`;
    }
    case 'reserved':
      return `RESERVED ${renderBytes(payloadBytes(frame), options.at)}${frag}${cut}`;
  }
}

/** Text cut to `max` code points, from near `at` when that is further in; escaped. */
function renderText(text: string, max: number, at?: number): string {
  if (text === '') return '(empty)';
  const chars = Array.from(text);
  let start = 0;
  if (at !== undefined && at > max / 2) {
    // `at` counts UTF-16 units; close enough for choosing a window.
    start = Math.max(0, Math.min(at - Math.floor(max / 4), chars.length - max));
  }
  const shown = chars.slice(start, start + max).join('');
  return `${start > 0 ? '…' : ''}${escapeText(shown)}${start + max < chars.length ? '…' : ''}`;
}

/** `12 B 01 02 …`, or `1.0 KiB @512: 0a 0b …` when shown from an offset. */
function renderBytes(bytes: Uint8Array, at?: number): string {
  const start = at !== undefined && at >= RENDER_BYTES ? Math.max(0, at - 4) : 0;
  const shown = bytes.subarray(start, start + RENDER_BYTES);
  const where = start > 0 ? ` @${start}:` : '';
  const more = start + shown.length < bytes.length ? ' …' : '';
  return `${formatSize(bytes.length)}${where}${shown.length > 0 ? ` ${hexBytes(shown)}` : ''}${more}`;
}

function firstDifference(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) if (a.charCodeAt(i) !== b.charCodeAt(i)) return i;
  return length;
}

function firstByteDifference(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return i;
  return length;
}

/** A JSON value on one line, escaped and cut to `max` characters: for JsonChange from/to. */
export function renderJsonValue(value: unknown, max = 80): string {
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- only values JSON.stringify cannot encode (functions, symbols) get here
  const text = value === undefined ? 'undefined' : (JSON.stringify(value) ?? String(value));
  const chars = Array.from(text);
  return escapeText(chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : text);
}

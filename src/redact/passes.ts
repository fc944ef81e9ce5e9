/**
 * The redaction passes over one piece of text (a payload, a body, a URL, a header value): each
 * finds spans to replace and hands them to the TextDoc, which applies them. Which passes run on
 * what is decided by the caller (redactor.ts); the order here is the order they run in.
 *
 *   json         JSON members by key (structurally, at any depth, also JSON inside strings and
 *                JSON embedded in other text), then `"key": value` patterns for JSON that does
 *                not parse (a truncated payload)
 *   form         application/x-www-form-urlencoded fields, by the query and JSON rules
 *   header-lines `Name: value` lines (STOMP frames, raw HTTP, YAML-ish text), by the header rules
 *   url          userinfo of `scheme://` URLs, and parameters after `?`, `&` or `#`
 *   pairs        `name=value` anywhere (log lines, close reasons, cookies in text), by the JSON rules
 *   subprotocol  token items of a Sec-WebSocket-Protocol list
 *   jwt          JSON Web Tokens
 *   known        values redacted elsewhere in the archive, seen again
 *   regex        the user's patterns
 */
import { findJson, mayHoldJson, type JsonNode } from './json-scan.js';
import { isJwtAt } from './jwt.js';
import { headerRuleFor, jsonRuleFor, queryRuleFor, type PassContext } from './context.js';
import type { HeaderRule, RedactionRule } from './rules.js';
import { TextDoc, type Hit, type PlannedEdit } from './text-doc.js';

export type PassName = 'json' | 'form' | 'header-lines' | 'url' | 'pairs' | 'subprotocol' | 'jwt' | 'known' | 'regex';

function decodeParamName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}

function edit(start: number, end: number, hit: Hit, shape: PlannedEdit['shape'] = 'raw'): PlannedEdit {
  return { start, end, shape, hits: [hit] };
}

// ---------------------------------------------------------------------------------------------
// json

/** JSON strings inside JSON are searched this many levels deep. */
const MAX_JSON_NESTING = 3;

/** `"key": value` where the text is not JSON as a whole (cut short, or JavaScript-ish). */
const JSON_PAIR = /"((?:[^"\\\n]|\\.){1,256})"\s*:\s*(?:"((?:[^"\\\n]|\\.)*)("|$)|(-?\d[\d.eE+-]*|true|false))/g;

function decodeJsonString(raw: string): string {
  try {
    return JSON.parse(raw) as string;
  } catch {
    return raw.slice(1, -1);
  }
}

function jsonPass(doc: TextDoc, ctx: PassContext, pathPrefix = '$', nesting = 0): PlannedEdit[] {
  const rules = ctx.rules.json;
  if (rules.length === 0) return [];
  const text = doc.text;
  const edits: PlannedEdit[] = [];
  const values = findJson(text);
  for (const value of values) {
    let skipUntil = -1;
    for (const node of value.nodes) {
      if (node.start < skipUntil) continue;
      const path = (): string => pathPrefix + node.path.slice(1);
      const rule = node.key !== undefined ? jsonRuleFor(ctx, node.key) : undefined;
      if (rule !== undefined) {
        const container = node.type === 'object' || node.type === 'array';
        if (container && rule.containerKeys?.test(node.key!) === true) continue;
        skipUntil = node.end;
        const raw = text.slice(node.start, node.end);
        if (raw === 'null' || raw === '""') continue;
        const secret = node.type === 'string' ? decodeJsonString(raw) : undefined;
        edits.push(edit(node.start, node.end, { rule, detail: path(), ...(secret !== undefined ? { secret } : {}) }, 'json-string'));
        continue;
      }
      if (node.type === 'string' && nesting < MAX_JSON_NESTING && !doc.fixedLength) {
        const inner = nestedJson(text, node, ctx, path(), nesting);
        if (inner !== null) {
          edits.push(inner);
          skipUntil = node.end;
        }
      }
    }
  }
  edits.push(...jsonPatternEdits(text, ctx, values));
  return edits;
}

/** A JSON string that holds JSON: redact the inner document and re-encode the string whole. */
function nestedJson(text: string, node: JsonNode, ctx: PassContext, path: string, nesting: number): PlannedEdit | null {
  if (!mayHoldJson(text, node.start, node.end)) return null;
  const raw = text.slice(node.start, node.end);
  const inner = new TextDoc(decodeJsonString(raw), 'utf8');
  const hits = inner.apply(jsonPass(inner, ctx, path, nesting + 1));
  if (hits.length === 0) return null;
  return { start: node.start, end: node.end, shape: { literal: JSON.stringify(inner.text) }, hits };
}

function jsonPatternEdits(text: string, ctx: PassContext, parsed: ReadonlyArray<{ start: number; end: number }>): PlannedEdit[] {
  const edits: PlannedEdit[] = [];
  // Only the text between the values that parsed: those were searched structurally.
  const gaps: Array<[number, number]> = [];
  let from = 0;
  for (const value of parsed) {
    if (value.start > from) gaps.push([from, value.start]);
    from = value.end;
  }
  if (from < text.length) gaps.push([from, text.length]);
  for (const [gapStart, gapEnd] of gaps) {
    const gap = text.slice(gapStart, gapEnd);
    if (!gap.includes('"')) continue;
    for (const match of gap.matchAll(JSON_PAIR)) {
      const key = decodeJsonString(`"${match[1]!}"`);
      const rule = jsonRuleFor(ctx, key);
      if (rule === undefined) continue;
      const end = gapStart + match.index + match[0].length;
      if (match[2] !== undefined) {
        if (match[2] === '') continue;
        // The string value: quotes included when it is complete; its content when it is cut short.
        const closed = match[3] === '"';
        const start = end - match[2].length - (closed ? 2 : 0);
        const secret = decodeJsonString(`"${match[2]}"`);
        edits.push(edit(start, end, { rule, detail: `"${key}"`, secret }, closed ? 'json-string' : 'raw'));
      } else if (match[4] !== undefined) {
        edits.push(edit(end - match[4].length, end, { rule, detail: `"${key}"` }, 'json-string'));
      }
    }
  }
  return edits;
}

// ---------------------------------------------------------------------------------------------
// form, url

/** A form field: at the start of the text or after `&`. */
const FORM_FIELD = /(?<![^&])([^=&\s]+)=([^&]*)/g;
/** A parameter after `?`, `&` (or `&amp;` in HTML) or `#` (OAuth puts tokens in the fragment). */
const URL_PARAM = /(?<=[?&#]|&amp;)([A-Za-z0-9_.\-[\]%+~$]+)=([^&#\s"'<>\\]*)/g;
/** The userinfo of a `scheme://` URL (also with JSON's escaped slashes, `https:\/\/`). */
const USERINFO = /\b[a-zA-Z][a-zA-Z0-9+.-]*:(?:\\?\/){2}([^\s/\\?#@"'<>]+)@/g;

function paramEdits(text: string, pattern: RegExp, ctx: PassContext, label: string, alsoJson: boolean): PlannedEdit[] {
  const edits: PlannedEdit[] = [];
  for (const match of text.matchAll(pattern)) {
    const value = match[2]!;
    if (value === '') continue;
    const name = decodeParamName(match[1]!);
    const rule: RedactionRule | undefined = queryRuleFor(ctx, name) ?? (alsoJson ? jsonRuleFor(ctx, name) : undefined);
    if (rule === undefined) continue;
    const end = match.index + match[0].length;
    edits.push(edit(end - value.length, end, { rule, detail: `${label} ${name}`, secret: decodeParamName(value) }));
  }
  return edits;
}

function formPass(doc: TextDoc, ctx: PassContext): PlannedEdit[] {
  if (ctx.rules.query.length === 0 && ctx.rules.json.length === 0) return [];
  return paramEdits(doc.text, FORM_FIELD, ctx, 'form', true);
}

function urlPass(doc: TextDoc, ctx: PassContext): PlannedEdit[] {
  const text = doc.text;
  const edits: PlannedEdit[] = [];
  const rule = ctx.rules.userinfo;
  if (rule !== null && text.includes('@')) {
    for (const match of text.matchAll(USERINFO)) {
      const userinfo = match[1]!;
      const end = match.index + match[0].length - 1;
      const colon = userinfo.indexOf(':');
      const start = colon === -1 ? end - userinfo.length : end - userinfo.length + colon + 1;
      if (start === end) continue;
      edits.push(edit(start, end, { rule, detail: 'userinfo', secret: decodeParamName(text.slice(start, end)) }));
    }
  }
  if (ctx.rules.query.length > 0 && text.includes('=')) edits.push(...paramEdits(text, URL_PARAM, ctx, 'query', false));
  return edits;
}

/** `name=value` not inside a longer name; the value up to a space, quote or separator, or quoted. */
const PAIR = /(?<![A-Za-z0-9_.\-[\]%+~$])([A-Za-z_][A-Za-z0-9_.-]*)=("[^"\n]*"|[^\s&#"'<>\\,;]+)/g;

function pairsPass(doc: TextDoc, ctx: PassContext): PlannedEdit[] {
  if (ctx.rules.json.length === 0 || !doc.text.includes('=')) return [];
  const edits: PlannedEdit[] = [];
  for (const match of doc.text.matchAll(PAIR)) {
    const name = match[1]!;
    const rule = jsonRuleFor(ctx, name);
    if (rule === undefined) continue;
    let value = match[2]!;
    let end = match.index + match[0].length;
    if (value.startsWith('"')) {
      value = value.slice(1, -1);
      end -= 1;
    }
    if (value === '') continue;
    edits.push(edit(end - value.length, end, { rule, detail: `pair ${name}`, secret: value }));
  }
  return edits;
}

// ---------------------------------------------------------------------------------------------
// headers

/** Authorization schemes whose name is kept: `Bearer [REDACTED]`. */
const AUTH_SCHEMES = new Set([
  'bearer',
  'basic',
  'digest',
  'token',
  'negotiate',
  'ntlm',
  'oauth',
  'hoba',
  'mutual',
  'dpop',
  'apikey',
  'jwt',
  'aws4-hmac-sha256',
  'scram-sha-1',
  'scram-sha-256',
  'vapid',
  'mac',
  'hawk',
]);

/**
 * The spans of a header value to replace: cookie values one by one (names kept), a Set-Cookie's
 * value (attributes kept), credentials after an authorization scheme (the scheme kept), or the
 * whole value. `valueStart` is where the value starts in `text`.
 */
export function headerValueEdits(name: string, text: string, valueStart: number, valueEnd: number, rule: HeaderRule, detail: string): PlannedEdit[] {
  const lower = name.toLowerCase();
  const value = text.slice(valueStart, valueEnd);
  const spans: Array<[number, number]> = [];
  if (lower === 'cookie' || lower === 'set-cookie' || lower === 'set-cookie2') {
    const pairs = lower === 'cookie' ? value.split(';') : [value.split(';')[0] ?? ''];
    let at = 0;
    for (const pair of pairs) {
      const eq = pair.indexOf('=');
      const from = eq === -1 ? at : at + eq + 1;
      const to = at + pair.length;
      const inner = value.slice(from, to);
      const lead = inner.length - inner.trimStart().length;
      const trail = inner.length - inner.trimEnd().length;
      if (to - trail > from + lead) spans.push([from + lead, to - trail]);
      at += pair.length + 1;
    }
  } else {
    const scheme = /^([A-Za-z][A-Za-z0-9-]*)[ \t]+(?=\S)/.exec(value);
    const keep = scheme !== null && (lower.includes('authorization') || AUTH_SCHEMES.has(scheme[1]!.toLowerCase())) ? scheme[0].length : 0;
    const trimmed = value.trimEnd();
    if (trimmed.length > keep) spans.push([keep, trimmed.length]);
  }
  return spans.map(([from, to]) => edit(valueStart + from, valueStart + to, { rule, detail, secret: value.slice(from, to) }));
}

/** `Name: value` lines. */
const HEADER_LINE = /^[ \t]*([A-Za-z][A-Za-z0-9_-]*)[ \t]*:[ \t]*([^\r\n]*)/gm;

function headerLinesPass(doc: TextDoc, ctx: PassContext): PlannedEdit[] {
  if (ctx.rules.header.length === 0 || !doc.text.includes(':')) return [];
  const edits: PlannedEdit[] = [];
  for (const match of doc.text.matchAll(HEADER_LINE)) {
    const name = match[1]!;
    const rule = headerRuleFor(ctx, name);
    if (rule === undefined || match[2] === '') continue;
    const end = match.index + match[0].length;
    edits.push(...headerValueEdits(name, doc.text, end - match[2]!.length, end, rule, `line ${name}`));
  }
  return edits;
}

/** A subprotocol item whose name announces the token that follows in the next item. */
const TOKEN_ANNOUNCERS = new Set([
  'access_token',
  'access-token',
  'accesstoken',
  'token',
  'bearer',
  'authorization',
  'auth',
  'auth_token',
  'auth-token',
  'jwt',
]);
/** An item that carries its token after a keyword: `base64url.bearer.authorization.k8s.io.<token>`, `bearer.<token>`, `token=<token>`. */
const TOKEN_ITEM = /^(.*\b(?:bearer|token|access[_-]?token|jwt|auth|authorization)[.:=](?:k8s\.io\.)?)([^.:=\s].*)$/i;

function subprotocolPass(doc: TextDoc, ctx: PassContext): PlannedEdit[] {
  const rule = ctx.rules.subprotocol;
  if (rule === null) return [];
  const edits: PlannedEdit[] = [];
  const text = doc.text;
  const items: Array<[number, number]> = [];
  let at = 0;
  for (const part of text.split(',')) {
    const lead = part.length - part.trimStart().length;
    const trimmed = part.trim();
    if (trimmed !== '') items.push([at + lead, at + lead + trimmed.length]);
    at += part.length + 1;
  }
  for (const [index, [start, end]] of items.entries()) {
    const item = text.slice(start, end);
    const previous = items[index - 1];
    if (previous !== undefined && TOKEN_ANNOUNCERS.has(text.slice(previous[0], previous[1]).toLowerCase())) {
      edits.push(edit(start, end, { rule, detail: 'token', secret: item }));
      continue;
    }
    const match = TOKEN_ITEM.exec(item);
    if (match !== null) edits.push(edit(start + match[1]!.length, end, { rule, detail: 'token', secret: match[2]! }));
  }
  return edits;
}

// ---------------------------------------------------------------------------------------------
// jwt, known, regex

/** Three base64url segments (five for JWE), not inside a longer run of token characters. */
const JWT_CANDIDATE = /(?<![A-Za-z0-9_\-.])[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)?(?![A-Za-z0-9_-])/g;
/**
 * The same, starting at `eyJ` (base64url of `{"`, how nearly every JOSE header begins) whatever
 * precedes it: a token glued to other text, or after a length byte in binary data.
 */
const JWT_GLUED = /eyJ[A-Za-z0-9_-]{7,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)?(?![A-Za-z0-9_-])/g;

function jwtPass(doc: TextDoc, ctx: PassContext): PlannedEdit[] {
  const rule = ctx.rules.jwt;
  if (rule === null || !doc.text.includes('.')) return [];
  const edits: PlannedEdit[] = [];
  for (const pattern of [JWT_CANDIDATE, JWT_GLUED]) {
    for (const match of doc.text.matchAll(pattern)) {
      if (!isJwtAt(match[0])) continue;
      edits.push(edit(match.index, match.index + match[0].length, { rule, detail: 'jwt' }));
    }
  }
  return edits;
}

function knownPass(doc: TextDoc, ctx: PassContext): PlannedEdit[] {
  if (ctx.known.size === 0) return [];
  const edits: PlannedEdit[] = [];
  const { pattern, sources } = ctx.known.index(doc.encoding);
  pattern.lastIndex = 0;
  for (const match of doc.text.matchAll(pattern)) {
    const source = sources.get(match[0])!;
    edits.push(edit(match.index, match.index + match[0].length, { rule: source.rule, detail: `(same value as ${source.place})` }));
  }
  return edits;
}

function regexPass(doc: TextDoc, ctx: PassContext): PlannedEdit[] {
  const edits: PlannedEdit[] = [];
  for (const rule of ctx.rules.regex) {
    const pattern = new RegExp(rule.pattern.source, rule.pattern.flags);
    for (const match of doc.text.matchAll(pattern)) {
      if (match[0] === '') continue;
      const groups = (match.indices ?? []).slice(1).filter((span): span is [number, number] => span !== undefined && span[1] > span[0]);
      const spans = match.length > 1 ? groups : [[match.index, match.index + match[0].length] as [number, number]];
      for (const [start, end] of spans) edits.push(edit(start, end, { rule, detail: '', secret: doc.text.slice(start, end) }));
    }
  }
  return edits;
}

const PASSES: Record<PassName, (doc: TextDoc, ctx: PassContext) => PlannedEdit[]> = {
  json: (doc, ctx) => jsonPass(doc, ctx),
  form: formPass,
  'header-lines': headerLinesPass,
  url: urlPass,
  pairs: pairsPass,
  subprotocol: subprotocolPass,
  jwt: jwtPass,
  known: knownPass,
  regex: regexPass,
};

/** What a text payload or body gets. */
export const TEXT_PASSES: readonly PassName[] = ['json', 'header-lines', 'url', 'pairs', 'jwt', 'known', 'regex'];
/**
 * Bytes that are not text: no `name=value` search, whose short names (`pwd=`) turn up in random
 * bytes about once in 50 MB; the rest needs long or structured matches.
 */
export const BINARY_PASSES: readonly PassName[] = ['json', 'header-lines', 'url', 'jwt', 'known', 'regex'];
/** A form-encoded body: its fields first. */
export const FORM_PASSES: readonly PassName[] = ['form', 'json', 'url', 'pairs', 'jwt', 'known', 'regex'];
/** A URL, a request target, a header value, a message. */
export const VALUE_PASSES: readonly PassName[] = ['url', 'pairs', 'jwt', 'known', 'regex'];
/** Sec-WebSocket-Protocol values and the connection's `subprotocol`. */
export const SUBPROTOCOL_PASSES: readonly PassName[] = ['subprotocol', 'jwt', 'known', 'regex'];

/** Called for every redaction applied: the rule, and the detail within the field. */
export type HitListener = (hit: Hit) => void;

/** Run passes over a document, one after another, reporting what each applied. */
export function runPasses(doc: TextDoc, passes: readonly PassName[], ctx: PassContext, onHit: HitListener): void {
  for (const name of passes) {
    const edits = PASSES[name](doc, ctx);
    if (edits.length === 0) continue;
    for (const hit of doc.apply(edits)) onHit(hit);
  }
}

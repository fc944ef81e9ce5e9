/**
 * Redaction rules: what to look for, as data. The default set (defaultRules) and the user's
 * `--rule` specs (parseRule) have the same shape; the engine (redactor.ts) decides where each
 * kind applies. docs/REDACTION.md lists every rule and where it looks.
 */
import { cliError } from '../errors.js';
import { defaultHeaderNames, defaultJsonContainerKeys, defaultJsonKeys, defaultQueryNames, type NameMatcher } from './names.js';

/** What replaces a secret. JSON values become the JSON string "[REDACTED]". */
export const MARKER = '[REDACTED]';

export type RuleKind = 'header' | 'query' | 'json' | 'regex' | 'jwt' | 'userinfo' | 'subprotocol';

interface RuleBase {
  /** Stable id, used in the summary: `headers`, `json` ... for the defaults, the spec (`header:X-Token`) for user rules. */
  id: string;
  kind: RuleKind;
  /** One line for people: what the rule matches. */
  description: string;
}

/** Header values, by header name (case-insensitive): handshakes, HTTP exchanges, `Name: value` lines in text. */
export interface HeaderRule extends RuleBase {
  kind: 'header';
  names: NameMatcher;
}

/** Query, fragment and form parameter values, by parameter name: URLs, headers carrying URLs, text, form bodies. */
export interface QueryRule extends RuleBase {
  kind: 'query';
  names: NameMatcher;
}

/** JSON member values, by key, at any depth: text payloads and bodies. */
export interface JsonRule extends RuleBase {
  kind: 'json';
  keys: NameMatcher;
  /** Keys whose object or array value is searched rather than replaced whole (scalars are replaced). */
  containerKeys?: NameMatcher;
}

/** Every match of a pattern (or of its capture groups, when it has some) in text, URLs and header values. */
export interface RegexRule extends RuleBase {
  kind: 'regex';
  /** Compiled with the `g` and `d` flags. */
  pattern: RegExp;
}

/** JSON Web Tokens anywhere: three base64url segments whose first decodes to a JSON object with "alg". */
export interface JwtRule extends RuleBase {
  kind: 'jwt';
}

/** The userinfo of URLs (`user:password@`, `token@`). */
export interface UserinfoRule extends RuleBase {
  kind: 'userinfo';
}

/** Tokens carried in Sec-WebSocket-Protocol (`base64url.bearer.authorization.k8s.io.<token>`, `access_token, <token>`). */
export interface SubprotocolRule extends RuleBase {
  kind: 'subprotocol';
}

export type RedactionRule = HeaderRule | QueryRule | JsonRule | RegexRule | JwtRule | UserinfoRule | SubprotocolRule;

/** The default rules, in the order their ids appear in summaries. */
export function defaultRules(): RedactionRule[] {
  return [
    {
      id: 'headers',
      kind: 'header',
      names: defaultHeaderNames,
      description: 'Authorization, Proxy-Authorization, Cookie, Set-Cookie, X-Api-Key, X-Auth-Token, X-Amz-Security-Token, X-CSRF-Token and the like',
    },
    {
      id: 'subprotocol',
      kind: 'subprotocol',
      description: 'tokens in Sec-WebSocket-Protocol (base64url.bearer.authorization.k8s.io.<token>, access_token, <token>)',
    },
    { id: 'userinfo', kind: 'userinfo', description: 'URL userinfo (user:password@, token@)' },
    {
      id: 'query',
      kind: 'query',
      names: defaultQueryNames,
      description: 'query and form parameters named like token, access_token, key, secret, password, signature, code, auth, session',
    },
    { id: 'jwt', kind: 'jwt', description: 'JSON Web Tokens anywhere' },
    {
      id: 'json',
      kind: 'json',
      keys: defaultJsonKeys,
      containerKeys: defaultJsonContainerKeys,
      description: 'JSON fields named like password, secret, token, authorization, api_key, session, at any depth',
    },
  ];
}

/** An HTTP header name (RFC 9110 §5.1: a token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const RULE_FORMS = 'header:NAME, query:NAME, json:KEY-REGEX or regex:PATTERN (or regex:/PATTERN/FLAGS)';

function usage(spec: string, why: string): Error {
  return cliError('ERR_USAGE', `bad --rule ${JSON.stringify(spec)}: ${why}`);
}

function compile(spec: string, source: string, flags: string): RegExp {
  try {
    return new RegExp(source, flags);
  } catch (error) {
    const message = error instanceof Error ? error.message.replace(/^Invalid regular expression: /, '') : String(error);
    throw usage(spec, `not a valid regular expression (${message.replace(/\s*\n\s*/g, ' ')})`);
  }
}

/** A case-insensitive exact name. */
function exactName(name: string): NameMatcher {
  const lower = name.toLowerCase();
  return { test: (candidate) => candidate.toLowerCase() === lower };
}

/**
 * A user rule from its `--rule` spec:
 * - `header:NAME`: the value of header NAME (case-insensitive), wherever headers are recorded;
 * - `query:NAME`: the value of query, fragment or form parameter NAME (case-insensitive);
 * - `json:KEY-REGEX`: JSON members whose key matches the regex (case-insensitive, unanchored:
 *   `json:^pin$` for exactly "pin");
 * - `regex:PATTERN` or `regex:/PATTERN/FLAGS` (flags i, m, s, u): every match in text payloads,
 *   bodies, URLs and header values; with capture groups, only what the groups matched.
 * Throws CliError ERR_USAGE (one line) for anything else.
 */
export function parseRule(spec: string): RedactionRule {
  const colon = spec.indexOf(':');
  if (colon <= 0) throw usage(spec, `expected ${RULE_FORMS}`);
  const kind = spec.slice(0, colon).trim().toLowerCase();
  const value = spec.slice(colon + 1);
  if (value === '') throw usage(spec, `nothing after "${kind}:"`);
  switch (kind) {
    case 'header': {
      const name = value.trim();
      if (!HEADER_NAME.test(name)) throw usage(spec, `"${name}" is not a header name`);
      return { id: `header:${name}`, kind: 'header', names: exactName(name), description: `header ${name}` };
    }
    case 'query': {
      const name = value.trim();
      if (name === '' || /[\s&=?#]/.test(name)) throw usage(spec, `"${name}" is not a parameter name`);
      return { id: `query:${name}`, kind: 'query', names: exactName(name), description: `query or form parameter ${name}` };
    }
    case 'json': {
      const pattern = compile(spec, value, 'i');
      return { id: `json:${value}`, kind: 'json', keys: pattern, description: `JSON fields whose key matches /${value}/i` };
    }
    case 'regex': {
      const slashed = /^\/(.*)\/([a-z]*)$/s.exec(value);
      const source = slashed ? slashed[1]! : value;
      const flags = slashed ? slashed[2]! : '';
      if (/[^imsu]/.test(flags) || new Set(flags).size !== flags.length) throw usage(spec, `flags may be i, m, s and u, each once (got "${flags}")`);
      if (source === '') throw usage(spec, 'the pattern is empty');
      const pattern = compile(spec, source, `${flags}gd`);
      if (pattern.test('')) throw usage(spec, 'the pattern matches the empty string');
      pattern.lastIndex = 0;
      return { id: `regex:${value}`, kind: 'regex', pattern, description: `text matching /${source}/${flags}` };
    }
    default:
      throw usage(spec, `unknown kind "${kind}"; expected ${RULE_FORMS}`);
  }
}

/** Parse several specs; duplicates (same id) are kept once. */
export function parseRules(specs: readonly string[]): RedactionRule[] {
  const rules = new Map<string, RedactionRule>();
  for (const spec of specs) {
    const rule = parseRule(spec);
    if (!rules.has(rule.id)) rules.set(rule.id, rule);
  }
  return [...rules.values()];
}

/** The rules a run uses: the defaults (unless noDefaults) and the --rule ones, each id once. */
export function rulesFor(options: { rule?: readonly string[] | undefined; noDefaults?: boolean | undefined }): RedactionRule[] {
  const user = parseRules(options.rule ?? []);
  const rules = options.noDefaults ? user : [...defaultRules(), ...user];
  if (rules.length === 0) throw cliError('ERR_USAGE', '--no-defaults leaves no rules: add at least one --rule');
  return rules;
}

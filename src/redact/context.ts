/**
 * What the passes share: the rules grouped by kind, which rule a name falls under (cached), and
 * the values redacted so far, to be found again elsewhere.
 */
import type { HeaderRule, JsonRule, QueryRule, RedactionRule, RegexRule, JwtRule, SubprotocolRule, UserinfoRule } from './rules.js';
import { MARKER } from './rules.js';

/** The rules, grouped by kind, in the order given. */
export interface RuleSet {
  header: HeaderRule[];
  query: QueryRule[];
  json: JsonRule[];
  regex: RegexRule[];
  jwt: JwtRule | null;
  userinfo: UserinfoRule | null;
  subprotocol: SubprotocolRule | null;
}

export function groupRules(rules: readonly RedactionRule[]): RuleSet {
  const set: RuleSet = { header: [], query: [], json: [], regex: [], jwt: null, userinfo: null, subprotocol: null };
  for (const rule of rules) {
    switch (rule.kind) {
      case 'header':
        set.header.push(rule);
        break;
      case 'query':
        set.query.push(rule);
        break;
      case 'json':
        set.json.push(rule);
        break;
      case 'regex':
        set.regex.push(rule);
        break;
      case 'jwt':
        set.jwt ??= rule;
        break;
      case 'userinfo':
        set.userinfo ??= rule;
        break;
      case 'subprotocol':
        set.subprotocol ??= rule;
        break;
    }
  }
  return set;
}

/** Secrets shorter than this are not searched for elsewhere (too likely to be ordinary text). */
export const MIN_KNOWN_SECRET = 8;
/** Longer values are not remembered (a redacted JSON document, say): only distinctive tokens are. */
const MAX_KNOWN_SECRET = 4096;
const MAX_KNOWN_SECRETS = 1000;

interface SecretSource {
  rule: RedactionRule;
  place: string;
}

interface SecretIndex {
  /** All secrets as one alternation, longest first: one scan of the text however many secrets. */
  pattern: RegExp;
  sources: Map<string, SecretSource>;
}

/**
 * Values the rules redacted, remembered so the same value is redacted where no rule would have
 * found it (a token from an Authorization header, echoed in a URL path or a frame). Counted
 * under the rule that first found it.
 */
export class KnownSecrets {
  readonly #secrets = new Map<string, SecretSource>();
  readonly #indexes = new Map<'utf8' | 'latin1', SecretIndex>();

  add(secret: string, rule: RedactionRule, place: string): void {
    if (secret.length < MIN_KNOWN_SECRET || secret.length > MAX_KNOWN_SECRET || this.#secrets.has(secret)) return;
    if (secret.includes(MARKER) || /^[*\s]*$/.test(secret) || this.#secrets.size >= MAX_KNOWN_SECRETS) return;
    this.#secrets.set(secret, { rule, place });
    this.#indexes.clear();
  }

  get size(): number {
    return this.#secrets.size;
  }

  /** The secrets as they appear in a document of this encoding (UTF-8 bytes as latin1 for binary). */
  index(encoding: 'utf8' | 'latin1'): SecretIndex {
    let index = this.#indexes.get(encoding);
    if (index === undefined) {
      const sources = new Map<string, SecretSource>();
      for (const [secret, source] of this.#secrets) sources.set(encoding === 'utf8' ? secret : Buffer.from(secret, 'utf8').toString('latin1'), source);
      const alternatives = [...sources.keys()].sort((a, b) => b.length - a.length).map((secret) => secret.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));
      index = { pattern: new RegExp(alternatives.join('|'), 'g'), sources };
      this.#indexes.set(encoding, index);
    }
    return index;
  }
}

export interface PassContext {
  rules: RuleSet;
  known: KnownSecrets;
  /** Which rule a name falls under, per kind: names repeat (every row of a JSON array has the same keys). */
  names?: Map<string, RedactionRule | null>;
}

const MAX_CACHED_NAMES = 10_000;

function cached<R extends RedactionRule>(ctx: PassContext, kind: string, name: string, find: () => R | undefined): R | undefined {
  ctx.names ??= new Map();
  const key = `${kind}\u0000${name}`;
  const hit = ctx.names.get(key);
  if (hit !== undefined) return (hit ?? undefined) as R | undefined;
  const rule = find();
  if (ctx.names.size >= MAX_CACHED_NAMES) ctx.names.clear();
  ctx.names.set(key, rule ?? null);
  return rule;
}

export function headerRuleFor(ctx: PassContext, name: string): HeaderRule | undefined {
  return cached(ctx, 'header', name, () => ctx.rules.header.find((rule) => rule.names.test(name)));
}

export function queryRuleFor(ctx: PassContext, name: string): QueryRule | undefined {
  return cached(ctx, 'query', name, () => ctx.rules.query.find((rule) => rule.names.test(name)));
}

/** The first JSON rule whose key matcher accepts `key`. */
export function jsonRuleFor(ctx: PassContext, key: string): JsonRule | undefined {
  return cached(ctx, 'json', key, () => ctx.rules.json.find((rule) => rule.keys.test(key)));
}

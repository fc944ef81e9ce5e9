/**
 * What a redaction did, per rule: how many values it replaced and where (never the values). The
 * list of places is bounded, so a summary stays small however large the archive.
 *
 * A place names the entry and the field: `c1 #4 text $.password`, `c1 #4-#6 text $.password`
 * (a message over frames 4 to 6), `h2 request header Authorization`, `c1 url query token`,
 * `h3 response body (gzip) $.access_token`, `c2 subprotocol token`.
 */
import { escapeText } from '../output/payload.js';
import type { RedactionRule, RuleKind } from './rules.js';

export interface RuleSummary {
  id: string;
  kind: RuleKind;
  description: string;
  /** Values this rule replaced. */
  count: number;
  /** The first places, in archive order (at most the redactor's `maxPlaces`). */
  places: string[];
  /** Places not listed. */
  omitted: number;
}

export interface RedactionSummary {
  /** Values replaced, all rules together. */
  total: number;
  /** Entries that changed. */
  entries: number;
  /** One item per rule, in the order the rules were given (rules that found nothing included). */
  rules: RuleSummary[];
}

export class SummaryCollector {
  readonly #rules = new Map<string, RuleSummary>();
  readonly #maxPlaces: number;
  #total = 0;
  #entries = 0;

  constructor(rules: readonly RedactionRule[], maxPlaces: number) {
    this.#maxPlaces = maxPlaces;
    for (const rule of rules) {
      if (!this.#rules.has(rule.id))
        this.#rules.set(rule.id, { id: rule.id, kind: rule.kind, description: rule.description, count: 0, places: [], omitted: 0 });
    }
  }

  hit(rule: RedactionRule, place: string): void {
    const summary = this.#rules.get(rule.id);
    if (summary === undefined) return;
    summary.count++;
    this.#total++;
    // Places hold names from the archive (keys, parameters): no control characters reach a terminal.
    if (summary.places.length < this.#maxPlaces) summary.places.push(escapeText(place));
    else summary.omitted++;
  }

  entryChanged(): void {
    this.#entries++;
  }

  get total(): number {
    return this.#total;
  }

  summary(): RedactionSummary {
    return {
      total: this.#total,
      entries: this.#entries,
      rules: [...this.#rules.values()].map((rule) => ({ ...rule, places: [...rule.places] })),
    };
  }
}

/** The summary for people: one line per rule that found something, then its places, indented. */
export function formatSummary(summary: RedactionSummary): string {
  const lines: string[] = [];
  for (const rule of summary.rules) {
    if (rule.count === 0) continue;
    lines.push(`  ${rule.id}: ${rule.count} (${rule.description})`);
    for (const place of rule.places) lines.push(`    ${place}`);
    if (rule.omitted > 0) lines.push(`    ... and ${rule.omitted} more`);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

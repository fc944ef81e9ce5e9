/** Shared helpers for the redaction tests: a JWT, running a Redactor over entries, schema checks. */
import { expect } from 'vitest';
import { entrySchema, type Entry, type FrameEntry } from '../../src/format/schema.js';
import { Redactor, type RedactorOptions } from '../../src/redact/redactor.js';
import { defaultRules, parseRule, type RedactionRule } from '../../src/redact/rules.js';

/** A real HS256 JWT shape: header {"alg":"HS256","typ":"JWT"}. */
export function makeJwt(claims: Record<string, unknown> = { sub: 'user-42', name: 'Ada' }): string {
  const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}.${Buffer.from('signature-bytes-0123456789').toString('base64url')}`;
}

/** Run entries through a fresh Redactor (defaults plus `specs`), checking each output against the schema. */
export function redactAll(
  entries: Entry[],
  specs: string[] = [],
  options: RedactorOptions & { noDefaults?: boolean } = {},
): { out: Entry[]; redactor: Redactor } {
  const rules: RedactionRule[] = [...(options.noDefaults ? [] : defaultRules()), ...specs.map(parseRule)];
  const redactor = new Redactor(rules, options);
  const out: Entry[] = [];
  for (const entry of entries) out.push(...redactor.push(entry));
  out.push(...redactor.flush());
  for (const entry of out) expect(entrySchema.safeParse(entry).success, JSON.stringify(entry)).toBe(true);
  return { out, redactor };
}

/** A frame's payload bytes, as the archive keeps them. */
export function payloadOf(frame: FrameEntry): Buffer {
  if (frame.text !== undefined) return Buffer.from(frame.text, 'utf8');
  return Buffer.from(frame.data ?? '', 'base64');
}

export function frames(entries: Entry[]): FrameEntry[] {
  return entries.filter((entry): entry is FrameEntry => entry.kind === 'frame');
}

/** Every place listed in the summary, all rules together. */
export function places(redactor: Redactor): string[] {
  return redactor.summary().rules.flatMap((rule) => rule.places);
}

export function countOf(redactor: Redactor, id: string): number {
  return redactor.summary().rules.find((rule) => rule.id === id)?.count ?? 0;
}

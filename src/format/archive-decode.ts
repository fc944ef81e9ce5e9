/**
 * The reader's core, with no I/O: recognising an archive from its first line, checking its
 * version, migrating older versions step by step, validating entries, and telling a crash's
 * truncated last line apart from real damage. archive-reader.ts feeds it lines from a file.
 */
import type * as z from 'zod';
import { cliError, type CliError } from '../errors.js';
import { PACKAGE_VERSION } from '../version.js';
import { HEADER_START, isPlainObject, parseArchiveLine } from './archive-lines.js';
import { ARCHIVE_FORMAT, ARCHIVE_VERSION, entrySchema, headerSchema, trailerSchema, type ArchiveHeader, type ArchiveTrailer, type Entry } from './schema.js';

/**
 * One step from archive version N to N+1, applied to the raw JSON before validation, so the rest
 * of wstape only ever sees the current version (mitmproxy's io/compat.py works the same way).
 */
export interface Migration {
  header(value: Record<string, unknown>): Record<string, unknown>;
  entry(value: unknown): unknown;
  trailer(value: Record<string, unknown>): Record<string, unknown>;
}

/**
 * Step migrations keyed by the version they upgrade from: MIGRATIONS[1] turns a version 1 archive
 * into version 2. When ARCHIVE_VERSION is bumped, add the step here and keep the old version's
 * fixture under fixtures/archives/ (each is read by test/format/archive-versions.test.ts).
 */
export const MIGRATIONS: Readonly<Record<number, Migration>> = {
  // Version 2 only added things (frame actions, `closedBy: "wstape"`, error codes): every version
  // 1 entry is a valid version 2 entry that says wstape changed nothing.
  1: { header: (value) => ({ ...value, version: 2 }), entry: (value) => value, trailer: (value) => value },
};

/** Raw JSON objects at the top level of an archive that are not part of the header. */
const NON_HEADER_FIELDS = new Set(['entries', 'stoppedAt', 'summary']);

/**
 * Check a raw header's `format` and `version` (before anything else is validated, so a newer
 * archive whose entries we do not understand says "upgrade", not "damaged") and return the
 * migration steps that bring it to the current version.
 */
export function checkHeader(name: string, raw: Record<string, unknown>): Migration[] {
  if (raw.format !== ARCHIVE_FORMAT) {
    const found = typeof raw.format === 'string' ? `format ${JSON.stringify(raw.format)}` : 'it has no "format" field';
    throw cliError('ERR_ARCHIVE_FORMAT', `${name} is not a wstape archive (${found})`);
  }
  const version = raw.version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw cliError('ERR_ARCHIVE_DAMAGED', `${name} line 1: the header's "version" is not a positive integer`);
  }
  if (version > ARCHIVE_VERSION) throw newerVersion(name, version);
  const steps: Migration[] = [];
  for (let from = version; from < ARCHIVE_VERSION; from++) {
    const step = MIGRATIONS[from];
    if (step === undefined) {
      throw cliError('ERR_ARCHIVE_VERSION', `${name} is a wstape archive version ${version}, which this wstape (${PACKAGE_VERSION}) cannot read.`);
    }
    steps.push(step);
  }
  return steps;
}

function newerVersion(name: string, version: number): CliError {
  return cliError(
    'ERR_ARCHIVE_VERSION',
    `${name} is a wstape archive version ${version}; this wstape (${PACKAGE_VERSION}) reads version ${ARCHIVE_VERSION}. Upgrade wstape.`,
  );
}

/** Check, migrate and validate a raw header object (line 1, or the top level of a whole document). */
export function decodeHeader(name: string, raw: Record<string, unknown>): { header: ArchiveHeader; steps: Migration[] } {
  const steps = checkHeader(name, raw);
  let value = raw;
  for (const step of steps) value = step.header(value);
  const result = headerSchema.safeParse(value);
  if (!result.success) throw cliError('ERR_ARCHIVE_DAMAGED', `${name} line 1: invalid header: ${formatIssues(result.error)}`);
  return { header: result.data, steps };
}

/**
 * Look for `"format":"wstape"` and a `"version"` in a first line that is not a usable header line
 * (truncated, or from a future layout), so that a newer archive gets ERR_ARCHIVE_VERSION even if
 * nothing else about it can be read. Throws that error; returns otherwise.
 */
export function checkVersionFromText(name: string, text: string): void {
  if (!looksLikeWstape(text)) return;
  const match = /"version"\s*:\s*(\d+)/.exec(text);
  const version = match?.[1] === undefined ? NaN : Number(match[1]);
  if (version > ARCHIVE_VERSION) throw newerVersion(name, version);
}

/** True when text begins like a wstape archive, including when it is cut short inside that beginning. */
export function looksLikeWstape(text: string): boolean {
  const start = text.replace(/^\uFEFF/, '').trimStart();
  if (/^\{\s*"format"\s*:\s*"wstape"/.test(start)) return true;
  return start.length > 0 && HEADER_START.startsWith(start);
}

/** Say what a file that is not a wstape archive looks like, for ERR_ARCHIVE_FORMAT. */
export function describeNotArchive(name: string, head: Uint8Array, parsed?: { value: unknown }): CliError {
  let found: string;
  if (parsed === undefined) {
    found = head.includes(0) || isPng(head) ? 'binary data, not JSON' : 'not JSON';
  } else {
    const value = parsed.value;
    if (isPlainObject(value)) {
      if (typeof value.format === 'string') found = `format ${JSON.stringify(value.format)}`;
      else if (isPlainObject(value.log) && Array.isArray(value.log.entries)) found = 'it looks like a HAR file';
      else {
        const keys = Object.keys(value)
          .slice(0, 3)
          .map((key) => JSON.stringify(key));
        found = keys.length === 0 ? 'an empty JSON object' : `a JSON object with keys ${keys.join(', ')}`;
      }
    } else {
      found = Array.isArray(value) ? 'a JSON array' : `a JSON ${value === null ? 'null' : typeof value}`;
    }
  }
  return cliError('ERR_ARCHIVE_FORMAT', `${name} is not a wstape archive (${found})`);
}

function isPng(bytes: Uint8Array): boolean {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  return signature.every((byte, i) => bytes[i] === byte);
}

/** Split a whole archive document (read in one piece) into raw header, entries and trailer. */
export function splitDocument(
  name: string,
  document: Record<string, unknown>,
): { header: Record<string, unknown>; entries: unknown[]; trailer: Record<string, unknown> | null } {
  const header: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(document)) if (!NON_HEADER_FIELDS.has(key)) header[key] = value;
  checkHeader(name, header); // version before structure: a newer archive may be shaped differently
  const entries = document.entries;
  if (!Array.isArray(entries)) throw cliError('ERR_ARCHIVE_DAMAGED', `${name}: "entries" is missing or not an array`);
  const hasTrailer = document.stoppedAt !== undefined || document.summary !== undefined;
  const trailer = hasTrailer ? { stoppedAt: document.stoppedAt, summary: document.summary } : null;
  return { header, entries: entries as unknown[], trailer };
}

/**
 * Decodes the lines after the header, one at a time, keeping only what it needs to decide what a
 * bad line means. A line that is not JSON is held back: if anything follows it, the archive is
 * damaged; if it is the last line, it is what a crash mid-write leaves behind and is ignored. A
 * line that is valid JSON but not a valid entry is damage at once (truncation cannot produce one:
 * every line is a single JSON object, and no proper prefix of an object's text is valid JSON).
 */
/** The entry kinds this wstape knows, from the schema's union. */
const ENTRY_KINDS: ReadonlySet<string> = new Set(entrySchema.options.map((option) => option.shape.kind.value));

export class EntryDecoder {
  readonly #name: string;
  readonly #steps: Migration[];
  readonly #validate: boolean;
  readonly #onWarning: (message: string) => void;
  #unknownKinds = 0;
  #entries = 0;
  #trailer: ArchiveTrailer | null = null;
  #trailerWhere = '';
  #held: CliError | null = null;

  constructor(name: string, steps: Migration[], options: { validate: boolean; onWarning?: (message: string) => void }) {
    this.#name = name;
    this.#steps = steps;
    this.#validate = options.validate;
    this.#onWarning = options.onWarning ?? (() => {});
  }

  /** Entries skipped because their kind is unknown to this wstape (a newer writer's). */
  get unknownKinds(): number {
    return this.#unknownKinds;
  }

  /** Entries decoded so far. */
  get count(): number {
    return this.#entries;
  }

  get trailer(): ArchiveTrailer | null {
    return this.#trailer;
  }

  /** True when the last line seen could not be read (a partial write); only meaningful at the end. */
  get lastLineIncomplete(): boolean {
    return this.#held !== null;
  }

  /**
   * Count an entry line the caller chose not to read (a pre-filter that knows the line cannot
   * match), so the comma rule still holds for the lines after it.
   */
  skip(lineNumber: number): void {
    if (this.#held !== null) throw this.#held;
    if (this.#trailer !== null) throw this.#damaged(`line ${lineNumber}`, `content after the archive's closing line (${this.#trailerWhere})`);
    this.#entries++;
  }

  /** Decode line `lineNumber` (text without its "\n"); returns its entry, or null for other lines. */
  line(text: string, lineNumber: number): Entry | null {
    const where = `line ${lineNumber}`;
    const parsed = parseArchiveLine(text, lineNumber);
    if (parsed.type === 'blank') return null;
    if (this.#held !== null) throw this.#held;
    if (this.#trailer !== null) throw this.#damaged(where, `content after the archive's closing line (${this.#trailerWhere})`);
    switch (parsed.type) {
      case 'damaged':
      case 'header':
        this.#held = this.#damaged(where, parsed.type === 'header' ? 'a second header' : parsed.reason);
        return null;
      case 'trailer':
        this.setTrailer(parsed.value, where);
        return null;
      case 'entry':
        // The first entry has no comma and every later one has one; otherwise the whole file is
        // no longer valid JSON, and tools such as jq will refuse it.
        if (parsed.leadingComma !== this.#entries > 0) {
          throw this.#damaged(where, parsed.leadingComma ? 'the first entry must not start with ","' : 'an entry after the first must start with ","');
        }
        return this.value(parsed.value, where);
    }
  }

  /**
   * Migrate and validate one raw entry; `where` names it in errors ("line 7", "entry 3"). An
   * entry whose `kind` this wstape does not know is skipped (null), with one warning for the
   * first: a newer wstape may add kinds within the same archive version (docs/FORMAT.md,
   * Versioning). Anything else that does not validate is damage.
   */
  value(raw: unknown, where: string): Entry | null {
    let value = raw;
    for (const step of this.#steps) value = step.entry(value);
    this.#entries++;
    if (isPlainObject(value) && typeof value.kind === 'string' && !ENTRY_KINDS.has(value.kind)) {
      if (this.#unknownKinds++ === 0) {
        this.#onWarning(
          `${this.#name} ${where}: skipped an entry of kind ${JSON.stringify(value.kind.slice(0, 40))}, which this wstape (${PACKAGE_VERSION}) does not know; ` +
            'a newer wstape wrote it (upgrade to see it); later entries of unknown kinds are skipped without a warning',
        );
      }
      return null;
    }
    if (!this.#validate) return value as Entry;
    const result = entrySchema.safeParse(value);
    if (result.success) return result.data;
    const kind = isPlainObject(value) && typeof value.kind === 'string' ? `${JSON.stringify(value.kind)} entry` : 'entry';
    throw this.#damaged(where, `invalid ${kind}: ${formatIssues(result.error)}`);
  }

  /** Migrate and validate the trailer (the closing line, or the top-level fields of a whole document). */
  setTrailer(raw: Record<string, unknown>, where: string): void {
    let value = raw;
    for (const step of this.#steps) value = step.trailer(value);
    const result = trailerSchema.safeParse(value);
    if (!result.success) throw this.#damaged(where, `invalid closing fields: ${formatIssues(result.error)}`);
    this.#trailer = result.data;
    this.#trailerWhere = where;
  }

  #damaged(where: string, reason: string): CliError {
    return cliError('ERR_ARCHIVE_DAMAGED', `${this.#name} ${where} is damaged: ${reason}`);
  }
}

/** The first issue of a zod error on one line: `path.to[0].field: message (and N more)`. */
export function formatIssues(error: z.ZodError): string {
  const [first, ...rest] = error.issues;
  if (first === undefined) return 'invalid';
  let path = '';
  for (const key of first.path) path += typeof key === 'number' ? `[${key}]` : path === '' ? String(key) : `.${String(key)}`;
  const more = rest.length > 0 ? ` (and ${rest.length} more)` : '';
  return `${path === '' ? '' : `${path}: `}${first.message}${more}`;
}

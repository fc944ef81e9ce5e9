/**
 * A piece of text being redacted, pass after pass, and the bookkeeping that lets a redacted
 * message be split over the frames the original arrived in.
 *
 * Each pass plans edits (spans of the current text to replace) and applies them at once. The
 * document keeps, for every pass, where its edits were in bytes, so any byte offset of the
 * original (a frame boundary) can be mapped into the redacted bytes. Text the document already
 * replaced, and any marker already in the input, is protected: later passes do not touch it, so
 * redacting twice changes nothing the second time.
 *
 * Two encodings: `utf8` for text (offsets in the original are UTF-8 byte offsets), and `latin1`
 * for bytes that are not text (one character per byte), where every replacement keeps the
 * length of what it replaces so that binary structure (length prefixes, offsets) stays intact.
 * `fixedLength` asks for that in utf8 too (control frames, which must stay within 125 bytes).
 */
import { MARKER, type RedactionRule } from './rules.js';

/** How a replacement is shaped: the bare marker, or a JSON string holding it. */
export type EditShape = 'raw' | 'json-string';

/** What an edit redacted, for the summary; `secret` is remembered to catch the same value elsewhere. */
export interface Hit {
  rule: RedactionRule;
  /** Where inside the field, e.g. `$.password`, `query token`, `jwt`. */
  detail: string;
  secret?: string;
}

export interface PlannedEdit {
  start: number;
  end: number;
  /** The marker, shaped; or `literal` text (used for a JSON string re-encoded whole). */
  shape: EditShape | { literal: string };
  hits: Hit[];
}

interface ByteEdit {
  start: number;
  end: number;
  length: number;
}

export type Encoding = 'utf8' | 'latin1';

/** `length` bytes of marker: the marker padded with `*`, or `*`s when it does not fit. */
export function fitMarker(length: number): string {
  return length >= MARKER.length ? MARKER + '*'.repeat(length - MARKER.length) : '*'.repeat(Math.max(0, length));
}

export class TextDoc {
  #text: string;
  readonly encoding: Encoding;
  readonly fixedLength: boolean;
  /** Sorted, disjoint spans of the current text that passes must not touch. */
  #protected: Array<[number, number]> = [];
  readonly #passes: ByteEdit[][] = [];
  #changed = false;

  constructor(text: string, encoding: Encoding, options: { fixedLength?: boolean } = {}) {
    this.#text = text;
    this.encoding = encoding;
    this.fixedLength = encoding === 'latin1' || options.fixedLength === true;
    for (let at = text.indexOf(MARKER); at !== -1; at = text.indexOf(MARKER, at + MARKER.length)) {
      this.#protected.push([at, at + MARKER.length]);
    }
  }

  get text(): string {
    return this.#text;
  }

  get changed(): boolean {
    return this.#changed;
  }

  /** True when [start, end) overlaps no protected span. */
  free(start: number, end: number): boolean {
    for (const [a, b] of this.#protected) {
      if (a >= end) break;
      if (b > start) return false;
    }
    return true;
  }

  #byteLength(text: string): number {
    return this.encoding === 'utf8' ? Buffer.byteLength(text, 'utf8') : text.length;
  }

  #replacement(edit: PlannedEdit, original: string): string {
    const { shape } = edit;
    if (typeof shape === 'object') return shape.literal;
    if (!this.fixedLength) return shape === 'raw' ? MARKER : JSON.stringify(MARKER);
    const length = this.#byteLength(original);
    if (shape === 'raw') return fitMarker(length);
    return length >= 2 ? `"${fitMarker(length - 2)}"` : '0';
  }

  /**
   * Apply one pass's edits: overlapping ones (with each other, or with protected text), no-ops
   * and, in fixed-length mode, literal ones are dropped. Returns the hits of the edits applied.
   */
  apply(edits: readonly PlannedEdit[]): Hit[] {
    const sorted = [...edits].filter((edit) => edit.end > edit.start).sort((a, b) => a.start - b.start || b.end - a.end);
    const chosen: Array<{ edit: PlannedEdit; replacement: string }> = [];
    let lastEnd = 0;
    for (const edit of sorted) {
      if (edit.start < lastEnd || !this.free(edit.start, edit.end)) continue;
      if (this.fixedLength && typeof edit.shape === 'object') continue;
      const original = this.#text.slice(edit.start, edit.end);
      const replacement = this.#replacement(edit, original);
      if (replacement === original) continue;
      chosen.push({ edit, replacement });
      lastEnd = edit.end;
    }
    if (chosen.length === 0) return [];

    // Byte offsets of the edits' ends, in one sweep over the text.
    const byteEdits: ByteEdit[] = [];
    const parts: string[] = [];
    const spans: Array<[number, number]> = [];
    let charAt = 0;
    let byteAt = 0;
    let newAt = 0;
    for (const { edit, replacement } of chosen) {
      const before = this.#text.slice(charAt, edit.start);
      byteAt += this.#byteLength(before);
      const start = byteAt;
      byteAt += this.#byteLength(this.#text.slice(edit.start, edit.end));
      byteEdits.push({ start, end: byteAt, length: this.#byteLength(replacement) });
      parts.push(before, replacement);
      newAt += before.length;
      spans.push([newAt, newAt + replacement.length]);
      newAt += replacement.length;
      charAt = edit.end;
    }
    parts.push(this.#text.slice(charAt));

    // Move the protected spans into the new text, and add the replacements.
    const moved: Array<[number, number]> = [];
    let shift = 0;
    let next = 0;
    for (const [a, b] of this.#protected) {
      while (next < chosen.length && chosen[next]!.edit.end <= a) {
        const { edit, replacement } = chosen[next]!;
        shift += replacement.length - (edit.end - edit.start);
        next++;
      }
      moved.push([a + shift, b + shift]);
    }
    this.#protected = [...moved, ...spans].sort((x, y) => x[0] - y[0]);
    this.#text = parts.join('');
    this.#passes.push(byteEdits);
    this.#changed = true;
    return chosen.flatMap(({ edit }) => edit.hits);
  }

  /**
   * Where a byte offset of the original text lands in the redacted bytes. An offset inside a
   * replaced span moves to the end of its replacement, so the whole replacement stays with the
   * piece the span began in, and no piece keeps part of a secret.
   */
  mapOffset(offset: number): number {
    let x = offset;
    for (const pass of this.#passes) {
      let delta = 0;
      let mapped: number | null = null;
      for (const edit of pass) {
        if (x <= edit.start) break;
        if (x < edit.end) {
          mapped = edit.start + delta + edit.length;
          break;
        }
        delta += edit.length - (edit.end - edit.start);
      }
      x = mapped ?? x + delta;
    }
    return x;
  }

  /** The redacted text as bytes. */
  bytes(): Buffer {
    return Buffer.from(this.#text, this.encoding);
  }
}

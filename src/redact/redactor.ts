/**
 * The redaction engine: entries in, redacted entries out, in the same order, with no I/O. One
 * engine for `wstape redact` (an archive read and written again), `record --redact` (the
 * recorder's entries before they reach the file) and `export --redact`.
 *
 * Entries come out as soon as they can. The exception is a fragmented message (RFC 6455 §5.4):
 * a secret may be split across its frames, so its frames are held until the final one arrives,
 * the message is redacted whole, and the redacted bytes are cut again at the same places. Since
 * order is kept, everything after a held frame (other connections' frames included) waits with
 * it. Held payload is bounded (`maxHeldBytes`, `maxHeldEntries`): past the bound the oldest
 * unfinished message is redacted as far as it got and released, and its later fragments are
 * redacted one by one. A connection's `end` entry, a new message in the same direction, or
 * flush() also release it.
 *
 * Every redacted value is remembered (when it is long enough to be distinctive) and redacted
 * again wherever it appears later, e.g. a token from an Authorization header repeated in a frame.
 */
import { isUtf8 } from 'node:buffer';
import type {
  ArchiveHeader,
  Body,
  ConnectionEntry,
  EndEntry,
  Entry,
  ErrorEntry,
  FrameEntry,
  HeaderList,
  HttpEntry,
  HttpRequestRecord,
  HttpResponseRecord,
} from '../format/schema.js';
import { MessageTracker } from '../wire/message-assembler.js';
import type { MessageType } from '../wire/opcodes.js';
import { DIRECTIONS, streamKey } from '../wire/side.js';
import { groupRules, headerRuleFor, KnownSecrets, type PassContext } from './context.js';
import { headerValueEdits, runPasses, SUBPROTOCOL_PASSES, TEXT_PASSES, VALUE_PASSES, type HitListener, type PassName } from './passes.js';
import { redactBody, redactPieces } from './payload.js';
import type { RedactionRule } from './rules.js';
import { SummaryCollector, type RedactionSummary } from './summary.js';
import { TextDoc, type Hit } from './text-doc.js';

export type { RedactionSummary, RuleSummary } from './summary.js';

export interface RedactorOptions {
  /** Payload bytes of unfinished fragmented messages held at most (default 16 MiB). */
  maxHeldBytes?: number;
  /** Entries held at most behind an unfinished message (default 100 000). */
  maxHeldEntries?: number;
  /** Places listed per rule in the summary (default 20). */
  maxPlaces?: number;
}

interface Slot {
  entry: Entry | null;
}

interface OpenMessage {
  type: MessageType;
  frames: Array<{ frame: FrameEntry; slot: Slot; bytes: Buffer }>;
  bytes: number;
  /** Released early (bound, flush): later fragments are redacted one by one. */
  released: boolean;
}

/** A frame's kept payload bytes. */
function frameBytes(frame: FrameEntry): Buffer {
  if (frame.text !== undefined) return Buffer.from(frame.text, 'utf8');
  if (frame.data !== undefined) return Buffer.from(frame.data, 'base64');
  return Buffer.alloc(0);
}

/** The frame with new payload bytes: `text` stays text when it still is valid UTF-8, `size` moves by the change. */
function withPayload(frame: FrameEntry, before: Buffer, after: Buffer): FrameEntry {
  const next: FrameEntry = { ...frame, size: Math.max(0, frame.size + after.length - before.length) };
  delete next.text;
  delete next.data;
  if (frame.text !== undefined && isUtf8(after)) next.text = after.toString('utf8');
  else next.data = after.toString('base64');
  return next;
}

export class Redactor {
  readonly #ctx: PassContext;
  readonly #summary: SummaryCollector;
  readonly #maxHeldBytes: number;
  readonly #maxHeldEntries: number;
  readonly #queue: Slot[] = [];
  /** Which frames make which message (RFC 6455 §5.4). */
  readonly #messages = new MessageTracker();
  /** The held frames of each stream's unfinished message. */
  readonly #open = new Map<string, OpenMessage>();
  #heldBytes = 0;

  constructor(rules: RedactionRule[], options: RedactorOptions = {}) {
    this.#ctx = { rules: groupRules(rules), known: new KnownSecrets() };
    this.#summary = new SummaryCollector(rules, options.maxPlaces ?? 20);
    this.#maxHeldBytes = options.maxHeldBytes ?? 16 * 1024 * 1024;
    this.#maxHeldEntries = options.maxHeldEntries ?? 100_000;
  }

  /**
   * Feed entries in archive order; returns the entries to write now, redacted, in the same
   * order. It may hold entries back while a fragmented message is incomplete (so the whole
   * message can be redacted), then releases them in order.
   */
  push(entry: Entry): Entry[] {
    if (entry.kind === 'frame') {
      this.#frame(entry);
    } else {
      if (entry.kind === 'end') {
        for (const dir of DIRECTIONS) {
          this.#messages.end(streamKey(entry.conn, dir));
          this.#close(streamKey(entry.conn, dir));
        }
      }
      this.#ready(this.#redactEntry(entry));
    }
    this.#bound();
    return this.#drain();
  }

  /** End of input: release everything held (unfinished messages redacted as far as they got). */
  flush(): Entry[] {
    for (const open of this.#open.values()) this.#release(open);
    return this.#drain();
  }

  /** Entries held back right now. */
  get pending(): number {
    return this.#queue.length;
  }

  /** What each rule redacted and where. */
  summary(): RedactionSummary {
    return this.#summary.summary();
  }

  get redactedAnything(): boolean {
    return this.#summary.total > 0;
  }

  /** The archive header with secrets in the recorder's `--target` URL redacted. */
  redactHeader(header: ArchiveHeader): ArchiveHeader {
    if (header.recorder?.target === undefined) return header;
    const target = this.#text(header.recorder.target, VALUE_PASSES, 'header recorder target');
    return target === header.recorder.target ? header : { ...header, recorder: { ...header.recorder, target } };
  }

  // -------------------------------------------------------------------------------------------
  // ordering

  #ready(entry: Entry): void {
    this.#queue.push({ entry });
  }

  #drain(): Entry[] {
    const out: Entry[] = [];
    let taken = 0;
    while (taken < this.#queue.length) {
      const entry = this.#queue[taken]!.entry;
      if (entry === null) break;
      out.push(entry);
      taken++;
    }
    if (taken > 0) this.#queue.splice(0, taken);
    return out;
  }

  #frame(frame: FrameEntry): void {
    const k = streamKey(frame.conn, frame.dir);
    const place = this.#messages.place(frame, k);
    // A new message in the same direction ends an unfinished one (interrupted-message).
    if (place.interrupted !== null) this.#close(k);
    switch (place.position) {
      case 'whole':
        this.#ready(this.#message([frame], place.messageType)[0]!);
        return;
      case 'first': {
        const slot: Slot = { entry: null };
        this.#queue.push(slot);
        const bytes = frameBytes(frame);
        this.#open.set(k, { type: place.messageType, frames: [{ frame, slot, bytes }], bytes: bytes.length, released: false });
        this.#heldBytes += bytes.length;
        return;
      }
      case 'middle':
      case 'final': {
        const open = this.#open.get(k);
        if (open === undefined || open.released) {
          // Released early (a bound, flush): the rest of the message goes one frame at a time.
          this.#ready(this.#message([frame], place.messageType)[0]!);
          if (place.position === 'final') this.#open.delete(k);
          return;
        }
        const slot: Slot = { entry: null };
        this.#queue.push(slot);
        const bytes = frameBytes(frame);
        open.frames.push({ frame, slot, bytes });
        open.bytes += bytes.length;
        this.#heldBytes += bytes.length;
        if (place.position === 'final') this.#close(k);
        return;
      }
      case 'orphan':
        // RFC 6455 §5.4: a continuation outside a message is a protocol error; the recorder flagged it.
        this.#ready(this.#message([frame], frame.text !== undefined ? 'text' : 'binary')[0]!);
        return;
      case 'control':
        this.#ready(this.#control(frame));
    }
  }

  /** Redact an open message as far as it got, fill its slots, forget it. */
  #close(k: string): void {
    const open = this.#open.get(k);
    if (open === undefined) return;
    this.#release(open);
    this.#open.delete(k);
  }

  /** Redact an open message's held frames and fill their slots; later fragments go one by one. */
  #release(open: OpenMessage): void {
    if (open.released) return;
    open.released = true;
    this.#heldBytes -= open.bytes;
    if (open.frames.length === 0) return;
    const redacted = this.#message(
      open.frames.map(({ frame }) => frame),
      open.type,
      open.frames.map(({ bytes }) => bytes),
    );
    for (const [index, { slot }] of open.frames.entries()) slot.entry = redacted[index]!;
    open.frames = [];
    open.bytes = 0;
  }

  /** Past a bound: release the unfinished message that holds the queue up, until within bounds. */
  #bound(): void {
    while ((this.#heldBytes > this.#maxHeldBytes || this.#queue.length > this.#maxHeldEntries) && this.#queue[0]?.entry === null) {
      const head = this.#queue[0];
      const blocking = [...this.#open.values()].find((open) => open.frames.some(({ slot }) => slot === head));
      if (blocking === undefined) break;
      this.#release(blocking);
    }
  }

  // -------------------------------------------------------------------------------------------
  // frames

  /** Redact a data message given as its frames (one, or a fragmented message's). */
  #message(frames: FrameEntry[], type: MessageType, held?: Buffer[]): FrameEntry[] {
    const first = frames[0]!;
    const last = frames[frames.length - 1]!;
    const place = `${first.conn} #${first.index}${frames.length > 1 ? `-#${last.index}` : ''} ${type}`;
    const pieces = held ?? frames.map(frameBytes);
    const redacted = redactPieces(pieces, type, this.#ctx, this.#listener(place));
    if (redacted === null) return frames;
    return frames.map((frame, index) => {
      const before = pieces[index]!;
      const after = redacted[index]!;
      if (before.equals(after)) return frame;
      this.#summary.entryChanged();
      return withPayload(frame, before, after);
    });
  }

  /** Close reasons, ping and pong payloads: redacted keeping their length (RFC 6455 §5.5: 125 bytes at most). */
  #control(frame: FrameEntry): FrameEntry {
    const place = `${frame.conn} #${frame.index} ${frame.type}`;
    let next = frame;
    if (frame.type === 'close' && frame.reason !== undefined && frame.reason !== '') {
      const reason = this.#fixedText(frame.reason, `${place} reason`);
      if (reason !== frame.reason) next = { ...next, reason };
    }
    if (frame.data !== undefined && frame.data !== '') {
      const bytes = Buffer.from(frame.data, 'base64');
      const redacted = redactPieces([bytes], 'control', this.#ctx, this.#listener(place));
      if (redacted !== null) next = withPayload(next, bytes, redacted[0]!);
    }
    if (next !== frame) this.#summary.entryChanged();
    return next;
  }

  /** Text whose length must not change (a close reason, also in the end entry). */
  #fixedText(text: string, place: string): string {
    const doc = new TextDoc(text, 'utf8', { fixedLength: true });
    runPasses(doc, TEXT_PASSES, this.#ctx, this.#listener(place));
    return doc.text;
  }

  // -------------------------------------------------------------------------------------------
  // other entries

  #redactEntry(entry: Exclude<Entry, FrameEntry>): Entry {
    let next: Entry;
    switch (entry.kind) {
      case 'connection':
        next = this.#connection(entry);
        break;
      case 'http':
        next = this.#http(entry);
        break;
      case 'tunnel': {
        const url = this.#text(entry.url, VALUE_PASSES, `${entry.id} url`);
        next = url === entry.url ? entry : { ...entry, url };
        break;
      }
      case 'end':
        next = this.#end(entry);
        break;
      case 'error':
        next = this.#error(entry);
        break;
    }
    if (next !== entry) this.#summary.entryChanged();
    return next;
  }

  #connection(entry: ConnectionEntry): ConnectionEntry {
    const url = this.#text(entry.url, VALUE_PASSES, `${entry.id} url`);
    const request = this.#request(entry.request, `${entry.id} request`);
    const response = this.#response(entry.response, `${entry.id} response`);
    const subprotocol = entry.subprotocol === null ? null : this.#text(entry.subprotocol, SUBPROTOCOL_PASSES, `${entry.id} subprotocol`);
    if (url === entry.url && request === entry.request && response === entry.response && subprotocol === entry.subprotocol) return entry;
    return { ...entry, url, request, response, subprotocol };
  }

  #http(entry: HttpEntry): HttpEntry {
    const url = this.#text(entry.url, VALUE_PASSES, `${entry.id} url`);
    const request = this.#request(entry.request, `${entry.id} request`);
    const response = entry.response === null ? null : this.#response(entry.response, `${entry.id} response`);
    const error = entry.error === undefined ? undefined : this.#text(entry.error, VALUE_PASSES, `${entry.id} error`);
    if (url === entry.url && request === entry.request && response === entry.response && error === entry.error) return entry;
    return { ...entry, url, request, response, ...(error !== undefined ? { error } : {}) };
  }

  #request(request: HttpRequestRecord, place: string): HttpRequestRecord {
    const target = this.#text(request.target, VALUE_PASSES, `${place} target`);
    const headers = this.#headers(request.headers, place);
    const body = request.body === undefined ? undefined : this.#body(request.body, request.headers, `${place} body`);
    if (target === request.target && headers === request.headers && body === request.body) return request;
    return { ...request, target, headers, ...(body !== undefined ? { body } : {}) };
  }

  #response(response: HttpResponseRecord, place: string): HttpResponseRecord {
    const headers = this.#headers(response.headers, place);
    const body = response.body === undefined ? undefined : this.#body(response.body, response.headers, `${place} body`);
    if (headers === response.headers && body === response.body) return response;
    return { ...response, headers, ...(body !== undefined ? { body } : {}) };
  }

  #body(body: Body, headers: HeaderList, place: string): Body {
    const listeners = new Map<string, HitListener>();
    const redacted = redactBody(body, headers, this.#ctx, (hit, note) => {
      let listener = listeners.get(note);
      if (listener === undefined) {
        listener = this.#listener(note === '' ? place : `${place} ${note}`);
        listeners.set(note, listener);
      }
      listener(hit);
    });
    return redacted ?? body;
  }

  /** Header values: by the header rules (whole value, cookie values, credentials after the scheme), else searched like any value. */
  #headers(headers: HeaderList, place: string): HeaderList {
    let changed = false;
    const next = headers.map(([name, value]): [string, string] => {
      const where = `${place} header ${name}`;
      const rule = headerRuleFor(this.#ctx, name);
      const doc = new TextDoc(value, 'utf8');
      const listener = this.#listener(where);
      if (rule !== undefined) {
        for (const hit of doc.apply(headerValueEdits(name, value, 0, value.length, rule, ''))) listener(hit);
      } else {
        const passes = name.toLowerCase() === 'sec-websocket-protocol' ? SUBPROTOCOL_PASSES : VALUE_PASSES;
        runPasses(doc, passes, this.#ctx, listener);
      }
      if (!doc.changed) return [name, value];
      changed = true;
      return [name, doc.text];
    });
    return changed ? next : headers;
  }

  #end(entry: EndEntry): EndEntry {
    if (entry.closeReason === '') return entry;
    const closeReason = this.#fixedText(entry.closeReason, `${entry.conn} end reason`);
    return closeReason === entry.closeReason ? entry : { ...entry, closeReason };
  }

  #error(entry: ErrorEntry): ErrorEntry {
    const message = this.#text(entry.message, VALUE_PASSES, `${entry.conn ?? '-'} error ${entry.code}`);
    return message === entry.message ? entry : { ...entry, message };
  }

  // -------------------------------------------------------------------------------------------
  // plumbing

  /** A string field through some passes. */
  #text(text: string, passes: readonly PassName[], place: string): string {
    if (text === '') return text;
    const doc = new TextDoc(text, 'utf8');
    runPasses(doc, passes, this.#ctx, this.#listener(place));
    return doc.text;
  }

  /** Records each hit at `place` (plus its detail) and remembers its secret. */
  #listener(place: string): HitListener {
    return (hit: Hit) => {
      const where = hit.detail === '' ? place : `${place} ${hit.detail}`;
      this.#summary.hit(hit.rule, where);
      if (hit.secret !== undefined) this.#ctx.known.add(hit.secret, hit.rule, where);
    };
  }
}

/** Redact a stream of entries (for export and the like): yields them in order, flushing at the end. */
export async function* redactEntries(entries: AsyncIterable<Entry> | Iterable<Entry>, redactor: Redactor): AsyncGenerator<Entry> {
  for await (const entry of entries) yield* redactor.push(entry);
  yield* redactor.flush();
}

/**
 * A HAR file read as a stream of parts, so that `wstape import` never holds the document: the
 * text goes through stream-json's tokenizer (a SAX-like parser: `startObject`, `keyValue`,
 * `stringValue`... tokens) and this walker builds only small values from the tokens:
 *
 * - each field of `log` that the importer reads (version, creator, `_wstape...`), as a whole;
 * - each entry of `log.entries` without its message lists (`_webSocketMessages`,
 *   `_wstapeControlFrames`, `_wstapeDropped`: these hold what makes a HAR large), given to the
 *   visitor when the entry's object closes, with `[]` in place of each list;
 * - each item of those lists, one at a time, as it closes.
 *
 * Fields the importer does not read (Chrome's `_initiator` stacks, `pages`, `cache`, `timings`)
 * are skipped without being built. Memory is the largest single value built: a message, or an
 * entry without its messages (an HTTP body inside it is held whole).
 *
 * The walker checks nothing but the JSON itself (stream-json throws on bad JSON); the visitor
 * validates what it receives (har-scan.ts, with the zod schemas of har-schema.ts).
 */
import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { jsonParser } from 'stream-json/core/parser.js';

/** The message lists of an entry, streamed one item at a time, in the order the importer reads them. */
export const MESSAGE_LISTS = ['_webSocketMessages', '_wstapeControlFrames', '_wstapeDropped'] as const;
export type MessageList = (typeof MESSAGE_LISTS)[number];

/** The fields of `log` the importer reads (har-schema.ts harInputSchema); others are skipped. */
const LOG_FIELDS = new Set(['version', 'creator', 'entries', '_wstapeHeader', '_wstapeTrailer', '_wstapeTunnels', '_wstapeErrors']);
/** The fields of an entry the importer reads (har-schema.ts inputEntry); others are skipped. */
const ENTRY_FIELDS = new Set(['startedDateTime', 'time', 'request', 'response', '_resourceType', '_webSocketClose', '_wstape', ...MESSAGE_LISTS]);

/** What a JSON value is, known from its first token (for messages about a value not built). */
export type JsonKind = 'object' | 'array' | 'string' | 'number' | 'boolean' | 'null';

/** What the walker found, in document order. */
export interface HarVisitor {
  /** The document is not an object (nothing else is reported). */
  rootNotObject(kind: JsonKind): void;
  /** The top-level `format` field (a wstape archive has `"format":"wstape"`). */
  format(value: unknown): void;
  /** `log` is present but not an object. */
  logNotObject(kind: JsonKind): void;
  /** A field of `log` the importer reads, built whole (`entries` only when it is not an array). */
  logField(key: string, value: unknown): void;
  /** `log.entries` is an array: its items follow. */
  entriesStart(): void;
  /** An item of a message list of entry `entry`, at position `at` of the list. */
  message(entry: number, list: MessageList, at: number, value: unknown): void;
  /**
   * Entry `entry` closed: `value` is the entry without its message lists (each one that was an
   * array is `[]`), or, when the entry is not an object, the value itself.
   */
  entry(entry: number, value: unknown): void;
  /** Skip the content of the entries that follow (after the visitor found a problem). */
  skipEntries?(): boolean;
}

interface Token {
  name: string;
  value?: unknown;
}

/** Builds one JSON value from its tokens. */
class ValueBuilder {
  readonly #stack: Array<{ container: unknown[] | Record<string, unknown>; key: string | null }> = [];
  value: unknown = undefined;

  /** Feed a token; true when the value is complete (then `value` holds it). */
  push(token: Token): boolean {
    switch (token.name) {
      case 'startObject':
        this.#stack.push({ container: {}, key: null });
        return false;
      case 'startArray':
        this.#stack.push({ container: [], key: null });
        return false;
      case 'keyValue': {
        const top = this.#stack[this.#stack.length - 1];
        if (top !== undefined) top.key = token.value as string;
        return false;
      }
      case 'endObject':
      case 'endArray': {
        const done = this.#stack.pop();
        return this.#add(done?.container);
      }
      default:
        return this.#add(scalarOf(token));
    }
  }

  #add(value: unknown): boolean {
    const top = this.#stack[this.#stack.length - 1];
    if (top === undefined) {
      this.value = value;
      return true;
    }
    if (Array.isArray(top.container)) top.container.push(value);
    else setField(top.container, top.key ?? '', value);
    return false;
  }
}

/** As JSON.parse does: a repeated key keeps the last value; `__proto__` is an own property. */
function setField(object: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  else object[key] = value;
}

/** The value of a scalar token, as JSON.parse would give it. */
function scalarOf(token: Token): unknown {
  switch (token.name) {
    case 'numberValue':
      return Number(token.value);
    case 'nullValue':
      return null;
    default:
      return token.value;
  }
}

function kindOf(token: Token): JsonKind {
  switch (token.name) {
    case 'startObject':
      return 'object';
    case 'startArray':
      return 'array';
    case 'stringValue':
      return 'string';
    case 'numberValue':
      return 'number';
    case 'nullValue':
      return 'null';
    default:
      return 'boolean';
  }
}

const isStart = (token: Token): boolean => token.name === 'startObject' || token.name === 'startArray';
const isEnd = (token: Token): boolean => token.name === 'endObject' || token.name === 'endArray';

/** Where the walker is: one level per container it walks into without building it. */
type Level =
  | { at: 'root' }
  | { at: 'document'; key: string }
  | { at: 'log'; key: string }
  | { at: 'entries'; next: number }
  | { at: 'entry'; index: number; key: string; head: Record<string, unknown> }
  | { at: 'list'; entry: number; list: MessageList; next: number };

/** Feeds tokens to a visitor (see the file comment). */
class HarWalker {
  readonly #visitor: HarVisitor;
  readonly #levels: Level[] = [{ at: 'root' }];
  /** A value being built, and what to do with it. */
  #building: { builder: ValueBuilder; done: (value: unknown) => void } | null = null;
  /** Depth of a value being skipped (0: none). */
  #skipping = 0;
  #complete = false;

  constructor(visitor: HarVisitor) {
    this.#visitor = visitor;
  }

  /** True once the document's value has closed. */
  get complete(): boolean {
    return this.#complete;
  }

  push(token: Token): void {
    if (this.#building !== null) {
      if (this.#building.builder.push(token)) {
        const { builder, done } = this.#building;
        this.#building = null;
        done(builder.value);
      }
      return;
    }
    if (this.#skipping > 0) {
      if (isStart(token)) this.#skipping++;
      else if (isEnd(token)) this.#skipping--;
      return;
    }
    const level = this.#levels[this.#levels.length - 1];
    if (level === undefined) throw new Error('Parser cannot parse input: unexpected characters after the document');
    if (token.name === 'keyValue') {
      if (level.at === 'document' || level.at === 'log' || level.at === 'entry') level.key = token.value as string;
      return;
    }
    if (isEnd(token)) {
      this.#close(level);
      return;
    }
    this.#value(level, token);
  }

  /** The first token of a value inside `level`. */
  #value(level: Level, token: Token): void {
    const visitor = this.#visitor;
    switch (level.at) {
      case 'root':
        this.#levels.pop();
        if (token.name === 'startObject') this.#levels.push({ at: 'document', key: '' });
        else {
          visitor.rootNotObject(kindOf(token));
          this.#skip(token, () => (this.#complete = true));
        }
        return;
      case 'document':
        if (level.key === 'log') {
          if (token.name === 'startObject') this.#levels.push({ at: 'log', key: '' });
          else {
            visitor.logNotObject(kindOf(token));
            this.#skip(token);
          }
        } else if (level.key === 'format') this.#build(token, (value) => visitor.format(value));
        else this.#skip(token);
        return;
      case 'log':
        if (level.key === 'entries' && token.name === 'startArray') {
          visitor.entriesStart();
          this.#levels.push({ at: 'entries', next: 0 });
        } else if (LOG_FIELDS.has(level.key)) {
          const key = level.key;
          this.#build(token, (value) => visitor.logField(key, value));
        } else this.#skip(token);
        return;
      case 'entries': {
        const index = level.next++;
        if (visitor.skipEntries?.() === true) this.#skip(token);
        else if (token.name === 'startObject') this.#levels.push({ at: 'entry', index, key: '', head: {} });
        else this.#build(token, (value) => visitor.entry(index, value));
        return;
      }
      case 'entry': {
        const { key, head, index } = level;
        if (token.name === 'startArray' && (MESSAGE_LISTS as readonly string[]).includes(key)) {
          head[key] = [];
          this.#levels.push({ at: 'list', entry: index, list: key as MessageList, next: 0 });
        } else if (ENTRY_FIELDS.has(key)) this.#build(token, (value) => setField(head, key, value));
        else this.#skip(token);
        return;
      }
      case 'list': {
        const at = level.next++;
        this.#build(token, (value) => visitor.message(level.entry, level.list, at, value));
        return;
      }
    }
  }

  #close(level: Level): void {
    this.#levels.pop();
    if (level.at === 'entry') this.#visitor.entry(level.index, level.head);
    if (level.at === 'document') this.#complete = true;
  }

  #build(token: Token, done: (value: unknown) => void): void {
    const builder = new ValueBuilder();
    if (builder.push(token)) done(builder.value);
    else this.#building = { builder, done };
  }

  #skip(token: Token, done?: () => void): void {
    if (isStart(token)) this.#skipping = 1;
    if (done !== undefined) done();
  }
}

/** The `none` of stream-chain (stream-json's flush signal): a registered symbol. */
const NONE = Symbol.for('object-stream.none');

/** Bytes read per chunk: small chunks keep the tokenizer's garbage young (see BENCHMARKS.md). */
const CHUNK_BYTES = 64 * 1024;

/**
 * Walk a HAR file with `visitor`. `onBytes` is told the bytes read so far. Throws a SyntaxError
 * (message from stream-json) when the file is not JSON, and a RangeError for a value too long or
 * too deep for the tokenizer; file errors as they come (ENOENT...).
 */
export async function walkHarFile(path: string, visitor: HarVisitor, onBytes: (read: number) => void = () => {}): Promise<void> {
  const parse = jsonParser({ packValues: true, streamValues: false });
  const walker = new HarWalker(visitor);
  const decoder = new StringDecoder('utf8');
  const feed = (result: unknown): void => {
    if (typeof result !== 'object' || result === null) return;
    for (const token of (result as { values: Token[] }).values) walker.push(token);
  };
  let read = 0;
  let first = true;
  // Only the tokenizer's errors are the file's JSON; the visitor's (CliError) pass as they are.
  const tokenize = (text: string | symbol): unknown => {
    try {
      return parse(text as string);
    } catch (error) {
      if (error instanceof RangeError) throw error;
      throw new SyntaxError(error instanceof Error ? error.message : String(error), { cause: error });
    }
  };
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK_BYTES }) as AsyncIterable<Buffer>) {
    read += chunk.length;
    let text = decoder.write(chunk);
    // A byte-order mark is not JSON, but some tools write one (JSON.parse callers strip it too).
    if (first && text !== '') {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      first = false;
    }
    feed(tokenize(text));
    onBytes(read);
  }
  feed(tokenize(decoder.end()));
  feed(tokenize(NONE));
  if (!walker.complete) throw new SyntaxError('the file ends before the JSON document does');
}

/**
 * One WebSocket connection's HAR messages, kept as the text `wstape export` writes for them and
 * moved to a temporary file as they grow, so an export holds a few KiB per open connection
 * instead of every message of every connection still open. A HAR WebSocket entry lists all its
 * messages inside it (`_webSocketMessages`), so none of it can be written before the connection
 * ends; an archive of a few long, interleaved connections would otherwise be held whole.
 *
 * The file lives in a directory the caller makes (mkdtemp: 0700, files 0600, since exports hold
 * credentials) and removes; chunks() reads it back once, in order, and deletes it.
 */
import { appendFileSync, closeSync, openSync, readSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { HarWebSocketMessage } from './har-types.js';

/** Text held in memory before it is appended to the file. */
const BUFFER_CHARS = 64 * 1024;
const READ_BYTES = 1024 * 1024;

/** JSON pretty-printed at an indentation of `spaces` (the layout HarTextWriter writes). */
export function indentJson(json: string, spaces: number): string {
  const pad = ' '.repeat(spaces);
  return json.replace(/\n/g, `\n${pad}`);
}

/** A message as an item of a `_webSocketMessages` array, as HarTextWriter writes it. */
export function messageItemText(item: HarWebSocketMessage, first: boolean): string {
  return `${first ? '' : ','}\n          ${indentJson(JSON.stringify(item, null, 2), 10)}`;
}

export class MessageSpill {
  readonly #path: string;
  #buffer = '';
  #inFile = false;
  #length = 0;

  /** `dir`: the export's temporary directory; `name`: unique in it (the connection id, say). */
  constructor(dir: string, name: string) {
    this.#path = join(dir, `${encodeURIComponent(name)}.messages`);
  }

  /** Messages pushed. */
  get length(): number {
    return this.#length;
  }

  push(item: HarWebSocketMessage): void {
    this.#buffer += messageItemText(item, this.#length === 0);
    this.#length++;
    if (this.#buffer.length >= BUFFER_CHARS) this.#flush();
  }

  #flush(): void {
    appendFileSync(this.#path, this.#buffer, { mode: 0o600 });
    this.#inFile = true;
    this.#buffer = '';
  }

  /** The items' text, in order, in pieces of about a MiB; the file is removed afterwards. */
  *chunks(): Generator<string> {
    if (this.#inFile) {
      const fd = openSync(this.#path, 'r');
      try {
        const decoder = new StringDecoder('utf8');
        const bytes = Buffer.alloc(READ_BYTES);
        for (let read = readSync(fd, bytes); read > 0; read = readSync(fd, bytes)) yield decoder.write(bytes.subarray(0, read));
        const rest = decoder.end();
        if (rest !== '') yield rest;
      } finally {
        closeSync(fd);
        rmSync(this.#path, { force: true });
      }
    }
    if (this.#buffer !== '') yield this.#buffer;
  }
}

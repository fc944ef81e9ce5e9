/**
 * The archive entries an import makes, put in time order without holding them all: an external
 * merge sort. Entries are kept as their JSON text up to a budget, then sorted and written to a
 * temporary file (a sorted run); at the end the runs are merged, a line from each at a time.
 * An import that fits the budget never touches the disk.
 *
 * The runs live in a directory made with mkdtemp (0700; files 0600, since a HAR holds cookies and
 * tokens) under the system's temporary directory, removed by dispose().
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { entryLine } from '../format/archive-lines.js';
import type { Entry } from '../format/schema.js';
import type { SortKey } from './websocket-from-har.js';

/** JSON text held in memory (UTF-16 code units) before a run is written. */
const SORT_BUDGET_CHARS = 2 * 1024 * 1024;
const READ_BYTES = 16 * 1024;

interface Item {
  key: SortKey;
  /** A frame whose `index` is its position in its connection: its connection's id ('' otherwise). */
  conn: string;
  /** The entry as the archive writer writes it (entryLine, without comma and newline). */
  json: string;
}

/** An entry in its final order, as its archive JSON; `conn` as in Item. */
export interface SortedEntry {
  json: string;
  conn: string;
}

function compareKeys(a: SortKey, b: SortKey): number {
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return 0;
}

const compareItems = (a: Item, b: Item): number => compareKeys(a.key, b.key);

/**
 * A run file read back a line at a time, through one buffer of READ_BYTES that is reused (the
 * merge holds one reader per run, hundreds for a large import, so each keeps little and
 * allocates nothing per read); a line longer than the buffer gets a larger one until it is read.
 * Lines are decoded one by one from the bytes, so no line keeps a larger text alive.
 */
class RunReader {
  readonly #fd: number;
  #buffer = Buffer.allocUnsafe(READ_BYTES);
  /** The unread bytes are buffer[start, end). */
  #start = 0;
  #end = 0;
  #eof = false;
  head: Item | null = null;

  constructor(path: string) {
    this.#fd = openSync(path, 'r');
    this.advance();
  }

  /** Read the next item into `head` (null at the end). */
  advance(): void {
    for (;;) {
      const newline = this.#buffer.indexOf(0x0a, this.#start);
      if (newline !== -1 && newline < this.#end) {
        this.head = parseRunLine(this.#buffer.toString('utf8', this.#start, newline));
        this.#start = newline + 1;
        this.#shrink();
        return;
      }
      if (this.#eof) {
        this.head = null;
        return;
      }
      this.#fill();
    }
  }

  /** Move the unread bytes to the front (growing the buffer when they fill it), then read more. */
  #fill(): void {
    const unread = this.#end - this.#start;
    if (unread === this.#buffer.length) {
      const larger = Buffer.allocUnsafe(this.#buffer.length * 2);
      this.#buffer.copy(larger, 0, this.#start, this.#end);
      this.#buffer = larger;
    } else this.#buffer.copyWithin(0, this.#start, this.#end);
    this.#start = 0;
    this.#end = unread;
    const read = readSync(this.#fd, this.#buffer, this.#end, this.#buffer.length - this.#end, null);
    if (read === 0) this.#eof = true;
    this.#end += read;
  }

  /** After a long line: back to a buffer of READ_BYTES when what is unread fits one. */
  #shrink(): void {
    if (this.#buffer.length === READ_BYTES || this.#end - this.#start > READ_BYTES) return;
    const small = Buffer.allocUnsafe(READ_BYTES);
    this.#buffer.copy(small, 0, this.#start, this.#end);
    this.#end -= this.#start;
    this.#start = 0;
    this.#buffer = small;
  }

  close(): void {
    closeSync(this.#fd);
  }
}

/**
 * `k1 k2 ... k7 conn<TAB>json`: the key's numbers as JavaScript writes them (they read back
 * exactly), the connection URI-encoded (no space, tab or newline), the JSON (none either:
 * JSON.stringify escapes them).
 */
function runLine(item: Item): string {
  return `${item.key.join(' ')} ${encodeURIComponent(item.conn)}\t${item.json}\n`;
}

function parseRunLine(line: string): Item {
  const tab = line.indexOf('\t');
  const fields = line.slice(0, tab).split(' ');
  const conn = decodeURIComponent(fields.pop() ?? '');
  return { key: fields.map(Number) as SortKey, conn, json: line.slice(tab + 1) };
}

export class EntrySorter {
  readonly #budget: number;
  #items: Item[] = [];
  #chars = 0;
  #dir: string | null = null;
  #runs: string[] = [];

  constructor(budgetChars = SORT_BUDGET_CHARS) {
    this.#budget = budgetChars;
  }

  /** Runs written to disk so far. */
  get runs(): number {
    return this.#runs.length;
  }

  /** `position`: the frame's `index` is to be set from its position in its connection. */
  add(key: SortKey, entry: Entry, position: boolean): void {
    const json = entryLine(entry, true).slice(0, -1);
    this.#items.push({ key, conn: position && entry.kind === 'frame' ? entry.conn : '', json });
    this.#chars += json.length + 64;
    if (this.#chars >= this.#budget) this.#spill();
  }

  #spill(): void {
    this.#items.sort(compareItems);
    this.#dir ??= mkdtempSync(join(tmpdir(), 'wstape-import-'));
    const path = join(this.#dir, `run-${this.#runs.length}`);
    const fd = openSync(path, 'w', 0o600);
    try {
      let text = '';
      for (const item of this.#items) {
        text += runLine(item);
        if (text.length >= 256 * 1024) {
          writeSync(fd, text);
          text = '';
        }
      }
      if (text !== '') writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
    this.#runs.push(path);
    this.#items = [];
    this.#chars = 0;
  }

  /** Every entry added, in key order (equal keys: in the order added, within memory). */
  *sorted(): Generator<SortedEntry> {
    if (this.#runs.length === 0) {
      this.#items.sort(compareItems);
      const items = this.#items;
      this.#items = [];
      for (const item of items) yield { json: item.json, conn: item.conn };
      return;
    }
    if (this.#items.length > 0) this.#spill();
    const readers = this.#runs.map((path) => new RunReader(path));
    try {
      // A binary heap of the readers by their head item.
      const heap = readers.filter((reader) => reader.head !== null);
      const less = (i: number, j: number): boolean => compareItems((heap[i] as RunReader).head as Item, (heap[j] as RunReader).head as Item) < 0;
      const swap = (i: number, j: number): void => {
        const t = heap[i] as RunReader;
        heap[i] = heap[j] as RunReader;
        heap[j] = t;
      };
      const down = (start: number): void => {
        let i = start;
        for (;;) {
          const l = 2 * i + 1;
          const r = l + 1;
          let m = i;
          if (l < heap.length && less(l, m)) m = l;
          if (r < heap.length && less(r, m)) m = r;
          if (m === i) return;
          swap(i, m);
          i = m;
        }
      };
      for (let i = Math.floor(heap.length / 2) - 1; i >= 0; i--) down(i);
      while (heap.length > 0) {
        const top = heap[0] as RunReader;
        const item = top.head as Item;
        yield { json: item.json, conn: item.conn };
        top.advance();
        if (top.head === null) {
          const last = heap.pop() as RunReader;
          if (heap.length > 0) heap[0] = last;
        }
        down(0);
      }
    } finally {
      for (const reader of readers) reader.close();
    }
  }

  /** Remove the runs. */
  dispose(): void {
    if (this.#dir !== null) rmSync(this.#dir, { recursive: true, force: true });
    this.#dir = null;
    this.#runs = [];
    this.#items = [];
  }
}

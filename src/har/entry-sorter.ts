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
import { StringDecoder } from 'node:string_decoder';
import type { Entry } from '../format/schema.js';
import type { SortKey } from './websocket-from-har.js';

/** JSON text held in memory (UTF-16 code units) before a run is written. */
export const SORT_BUDGET_CHARS = 2 * 1024 * 1024;
const READ_BYTES = 16 * 1024;

interface Item {
  key: SortKey;
  /** The frame's `index` is set from its position in its connection when it comes out. */
  position: boolean;
  json: string;
}

/** An entry in its final order. */
export interface SortedEntry {
  entry: Entry;
  position: boolean;
}

function compareKeys(a: SortKey, b: SortKey): number {
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return 0;
}

const compareItems = (a: Item, b: Item): number => compareKeys(a.key, b.key);

/** A run file read back a line at a time. */
class RunReader {
  readonly #fd: number;
  readonly #buffer = Buffer.alloc(READ_BYTES);
  readonly #decoder = new StringDecoder('utf8');
  #text = '';
  #at = 0;
  #eof = false;
  head: Item | null = null;

  constructor(path: string) {
    this.#fd = openSync(path, 'r');
    this.advance();
  }

  /** Read the next item into `head` (null at the end). */
  advance(): void {
    for (;;) {
      const newline = this.#text.indexOf('\n', this.#at);
      if (newline !== -1) {
        this.head = parseRunLine(this.#text.slice(this.#at, newline));
        this.#at = newline + 1;
        return;
      }
      if (this.#eof) {
        this.head = null;
        return;
      }
      const read = readSync(this.#fd, this.#buffer, 0, READ_BYTES, null);
      this.#text = this.#text.slice(this.#at) + (read > 0 ? this.#decoder.write(this.#buffer.subarray(0, read)) : this.#decoder.end());
      this.#at = 0;
      if (read === 0) this.#eof = true;
    }
  }

  close(): void {
    closeSync(this.#fd);
  }
}

/** `k1 k2 ... k7 p<TAB>json`: the key's numbers as JavaScript writes them (they read back exactly). */
function runLine(item: Item): string {
  return `${item.key.join(' ')} ${item.position ? 1 : 0}\t${item.json}\n`;
}

function parseRunLine(line: string): Item {
  const tab = line.indexOf('\t');
  const numbers = line.slice(0, tab).split(' ').map(Number);
  const position = numbers.pop() === 1;
  return { key: numbers as SortKey, position, json: line.slice(tab + 1) };
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

  add(key: SortKey, entry: Entry, position: boolean): void {
    const json = JSON.stringify(entry);
    this.#items.push({ key, position, json });
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
      for (const item of items) yield { entry: JSON.parse(item.json) as Entry, position: item.position };
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
        yield { entry: JSON.parse(item.json) as Entry, position: item.position };
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

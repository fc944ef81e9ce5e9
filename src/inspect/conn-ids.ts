/**
 * Which WebSocket connections an archive holds, collected while a command streams it, so that a
 * `--conn` naming none of them can be told apart from one whose frames the filters left out:
 * `wstape: warning: no connection c99 in session.wstape.json (it has c1-c4)`.
 */
import type { Entry } from '../format/schema.js';

/** The ids of the WebSocket connections seen so far, in archive order. */
export class ConnectionIds {
  readonly #ids = new Set<string>();

  /** Note the connection an entry is about (connection entries, and frames whose connection entry is missing). */
  observe(entry: Entry): void {
    if (entry.kind === 'connection') this.#ids.add(entry.id);
    else if (entry.kind === 'frame') this.#ids.add(entry.conn);
  }

  /** The wanted ids the archive does not hold, in the order given. */
  missing(wanted: Iterable<string>): string[] {
    return [...wanted].filter((id) => !this.#ids.has(id));
  }

  /** The warning for ids that name no connection of `file`, or null when every one does. */
  warning(wanted: Iterable<string> | undefined, file: string): string | null {
    if (wanted === undefined) return null;
    const missing = this.missing(wanted);
    if (missing.length === 0) return null;
    const has = this.#ids.size === 0 ? 'it has no WebSocket connections' : `it has ${idRanges([...this.#ids])}`;
    return `no connection ${missing.join(', ')} in ${file} (${has})`;
  }
}

/** `c1, c2, c3, c4, c7, x` → `c1-c4, c7, x`: runs of consecutive numbers with one prefix joined. */
export function idRanges(ids: readonly string[]): string {
  const parts: string[] = [];
  let run: { prefix: string; first: number; last: number } | null = null;
  const close = (): void => {
    if (run === null) return;
    parts.push(run.first === run.last ? `${run.prefix}${run.first}` : `${run.prefix}${run.first}-${run.prefix}${run.last}`);
    run = null;
  };
  for (const id of ids) {
    const match = /^(\D*)(\d+)$/.exec(id);
    if (match === null) {
      close();
      parts.push(id);
      continue;
    }
    const prefix = match[1] ?? '';
    const number = Number(match[2]);
    if (run !== null && run.prefix === prefix && number === run.last + 1) {
      run.last = number;
      continue;
    }
    close();
    run = { prefix, first: number, last: number };
  }
  close();
  return parts.join(', ');
}

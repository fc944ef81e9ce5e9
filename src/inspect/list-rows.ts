/**
 * The rows of `wstape list`: one per WebSocket connection, HTTP exchange or tunnel, folded from
 * archive entries in one streaming pass. Memory grows with the number of connections, never with
 * the number of frames. The `--json` field contract is documented in src/commands/list.ts and
 * the README.
 */
import type { Closer, Entry } from '../format/schema.js';

export type ListKind = 'websocket' | 'http' | 'tunnel';

/** One `list --json` line. Field order is the order they are printed in. */
export interface ListRow {
  id: string;
  kind: ListKind;
  url: string;
  status: number | null;
  framesOut: number;
  framesIn: number;
  bytesOut: number;
  bytesIn: number;
  closeCode: number | null;
  closedBy: Closer | null;
  time: string;
  duration: number | null;
  method: string | null;
  subprotocol: string | null;
  closeReason: string | null;
  clean: boolean | null;
  errors: number;
  /** Frames wstape modified, dropped, delayed or injected (hooks, flags, `wstape send`); for HTTP, 1 when the exchange was changed. */
  changed: number;
}

interface RowState {
  row: ListRow;
  /** Start, in seconds since the recording started, to order rows and compute duration. */
  start: number;
  /** True once an end entry set the byte counts. */
  ended: boolean;
}

/**
 * Folds archive entries into one row per connection, exchange or tunnel. Kept apart from I/O so
 * `wstape record` summaries or tests can reuse it.
 */
export class ListAggregator {
  readonly #rows = new Map<string, RowState>();
  readonly #unknown = new Set<string>();
  /** Ids that frames or ends referred to without a connection entry first (damaged archives). */
  get unknownIds(): ReadonlySet<string> {
    return this.#unknown;
  }

  add(entry: Entry): void {
    switch (entry.kind) {
      case 'connection':
        this.#open(entry.id, entry.elapsed, {
          kind: 'websocket',
          url: entry.url,
          status: entry.response.status,
          time: entry.time,
          subprotocol: entry.subprotocol,
        });
        break;
      case 'http': {
        const state = this.#open(entry.id, entry.elapsed, {
          kind: 'http',
          url: entry.url,
          status: entry.response?.status ?? null,
          time: entry.time,
          method: entry.request.method,
        });
        state.row.bytesOut = entry.request.body?.size ?? 0;
        if (entry.action !== undefined) state.row.changed = 1;
        state.row.bytesIn = entry.response?.body?.size ?? 0;
        state.row.duration = roundMicros(entry.duration / 1000);
        state.ended = true;
        break;
      }
      case 'tunnel':
        this.#open(entry.id, entry.elapsed, { kind: 'tunnel', url: entry.url, status: null, time: entry.time });
        break;
      case 'frame': {
        const state = this.#find(entry.conn);
        if (state === undefined) break;
        if (entry.dir === 'out') state.row.framesOut += 1;
        else state.row.framesIn += 1;
        if (entry.action !== undefined) state.row.changed += 1;
        if (!state.ended) {
          if (entry.dir === 'out') state.row.bytesOut += entry.wireSize;
          else state.row.bytesIn += entry.wireSize;
        }
        break;
      }
      case 'end': {
        const state = this.#find(entry.conn);
        if (state === undefined) break;
        const row = state.row;
        row.bytesOut = entry.bytesOut;
        row.bytesIn = entry.bytesIn;
        row.closedBy = entry.closedBy ?? entry.droppedBy;
        row.duration = roundMicros(Math.max(0, entry.elapsed - state.start));
        if (row.kind === 'websocket') {
          row.closeCode = entry.closeCode;
          row.closeReason = entry.closeReason;
          row.clean = entry.clean;
        }
        state.ended = true;
        break;
      }
      case 'error':
        if (entry.conn !== undefined) {
          const state = this.#rows.get(entry.conn);
          if (state !== undefined) state.row.errors += 1;
        }
        break;
    }
  }

  /** The row of one id, as it stands (the same object, updated by later entries). */
  row(id: string): ListRow | undefined {
    return this.#rows.get(id)?.row;
  }

  /** The rows in order of their start time (archive order for equal times). */
  rows(): ListRow[] {
    return [...this.#rows.values()].sort((a, b) => a.start - b.start).map((state) => state.row);
  }

  #open(id: string, start: number, fields: Pick<ListRow, 'kind' | 'url' | 'status' | 'time'> & Partial<Pick<ListRow, 'method' | 'subprotocol'>>): RowState {
    const state: RowState = {
      start,
      ended: false,
      row: {
        id,
        kind: fields.kind,
        url: fields.url,
        status: fields.status,
        framesOut: 0,
        framesIn: 0,
        bytesOut: 0,
        bytesIn: 0,
        closeCode: null,
        closedBy: null,
        time: fields.time,
        duration: null,
        method: fields.method ?? null,
        subprotocol: fields.subprotocol ?? null,
        closeReason: null,
        clean: null,
        errors: 0,
        changed: 0,
      },
    };
    this.#rows.set(id, state);
    return state;
  }

  #find(id: string): RowState | undefined {
    const state = this.#rows.get(id);
    if (state === undefined) this.#unknown.add(id);
    return state;
  }
}

function roundMicros(seconds: number): number {
  return Math.round(seconds * 1e6) / 1e6;
}

/**
 * The viewer's data (src/viewer/model.ts), folded from archive entries in Node: what the browser
 * page cannot compute with the code `show` and `stats` use, because that code needs Node
 * (node:buffer, node:zlib, msgpackr), is computed here, once, with that very code:
 *
 * - content detection of each data frame (src/detect/), a continuation judged as its message's
 *   type (MessageTypeTracker), as `show --json` reports `detected` and `decoded`;
 * - fragmented messages joined as `show --messages` joins them (inspect/messages.ts);
 * - the `stats --json` figures and close diagnosis of each connection (inspect/stats.ts);
 * - the `list --json` rows (inspect/list-rows.ts).
 *
 * The export's scope (the show filters) applies as for the other formats (har/export-scope.ts).
 * The hex dump, close-code names and frame labels are computed in the browser, by the same modules
 * the CLI prints them with (output/hexdump.ts, wire/close-code-names.ts, wire/opcodes.ts).
 *
 * Memory: every kept frame (the page embeds them all); `wstape view` keeps them for the pages that
 * connect later. `takeUpdate` hands out what changed since the last call, for the live page.
 */
import { detect } from '../detect/registry.js';
import type { ArchiveHeader, ArchiveTrailer, Entry, ErrorEntry, FrameEntry } from '../format/schema.js';
import { filtersFrames, keepsExchange, keepsFrame, keepsId, type ExportScope } from '../har/export-scope.js';
import { framePayload, MessageTypeTracker } from '../inspect/frame-payload.js';
import { ListAggregator } from '../inspect/list-rows.js';
import { MessageAssembler, rowBytes, type InspectRow } from '../inspect/messages.js';
import { StatsAccumulator } from '../inspect/stats.js';
import { decodedJson } from '../output/show-row.js';
import type { TimeFormat } from '../output/labels.js';
import type { MessageType } from '../wire/opcodes.js';
import type { ViewerData, ViewerDetection, ViewerFrame, ViewerItem, ViewerUpdate } from '../viewer/model.js';

/** A decoded value larger than this (as JSON) is left out: the hex dump still shows the bytes. */
const MAX_DECODED_JSON = 64 * 1024;

export interface ViewerDataOptions {
  /** The show filters; none: everything. */
  scope?: ExportScope;
}

export interface ViewerMeta {
  source: string;
  header: ArchiveHeader;
  trailer: ArchiveTrailer | null;
  wstape: string;
  redacted: boolean;
  filters: string;
  time?: TimeFormat;
}

interface ItemState {
  item: ViewerItem;
  /** Frames of this connection that passed the filters. */
  kept: number;
  subprotocol: string | null;
}

/** What content detection says about a payload, trimmed to what the page shows. */
function detectionOf(bytes: Uint8Array, type: MessageType, subprotocol: string | null): ViewerDetection | undefined {
  if (bytes.length === 0) return undefined;
  const found = detect(bytes, { type, subprotocol });
  if (found === null) return undefined;
  const det: ViewerDetection = { id: found.id, label: found.label };
  if (found.heartbeat === true) det.heartbeat = true;
  // A text payload is on the page as text already; a binary one's decoded value is what tells
  // the reader what it holds (MessagePack, protobuf fields, MQTT packets, image sizes).
  if (type === 'binary' && found.decoded !== undefined) {
    const json = decodedJson(found.decoded);
    if (json !== 'undefined' && json.length <= MAX_DECODED_JSON) det.decoded = JSON.parse(json) as unknown;
  }
  return det;
}

/** Folds entries (in archive order) into ViewerData. */
export class ViewerDataBuilder {
  readonly #scope: ExportScope;
  readonly #filtering: boolean;
  readonly #list = new ListAggregator();
  readonly #stats = new StatsAccumulator();
  readonly #types = new MessageTypeTracker();
  readonly #assembler = new MessageAssembler();
  readonly #items = new Map<string, ItemState>();
  readonly #frames: ViewerFrame[] = [];
  readonly #messages: ViewerFrame[] = [];
  readonly #errors: ErrorEntry[] = [];
  // What changed since the last takeUpdate().
  readonly #changed = new Set<string>();
  #newFrames: ViewerFrame[] = [];
  #newMessages: ViewerFrame[] = [];
  #newErrors: ErrorEntry[] = [];

  constructor(options: ViewerDataOptions = {}) {
    this.#scope = options.scope ?? { filter: {} };
    this.#filtering = filtersFrames(this.#scope.filter);
  }

  /** Feed one entry. */
  add(entry: Entry): void {
    switch (entry.kind) {
      case 'connection':
        if (!keepsId(this.#scope, entry.id)) return;
        this.#open(entry.id, entry, entry.subprotocol);
        this.#stats.add(entry);
        return;
      case 'http':
      case 'tunnel':
        if (!keepsExchange(this.#scope, entry)) return;
        this.#open(entry.id, entry, null);
        // A failed WebSocket upgrade has stats: "never connected".
        this.#stats.add(entry);
        return;
      case 'frame':
        this.#frame(entry);
        return;
      case 'end': {
        const state = this.#items.get(entry.conn);
        if (state === undefined) return;
        state.item.end = entry;
        this.#list.add(entry);
        this.#stats.add(entry);
        for (const row of this.#assembler.end(entry.conn)) this.#message(row, state);
        this.#changed.add(entry.conn);
        return;
      }
      case 'error': {
        const state = entry.conn !== undefined ? this.#items.get(entry.conn) : undefined;
        if (state !== undefined) {
          state.item.errors.push(entry);
          this.#list.add(entry);
          this.#stats.add(entry);
          this.#changed.add(state.item.row.id);
        } else if (entry.conn === undefined && this.#scope.filter.conns === undefined && !this.#filtering) {
          this.#errors.push(entry);
          this.#newErrors.push(entry);
        }
        return;
      }
    }
  }

  #open(id: string, entry: ViewerItem['entry'], subprotocol: string | null): void {
    this.#list.add(entry);
    const row = this.#list.row(id);
    if (row === undefined) return;
    this.#items.set(id, { item: { row, entry, end: null, errors: [], stats: null }, kept: 0, subprotocol });
    this.#changed.add(id);
  }

  #frame(entry: FrameEntry): void {
    const state = this.#items.get(entry.conn);
    // The type tracker must see every frame of a stream to know what a continuation continues.
    const messageType = this.#types.observe(entry);
    if (state === undefined) return;
    this.#list.add(entry);
    this.#stats.add(entry);
    const { kind: _kind, ...fields } = entry;
    for (const row of this.#assembler.push(fields)) this.#message(row, state);
    if (!keepsFrame(this.#scope, entry)) return;
    const frame: ViewerFrame = fields;
    if (messageType !== null) {
      const det = detectionOf(framePayload(entry), messageType, state.subprotocol);
      if (det !== undefined) frame.det = det;
    }
    state.kept += 1;
    this.#frames.push(frame);
    this.#newFrames.push(frame);
    this.#changed.add(entry.conn);
  }

  /** A joined message: kept only when it is more than one frame (else it is that frame). */
  #message({ row, messageType }: InspectRow, state: ItemState): void {
    if (messageType === null || ((row.fragments ?? 1) === 1 && row.incomplete !== true)) return;
    if (!keepsFrame(this.#scope, row)) return;
    const { kind: _kind, ...fields } = row;
    const message: ViewerFrame = fields;
    const det = detectionOf(rowBytes(row), messageType, state.subprotocol);
    if (det !== undefined) message.det = det;
    this.#messages.push(message);
    this.#newMessages.push(message);
  }

  /** The archive ended: the messages it left unfinished. */
  finish(): void {
    for (const row of this.#assembler.finish()) {
      const state = this.#items.get(row.row.conn);
      if (state !== undefined) this.#message(row, state);
    }
  }

  /** The items the page lists: a WebSocket connection with no frame left by the filters is left out. */
  #exported(): ViewerItem[] {
    return [...this.#items.values()]
      .filter((state) => state.item.row.kind !== 'websocket' || !this.#filtering || state.kept > 0)
      .map((state) => state.item)
      .sort((a, b) => a.entry.elapsed - b.entry.elapsed);
  }

  #withStats(): void {
    for (const stats of this.#stats.report()) {
      const state = this.#items.get(stats.conn);
      if (state !== undefined) state.item.stats = stats;
    }
  }

  /** True when nothing passed the filters. */
  get empty(): boolean {
    return this.#exported().length === 0 && this.#errors.length === 0;
  }

  /** Everything so far (stats included), for the page. Resets what `takeUpdate` reports. */
  snapshot(meta: ViewerMeta): ViewerData {
    this.#withStats();
    this.#resetUpdate();
    return {
      source: meta.source,
      header: meta.header,
      trailer: meta.trailer,
      wstape: meta.wstape,
      exportedAt: new Date().toISOString(),
      redacted: meta.redacted,
      filters: meta.filters,
      ...(meta.time !== undefined ? { time: meta.time } : {}),
      items: this.#exported(),
      frames: this.#frames,
      messages: this.#messages,
      errors: this.#errors,
    };
  }

  /**
   * What changed since the last call (or the snapshot): null when nothing did. `withStats`
   * recomputes the changed connections' stats, which costs a pass over every connection's state.
   */
  takeUpdate(withStats: boolean): ViewerUpdate | null {
    if (this.#changed.size === 0 && this.#newFrames.length === 0 && this.#newErrors.length === 0) return null;
    if (withStats) this.#withStats();
    const items = [...this.#changed].flatMap((id) => {
      const state = this.#items.get(id);
      return state === undefined ? [] : [{ ...state.item, row: { ...state.item.row } }];
    });
    const update: ViewerUpdate = { items, frames: this.#newFrames, messages: this.#newMessages, errors: this.#newErrors };
    this.#resetUpdate();
    return update;
  }

  #resetUpdate(): void {
    this.#changed.clear();
    this.#newFrames = [];
    this.#newMessages = [];
    this.#newErrors = [];
  }
}

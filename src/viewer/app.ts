/**
 * The viewer's page: a header, the traffic list with its filters (kind, host, status, text), and
 * for the selected item its summary, the frame list with show's filters, and the selected
 * frame's detail. Both lists are virtualised (virtual-list.ts). Keyboard: j/k or the arrow keys
 * move in the focused list, h/l or left/right (or Enter) switch lists, / focuses the search.
 *
 * Live (`wstape view`): `apply` adds what the server pushed; the frame list follows the newest
 * frame until the user scrolls up or presses Pause, and follows again on Resume (or on scrolling
 * back to the end, when it was the scroll that paused it).
 */
import type { TimeFormat } from '../output/labels.js';
import { append, clear, el } from './dom.js';
import { buildFrameBar, buildTrafficBar } from './filter-bars.js';
import { compileQuery, ConnFrames, DEFAULT_QUERY, type CompiledQuery, type FrameQuery, type ListedFrame } from './frame-query.js';
import { frameRow } from './frame-row.js';
import type { ViewerData, ViewerFrame, ViewerItem, ViewerUpdate } from './model.js';
import { renderSummary, trafficRow } from './conn-summary.js';
import { renderFrameDetail } from './payload-view.js';
import { ROW_HEIGHT } from './styles.js';
import { DEFAULT_TRAFFIC_QUERY, itemMatches, type TrafficQuery } from './traffic-query.js';
import { VirtualList } from './virtual-list.js';

/** The frame list's rows, and how far into its connection's frames they were tested. */
interface ShownRows {
  conn: ConnFrames;
  query: CompiledQuery;
  rows: ListedFrame[];
  tested: number;
}

/** How often a live page redraws the selected connection's summary while its frames flow. */
const SUMMARY_EVERY_MS = 250;

export class ViewerApp {
  #data: ViewerData;
  readonly #live: boolean;
  #conns = new Map<string, ConnFrames>();
  readonly #traffic: VirtualList<ViewerItem>;
  readonly #frames: VirtualList<ListedFrame>;
  readonly #summary = el('div', { id: 'conn-summary' });
  readonly #detail = el('div', { id: 'detail' }, el('div', { class: 'empty' }, 'Select a frame'));
  readonly #queryError = el('div', { id: 'query-error', class: 'error-text' });
  readonly #frameCount = el('span', { id: 'frame-count', class: 'dim' });
  readonly #trafficCount = el('span', { id: 'traffic-count', class: 'dim' });
  readonly #status = el('span', { id: 'live-status' });
  readonly #pause = el('button', { id: 'pause', type: 'button', title: 'Stop (or resume) following the newest frame' }, 'Pause');
  readonly #header = el('header', {});
  readonly #counts = el('span', { class: 'dim', id: 'counts' });
  #trafficQuery: TrafficQuery = { ...DEFAULT_TRAFFIC_QUERY };
  #query: FrameQuery = { ...DEFAULT_QUERY };
  #time: TimeFormat = 'clock';
  #selectedId: string | null = null;
  #active: 'traffic' | 'frames' = 'traffic';
  #summaryTimer: ReturnType<typeof setTimeout> | null = null;
  #shown: ShownRows | null = null;
  /** Live: following the newest frame; what stopped it, when it is stopped. */
  #pausedBy: 'scroll' | 'button' | null = null;
  readonly #inputs: { frameSearch: HTMLInputElement; trafficText: HTMLInputElement };

  constructor(root: HTMLElement, data: ViewerData, live: boolean) {
    this.#data = data;
    this.#live = live;
    const trafficViewport = el('div', { class: 'viewport', id: 'traffic-list', tabindex: '0' });
    const frameViewport = el('div', { class: 'viewport', id: 'frame-list', tabindex: '0' });
    this.#traffic = new VirtualList(trafficViewport, {
      rowHeight: ROW_HEIGHT,
      render: (item) => trafficRow(item),
      onSelect: (index) => {
        this.#active = 'traffic';
        const item = this.#traffic.items[index];
        if (item !== undefined && item.row.id !== this.#selectedId) this.#openItem(item);
      },
    });
    this.#frames = new VirtualList(frameViewport, {
      rowHeight: ROW_HEIGHT,
      render: (listed) => frameRow(listed, this.#time),
      onSelect: (index) => {
        this.#active = 'frames';
        this.#showDetail(this.#frames.items[index]);
      },
      onUserScroll: (atEnd) => {
        if (!this.#live) return;
        if (!atEnd && this.#pausedBy === null) this.#setPaused('scroll');
        else if (atEnd && this.#pausedBy === 'scroll') this.#setPaused(null);
      },
    });
    const trafficBar = buildTrafficBar(this.#trafficCount, (query) => {
      this.#trafficQuery = query;
      this.#refreshTraffic();
      this.#markTraffic();
    });
    this.#time = data.time ?? 'clock';
    const { bar: frameBar, search } = buildFrameBar(this.#frameCount, this.#time, (query, time) => {
      this.#query = query;
      this.#time = time;
      this.#refreshFrames(false);
    });
    this.#inputs = { frameSearch: search, trafficText: trafficBar.text };
    const trafficPane = el('section', { class: 'pane', id: 'traffic' }, trafficBar.bar, trafficViewport);
    const connPane = el('section', { class: 'pane', id: 'conn' }, this.#summary, frameBar, this.#queryError, frameViewport, this.#detail);
    append(root, this.#header, el('main', {}, trafficPane, connPane));
    this.#pause.addEventListener('click', () => this.#setPaused(this.#pausedBy === null ? 'button' : null));
    document.addEventListener('keydown', (event) => this.#key(event));
    this.#load(data);
  }

  /** Replace everything (the first data, or a live snapshot). */
  #load(data: ViewerData): void {
    this.#data = data;
    this.#conns = new Map();
    for (const frame of data.frames) this.#connFrames(frame.conn).add(frame);
    for (const message of data.messages) this.#connFrames(message.conn).addMessage(message);
    this.#renderHeader();
    this.#refreshTraffic();
    const selected = data.items.find((item) => item.row.id === this.#selectedId) ?? data.items.find((item) => item.row.kind === 'websocket') ?? data.items[0];
    if (selected !== undefined) {
      this.#openItem(selected);
      this.#markTraffic();
    }
  }

  #connFrames(conn: string): ConnFrames {
    let frames = this.#conns.get(conn);
    if (frames === undefined) {
      frames = new ConnFrames();
      this.#conns.set(conn, frames);
    }
    return frames;
  }

  /** Live: the first snapshot, then each update the server pushed. */
  snapshot(data: ViewerData): void {
    this.#load(data);
  }

  apply(update: ViewerUpdate): void {
    const data = this.#data;
    const selected = this.#selectedId;
    const newFrames: ViewerFrame[] = [];
    for (const frame of update.frames) {
      data.frames.push(frame);
      this.#connFrames(frame.conn).add(frame);
      if (frame.conn === selected) newFrames.push(frame);
    }
    let joined = false;
    for (const message of update.messages) {
      data.messages.push(message);
      this.#connFrames(message.conn).addMessage(message);
      joined ||= message.conn === selected;
    }
    data.errors.push(...update.errors);
    let selectedChanged = false;
    for (const item of update.items) {
      const at = data.items.findIndex((candidate) => candidate.row.id === item.row.id);
      if (at >= 0) data.items[at] = item;
      else data.items.push(item);
      selectedChanged ||= item.row.id === selected;
    }
    if (update.trailer !== undefined) data.trailer = update.trailer;
    if (update.items.length > 0) this.#refreshTraffic();
    this.#updateCounts();
    if (update.trailer !== undefined) this.#renderHeader();
    if (selected === null) {
      const first = data.items.find((item) => item.row.kind === 'websocket');
      if (first !== undefined) {
        this.#openItem(first);
        this.#markTraffic();
      }
      return;
    }
    if (selectedChanged) this.#scheduleSummary();
    if (newFrames.length > 0 || joined) this.#refreshFrames(true);
  }

  #updateCounts(): void {
    this.#counts.textContent = `${this.#data.items.length} items, ${this.#data.frames.length} frames`;
  }

  #renderHeader(): void {
    const data = this.#data;
    this.#updateCounts();
    clear(this.#header);

    append(
      this.#header,
      el('h1', {}, 'wstape'),
      el('span', { class: 'mono', title: 'archive' }, data.source),
      data.redacted
        ? el('span', { class: 'badge redacted', id: 'redacted', title: 'credentials were replaced with [REDACTED] before export' }, 'redacted')
        : null,
      data.filters !== ''
        ? el('span', { class: 'badge', id: 'export-filters', title: 'the export kept only what these filters select' }, `filtered: ${data.filters}`)
        : null,
      this.#counts,
    );
    if (this.#live) {
      this.#status.textContent = data.trailer === null ? 'live' : 'recording ended';
      this.#status.className = `badge ${data.trailer === null ? 'live' : 'ended'}`;
      append(this.#header, this.#status, this.#pause);
    }
    append(
      this.#header,
      el(
        'span',
        { class: 'dim' },
        el('kbd', {}, 'j'),
        '/',
        el('kbd', {}, 'k'),
        ' move ',
        el('kbd', {}, 'h'),
        '/',
        el('kbd', {}, 'l'),
        ' lists ',
        el('kbd', {}, '/'),
        ' search',
      ),
      el('span', { class: 'dim' }, `wstape ${data.wstape}`),
    );
  }

  #visibleItems(): ViewerItem[] {
    return this.#data.items.filter((item) => itemMatches(item, this.#trafficQuery));
  }

  #refreshTraffic(): void {
    const items = this.#visibleItems();
    this.#traffic.setItems(
      items,
      items.findIndex((item) => item.row.id === this.#selectedId),
    );
    this.#trafficCount.textContent = `${items.length} of ${this.#data.items.length}`;
  }

  /** Mark the selected item in the traffic list without opening it again. */
  #markTraffic(): void {
    const items = this.#traffic.items;
    this.#traffic.setItems(
      items,
      items.findIndex((item) => item.row.id === this.#selectedId),
    );
  }

  #openItem(item: ViewerItem): void {
    this.#selectedId = item.row.id;
    this.#pausedBy = null;
    this.#updatePause();
    this.#renderSummary();
    this.#refreshFrames(false);
    clear(this.#detail);
    this.#detail.append(el('div', { class: 'empty' }, item.row.kind === 'websocket' ? 'Select a frame' : ''));
  }

  #selectedItem(): ViewerItem | undefined {
    return this.#data.items.find((item) => item.row.id === this.#selectedId);
  }

  /** Live: redraw the summary (counts, stats) at most every SUMMARY_EVERY_MS while frames flow. */
  #scheduleSummary(): void {
    if (this.#summaryTimer !== null) return;
    this.#summaryTimer = setTimeout(() => {
      this.#summaryTimer = null;
      this.#renderSummary();
    }, SUMMARY_EVERY_MS);
  }

  #renderSummary(): void {
    const item = this.#selectedItem();
    const open = new Set([...this.#summary.querySelectorAll<HTMLDetailsElement>('details[data-key]')].filter((d) => d.open).map((d) => d.dataset.key ?? ''));
    if (this.#summary.childElementCount === 0) open.add('stats');
    clear(this.#summary);
    if (item !== undefined) this.#summary.append(renderSummary(item, open));
  }

  /**
   * Recompute the selected connection's rows. `grown` (live): frames were added; without
   * messages mode only the new frames are tested, so a long live session does not re-filter
   * every frame on each update.
   */
  #refreshFrames(grown: boolean): void {
    const conn = this.#selectedId === null ? undefined : this.#conns.get(this.#selectedId);
    const item = this.#selectedItem();
    if (conn === undefined || item?.row.kind !== 'websocket') {
      this.#frames.setItems([]);
      this.#frameCount.textContent = '';
      this.#shown = null;
      return;
    }
    const shown = this.#shown;
    if (grown && !this.#query.messages && shown !== null && shown.conn === conn && shown.tested <= conn.frames.length) {
      for (let i = shown.tested; i < conn.frames.length; i++) {
        const listed = conn.frames[i] as ListedFrame;
        if (shown.query.test(listed)) shown.rows.push(listed);
      }
      shown.tested = conn.frames.length;
    } else {
      const query = compileQuery(this.#query);
      const source = this.#query.messages ? conn.messages() : conn.frames;
      this.#shown = { conn, query, rows: source.filter(query.test), tested: conn.frames.length };
      this.#queryError.textContent = query.error ?? '';
    }
    const rows = (this.#shown as ShownRows).rows;
    this.#frames.setItems(rows, grown ? this.#frames.selected : -1);
    const total = this.#query.messages ? conn.messages().length : conn.frames.length;
    this.#frameCount.textContent = `${rows.length} of ${total} ${this.#query.messages ? 'messages' : 'frames'}`;
    if (this.#live && this.#pausedBy === null) this.#frames.scrollToEnd();
  }

  #showDetail(listed: ListedFrame | undefined): void {
    clear(this.#detail);
    if (listed === undefined) return;
    const entry = this.#selectedItem()?.entry;
    const subprotocol = entry?.kind === 'connection' ? entry.subprotocol : null;
    this.#detail.append(renderFrameDetail(listed.frame, listed.place.messageType, subprotocol));
  }

  #setPaused(by: 'scroll' | 'button' | null): void {
    this.#pausedBy = by;
    this.#updatePause();
    if (by === null) this.#frames.scrollToEnd();
  }

  #updatePause(): void {
    this.#pause.textContent = this.#pausedBy === null ? 'Pause' : 'Resume';
    this.#pause.dataset.state = this.#pausedBy === null ? 'following' : 'paused';
  }

  #key(event: KeyboardEvent): void {
    const target = event.target as HTMLElement;
    if (target.matches('input, select, textarea')) {
      if (event.key === 'Escape') target.blur();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const list = this.#active === 'frames' ? this.#frames : this.#traffic;
    switch (event.key) {
      case '/':
        event.preventDefault();
        (this.#selectedItem()?.row.kind === 'websocket' ? this.#inputs.frameSearch : this.#inputs.trafficText).focus();
        return;
      case 'j':
      case 'ArrowDown':
        event.preventDefault();
        list.select(list.selected + 1);
        return;
      case 'k':
      case 'ArrowUp':
        event.preventDefault();
        list.select(Math.max(0, list.selected - 1));
        return;
      case 'l':
      case 'ArrowRight':
      case 'Enter':
        event.preventDefault();
        this.#active = 'frames';
        if (this.#frames.selected < 0) this.#frames.select(0);
        return;
      case 'h':
      case 'ArrowLeft':
        event.preventDefault();
        this.#active = 'traffic';
        return;
      default:
        return;
    }
  }
}

/**
 * A list that puts in the DOM only the rows in view (plus a few either side), so a connection
 * of 100,000 frames scrolls as smoothly as one of ten: rows have one fixed height, a spacer gives
 * the scroll bar its full length, and the visible window is rebuilt on scroll (at most once per
 * animation frame).
 */
import { clear, el } from './dom.js';

export interface VirtualListOptions<T> {
  /** Pixels; every row has this height (CSS sets the same). */
  rowHeight: number;
  /** One row's element. Called only for rows in view. */
  render(item: T, index: number): HTMLElement;
  /** A row was clicked (or picked with the keyboard). */
  onSelect?(index: number): void;
  /** The user scrolled (not the list itself): `atEnd` says whether the newest row is in view. */
  onUserScroll?(atEnd: boolean): void;
}

/** Rows rendered beyond each edge of the view. */
const OVERSCAN = 8;

export class VirtualList<T> {
  readonly #viewport: HTMLElement;
  readonly #spacer: HTMLElement;
  readonly #rows: HTMLElement;
  readonly #options: VirtualListOptions<T>;
  #items: readonly T[] = [];
  /** The rows in the DOM, by index. */
  readonly #rendered = new Map<number, HTMLElement>();
  #selected = -1;
  #pending = false;
  /** Where the list last scrolled itself to, so that its own scroll event is not taken for the user's. */
  #expectedTop: number | null = null;

  constructor(viewport: HTMLElement, options: VirtualListOptions<T>) {
    this.#viewport = viewport;
    this.#options = options;
    this.#rows = el('div', { class: 'vrows', role: 'listbox' });
    this.#spacer = el('div', { class: 'vspacer' }, this.#rows);
    viewport.appendChild(this.#spacer);
    viewport.addEventListener('scroll', () => {
      const own = this.#expectedTop !== null && Math.abs(viewport.scrollTop - this.#expectedTop) < 2;
      this.#expectedTop = null;
      if (!own) this.#options.onUserScroll?.(this.atEnd());
      this.#schedule();
    });
    viewport.addEventListener('click', (event) => {
      const row = (event.target as Element).closest<HTMLElement>('[data-row]');
      if (row === null) return;
      this.select(Number(row.dataset.row), false);
    });
    new ResizeObserver(() => this.#schedule()).observe(viewport);
  }

  get items(): readonly T[] {
    return this.#items;
  }

  get selected(): number {
    return this.#selected;
  }

  /** Show these items, with row `selected` marked (-1: none); onSelect is not called. */
  setItems(items: readonly T[], selected = -1): void {
    this.#items = items;
    this.#selected = selected < items.length ? selected : -1;
    clear(this.#rows);
    this.#rendered.clear();
    this.#spacer.style.height = `${items.length * this.#options.rowHeight}px`;
    this.#render();
  }

  /** Select row `index` (clamped), scroll it into view, and tell onSelect. */
  select(index: number, scroll = true): void {
    if (this.#items.length === 0) return;
    this.#selected = Math.max(0, Math.min(this.#items.length - 1, index));
    if (scroll) this.#reveal(this.#selected);
    this.#render();
    this.#options.onSelect?.(this.#selected);
  }

  /** True when the last row is in view (or there is nothing to scroll). */
  atEnd(): boolean {
    const viewport = this.#viewport;
    return viewport.scrollTop + viewport.clientHeight >= viewport.scrollHeight - this.#options.rowHeight;
  }

  scrollToEnd(): void {
    this.#scrollTo(this.#viewport.scrollHeight);
    this.#render();
  }

  #scrollTo(top: number): void {
    this.#viewport.scrollTop = top;
    this.#expectedTop = this.#viewport.scrollTop;
  }

  #reveal(index: number): void {
    const { rowHeight } = this.#options;
    const viewport = this.#viewport;
    const top = index * rowHeight;
    if (top < viewport.scrollTop) this.#scrollTo(top);
    else if (top + rowHeight > viewport.scrollTop + viewport.clientHeight) this.#scrollTo(top + rowHeight - viewport.clientHeight);
  }

  #schedule(): void {
    if (this.#pending) return;
    this.#pending = true;
    requestAnimationFrame(() => {
      this.#pending = false;
      this.#render();
    });
  }

  /**
   * Put the rows of the visible window in the DOM. A row that stays in the window keeps its
   * element (only its selection mark is updated), so a click, a hover or a text selection on it
   * survives a scroll; rows that left the window are removed. `setItems` drops them all.
   */
  #render(): void {
    const { rowHeight } = this.#options;
    const viewport = this.#viewport;
    const first = Math.max(0, Math.floor(viewport.scrollTop / rowHeight) - OVERSCAN);
    const last = Math.min(this.#items.length, Math.ceil((viewport.scrollTop + viewport.clientHeight) / rowHeight) + OVERSCAN);
    for (const [index, row] of this.#rendered) {
      if (index >= first && index < last) continue;
      row.remove();
      this.#rendered.delete(index);
    }
    for (let index = first; index < last; index++) {
      let row = this.#rendered.get(index);
      if (row === undefined) {
        row = this.#options.render(this.#items[index] as T, index);
        row.dataset.row = String(index);
        row.classList.add('vrow');
        row.setAttribute('role', 'option');
        row.style.top = `${index * rowHeight}px`;
        this.#rows.appendChild(row);
        this.#rendered.set(index, row);
      }
      row.classList.toggle('selected', index === this.#selected);
      row.setAttribute('aria-selected', String(index === this.#selected));
    }
  }
}

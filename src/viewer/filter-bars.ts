/**
 * The two filter bars: the traffic list's (kind, host, status, text) and the frame list's (show's
 * filters: direction, type, search, regex, time range, heartbeats, messages; and the time format).
 * Each calls back with the whole query on every change.
 */
import type { TimeFormat } from '../output/labels.js';
import { el } from './dom.js';
import type { FrameQuery } from './frame-query.js';
import type { TrafficQuery } from './traffic-query.js';

function checkbox(id: string, label: string, checked: boolean): { box: HTMLInputElement; label: HTMLElement } {
  const box = el('input', { type: 'checkbox', id });
  box.checked = checked;
  return { box, label: el('label', { for: id }, box, ` ${label}`) };
}

/** A drop-down of `[value, label]` choices, the first one selected. */
function select(id: string, title: string, choices: readonly (readonly [string, string])[]): HTMLSelectElement {
  return el('select', { id, title }, ...choices.map(([value, label]) => el('option', { value }, label)));
}

/** The traffic list's bar; `text` is its search box (what `/` focuses without a connection). */
export function buildTrafficBar(count: HTMLElement, onChange: (query: TrafficQuery) => void): { bar: HTMLElement; text: HTMLInputElement } {
  const kind = select('kind-filter', 'kind', [
    ['all', 'all kinds'],
    ['websocket', 'WebSocket'],
    ['http', 'HTTP'],
    ['tunnel', 'tunnels'],
  ]);
  const host = el('input', { type: 'text', id: 'host-filter', placeholder: 'host', title: 'host contains' });
  const status = el('input', { type: 'text', id: 'status-filter', placeholder: 'status', title: '101, 4xx, 200,404' });
  const text = el('input', { type: 'search', id: 'traffic-search', placeholder: 'search URLs', class: 'wide' });
  const changed = (): void => onChange({ kind: kind.value as TrafficQuery['kind'], host: host.value, status: status.value, text: text.value });
  for (const input of [kind, host, status, text]) input.addEventListener('input', changed);
  return { bar: el('div', { class: 'bar' }, kind, host, status, text, count), text };
}

/** The frame list's bar; `search` is its search box (what `/` focuses). */
export function buildFrameBar(
  count: HTMLElement,
  initialTime: TimeFormat,
  onChange: (query: FrameQuery, time: TimeFormat) => void,
): { bar: HTMLElement; search: HTMLInputElement } {
  const dir = select('dir-filter', 'direction', [
    ['all', '<-->'],
    ['out', '--> out'],
    ['in', '<-- in'],
  ]);
  const text = checkbox('type-text', 'text', true);
  const binary = checkbox('type-binary', 'binary', true);
  const control = checkbox('type-control', 'control', true);
  const search = el('input', { type: 'search', id: 'frame-search', placeholder: 'search payloads (/)', class: 'wide' });
  const regex = checkbox('regex', 'regex', false);
  const since = el('input', { type: 'text', id: 'since', placeholder: 'from (s)', title: 'seconds since the start, or an ISO 8601 time' });
  const until = el('input', { type: 'text', id: 'until', placeholder: 'to (s)', title: 'seconds since the start, or an ISO 8601 time' });
  const heartbeats = checkbox('hide-heartbeats', 'hide heartbeats', false);
  const messages = checkbox('messages', 'messages', false);
  const time = select('time-format', 'time', [
    ['clock', 'clock'],
    ['utc', 'UTC'],
    ['rel', 'relative'],
  ]);
  time.value = initialTime;
  const changed = (): void =>
    onChange(
      {
        dir: dir.value as FrameQuery['dir'],
        text: text.box.checked,
        binary: binary.box.checked,
        control: control.box.checked,
        search: search.value,
        regex: regex.box.checked,
        since: since.value,
        until: until.value,
        hideHeartbeats: heartbeats.box.checked,
        messages: messages.box.checked,
      },
      time.value as TimeFormat,
    );
  for (const input of [dir, text.box, binary.box, control.box, search, regex.box, since, until, heartbeats.box, messages.box, time])
    input.addEventListener('input', changed);
  const bar = el(
    'div',
    { class: 'bar', id: 'frame-bar' },
    dir,
    text.label,
    binary.label,
    control.label,
    search,
    regex.label,
    since,
    until,
    heartbeats.label,
    messages.label,
    time,
    count,
  );
  return { bar, search };
}

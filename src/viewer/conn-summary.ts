/**
 * The traffic list's rows (as `wstape list` prints them: badge, URL, status, frames and bytes each
 * way, duration, close code and who closed) and the summary above a connection's frames: the
 * handshake, the `wstape stats` figures and its close diagnosis; an HTTP exchange's request and
 * response; a tunnel's target.
 */
import type { Body, HeaderList } from '../format/schema.js';
import type { ConnectionStats } from '../inspect/stats-report.js';
import { kindBadge } from '../output/labels.js';
import { formatDuration, formatSize } from '../output/units.js';
import { closeCodeName } from '../wire/close-code-names.js';
import { el } from './dom.js';
import type { ViewerItem } from './model.js';
import { frameBytes, jsonTree } from './payload-view.js';

function statusClass(status: number | null): string {
  if (status === null) return 'dim';
  if (status >= 500) return 'status-bad';
  if (status >= 400) return 'status-warn';
  return 'status-ok';
}

/** `1000 client`, `open`, or '-' (HTTP), as the CLOSE column of `wstape list`. */
export function closeCell(item: ViewerItem): string {
  const row = item.row;
  if (row.kind === 'http') return '-';
  if (row.closedBy === null) return 'open';
  if (row.closeCode === null) return `by ${row.closedBy}`;
  return `${row.closeCode} ${row.closedBy}`;
}

/** One row of the traffic list. */
export function trafficRow(item: ViewerItem): HTMLElement {
  const row = item.row;
  const badge = kindBadge(row);
  const isWs = row.kind === 'websocket';
  const url = row.method !== null ? `${row.method} ${row.url}` : row.url;
  return el(
    'div',
    { class: 'traffic-row', 'data-id': row.id, title: url },
    el('span', { class: `badge k-${badge}` }, badge),
    el('span', { class: 'dim' }, row.id),
    el('span', { class: `status ${statusClass(row.status)}` }, row.status === null ? '-' : String(row.status)),
    isWs ? el('span', { class: 'dim', title: 'frames out/in' }, `${row.framesOut}/${row.framesIn}`) : null,
    el('span', { class: 'dim', title: 'bytes out/in' }, `${formatSize(row.bytesOut)}/${formatSize(row.bytesIn)}`),
    el('span', { class: 'dim' }, row.duration === null ? '…' : formatDuration(row.duration)),
    row.kind !== 'http' ? el('span', { class: `close ${row.closeCode === 1006 ? 'status-bad' : ''}` }, closeCell(item)) : null,
    el('span', { class: 'url' }, url),
  );
}

function headerTable(headers: HeaderList): HTMLElement {
  return el('table', {}, ...headers.map(([name, value]) => el('tr', {}, el('th', {}, name), el('td', { class: 'mono' }, value))));
}

function bodyBlock(body: Body | undefined): HTMLElement | null {
  if (body === undefined || body.size === 0) return null;
  if (body.text !== undefined) {
    let tree: HTMLElement | null;
    try {
      tree = /^\s*[[{]/.test(body.text) ? jsonTree(JSON.parse(body.text) as unknown) : null;
    } catch {
      tree = null;
    }
    return tree ?? el('pre', { class: 'payload-text' }, body.text);
  }
  return el(
    'pre',
    { class: 'dim' },
    `${formatSize(body.size)} of binary${body.truncated === true ? ' (truncated)' : ''}`,
    body.data !== undefined ? ` (${frameBytes(body).length} bytes kept)` : '',
  );
}

function fold(key: string, title: string, open: boolean, ...children: (Node | null)[]): HTMLElement {
  const details = el('details', { 'data-key': key }, el('summary', {}, title), ...children);
  details.open = open;
  return details;
}

function statsTable(stats: ConnectionStats): HTMLElement {
  const rows: [string, string][] = [
    ['frames out / in', `${stats.framesOut} / ${stats.framesIn}`],
    ['bytes out / in (wire)', `${formatSize(stats.bytesOut)} / ${formatSize(stats.bytesIn)}`],
    ['payload out / in', `${formatSize(stats.payloadOut)} / ${formatSize(stats.payloadIn)}`],
    ['messages out / in', `${stats.messagesOut} / ${stats.messagesIn}${stats.messagesPerSecond !== null ? ` (${stats.messagesPerSecond}/s)` : ''}`],
    ['duration', stats.duration === null ? 'open' : formatDuration(stats.duration)],
  ];
  if (stats.compression !== null) rows.push(['compression', `${stats.compression.frames} frames, ratio ${stats.compression.ratio ?? '-'}`]);
  if (stats.largestFrame !== null)
    rows.push(['largest frame', `#${stats.largestFrame.index} ${stats.largestFrame.type} ${formatSize(stats.largestFrame.size)}`]);
  const pings = stats.pings;
  rows.push([
    'pings out / in',
    `${pings.out} / ${pings.in}, ${pings.answered} answered${pings.rttMs !== null ? `, rtt median ${pings.rttMs.median} ms, p95 ${pings.rttMs.p95} ms` : ''}`,
  ]);
  if (stats.keepAlives.protocol !== null) rows.push(['keep-alives', `${stats.keepAlives.protocol}: ${stats.keepAlives.out} out, ${stats.keepAlives.in} in`]);
  if (stats.longestSilence !== null)
    rows.push(['longest silence', `${formatDuration(stats.longestSilence.seconds)} after #${stats.longestSilence.afterIndex}`]);
  const anomalies = Object.entries(stats.anomalies);
  if (anomalies.length > 0) rows.push(['anomalies', anomalies.map(([name, count]) => `${name} ×${count}`).join(', ')]);
  if (stats.errors > 0)
    rows.push([
      'errors',
      Object.entries(stats.errorCodes)
        .map(([code, count]) => `${code} ×${count}`)
        .join(', '),
    ]);
  const close = stats.close;
  if (close !== null) {
    const code = close.code === null ? 'none' : `${close.code} ${close.name ?? closeCodeName(close.code)}`;
    rows.push([
      'close',
      `${code}${close.reason !== '' ? ` "${close.reason}"` : ''}, by ${close.closedBy ?? close.droppedBy}, ${close.clean ? 'clean' : 'not clean'}`,
    ]);
  }
  return el(
    'div',
    { class: 'stats' },
    ...rows.map(([name, value]) => el('div', { class: 'stat' }, el('span', { class: 'stat-name' }, name), ' ', el('span', {}, value))),
  );
}

/** The summary of the selected item; `openKeys`: the folds the user had open. */
export function renderSummary(item: ViewerItem, openKeys: ReadonlySet<string>): HTMLElement {
  const root = el('div', { class: 'summary', 'data-id': item.row.id });
  const entry = item.entry;
  const badge = kindBadge(item.row);
  root.append(
    el(
      'div',
      {},
      el('span', { class: `badge k-${badge}` }, badge),
      ' ',
      el('strong', { class: 'mono' }, entry.kind === 'http' ? `${entry.request.method} ${entry.url}` : entry.url),
      ' ',
      el('span', { class: statusClass(item.row.status) }, item.row.status === null ? '' : String(item.row.status)),
    ),
  );
  if (entry.kind === 'tunnel') {
    root.append(el('div', {}, `tunnel (${entry.reason}), not looked into; ${closeCell(item)}`));
    return root;
  }
  if (entry.kind === 'connection') {
    const facts = [entry.subprotocol !== null ? `subprotocol ${entry.subprotocol}` : null, entry.extensions, `mode ${entry.mode}`, `${entry.time}`].filter(
      (fact) => fact !== null,
    );
    root.append(el('div', { class: 'dim' }, facts.join(' · ')));
    if (item.stats !== null) {
      root.append(el('div', { class: 'diagnosis' }, el('strong', {}, 'diagnosis: '), item.stats.diagnosis));
      root.append(fold('stats', 'stats', openKeys.has('stats'), statsTable(item.stats)));
    }
    root.append(fold('request', 'request headers', openKeys.has('request'), headerTable(entry.request.headers)));
    root.append(
      fold(
        'response',
        `response headers (${entry.response.status} ${entry.response.statusText})`,
        openKeys.has('response'),
        headerTable(entry.response.headers),
      ),
    );
  } else {
    root.append(el('div', { class: 'dim' }, `${entry.time} · ${formatDuration(entry.duration / 1000)}${entry.error !== undefined ? ` · ${entry.error}` : ''}`));
    if (item.stats !== null) root.append(el('div', { class: 'diagnosis' }, el('strong', {}, 'diagnosis: '), item.stats.diagnosis));
    root.append(fold('request', 'request', true, headerTable(entry.request.headers), bodyBlock(entry.request.body)));
    if (entry.response !== null) {
      root.append(
        fold(
          'response',
          `response ${entry.response.status} ${entry.response.statusText}`,
          true,
          headerTable(entry.response.headers),
          bodyBlock(entry.response.body),
        ),
      );
    }
  }
  for (const error of item.errors) root.append(el('div', { class: 'error-text' }, `${error.code}: ${error.message}`));
  return root;
}

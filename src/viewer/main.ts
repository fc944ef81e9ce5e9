/**
 * The viewer's entry point (bundled by scripts/bundle.mjs into dist/viewer-bundle/viewer.js and
 * inlined into every page, src/share/viewer-html.ts). It reads the page's configuration from the
 * `<script id="wstape-data" type="application/json">` element: an export's data, or the live
 * viewer's token, with which it subscribes to the server's event stream (Server-Sent Events:
 * a `snapshot` first, then `update`s as the recording grows).
 */
import { ViewerApp } from './app.js';
import { el } from './dom.js';
import type { ViewerBoot, ViewerData, ViewerUpdate } from './model.js';
import { STYLES } from './styles.js';

function emptyData(source: string): ViewerData {
  return {
    source,
    header: { format: 'wstape', version: 2, creator: { name: 'wstape', version: '' }, startedAt: '' },
    trailer: null,
    wstape: '',
    exportedAt: '',
    redacted: false,
    filters: '',
    items: [],
    frames: [],
    messages: [],
    errors: [],
  };
}

function start(): void {
  document.head.append(el('style', {}, STYLES));
  const root = el('div', { id: 'app' });
  document.body.append(root);
  const config = document.getElementById('wstape-data')?.textContent ?? '';
  const boot = JSON.parse(config) as ViewerBoot;
  if (boot.mode === 'static') {
    new ViewerApp(root, boot.data, false);
    return;
  }
  const app = new ViewerApp(root, emptyData(boot.source), true);
  const events = new EventSource(`events?token=${encodeURIComponent(boot.token)}`);
  events.addEventListener('snapshot', (event) => app.snapshot(JSON.parse((event as MessageEvent<string>).data) as ViewerData));
  events.addEventListener('update', (event) => app.apply(JSON.parse((event as MessageEvent<string>).data) as ViewerUpdate));
  // The archive was closed: nothing more will come, so do not reconnect.
  events.addEventListener('end', () => events.close());
}

start();

/**
 * The detail of one frame or message: its header fields and markers, then the payload as a
 * person reads it: JSON as a highlighted tree whose objects and arrays fold, other text as text,
 * binary as the `hexdump -C` layout `wstape hexdump` prints (src/output/hexdump.ts, the same
 * code) with the detected format and decoded value, images as an image, close frames with the
 * registered name of their code (src/wire/close-code-names.ts). Every payload is set as text.
 */
import { hexdumpC } from '../output/hexdump.js';
import { formatSize } from '../output/units.js';
import { closeCodeName } from '../wire/close-code-names.js';
import { frameTypeLabel } from '../wire/opcodes.js';
import { arrowOf } from '../wire/side.js';
import { el } from './dom.js';
import type { ViewerFrame } from './model.js';

/** Bytes of a payload dumped in hex; the rest is counted. */
const MAX_HEX_BYTES = 64 * 1024;
/** Nodes of a JSON tree; a larger document is shown as text. */
const MAX_TREE_NODES = 20_000;
/** Detected formats a browser can show as an image, with their MIME types. */
const IMAGE_TYPES: Readonly<Record<string, string>> = { png: 'image/png', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp' };

/** The payload bytes the archive kept. */
export function frameBytes(frame: Pick<ViewerFrame, 'text' | 'data'>): Uint8Array {
  if (frame.text !== undefined) return new TextEncoder().encode(frame.text);
  if (frame.data === undefined) return new Uint8Array(0);
  const binary = atob(frame.data);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** The markers `show` prints after a payload, as short words. */
export function frameMarkers(frame: ViewerFrame): { text: string; kind: string }[] {
  const markers: { text: string; kind: string }[] = [];
  if (frame.action !== undefined) markers.push({ text: `${frame.action}${frame.by !== undefined ? ` by ${frame.by}` : ''}`, kind: 'action' });
  if (frame.fragments !== undefined && frame.fragments > 1) markers.push({ text: `${frame.fragments} frags`, kind: 'info' });
  if (frame.incomplete === true) markers.push({ text: 'incomplete', kind: 'warn' });
  else if (!frame.fin) markers.push({ text: 'frag', kind: 'warn' });
  if (frame.compressed === true) markers.push({ text: 'deflate', kind: 'info' });
  if (frame.truncated === true) markers.push({ text: 'truncated', kind: 'warn' });
  for (const flag of frame.flags ?? []) markers.push({ text: `!${flag}`, kind: 'anomaly' });
  return markers;
}

/** `1000 Normal closure`, for a close frame with a code. */
export function closeText(frame: ViewerFrame): string {
  if (frame.code === undefined) return 'no status code';
  return `${frame.code} ${closeCodeName(frame.code)}`;
}

interface TreeBudget {
  nodes: number;
}

/** A JSON value as nested, foldable elements with a class per token kind. */
function jsonNode(value: unknown, budget: TreeBudget): HTMLElement {
  budget.nodes += 1;
  if (value === null) return el('span', { class: 'j-lit' }, 'null');
  if (typeof value === 'string') return el('span', { class: 'j-str' }, JSON.stringify(value));
  if (typeof value === 'number') return el('span', { class: 'j-num' }, String(value));
  if (typeof value === 'boolean') return el('span', { class: 'j-lit' }, String(value));
  const isArray = Array.isArray(value);
  const entries: [string | null, unknown][] = isArray ? (value as unknown[]).map((item) => [null, item]) : Object.entries(value as Record<string, unknown>);
  const [open, close] = isArray ? ['[', ']'] : ['{', '}'];
  if (entries.length === 0) return el('span', { class: 'j-punct' }, `${open}${close}`);
  const summary = el(
    'summary',
    {},
    el('span', { class: 'j-punct' }, open),
    el('span', { class: 'j-count' }, ` ${entries.length} ${isArray ? 'items' : 'keys'} `),
  );
  const body = el('div', { class: 'j-body' });
  entries.forEach(([key, item], position) => {
    const line = el('div', { class: 'j-line' });
    if (key !== null) line.append(el('span', { class: 'j-key' }, JSON.stringify(key)), el('span', { class: 'j-punct' }, ': '));
    line.append(jsonNode(item, budget));
    if (position < entries.length - 1) line.append(el('span', { class: 'j-punct' }, ','));
    body.append(line);
  });
  const details = el('details', { class: 'j-fold', open: '' }, summary, body, el('span', { class: 'j-punct' }, close));
  return details;
}

/** A JSON tree, or null when the value is too large to draw as one. */
export function jsonTree(value: unknown): HTMLElement | null {
  const budget: TreeBudget = { nodes: 0 };
  const tree = jsonNode(value, budget);
  return budget.nodes > MAX_TREE_NODES ? null : el('div', { class: 'json-tree' }, tree);
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  const start = text.trimStart()[0];
  if (start !== '{' && start !== '[') return { ok: false };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

function hexBlock(bytes: Uint8Array): HTMLElement {
  const shown = bytes.subarray(0, MAX_HEX_BYTES);
  const block = el('pre', { class: 'hexdump' }, hexdumpC(shown));
  if (bytes.length <= MAX_HEX_BYTES) return block;
  return el('div', {}, block, el('p', { class: 'note' }, `first ${formatSize(MAX_HEX_BYTES)} of ${formatSize(bytes.length)} shown`));
}

function textBlock(text: string): HTMLElement {
  const parsed = parseJson(text);
  if (parsed.ok) {
    const tree = jsonTree(parsed.value);
    if (tree !== null) return tree;
  }
  return el('pre', { class: 'payload-text' }, text);
}

/** The detail pane's content for one row. */
export function renderFrameDetail(frame: ViewerFrame, messageType: 'text' | 'binary' | null, subprotocol: string | null): HTMLElement {
  const root = el('div', { class: 'frame-detail', 'data-index': String(frame.index) });
  const typeText = frameTypeLabel(frame.type, frame.opcode);
  const size = frame.wireSize !== frame.size ? `${formatSize(frame.size)} (wire ${formatSize(frame.wireSize)})` : formatSize(frame.size);
  const head = el(
    'div',
    { class: 'detail-head' },
    el('span', { class: `arrow dir-${frame.dir}` }, arrowOf(frame.dir)),
    ' ',
    el('strong', {}, `${frame.conn} #${frame.index}${frame.lastIndex !== undefined && frame.lastIndex !== frame.index ? `-${frame.lastIndex}` : ''}`),
    ` ${typeText} (opcode 0x${frame.opcode.toString(16)}) ${size} `,
    el('span', { class: 'dim' }, frame.time),
  );
  for (const marker of frameMarkers(frame)) head.append(' ', el('span', { class: `marker m-${marker.kind}` }, `[${marker.text}]`));
  root.append(head);
  if (frame.mask !== undefined) root.append(el('div', { class: 'dim' }, `masked, key ${frame.mask}${frame.rsv1 ? ', RSV1' : ''}`));
  if (frame.forwarded !== undefined) {
    root.append(el('div', { class: 'note' }, `forwarded instead: ${frame.forwarded.text ?? `${frame.forwarded.type} ${formatSize(frame.forwarded.size)}`}`));
  }
  if (frame.type === 'close') {
    root.append(
      el('div', { class: 'close-info' }, el('strong', {}, closeText(frame)), frame.reason !== undefined && frame.reason !== '' ? ` "${frame.reason}"` : ''),
    );
    return root;
  }
  const det = frame.det;
  if (det !== undefined) root.append(el('div', { class: 'detected' }, el('span', { class: 'det-id' }, det.id), ` ${det.label}`));
  else if (subprotocol !== null && messageType !== null) root.append(el('div', { class: 'dim' }, `subprotocol ${subprotocol}`));
  const bytes = frameBytes(frame);
  const binary = messageType === 'binary' || frame.data !== undefined;
  if (!binary) {
    root.append(textBlock(frame.text ?? ''));
    const hex = el('details', { class: 'hex-fold' }, el('summary', {}, 'hex'));
    hex.addEventListener('toggle', () => {
      if (hex.open && hex.childElementCount === 1) hex.append(hexBlock(bytes));
    });
    root.append(hex);
    return root;
  }
  const mime = det !== undefined ? IMAGE_TYPES[det.id] : undefined;
  if (mime !== undefined && frame.data !== undefined && frame.truncated !== true) {
    const image = el('img', { class: 'payload-image', alt: det?.label ?? 'image', src: `data:${mime};base64,${frame.data}` });
    // A payload with an image's magic number need not be a whole image: say so, not a broken icon.
    image.addEventListener('error', () => image.replaceWith(el('p', { class: 'note' }, `the ${det?.id ?? 'image'} payload does not decode as an image`)));
    root.append(image);
  }
  if (det?.decoded !== undefined) {
    const tree = jsonTree(det.decoded);
    root.append(el('div', { class: 'decoded' }, el('div', { class: 'dim' }, 'decoded'), tree ?? el('pre', {}, JSON.stringify(det.decoded))));
  }
  root.append(hexBlock(bytes));
  return root;
}

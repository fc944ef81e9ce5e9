/**
 * One line of the frame list, in the words of `show`'s arrow view: time (clock, UTC or relative,
 * as `--time` prints it), direction arrow, type, size and wire size, markers, then a preview of
 * the payload (text, the detected format of a binary payload, a close frame's code and name).
 */
import { formatTimestamp, type TimeFormat } from '../output/labels.js';
import { formatSize } from '../output/units.js';
import { frameTypeLabel } from '../wire/opcodes.js';
import { arrowOf } from '../wire/side.js';
import { el } from './dom.js';
import type { ListedFrame } from './frame-query.js';
import { closeText, frameMarkers } from './payload-view.js';

/** Characters of payload shown in a row: the row clips the rest anyway. */
const PREVIEW_CHARS = 300;
const HEX_PREVIEW_BYTES = 16;

/** Control characters as visible escapes, so one row stays one line. */
function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]/g, (char) =>
    char === '\n' ? '\\n' : char === '\t' ? '\\t' : char === '\r' ? '\\r' : `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

function hexPreview(base64: string): string {
  const bytes = atob(base64.slice(0, Math.ceil(HEX_PREVIEW_BYTES / 3) * 4)).slice(0, HEX_PREVIEW_BYTES);
  return Array.from(bytes, (char) => char.charCodeAt(0).toString(16).padStart(2, '0')).join(' ');
}

function preview({ frame, place }: ListedFrame): string {
  if (frame.type === 'close') return `${closeText(frame)}${frame.reason !== undefined && frame.reason !== '' ? ` "${frame.reason}"` : ''}`;
  const label = frame.det !== undefined && (place.messageType === 'binary' || frame.text === undefined) ? `(${frame.det.label}) ` : '';
  if (frame.text !== undefined) return label + oneLine(frame.text.slice(0, PREVIEW_CHARS));
  if (frame.data !== undefined) {
    // A ping's "hb-1" reads better as text, as the arrow view prints it.
    const bytes = atob(frame.data.slice(0, PREVIEW_CHARS * 2));
    if (label === '' && /^[\x20-\x7e]*$/.test(bytes)) return JSON.stringify(bytes);
    return label + hexPreview(frame.data);
  }
  return label;
}

export function frameRow(listed: ListedFrame, time: TimeFormat): HTMLElement {
  const { frame } = listed;
  const row = el(
    'div',
    { class: `frame-row d-${frame.dir}`, 'data-index': String(frame.index), 'data-type': frame.type },
    el('span', { class: 'ftime dim' }, formatTimestamp(frame.time, frame.elapsed, time)),
    el('span', { class: `arrow dir-${frame.dir}` }, arrowOf(frame.dir)),
    el('span', { class: `ftype t-${frame.type}`, title: `opcode 0x${frame.opcode.toString(16)}` }, frameTypeLabel(frame.type, frame.opcode).toUpperCase()),
    el('span', { class: 'fsize', title: 'payload / wire' }, `${formatSize(frame.size)} / ${formatSize(frame.wireSize)}`),
  );
  for (const marker of frameMarkers(frame)) row.append(el('span', { class: `marker m-${marker.kind}` }, `[${marker.text}]`));
  row.append(el('span', { class: 'preview' }, preview(listed)));
  return row;
}

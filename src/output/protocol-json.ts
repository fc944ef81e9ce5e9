/**
 * `show --pretty-json` for subprotocol packets: the JSON parts of a packet indented over several
 * lines, the protocol's own framing kept as it is (escaped, dimmed) around them:
 *
 *   [10:30:00.123] c1 <-- [socket.io EVENT "chat"] 42[
 *                                                    "chat",
 *                                                    { "x": 1 } ...
 *
 * Socket.IO (the data after `4<type>[attachments-][/nsp,][id]`), the Engine.IO open packet
 * (`0{...}`) and messages with JSON data (`4{...}`), STOMP (the body, when it is JSON; the command
 * and headers stay on the first line), SignalR (each record, each followed by its 0x1E separator)
 * and both GraphQL protocols (the whole message). Where the JSON parts are found is read from what the detector decoded.
 */
import type { Detection } from '../detect/types.js';
import { stripAnsi, type Palette } from './colors.js';
import { frameLineParts, joinParts, type FrameLike, type LineOptions } from './frame-line.js';
import { paintJsonToken, reindentJson } from './json-view.js';
import { escapeText } from './payload.js';

/** A run of the payload: framing text before and after one JSON document. */
interface Segment {
  before: string;
  json: string;
  after: string;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** The JSON segments of a packet's text, or null when it has none (or they do not parse). */
export function protocolJsonSegments(detection: Detection, text: string): Segment[] | null {
  let segments: Segment[] | null = null;
  switch (detection.id) {
    case 'socket.io': {
      // The header (type digits, attachments, namespace, ack id) holds none of [ { " (socket-io.ts).
      const start = text.search(/[[{"]/);
      if (start > 0) segments = [{ before: text.slice(0, start), json: text.slice(start), after: '' }];
      break;
    }
    case 'engine.io':
      // The open packet (0{...}) and a message with JSON data (4{...}, 4[...]): one digit, then JSON.
      if (/^(?:0\{|4[{[])/.test(text)) segments = [{ before: text[0]!, json: text.slice(1), after: '' }];
      break;
    case 'graphql-transport-ws':
    case 'graphql-ws':
      segments = [{ before: '', json: text, after: '' }];
      break;
    case 'stomp': {
      const body = (detection.decoded as { body?: string } | undefined)?.body;
      if (body === undefined) break;
      const start = text.indexOf(body);
      if (start > 0) segments = [{ before: text.slice(0, start), json: body, after: text.slice(start + body.length) }];
      break;
    }
    case 'signalr':
      segments = text
        .split('\x1e')
        .slice(0, -1)
        .map((record) => ({ before: '', json: record, after: '\x1e' }));
      break;
    default:
      break;
  }
  if (segments === null || segments.length === 0 || !segments.every((segment) => isJson(segment.json))) return null;
  return segments;
}

/**
 * The row with its tag and its JSON parts indented, one string with "\n" between lines; null
 * when the packet has no JSON part to indent (the caller prints the one-line form).
 */
export function protocolJsonBlock(row: FrameLike & { text: string }, detection: Detection, options: LineOptions & { tag: string }): string | null {
  const segments = protocolJsonSegments(detection, row.text);
  if (segments === null) return null;
  const { head, markers, palette: p } = frameLineParts(row, options);
  const tagged = joinParts([head, p.cyan(`[${escapeText(options.tag)}]`)]);
  const payload: string[] = [];
  for (const segment of segments) {
    const lines = jsonLines(segment.json, p);
    lines[0] = p.dim(escapeText(segment.before)) + (lines[0] ?? '');
    lines[lines.length - 1] += p.dim(escapeText(segment.after));
    payload.push(...lines);
  }
  const [first = '', ...rest] = payload;
  // The lines after the first line up under the payload's column.
  const pad = ' '.repeat(stripAnsi(tagged).length + 1);
  return [joinParts([tagged, first, ...markers]), ...rest.map((line) => pad + line)].join('\n');
}

function jsonLines(text: string, p: Palette): string[] {
  return reindentJson(text).map((tokens) => tokens.map((token) => paintJsonToken({ kind: token.kind, text: escapeText(token.text) }, p)).join(''));
}

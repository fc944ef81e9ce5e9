/**
 * Counts what a wstape archive holds, per connection, so the bench can prove that recording
 * really happened during the measured runs (a proxy that skipped the archive would look fast).
 *
 * Archives from the throughput rows reach hundreds of MiB, so this streams the file and looks
 * only at the start and the end of each line (an entry line is `,{"kind":"frame","conn":...}`:
 * see src/format/archive-lines.ts) instead of JSON-parsing every payload.
 */
import { createReadStream } from 'node:fs';

const HEAD_BYTES = 400;
const TAIL_BYTES = 48;

const ENTRY = /^,?\{"kind":"(\w+)"(?:,"conn":"([^"]+)")?/;
const FRAME = /"dir":"(out|in)","type":"(\w+)".*?"size":(\d+)/;

/**
 * Scan an archive. Returns { lines, header, trailer, connections } where connections maps a
 * connection id to { out, in } counts: { data, close, other, bytes, sizes: Map<size, count>,
 * truncated } (data = text and binary frames).
 */
export async function scanArchive(file) {
  const connections = new Map();
  const result = { lines: 0, entries: 0, frames: 0, header: null, trailer: null, damaged: 0, connections };
  const conn = (id) => {
    let c = connections.get(id);
    if (!c) {
      // truncated: data frames whose payload the archive keeps only in part (--max-payload).
      const side = () => ({ data: 0, close: 0, other: 0, bytes: 0, truncated: 0, sizes: new Map() });
      c = { out: side(), in: side(), ended: false };
      connections.set(id, c);
    }
    return c;
  };

  const onLine = (head, tail, length) => {
    result.lines++;
    const text = head.toString('utf8');
    if (result.lines === 1) {
      result.header = text.slice(0, 200);
      return;
    }
    if (text.startsWith(']')) {
      // The trailer line is short: head holds all of it.
      try {
        result.trailer = JSON.parse('{' + text.slice(2));
      } catch {
        result.damaged++;
      }
      return;
    }
    const entry = ENTRY.exec(text);
    if (!entry) {
      if (text.trim() !== '') result.damaged++;
      return;
    }
    result.entries++;
    const [, kind, id] = entry;
    if (kind === 'end' && id) conn(id).ended = true;
    if (kind !== 'frame' || !id) return;
    result.frames++;
    const frame = FRAME.exec(text);
    if (!frame) {
      result.damaged++;
      return;
    }
    const side = conn(id)[frame[1]];
    const type = frame[2];
    const size = Number(frame[3]);
    if (type === 'text' || type === 'binary') {
      side.data++;
      side.bytes += size;
      side.sizes.set(size, (side.sizes.get(size) ?? 0) + 1);
      // The metadata is at the start of the line (a large payload is written last) or at its end.
      if (text.includes('"truncated":true') || tail.toString('latin1').includes('"truncated":true')) side.truncated++;
    } else if (type === 'close') side.close++;
    else side.other++;
    void length;
  };

  let head = [];
  let headBytes = 0;
  let tail = Buffer.alloc(0);
  let length = 0;
  const addPiece = (piece) => {
    if (headBytes < HEAD_BYTES) {
      const take = piece.subarray(0, HEAD_BYTES - headBytes);
      head.push(take);
      headBytes += take.length;
    }
    tail = piece.length >= TAIL_BYTES ? piece.subarray(piece.length - TAIL_BYTES) : Buffer.concat([tail, piece]).subarray(-TAIL_BYTES);
    length += piece.length;
  };

  for await (const chunk of createReadStream(file, { highWaterMark: 4 * 1024 * 1024 })) {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(0x0a, start);
      if (newline === -1) break;
      addPiece(chunk.subarray(start, newline));
      onLine(Buffer.concat(head, headBytes), Buffer.from(tail), length);
      head = [];
      headBytes = 0;
      tail = Buffer.alloc(0);
      length = 0;
      start = newline + 1;
    }
    // Copy: the stream may reuse nothing, but the tail must not pin a 4 MiB chunk.
    if (start < chunk.length) addPiece(Buffer.from(chunk.subarray(start)));
  }
  if (length > 0) result.damaged++; // a final line without "\n": the archive was cut
  return result;
}

/**
 * Check one connection of a scanned archive against what the client sent: `messages` data frames
 * each way (of `size` bytes, or `sizeOut` / `sizeIn` when the reply differs), plus the closing
 * handshake. Returns a list of problems (empty: ok).
 */
export function checkConnection(scan, id, { messages, size, sizeOut = size, sizeIn = size, truncatedOut = 0, truncatedIn = 0 }) {
  const c = scan.connections.get(id);
  if (!c) return [`connection ${id} is not in the archive`];
  const problems = [];
  for (const dir of ['out', 'in']) {
    const side = c[dir];
    if (side.data !== messages) problems.push(`${id} ${dir}: ${side.data} data frames recorded, expected ${messages}`);
    const expected = dir === 'out' ? sizeOut : sizeIn;
    if (expected !== undefined && (side.sizes.get(expected) ?? 0) !== messages) {
      problems.push(`${id} ${dir}: sizes recorded ${JSON.stringify([...side.sizes])}, expected ${messages} × ${expected}`);
    }
    if (side.close !== 1) problems.push(`${id} ${dir}: ${side.close} close frames, expected 1`);
  }
  if (c.out.truncated !== truncatedOut) problems.push(`${id} out: ${c.out.truncated} truncated frames, expected ${truncatedOut}`);
  if (c.in.truncated !== truncatedIn) problems.push(`${id} in: ${c.in.truncated} truncated frames, expected ${truncatedIn}`);
  if (!c.ended) problems.push(`${id}: no end entry`);
  return problems;
}

/**
 * How often each of `needles` (ASCII strings) occurs in a file, streamed: { needle: count }. An
 * archive's `"action":"modified"` sits between a frame's payload and what was forwarded, where
 * scanArchive does not look; inside a payload the quotes are escaped, so a payload cannot match.
 */
export async function countInFile(file, needles) {
  const counts = Object.fromEntries(needles.map((needle) => [needle, 0]));
  const patterns = needles.map((needle) => Buffer.from(needle, 'latin1'));
  const keep = Math.max(...patterns.map((p) => p.length)) - 1;
  let carry = Buffer.alloc(0);
  for await (const chunk of createReadStream(file, { highWaterMark: 4 * 1024 * 1024 })) {
    const buffer = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
    patterns.forEach((pattern, i) => {
      // A match wholly inside the carried tail was counted with the previous chunk.
      let at = buffer.indexOf(pattern, Math.max(0, carry.length - pattern.length + 1));
      while (at !== -1) {
        counts[needles[i]]++;
        at = buffer.indexOf(pattern, at + pattern.length);
      }
    });
    carry = Buffer.from(buffer.subarray(Math.max(0, buffer.length - keep)));
  }
  return counts;
}

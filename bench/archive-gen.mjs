/**
 * A large, realistic wstape archive for the `show` vs `jq` rows, written with wstape's own
 * ArchiveWriter (dist/format/archive-writer.js), so the file is byte for byte what a recording
 * would hold: 8 WebSocket connections interleaved in time, both directions, JSON text frames of
 * varied sizes (40 B to 64 KiB: ticks, updates with item lists, chat lines with escapes and
 * non-ASCII text, batches, acks, a few errors, some nested inside batches), binary frames
 * (base64 in the archive), pings and pongs, then each connection's close handshake and end entry.
 *
 * The content is deterministic (a seeded PRNG), so every run reads the same bytes. The archive is
 * generated once into os.tmpdir() under a name that carries the generator's version and size, and
 * reused by later runs; it is written to a temporary name and renamed when complete, so an
 * interrupted generation is never reused. A `.meta.json` next to it holds what the generator
 * wrote, including how many frames the bench's filter must select.
 */
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ROOT } from './processes.mjs';

/** Bump when the content changes: older cached archives are then ignored (and replaced). */
const GENERATOR_VERSION = 1;
const MiB = 1024 * 1024;
const CONNECTIONS = 8;

/** The filter both tools apply: server-to-client text frames whose text contains "type":"error". */
export const SHOW_FILTER = { dir: 'in', type: 'text', needle: '"type":"error"' };

/** Deterministic PRNG (mulberry32). */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = [
  'alpha',
  'bravo',
  'delta',
  'order',
  'price',
  'latency',
  'ok',
  'queue',
  'user',
  'room',
  'ticket',
  'stream',
  'café',
  'naïve',
  'Grüße',
  '東京',
  '🙂',
  'retry',
];

/** Pools of payload tails, so a frame costs a lookup and a short unique prefix, not a JSON build. */
function makePools(random) {
  const pick = (list) => list[Math.floor(random() * list.length)];
  const sentence = (n) => Array.from({ length: n }, () => pick(WORDS)).join(' ');
  const item = (i) => ({
    id: `it-${i}-${Math.floor(random() * 1e6)}`,
    name: sentence(2),
    price: Math.round(random() * 1e5) / 100,
    qty: Math.floor(random() * 50),
    tags: [pick(WORDS), pick(WORDS)],
  });
  // JSON bodies without their opening `{"type":"...","seq":N,` (added per frame).
  const bodyOf = (target) => {
    const fields = { ts: 1764066600000 + Math.floor(random() * 1e7), room: `r${Math.floor(random() * 40)}` };
    const items = [];
    let json = JSON.stringify({ ...fields, items });
    for (let i = 0; json.length < target; i++) {
      items.push(item(i));
      if (items.length % 8 === 0 || json.length + 120 >= target) json = JSON.stringify({ ...fields, items });
    }
    return JSON.stringify({ ...fields, items }).slice(1);
  };
  const sizes = () => {
    const r = random();
    if (r < 0.6) return 40 + Math.floor(random() * 360); // 40-400 B
    if (r < 0.9) return 400 + Math.floor(random() * 3700); // 0.4-4 KiB
    if (r < 0.99) return 4096 + Math.floor(random() * 12288); // 4-16 KiB
    return 65536; // 64 KiB
  };
  const updates = Array.from({ length: 400 }, () => bodyOf(sizes()));
  const chats = Array.from({ length: 200 }, () =>
    JSON.stringify({
      user: `u${Math.floor(random() * 900)}`,
      // Quotes, backslashes, newlines and non-ASCII: what makes JSON escaping work.
      text: `${sentence(4 + Math.floor(random() * 30))} "quoted" C:\\path\\file\n${sentence(3)}`,
    }).slice(1),
  );
  const errors = Array.from({ length: 50 }, () =>
    JSON.stringify({
      code: pick([400, 401, 403, 404, 409, 429, 500, 503]),
      message: `${sentence(3 + Math.floor(random() * 12))}`,
      retryAfter: Math.floor(random() * 30),
    }).slice(1),
  );
  const binaries = Array.from({ length: 200 }, (_, i) => {
    const size = i % 50 === 0 ? 32768 : 16 + Math.floor(random() * (random() < 0.8 ? 1024 : 4096));
    const bytes = Buffer.alloc(size);
    for (let j = 0; j < size; j++) bytes[j] = Math.floor(random() * 256);
    return { size, data: bytes.toString('base64') };
  });
  return { updates, chats, errors, binaries, pick };
}

function fileFor(bytes) {
  return path.join(os.tmpdir(), `wstape-bench-show-v${GENERATOR_VERSION}-${Math.round(bytes / MiB)}MiB.wstape.json`);
}

/**
 * The archive of about `bytes` bytes: reused when a complete one is cached, else generated
 * (within `maxSeconds`: past that, generation stops and the smaller archive is used, and its
 * meta says so). Returns { file, meta, generatedSeconds } (generatedSeconds null when reused).
 */
export async function ensureShowArchive(bytes, { maxSeconds = 180, log = () => {} } = {}) {
  const file = fileFor(bytes);
  const metaFile = `${file}.meta.json`;
  if (existsSync(file) && existsSync(metaFile)) {
    try {
      const meta = JSON.parse(readFileSync(metaFile, 'utf8'));
      if (meta.generatorVersion === GENERATOR_VERSION && meta.fileBytes === statSync(file).size) return { file, meta, generatedSeconds: null };
    } catch {
      // a damaged meta file: generate again
    }
  }
  log(`  generating a ${(bytes / MiB).toFixed(0)} MiB archive for the show rows (once; cached as ${file})`);
  const started = performance.now();
  const tmp = `${file}.${process.pid}.partial`;
  rmSync(tmp, { force: true });
  let meta;
  try {
    meta = await generate(tmp, bytes, started + maxSeconds * 1000);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
  renameSync(tmp, file);
  meta.fileBytes = statSync(file).size;
  writeFileSync(metaFile, JSON.stringify(meta, null, 2));
  const seconds = (performance.now() - started) / 1000;
  log(`  generated ${(meta.fileBytes / MiB).toFixed(0)} MiB (${meta.frames.toLocaleString('en-US')} frames) in ${seconds.toFixed(1)} s`);
  return { file, meta, generatedSeconds: seconds };
}

async function generate(file, targetBytes, deadline) {
  const { ArchiveWriter } = await import(path.join(ROOT, 'dist/format/archive-writer.js'));
  const random = prng(0x5eed + GENERATOR_VERSION);
  const { updates, chats, errors, binaries, pick } = makePools(random);
  const start = Date.parse('2026-11-25T10:30:00.000Z');
  const header = {
    format: 'wstape',
    version: 1,
    creator: { name: 'wstape', version: 'bench-generator' },
    startedAt: new Date(start).toISOString(),
    recorder: { mode: 'reverse', listen: '127.0.0.1:9001', target: 'ws://127.0.0.1:9000', maxPayload: 16 * MiB },
  };
  const writer = ArchiveWriter.open(file, header, { overwrite: true });
  let elapsed = 0;
  const stamp = () => ({ time: new Date(start + Math.floor(elapsed * 1000)).toISOString(), elapsed: Math.round(elapsed * 1e6) / 1e6 });
  const hex8 = () =>
    Math.floor(random() * 0xffffffff)
      .toString(16)
      .padStart(8, '0');
  const conns = Array.from({ length: CONNECTIONS }, (_, i) => ({ id: `c${i + 1}`, index: 0, bytesOut: 0, bytesIn: 0, port: 52100 + i }));
  const counts = { entries: 0, frames: 0, text: 0, binary: 0, control: 0, matches: 0, errorFramesOut: 0 };
  const append = (entry) => {
    writer.append(entry);
    counts.entries++;
  };
  for (const c of conns) {
    elapsed += 0.002;
    append({
      kind: 'connection',
      id: c.id,
      ...stamp(),
      url: `ws://127.0.0.1:9000/feed/${c.id}`,
      mode: 'reverse',
      client: { address: '127.0.0.1', port: c.port },
      server: { host: '127.0.0.1', port: 9000 },
      request: {
        method: 'GET',
        target: `/feed/${c.id}`,
        httpVersion: '1.1',
        headers: [
          ['Host', '127.0.0.1:9000'],
          ['Upgrade', 'websocket'],
          ['Connection', 'Upgrade'],
          ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
          ['Sec-WebSocket-Version', '13'],
        ],
      },
      response: {
        status: 101,
        statusText: 'Switching Protocols',
        httpVersion: '1.1',
        headers: [
          ['Upgrade', 'websocket'],
          ['Connection', 'Upgrade'],
          ['Sec-WebSocket-Accept', 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='],
        ],
      },
      subprotocol: null,
      extensions: null,
      permessageDeflate: null,
    });
  }
  const frame = (c, dir, type, opcode, size, payload) => {
    const masked = dir === 'out';
    const wireSize = size + (size < 126 ? 2 : size < 65536 ? 4 : 10) + (masked ? 4 : 0);
    if (dir === 'out') c.bytesOut += wireSize;
    else c.bytesIn += wireSize;
    append({
      kind: 'frame',
      conn: c.id,
      index: c.index++,
      ...stamp(),
      dir,
      type,
      opcode,
      fin: true,
      rsv1: false,
      rsv2: false,
      rsv3: false,
      masked,
      ...(masked ? { mask: hex8() } : {}),
      size,
      wireSize,
      ...payload,
    });
    counts.frames++;
  };
  let seq = 0;
  for (let step = 0; ; step++) {
    if (step % 2000 === 0) {
      // Let the writer's scheduled flush run, and keep generation bounded in size and time.
      await new Promise((resolve) => setImmediate(resolve));
      if (writer.error) throw writer.error;
      if (writer.bytesWritten >= targetBytes) break;
      if (performance.now() > deadline) {
        counts.stoppedEarly = true;
        break;
      }
    }
    elapsed += random() * 0.004;
    const c = conns[Math.floor(random() * random() * CONNECTIONS)]; // a few busy connections, some quiet
    const dir = random() < 0.45 ? 'out' : 'in';
    const r = random();
    if (r < 0.72) {
      let text;
      const t = random();
      seq++;
      if (t < 0.012) text = `{"type":"error","seq":${seq},${pick(errors)}`;
      else if (t < 0.02) text = `{"type":"batch","seq":${seq},"events":[{"type":"error",${pick(errors)},{"type":"tick","n":${seq}}]}`;
      else if (t < 0.35) text = `{"type":"tick","seq":${seq},"price":${(random() * 1000).toFixed(2)}}`;
      else if (t < 0.5) text = `{"type":"ack","seq":${seq},"ok":true}`;
      else if (t < 0.7) text = `{"type":"chat","seq":${seq},${pick(chats)}`;
      else text = `{"type":"update","seq":${seq},${pick(updates)}`;
      const size = Buffer.byteLength(text);
      frame(c, dir, 'text', 1, size, { text });
      counts.text++;
      if (text.includes(SHOW_FILTER.needle)) {
        if (dir === SHOW_FILTER.dir) counts.matches++;
        else counts.errorFramesOut++;
      }
    } else if (r < 0.92) {
      const b = pick(binaries);
      frame(c, dir, 'binary', 2, b.size, { data: b.data });
      counts.binary++;
    } else {
      const payload = Buffer.from(`hb-${seq}`);
      const ping = random() < 0.5;
      frame(c, ping ? dir : dir === 'out' ? 'in' : 'out', ping ? 'ping' : 'pong', ping ? 9 : 10, payload.length, { data: payload.toString('base64') });
      counts.control++;
    }
  }
  let bytes = 0;
  for (const c of conns) {
    elapsed += 0.001;
    const reason = Buffer.from('bye');
    frame(c, 'out', 'close', 8, 5, { code: 1000, reason: reason.toString() });
    elapsed += 0.0005;
    frame(c, 'in', 'close', 8, 5, { code: 1000, reason: reason.toString() });
    append({
      kind: 'end',
      conn: c.id,
      ...stamp(),
      closeCode: 1000,
      closeReason: 'bye',
      closedBy: 'client',
      droppedBy: 'server',
      clean: true,
      bytesOut: c.bytesOut,
      bytesIn: c.bytesIn,
    });
    bytes += c.bytesOut + c.bytesIn;
  }
  writer.close({ stoppedAt: stamp().time, summary: { connections: CONNECTIONS, exchanges: 0, tunnels: 0, frames: counts.frames, bytes, errors: 0 } });
  if (writer.error) throw writer.error;
  return { generatorVersion: GENERATOR_VERSION, targetBytes, connections: CONNECTIONS, ...counts };
}

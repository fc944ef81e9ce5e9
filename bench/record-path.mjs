#!/usr/bin/env node
/**
 * The recording path alone, in one process, without sockets: the CPU time wstape spends per
 * echoed message (a masked client frame and the server's answer) between reading a chunk and
 * forwarding it: parsing, observing, the archive entry, its JSON line and the write(2) to a real
 * archive file, as WebSocketRelayCore and the Recorder do it in `wstape record`. The socket
 * reads and writes that every proxy pays (the tcp-pipe row's whole cost) are not in it.
 *
 * CPU time (process.cpuUsage) is less disturbed by other work on a shared machine than a rate
 * is; still, compare builds in alternation (--rounds) and note the load.
 *
 *   npm run build && node bench/record-path.mjs                    1 KiB and 64 KiB, text and binary
 *   node bench/record-path.mjs --root /other/checkout --rounds 3   A/B against another build's dist/
 *   node bench/record-path.mjs --deflate       permessage-deflate negotiated, every message
 *                                              compressed (context takeover: the inflater keeps
 *                                              its 32 KiB window)
 */
import { rmSync } from 'node:fs';
import zlib from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: flags } = parseArgs({
  options: {
    root: { type: 'string', multiple: true },
    rounds: { type: 'string', default: '1' },
    sizes: { type: 'string', default: '1024,65536' },
    types: { type: 'string', default: 'text,binary' },
    deflate: { type: 'boolean', default: false },
  },
});
const roots = flags.root ?? [path.resolve(here, '..')];
const rounds = Number(flags.rounds);
if (!(Number.isInteger(rounds) && rounds >= 1 && rounds <= 20)) throw new Error('--rounds must be 1..20');

/** The bench's payload: JSON-like ASCII text, or bytes that are not UTF-8. */
function payloadOf(size, type) {
  if (type === 'binary') return Buffer.from(Array.from({ length: size }, (_, i) => (i * 131 + 7) & 0xff));
  const head = '{"type":"tick","seq":12345,"data":"';
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ';
  let body = '';
  for (let i = 0; body.length < size - head.length - 2; i++) body += alphabet[(i * 7) % alphabet.length];
  return Buffer.from(head + body + '"}');
}

async function measure(root, size, type) {
  const { Recorder } = await import(path.join(root, 'dist/record/recorder.js'));
  const { WebSocketRelayCore } = await import(path.join(root, 'dist/record/websocket-relay-core.js'));
  const { encodeFrame } = await import(path.join(root, 'dist/wire/frame-encoder.js'));
  const payload = payloadOf(size, type);
  const opcode = type === 'binary' ? 2 : 1;
  // With --deflate each message is compressed on its own (RFC 7692 §7.2.1: a sync flush, the
  // 00 00 ff ff removed): it refers to nothing before it, so sending it again stays valid.
  const wire = flags.deflate ? zlib.deflateRawSync(payload, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4) : payload;
  const clientFrame = Buffer.from(encodeFrame({ opcode, payload: wire, mask: true, rsv1: flags.deflate }));
  const serverFrame = Buffer.from(encodeFrame({ opcode, payload: wire, rsv1: flags.deflate }));
  const file = path.join(os.tmpdir(), `wstape-record-path-${process.pid}.wstape.json`);
  rmSync(file, { force: true });
  const recorder = new Recorder({ path: file, maxPayload: 16 * 1024 * 1024, recorderInfo: { mode: 'reverse', listen: '127.0.0.1:0' } });
  const deflate = flags.deflate ? { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 } : null;
  const core = new WebSocketRelayCore({ recorder, id: 'c1', deflate });
  // As websocket-relay.ts performs the actions (the hints exist from issue 13 on; older builds ignore them).
  const perform = (actions) => {
    for (const action of actions) {
      if (action.type !== 'record') continue;
      recorder.append(action.entry, { ascii: action.ascii === true, flushing: action.flush, ...(action.textBytes ? { textBytes: action.textBytes } : {}) });
      if (action.flush) recorder.flush();
    }
  };
  // A fresh chunk per read, as a socket gives.
  const run = (n) => {
    for (let i = 0; i < n; i++) {
      perform(core.handle({ type: 'bytes', side: 'client', bytes: Buffer.from(clientFrame) }));
      perform(core.handle({ type: 'bytes', side: 'server', bytes: Buffer.from(serverFrame) }));
    }
  };
  const count = size >= 16 * 1024 ? 2_000 : 30_000;
  run(Math.ceil(count / 10));
  const before = process.cpuUsage();
  run(count);
  const cpu = process.cpuUsage(before);
  recorder.close();
  rmSync(file, { force: true });
  return { user: cpu.user / count, system: cpu.system / count };
}

console.log(
  `load average ${os
    .loadavg()
    .map((n) => n.toFixed(2))
    .join(' ')}; ${os.availableParallelism()} CPUs; Node ${process.version}`,
);
console.log(`CPU µs per round trip (user + system), in-process recording path${flags.deflate ? ', permessage-deflate' : ''}`);
for (const size of flags.sizes.split(',').map(Number)) {
  for (const type of flags.types.split(',')) {
    for (let round = 0; round < rounds; round++) {
      for (const root of roots) {
        const { user, system } = await measure(root, size, type);
        console.log(
          `${String(size).padStart(6)} B ${type.padEnd(6)} ${(user + system).toFixed(1).padStart(7)} (user ${user.toFixed(1)}, system ${system.toFixed(1)})  ${root}`,
        );
      }
    }
  }
}

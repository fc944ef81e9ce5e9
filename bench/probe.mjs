#!/usr/bin/env node
/**
 * One proxy at a time, longer than the bench's interleaved rows: for questions the bench raises
 * (does a change hold in steady state, once the JIT is warm? how does the tail look without a
 * throughput run before it?). Runs 1 KiB (--size) text messages through one configuration on
 * one connection:
 *
 *   node bench/probe.mjs throughput --via wstape        4 runs of 30,000 messages (window 64): msg/s
 *                                                       and the proxy's CPU µs per round trip each
 *   node bench/probe.mjs latency --via tcp-pipe         3 runs of 3,000 round trips (300 warm-up): p50,
 *                                                       p99 (--after-burst: a throughput run first)
 *   --tls                                               wss://: the recorder intercepts (CONNECT, its CA),
 *                                                       --via tls-pipe is the TLS floor
 *   --root DIR                                          a build of wstape other than this checkout's
 *   --profile                                           CPU-profile the recorder and print the top self
 *                                                       time (bench/profile.mjs)
 *
 * --via: wstape, tcp-pipe (ws:// only), tls-pipe (--tls only). The figures move with the
 * machine's load: compare builds by alternating runs.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { close, connect, latency, throughput } from './client.mjs';
import { formatTop, topSelfTime } from './profile.mjs';
import { cpuMsOf, ROOT, startServer, startWstape } from './processes.mjs';
import { connectWss, forwardArgs, setupTls } from './tls.mjs';

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    via: { type: 'string', default: 'wstape' },
    size: { type: 'string', default: '1024' },
    tls: { type: 'boolean', default: false },
    'after-burst': { type: 'boolean', default: false },
    root: { type: 'string' },
    profile: { type: 'boolean', default: false },
  },
});
const [what] = positionals;
if (what !== 'throughput' && what !== 'latency') throw new Error('probe.mjs: throughput or latency');
const size = Number(flags.size);
const vias = flags.tls ? ['wstape', 'tls-pipe'] : ['wstape', 'tcp-pipe'];
if (!vias.includes(flags.via)) throw new Error(`--via: one of ${vias.join(', ')}`);

const dir = mkdtempSync(path.join(os.tmpdir(), 'wstape-probe-'));
const cpuProfDir = flags.profile && flags.via === 'wstape' ? path.join(dir, 'cpu-prof') : undefined;
const started = [];
let open;
let proxy;
if (flags.tls) {
  const setup = await setupTls(dir, []);
  const site = await startServer('wss-echo', setup.certsFile);
  started.push(site);
  proxy =
    flags.via === 'wstape'
      ? await startWstape({ out: path.join(dir, 'probe.wstape.json'), extraArgs: forwardArgs(setup), root: flags.root, cpuProfDir })
      : await startServer('tls-pipe', setup.certsFile, setup.upstreamCaFile);
  const ca = flags.via === 'wstape' ? setup.recorderCaPem : setup.upstreamCaPem;
  open = () => connectWss({ wssPort: site.port, proxyPort: proxy.port, ca });
} else {
  const echo = await startServer('echo');
  started.push(echo);
  proxy =
    flags.via === 'wstape'
      ? await startWstape({ targetPort: echo.port, out: path.join(dir, 'probe.wstape.json'), root: flags.root, cpuProfDir })
      : await startServer('tcp-pipe', echo.port);
  open = () => connect(`ws://127.0.0.1:${proxy.port}/probe`);
}
started.push(proxy);

const payload = JSON.stringify({ type: 'tick', seq: 1, data: 'x'.repeat(size) }).slice(0, size);
const label = `${flags.tls ? 'wss' : 'ws'} ${flags.via} ${size} B`;
try {
  if (what === 'throughput') {
    for (let run = 1; run <= 4; run++) {
      const ws = await open();
      const before = cpuMsOf(proxy.pid);
      const t = await throughput(ws, payload, { binary: false, window: 64, count: size > 10_000 ? 3_000 : 30_000, maxMs: 20_000 });
      const cpu = ((cpuMsOf(proxy.pid) - before) * 1000) / t.messages;
      await close(ws);
      console.log(`${label} run ${run}: ${Math.round(t.msgPerSec).toLocaleString('en-US')} msg/s, ${cpu.toFixed(1)} CPU µs per round trip`);
    }
  } else {
    const ws = await open();
    if (flags['after-burst']) await throughput(ws, payload, { binary: false, window: 64, count: 20_000, maxMs: 20_000 });
    for (let run = 1; run <= 3; run++) {
      const l = await latency(ws, payload, { binary: false, count: 3_000, warmup: 300, maxMs: 30_000 });
      console.log(`${label} run ${run}: p50 ${l.p50.toFixed(0)} µs, p99 ${l.p99.toFixed(0)} µs`);
    }
    await close(ws);
  }
} finally {
  for (const child of started.reverse()) await child.stop();
  if (cpuProfDir) {
    const file = readdirSync(cpuProfDir).find((name) => name.endsWith('.cpuprofile'));
    if (file) {
      const { totalMs, top } = topSelfTime(path.join(cpuProfDir, file), 15, ROOT);
      console.log(`recorder CPU profile, ${(totalMs / 1000).toFixed(2)} s sampled:\n${formatTop(top)}`);
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

/**
 * The measuring client: a `ws` WebSocket that talks to the echo server, directly or through a
 * proxy. Every measurement is bounded in message count and in time, and fails (rejects) after a
 * hard timeout instead of hanging.
 */
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';

const MiB = 1024 * 1024;

function withTimeout(ms, what, run) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no result after ${ms} ms`)), ms);
    run(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * Open a connection without permessage-deflate (so every proxy relays the same bytes). `options`
 * go to the WebSocket as well (wss://: ca, servername, an agent that tunnels through CONNECT).
 */
export function connect(url, timeoutMs = 10_000, options = {}) {
  return withTimeout(timeoutMs, `connect ${url}`, (resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1024 * MiB, ...options });
    ws.binaryType = 'nodebuffer';
    ws.once('open', () => {
      ws.removeListener('error', reject);
      ws.on('error', () => {});
      resolve(ws);
    });
    ws.once('error', reject);
  });
}

/** Close cleanly (both close frames pass the proxy, so the archive records them) and wait. */
export function close(ws, timeoutMs = 5_000) {
  return withTimeout(timeoutMs, 'close', (resolve) => {
    if (ws.readyState === WebSocket.CLOSED) return resolve();
    ws.once('close', () => resolve());
    ws.close(1000, 'bench done');
  }).catch((error) => {
    ws.terminate();
    throw error;
  });
}

/**
 * Send up to `count` messages, at most `window` unanswered at a time, for at most `maxMs`; wait
 * for every echo. Resolves with { messages, seconds } (messages = echoes received).
 */
function pump(ws, payload, { binary, count, maxMs, window }) {
  const hardMs = maxMs + 30_000;
  return withTimeout(hardMs, 'throughput', (resolve, reject) => {
    let sent = 0;
    let received = 0;
    let stopSending = false;
    const start = performance.now();
    const deadline = start + maxMs;
    const send = () => {
      sent++;
      ws.send(payload, { binary });
    };
    const onMessage = (data) => {
      received++;
      if (data.length !== payload.length) {
        finish(new Error(`echo of ${data.length} bytes, sent ${payload.length}`));
        return;
      }
      if (!stopSending && (sent >= count || performance.now() >= deadline)) stopSending = true;
      if (!stopSending) send();
      else if (received === sent) finish(null);
    };
    const onClose = () => finish(new Error(`connection closed after ${received} of ${sent} echoes`));
    const finish = (error) => {
      const seconds = (performance.now() - start) / 1000;
      ws.off('message', onMessage);
      ws.off('close', onClose);
      if (error) reject(error);
      else resolve({ messages: received, seconds });
    };
    ws.on('message', onMessage);
    ws.once('close', onClose);
    const first = Math.min(window, count);
    for (let i = 0; i < first; i++) send();
  });
}

/**
 * Throughput: `warmup` messages first (not timed), then the timed run. Sizes count the payload
 * one way (client → server); the same bytes come back.
 */
export async function throughput(ws, payload, { binary, count, maxMs, window = 64, warmup = 0 }) {
  if (warmup > 0) await pump(ws, payload, { binary, count: warmup, maxMs: 10_000, window });
  const { messages, seconds } = await pump(ws, payload, { binary, count, maxMs, window });
  return {
    messages,
    seconds,
    sentTotal: warmup + messages,
    msgPerSec: messages / seconds,
    mibPerSec: (messages * payload.length) / MiB / seconds,
  };
}

/**
 * Round-trip latency: one message at a time, the next sent when the echo arrives. The first
 * `warmup` round trips are not counted. Resolves with percentiles in microseconds.
 */
export function latency(ws, payload, { binary, count, warmup, maxMs }) {
  const total = warmup + count;
  const samples = new Float64Array(count);
  return withTimeout(maxMs + 30_000, 'latency', (resolve, reject) => {
    let done = 0;
    let sentAt = 0;
    const deadline = performance.now() + maxMs;
    const send = () => {
      sentAt = performance.now();
      ws.send(payload, { binary });
    };
    const onMessage = (data) => {
      const now = performance.now();
      if (data.length !== payload.length) {
        finish(new Error(`echo of ${data.length} bytes, sent ${payload.length}`));
        return;
      }
      if (done >= warmup) samples[done - warmup] = (now - sentAt) * 1000;
      done++;
      if (done < total && now < deadline) send();
      else finish(null);
    };
    const onClose = () => finish(new Error(`connection closed after ${done} round trips`));
    const finish = (error) => {
      ws.off('message', onMessage);
      ws.off('close', onClose);
      if (error) return reject(error);
      const measured = samples.subarray(0, Math.max(0, done - warmup)).sort();
      resolve({
        roundTrips: measured.length,
        sentTotal: done,
        p50: percentile(measured, 0.5),
        p99: percentile(measured, 0.99),
        mean: measured.reduce((a, b) => a + b, 0) / measured.length,
      });
    };
    ws.on('message', onMessage);
    ws.once('close', onClose);
    send();
  });
}

/** Nearest-rank percentile of sorted samples. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

/** Send one (large) message and wait for the echo server's answer: its length, as text. */
export function sendLarge(ws, payload, timeoutMs = 120_000) {
  return withTimeout(timeoutMs, 'large message', (resolve, reject) => {
    const start = performance.now();
    ws.once('message', (data) => {
      const answer = data.toString();
      if (answer === String(payload.length)) resolve({ seconds: (performance.now() - start) / 1000 });
      else reject(new Error(`the echo server answered "${answer.slice(0, 40)}", expected ${payload.length}`));
    });
    ws.once('close', () => reject(new Error('connection closed before the answer')));
    ws.send(payload, { binary: true });
  });
}

/**
 * Send `payloads` in order, at most `window` unanswered at a time (1: lockstep, each sent when the
 * previous echo arrived), within `maxMs`. Every reply must equal the message it answers. Resolves
 * with { messages, seconds } from the first send to the last reply.
 */
export function playMessages(ws, payloads, { window = 1, maxMs = 60_000 } = {}) {
  return withTimeout(maxMs, `${payloads.length} messages`, (resolve, reject) => {
    let sent = 0;
    let received = 0;
    const start = performance.now();
    const send = () => ws.send(payloads[sent++], { binary: false });
    const onMessage = (data) => {
      const expected = payloads[received++];
      if (!expected.equals(data))
        return finish(new Error(`reply ${received} differs from message ${received} (${data.length} bytes, sent ${expected.length})`));
      if (sent < payloads.length) send();
      else if (received === payloads.length) finish(null);
    };
    const onClose = () => finish(new Error(`connection closed after ${received} of ${payloads.length} replies`));
    const finish = (error) => {
      ws.off('message', onMessage);
      ws.off('close', onClose);
      if (error) reject(error);
      else resolve({ messages: received, seconds: (performance.now() - start) / 1000 });
    };
    ws.on('message', onMessage);
    ws.once('close', onClose);
    for (let i = 0; i < Math.min(window, payloads.length); i++) send();
  });
}

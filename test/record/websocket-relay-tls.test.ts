/**
 * WebSocketRelay over TLS sockets: the records a TLS socket hands over in one event-loop turn
 * (one 'data' event each) go to the core as one chunk, so they cost one archive write and one
 * forward, not one per record (issue 13). Real TLS connections on loopback; the relay's client
 * side is fed 'data' events as a TLS socket emits them for a burst of records.
 */
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import type { FrameEntry } from '../../src/format/schema.js';
import { Recorder } from '../../src/record/recorder.js';
import { WebSocketRelay } from '../../src/record/websocket-relay.js';
import { encodeFrame } from '../../src/wire/frame-encoder.js';
import { readEntries, tempDir, waitFor } from '../helpers/peers.js';
import { interceptionCasBeforeAll, localhostCertificate } from '../helpers/tls-site.js';

const cas = interceptionCasBeforeAll();
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Both ends of a TLS connection on 127.0.0.1: [the server's socket, the client's]. */
async function tlsPair(): Promise<[tls.TLSSocket, tls.TLSSocket]> {
  const accepted = new Promise<tls.TLSSocket>((resolve) => {
    const server = tls.createServer(localhostCertificate(cas.site), (socket) => {
      server.close();
      resolve(socket);
    });
    server.listen(0, '127.0.0.1', () => {
      const client = tls.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1', servername: 'localhost', ca: [cas.site.certPem] });
      clientSide = client;
    });
  });
  let clientSide: tls.TLSSocket | undefined;
  const server = await accepted;
  await waitFor(() => clientSide !== undefined && !clientSide.connecting && clientSide.encrypted && clientSide.authorized, 5000, 'the TLS handshake');
  cleanups.push(() => {
    server.destroy();
    clientSide!.destroy();
  });
  return [server, clientSide!];
}

/**
 * A WebSocketRelay between two TLS connections (client -> [relayClient] ... [relayUpstream] ->
 * site), recording to a fresh archive.
 */
async function relayOverTls() {
  const [relayClient] = await tlsPair();
  const [site, relayUpstream] = await tlsPair();
  const path = join(tempDir(), 'tls.wstape.json');
  const recorder = new Recorder({ path, maxPayload: 1 << 20, recorderInfo: { mode: 'reverse', listen: '127.0.0.1:0', maxPayload: 1 << 20 } });
  const relay = new WebSocketRelay({
    recorder,
    id: 'c1',
    client: relayClient,
    upstream: relayUpstream,
    deflate: null,
    clientBytes: new Uint8Array(0),
    serverBytes: new Uint8Array(0),
  });
  cleanups.push(() => relay.shutdown());
  return { relayClient, relayUpstream, site, recorder, path };
}

describe('WebSocketRelay with TLS sockets', () => {
  it('a burst of records in one turn: one forward of all their bytes, every frame recorded in order', async () => {
    const { relayClient, relayUpstream, site, recorder, path } = await relayOverTls();

    const writes: number[] = [];
    const write = relayUpstream.write.bind(relayUpstream);
    relayUpstream.write = (chunk: Uint8Array): boolean => {
      writes.push(chunk.length);
      return write(chunk);
    };
    let arrived = Buffer.alloc(0);
    site.on('data', (data: Buffer) => (arrived = Buffer.concat([arrived, data])));

    const frames = Array.from({ length: 5 }, (_, i) => Buffer.from(encodeFrame({ opcode: 1, payload: Buffer.from(`message ${i}`), mask: true })));
    // As the TLS socket emits them: one 'data' event per record, all in the same turn.
    for (const frame of frames) relayClient.emit('data', frame);
    expect(writes).toEqual([]);
    const all = Buffer.concat(frames);
    await waitFor(() => arrived.length >= all.length, 5000, 'the frames at the site');
    expect(writes).toEqual([all.length]);
    expect(arrived.equals(all)).toBe(true);

    // A record alone is forwarded alone, at the end of its turn.
    relayClient.emit('data', frames[0]!);
    await waitFor(() => writes.length === 2, 5000, 'the second forward');
    expect(writes[1]).toBe(frames[0]!.length);

    recorder.close();
    const texts = (await readEntries(path)).filter((entry): entry is FrameEntry => entry.kind === 'frame').map((entry) => entry.text);
    expect(texts).toEqual(['message 0', 'message 1', 'message 2', 'message 3', 'message 4', 'message 0']);
  });

  it('an end right after a burst: the held records are recorded and forwarded first', async () => {
    const { relayClient, site, recorder, path } = await relayOverTls();
    let arrived = Buffer.alloc(0);
    site.on('data', (data: Buffer) => (arrived = Buffer.concat([arrived, data])));
    const ended = new Promise<void>((resolve) => site.once('end', resolve));

    const frame = Buffer.from(encodeFrame({ opcode: 1, payload: Buffer.from('last words'), mask: true }));
    relayClient.emit('data', frame);
    relayClient.emit('end');
    await ended;
    expect(arrived.equals(frame)).toBe(true);
    recorder.close();
    const texts = (await readEntries(path)).filter((entry): entry is FrameEntry => entry.kind === 'frame').map((entry) => entry.text);
    expect(texts).toEqual(['last words']);
  });
});

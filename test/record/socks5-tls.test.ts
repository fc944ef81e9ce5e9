/**
 * TLS inside a SOCKS5 tunnel is intercepted exactly as inside a CONNECT tunnel: a `ws` client
 * does the SOCKS5 handshake on a raw socket, then TLS over it trusting only the recorder's root
 * CA, then wss:// to an upstream whose certificate comes from another CA (trusted by the recorder
 * through --upstream-ca). The archive holds the wss:// connection and its frames in clear.
 */
import net from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { ConnectionEntry, FrameEntry } from '../../src/format/schema.js';
import { countEntries, readEntries, startRecorder, waitFor } from '../helpers/peers.js';
import { interceptionCas, startWssEcho } from '../helpers/tls-site.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A SOCKS5 CONNECT to host:port through the proxy; resolves with the socket once it is answered 0x00. */
function socksConnect(proxyPort: number, host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(proxyPort, '127.0.0.1');
    const name = Buffer.from(host);
    socket.write(Buffer.concat([Buffer.from([0x05, 0x01, 0x00, 0x05, 0x01, 0x00, 0x03, name.length]), name, Buffer.from([port >> 8, port & 0xff])]));
    let got = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      got = Buffer.concat([got, chunk]);
      if (got.length < 12) return;
      socket.removeListener('data', onData);
      socket.pause();
      if (got[1] !== 0x00 || got[3] !== 0x00) reject(new Error(`SOCKS5 refused: ${got.toString('hex')}`));
      else resolve(socket);
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

describe('SOCKS5 and TLS interception', () => {
  it('records a wss:// conversation in clear', async () => {
    const { site: upstreamCa, recorderDir: recorderCaDir, recorder: recorderCa } = await interceptionCas();
    const site = await startWssEcho(upstreamCa);
    cleanups.push(site.close);
    const port = site.port;
    const session = await startRecorder({ caDir: recorderCaDir, upstreamCa: [upstreamCa.paths.cert] });
    cleanups.push(() => session.stop());
    const ends = countEntries(session, 'end');

    // The SOCKS5 reply for a 127.0.0.1 upstream is 10 bytes; two more are the method selection.
    const raw = await socksConnect(session.port, 'localhost', port);
    const ws = new WebSocket(`wss://localhost:${port}/secure`, {
      createConnection: () => tls.connect({ socket: raw, servername: 'localhost', ca: recorderCa.certPem }),
    });
    const reply = await new Promise<string>((resolve, reject) => {
      ws.once('open', () => ws.send('secret hello'));
      ws.once('message', (data) => resolve(String(data)));
      ws.once('error', reject);
    });
    expect(reply).toBe('echo:secret hello');
    ws.close(1000, 'done');
    await waitFor(() => ends() > 0, 5000, 'the end entry');
    await session.stop();

    const entries = await readEntries(session.path);
    expect(entries.filter((entry) => entry.kind === 'error')).toEqual([]);
    const connection = entries.find((entry): entry is ConnectionEntry => entry.kind === 'connection');
    expect(connection).toMatchObject({ url: `wss://localhost:${port}/secure`, mode: 'connect', response: { status: 101 } });
    const frames = entries.filter((entry): entry is FrameEntry => entry.kind === 'frame');
    expect(frames.map((frame) => `${frame.dir} ${frame.type}${frame.type === 'text' ? ` ${frame.text}` : ''}`)).toEqual([
      'out text secret hello',
      'in text echo:secret hello',
      'out close',
      'in close',
    ]);
  });
});

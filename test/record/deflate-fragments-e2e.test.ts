/**
 * Per-fragment inflation against real peers: `ws` on both ends with perMessageDeflate, and Python
 * websockets (Debian's python3-websockets) as a client, sending fragmented compressed messages
 * both ways, with context takeover. A tap between the recorder and the server keeps the wire
 * bytes, which an independent zlib stream (one per direction, flushed after each fragment, as
 * a receiver's inflater runs) inflates fragment by fragment: each recorded frame must carry
 * what its fragment inflates to, and the joined frames must be what the peer received.
 */
import zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import type { FrameEntry } from '../../src/format/schema.js';
import type { Hooks } from '../../src/intervene/hooks.js';
import { FrameParser } from '../../src/wire/frame-parser.js';
import { afterHead, openClient, readEntries, startRecorder, startTap, startWsServer, waitFor, type WsServer } from '../helpers/peers.js';
import { runPython } from '../helpers/python.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** What each data frame's payload inflates to, in wire order, with a zlib stream per direction. */
async function inflateFragments(wire: Buffer): Promise<Array<{ fin: boolean; compressed: boolean; content: Buffer }>> {
  const parser = new FrameParser({ maxRetain: 1 << 24 });
  const inflate = zlib.createInflateRaw({ windowBits: 15 });
  const chunks: Buffer[] = [];
  inflate.on('data', (chunk: Buffer) => chunks.push(chunk));
  const out: Array<{ fin: boolean; compressed: boolean; content: Buffer }> = [];
  let compressed = false;
  for (const event of parser.push(wire)) {
    if (event.type !== 'frame') throw new Error('unparseable wire bytes');
    const { header, payload } = event.frame;
    if (header.opcode !== 0 && header.opcode !== 1 && header.opcode !== 2) continue;
    if (header.opcode !== 0) compressed = header.rsv1;
    if (!compressed) {
      out.push({ fin: header.fin, compressed, content: Buffer.from(payload) });
      continue;
    }
    inflate.write(payload);
    // RFC 7692 §7.2.2: the receiver appends 00 00 ff ff to the message's last fragment.
    if (header.fin) inflate.write(Buffer.from([0, 0, 0xff, 0xff]));
    await new Promise<void>((resolve) => inflate.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
    out.push({ fin: header.fin, compressed, content: Buffer.concat(chunks.splice(0)) });
  }
  inflate.close();
  return out;
}

/** A recorded frame's payload bytes. */
const bytesOf = (frame: FrameEntry): Buffer => (frame.text !== undefined ? Buffer.from(frame.text) : Buffer.from(frame.data ?? '', 'base64'));

/** The data frames of one direction, each with its payload, and the messages they join into. */
function recorded(frames: FrameEntry[], dir: 'out' | 'in'): { fragments: Buffer[]; messages: string[] } {
  const data = frames.filter((frame) => frame.dir === dir && ['text', 'binary', 'continuation'].includes(frame.type));
  const messages: string[] = [];
  let open: Buffer[] = [];
  for (const frame of data) {
    open.push(bytesOf(frame));
    if (frame.fin) {
      messages.push(Buffer.concat(open).toString());
      open = [];
    }
  }
  return { fragments: data.map(bytesOf), messages };
}

async function recordThroughTap() {
  const server = await startWsServer({ perMessageDeflate: { threshold: 0 } });
  cleanups.push(server.close);
  const tap = await startTap(server.port);
  cleanups.push(tap.close);
  const recorder = await startRecorder({ target: `ws://127.0.0.1:${tap.port}` });
  cleanups.push(() => recorder.stop());
  return { server, tap, recorder };
}

/**
 * Keeps what the server gets; after the second message, sends `replies` compressed, each
 * `[text, fin]` one frame (fin false: a fragment of a message the next ones continue).
 */
function replyAfterTwo(server: WsServer, replies: Array<[string, boolean]>): string[] {
  const atServer: string[] = [];
  server.wss.on('connection', (socket) => {
    socket.on('message', (data) => {
      atServer.push(String(data));
      if (atServer.length === 2) for (const [text, fin] of replies) socket.send(text, { fin, compress: true });
    });
  });
  return atServer;
}

/** Checks the archive against the tap's bytes, both ways; returns what was recorded. */
async function checkAgainstWire(path: string, tap: { clientToServer(): Buffer; serverToClient(): Buffer }) {
  const frames = (await readEntries(path)).filter((entry): entry is FrameEntry => entry.kind === 'frame');
  const result: Record<'out' | 'in', { fragments: Buffer[]; messages: string[] }> = { out: recorded(frames, 'out'), in: recorded(frames, 'in') };
  for (const [dir, wire] of [
    ['out', tap.clientToServer()],
    ['in', tap.serverToClient()],
  ] as const) {
    const expected = await inflateFragments(afterHead(wire));
    expect(
      result[dir].fragments.map((b) => b.toString('hex')),
      dir,
    ).toEqual(expected.map((f) => f.content.toString('hex')));
  }
  return { frames, ...result };
}

describe('per-fragment inflation with real peers', () => {
  it('ws ↔ ws: each fragment carries what it inflates to, both ways, with context takeover', async () => {
    const { server, tap, recorder } = await recordThroughTap();
    // A fragmented reply, then one that refers back into it.
    const atServer = replyAfterTwo(server, [
      ['reply hello hello ', false],
      ['more reply hello ', false],
      ['last reply hello', true],
      ['reply hello hello more reply hello last reply hello', true],
    ]);
    const client = await openClient(`ws://127.0.0.1:${recorder.port}/frag`, { perMessageDeflate: { threshold: 0 } });
    expect(client.extensions).toMatch(/permessage-deflate/);
    const atClient: string[] = [];
    client.on('message', (data) => atClient.push(String(data)));
    client.send('hello hello ', { fin: false, compress: true });
    client.send('fragment hello ', { fin: false, compress: true });
    client.send('end hello', { fin: true, compress: true });
    client.send('hello hello fragment hello end hello', { compress: true });
    await waitFor(() => atClient.length === 2, 5000, 'the replies');
    client.close(1000);
    await waitFor(() => recorder.recorder.totals.bytes > 0 && tap.serverToClient().length > 0, 5000, 'the traffic');
    await recorder.stop();

    const { frames, out, in: inbound } = await checkAgainstWire(recorder.path, tap);
    // ws flushes after every fragment: each frame holds exactly what its send() call passed.
    expect(out.fragments.map(String)).toEqual(['hello hello ', 'fragment hello ', 'end hello', 'hello hello fragment hello end hello']);
    expect(inbound.fragments.map(String)).toEqual([
      'reply hello hello ',
      'more reply hello ',
      'last reply hello',
      'reply hello hello more reply hello last reply hello',
    ]);
    expect(out.messages).toEqual(atServer);
    expect(inbound.messages).toEqual(atClient);
    const data = frames.filter((frame) => frame.type !== 'close');
    expect(data.every((frame) => frame.compressed === true && frame.flags === undefined)).toBe(true);
    // The marker that tells this archive from older ones is on fragmented messages' frames only.
    expect(data.map((frame) => frame.fragmentInflated === true)).toEqual([true, true, true, false, true, true, true, false]);
  });

  it('Python websockets → ws: a message sent from an async iterator is recorded fragment by fragment', async () => {
    const { server, tap, recorder } = await recordThroughTap();
    const atServer = replyAfterTwo(server, [
      ['echo part one echo ', false],
      ['echo part two echo', true],
    ]);
    const script = `
import asyncio, json, sys
import websockets

async def parts():
    for piece in ["python part one hello ", "python part two hello ", "python part three hello"]:
        yield piece

async def main(url):
    async with websockets.connect(url, compression="deflate") as ws:
        print(json.dumps({"extensions": ws.response_headers.get("Sec-WebSocket-Extensions")}), flush=True)
        await ws.send(parts())
        await ws.send("python part one hello python part two hello")
        print(json.dumps({"got": await ws.recv()}), flush=True)
        await ws.close()

asyncio.run(main(sys.argv[1]))
`;
    const { code, stderr, lines } = await runPython<{ extensions?: string; got?: string }>(script, [`ws://127.0.0.1:${recorder.port}/py`]);
    expect(code, stderr).toBe(0);
    const [negotiated, received] = lines;
    expect(negotiated!.extensions).toMatch(/permessage-deflate/);
    await waitFor(() => tap.serverToClient().length > 0, 5000, 'the traffic');
    await recorder.stop();

    const { out, in: inbound } = await checkAgainstWire(recorder.path, tap);
    // websockets sends each piece with FIN clear, then an empty final fragment.
    expect(out.fragments.map(String)).toEqual([
      'python part one hello ',
      'python part two hello ',
      'python part three hello',
      '',
      'python part one hello python part two hello',
    ]);
    expect(out.messages).toEqual(atServer);
    expect(inbound.messages).toEqual([received!.got]);
    expect(inbound.fragments.map(String)).toEqual(['echo part one echo ', 'echo part two echo']);
  });

  it('hooks see a compressed fragmented message whole; after a rewrite, the later compressed messages still decode at the server', async () => {
    const server = await startWsServer({ perMessageDeflate: { threshold: 0 } });
    cleanups.push(server.close);
    const atServer: string[] = [];
    server.wss.on('connection', (socket) => socket.on('message', (data) => atServer.push(String(data))));
    const seen: string[] = [];
    const hooks: Hooks = {
      onMessage: (message) => {
        if (message.dir !== 'out') return undefined;
        seen.push(message.text ?? '');
        return seen.length === 1 ? `${message.text} (rewritten)` : undefined;
      },
    };
    const recorder = await startRecorder({ target: server.url, hooks: [{ hooks, name: 'test.mjs', by: 'script' }] });
    cleanups.push(() => recorder.stop());
    const client = await openClient(`ws://127.0.0.1:${recorder.port}/hooked`, { perMessageDeflate: { threshold: 0 } });
    client.send('hello hello ', { fin: false, compress: true });
    client.send('fragment hello ', { fin: false, compress: true });
    client.send('end hello', { fin: true, compress: true });
    // Refers back into the first message through the client's window, which the server's
    // inflater never saw as sent: wstape compresses it again for the server.
    client.send('hello hello fragment ', { fin: false, compress: true });
    client.send('hello end hello', { fin: true, compress: true });
    await waitFor(() => atServer.length === 2, 5000, 'both messages at the server');
    expect(seen).toEqual(['hello hello fragment hello end hello', 'hello hello fragment hello end hello']);
    expect(atServer).toEqual(['hello hello fragment hello end hello (rewritten)', 'hello hello fragment hello end hello']);
    client.close(1000);
  });
});

/**
 * Changing messages in both directions with permessage-deflate and context takeover, with Python
 * websockets (Debian's python3-websockets) as the client and `ws` as the server: each peer must
 * decode every message it gets. Python's client offers deflate with context takeover by default.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FrameEntry } from '../../src/format/schema.js';
import type { Hooks } from '../../src/intervene/hooks.js';
import { readEntries, startRecorder, startWsServer, waitFor } from '../helpers/peers.js';
import { runPython } from '../helpers/python.js';

const CLIENT = `
import asyncio, json, sys
import websockets

async def main(url):
    async with websockets.connect(url, compression="deflate") as ws:
        print(json.dumps({"extensions": ws.response_headers.get("Sec-WebSocket-Extensions")}), flush=True)
        for i in range(12):
            await ws.send("client says hello hello hello %d" % i)
        got = []
        while len(got) < 8:
            got.append(await ws.recv())
        print(json.dumps({"got": got}), flush=True)
        await ws.send("client done done done")
        await ws.close()

asyncio.run(main(sys.argv[1]))
`;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('permessage-deflate with context takeover, Python websockets and ws', () => {
  it('drops and rewrites messages both ways; both peers decode everything after', async () => {
    const server = await startWsServer({ perMessageDeflate: { threshold: 0 } });
    cleanups.push(server.close);
    const atServer: string[] = [];
    server.wss.on('connection', (ws) => {
      ws.on('message', (data) => {
        atServer.push(String(data));
        // 12 sent, 4 dropped on the way.
        if (atServer.length === 8) for (let i = 0; i < 12; i++) ws.send(`server says hello hello hello ${i}`);
      });
    });
    // Every third message dropped, every fourth rewritten, in both directions.
    const hooks: Hooks = {
      onMessage: (message) => {
        const n = Number(/(\d+)$/.exec(message.text ?? '')?.[1] ?? -1);
        if (n % 3 === 2) return null;
        if (n % 4 === 3) return `${message.text} (rewritten)`;
        return undefined;
      },
    };
    const recorder = await startRecorder({ target: server.url, hooks: [{ hooks, name: 'test.mjs', by: 'script' }] });
    cleanups.push(() => recorder.stop());

    const { code, stderr, lines } = await runPython<{ extensions?: string; got?: string[] }>(CLIENT, [`ws://127.0.0.1:${recorder.port}/py`]);
    expect(code, stderr).toBe(0);
    const [negotiated, received] = lines;
    expect(negotiated!.extensions).toMatch(/permessage-deflate/);
    expect(negotiated!.extensions).not.toMatch(/no_context_takeover/);

    const expected = (who: string): string[] =>
      Array.from({ length: 12 }, (_, n) => n)
        .filter((n) => n % 3 !== 2)
        .map((n) => `${who} says hello hello hello ${n}${n % 4 === 3 ? ' (rewritten)' : ''}`);
    expect(received!.got).toEqual(expected('server'));
    await waitFor(() => atServer.includes('client done done done'), 5000, "the client's last message");
    expect(atServer.slice(0, 8)).toEqual(expected('client'));
    await recorder.stop();
    const frames = (await readEntries(recorder.path)).filter((entry): entry is FrameEntry => entry.kind === 'frame' && entry.type === 'text');
    expect(frames.filter((frame) => frame.action === 'dropped')).toHaveLength(8);
    expect(frames.filter((frame) => frame.action === 'modified')).toHaveLength(4);
    expect(frames.every((frame) => frame.compressed === true)).toBe(true);
  });
});

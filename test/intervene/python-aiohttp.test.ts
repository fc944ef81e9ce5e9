/**
 * aiohttp (Debian's python3-aiohttp) as the client, through the forward proxy (its `proxy=`
 * option), with permessage-deflate (`compress=15`, context takeover), while hooks rewrite and drop
 * messages both ways: aiohttp must decode all it gets, and the server gets exactly the rest.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Hooks } from '../../src/intervene/hooks.js';
import { startRecorder, startWsServer, waitFor } from '../helpers/peers.js';
import { runPython } from '../helpers/python.js';

const CLIENT = `
import asyncio, json, sys
import aiohttp

async def main(url, proxy):
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url, proxy=proxy, compress=15) as ws:
            print(json.dumps({"extensions": ws._response.headers.get("Sec-WebSocket-Extensions")}), flush=True)
            for i in range(6):
                await ws.send_str("from aiohttp %s %d" % ("drop" if i % 3 == 1 else "keep", i))
            got = []
            while len(got) < 3:
                message = await ws.receive()
                if message.type != aiohttp.WSMsgType.TEXT:
                    raise SystemExit("unexpected %s %r" % (message.type, message.data))
                got.append(message.data)
            print(json.dumps({"got": got}), flush=True)
            await ws.close()

asyncio.run(main(sys.argv[1], sys.argv[2]))
`;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('aiohttp through the forward proxy, with hooks and permessage-deflate', () => {
  it('rewrites and drops both ways; aiohttp and ws decode everything they get', async () => {
    const server = await startWsServer({ perMessageDeflate: { threshold: 0 } });
    cleanups.push(server.close);
    const atServer: string[] = [];
    server.wss.on('connection', (ws) => {
      ws.on('message', (data) => {
        atServer.push(String(data));
        if (atServer.length === 4) for (let i = 0; i < 6; i++) ws.send(`from ws ${i % 2 === 1 ? 'drop' : 'keep'} ${i} keep keep keep`);
      });
    });
    const hooks: Hooks = {
      onMessage: (message) => {
        if (message.text?.includes('drop')) return null;
        return message.dir === 'in' ? `${message.text} (seen by wstape)` : undefined;
      },
    };
    const recorder = await startRecorder({ hooks: [{ hooks, name: 'test.mjs', by: 'script' }] });
    cleanups.push(() => recorder.stop());
    const { code, stderr, lines } = await runPython<{ extensions?: string; got?: string[] }>(CLIENT, [
      `ws://127.0.0.1:${server.port}/aio`,
      `http://127.0.0.1:${recorder.port}`,
    ]);
    expect(code, stderr).toBe(0);
    const [negotiated, received] = lines;
    expect(negotiated!.extensions).toMatch(/permessage-deflate/);
    expect(received!.got).toEqual([
      'from ws keep 0 keep keep keep (seen by wstape)',
      'from ws keep 2 keep keep keep (seen by wstape)',
      'from ws keep 4 keep keep keep (seen by wstape)',
    ]);
    await waitFor(() => atServer.length >= 4, 5000, 'the server side');
    expect(atServer).toEqual(['from aiohttp keep 0', 'from aiohttp keep 2', 'from aiohttp keep 3', 'from aiohttp keep 5']);
  });
});

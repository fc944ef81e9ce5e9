/**
 * Changing a live session, end to end: the real `ws` library on both sides of the recorder (a
 * reverse proxy), with hooks that replace, drop, inject, delay, close and abort, with and without
 * permessage-deflate (context takeover on: a dropped compressed message must not break the
 * receiver's inflater). Each peer must see exactly the altered stream, and the archive must hold
 * what arrived and what was forwarded.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import type { FrameEntry } from '../../src/format/schema.js';
import type { Hooks, NamedHooks } from '../../src/intervene/hooks.js';
import { compileFlags } from '../../src/intervene/flags.js';
import { FrameParser } from '../../src/wire/frame-parser.js';
import { afterHead, ConnectAgent, openClient, readEntries, startRecorder, startTap, startWsServer, waitFor } from '../helpers/peers.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const script = (hooks: Hooks): NamedHooks[] => [{ hooks, name: 'test.mjs', by: 'script' }];

interface Session {
  client: WebSocket;
  /** Text messages each peer received, in order. */
  atClient: string[];
  atServer: string[];
  serverSocket: () => WebSocket;
  stop: () => Promise<FrameEntry[]>;
  archive: string;
}

/** A ws server that records what it gets, a recorder in front of it with `hooks`, a ws client. */
async function session(hooks: NamedHooks[], deflate: boolean, hookTimeoutMs?: number): Promise<Session> {
  const perMessageDeflate = deflate ? { threshold: 0 } : false;
  const server = await startWsServer({ perMessageDeflate });
  cleanups.push(server.close);
  const atServer: string[] = [];
  let socket: WebSocket | null = null;
  server.wss.on('connection', (ws) => {
    socket = ws;
    ws.on('message', (data) => atServer.push(String(data)));
  });
  const recorder = await startRecorder({ target: server.url, hooks, ...(hookTimeoutMs !== undefined ? { hookTimeoutMs } : {}) });
  cleanups.push(() => recorder.stop());
  const client = await openClient(`ws://127.0.0.1:${recorder.port}/live`, { perMessageDeflate });
  const atClient: string[] = [];
  client.on('message', (data) => atClient.push(String(data)));
  await waitFor(() => socket !== null, 5000, 'the server side');
  return {
    client,
    atClient,
    atServer,
    serverSocket: () => socket!,
    archive: recorder.path,
    stop: async () => {
      await recorder.stop();
      return (await readEntries(recorder.path)).filter((entry): entry is FrameEntry => entry.kind === 'frame');
    },
  };
}

describe.each([false, true])('hooks on a live session (permessage-deflate %s)', (deflate) => {
  it('replaces, drops and injects in both directions; each peer gets exactly the altered stream', async () => {
    const hooks: Hooks = {
      onMessage: (message, ctx) => {
        const text = message.text ?? '';
        if (text.includes('drop')) return null;
        if (text.startsWith('presence')) return `${text} (edited)`;
        if (text === 'client-ask') ctx.send('in', 'injected to client');
        if (text === 'server-ask') ctx.send('out', 'injected to server');
        return undefined;
      },
    };
    const s = await session(script(hooks), deflate);
    // Repetitive payloads, so that with context takeover later messages refer back to earlier ones.
    const fromServer = [
      'presence alice alice alice',
      'hello hello hello',
      'drop this hello hello',
      'presence bob bob',
      'server-ask',
      'hello hello hello again',
    ];
    const fromClient = ['chat chat chat', 'drop me chat chat', 'client-ask', 'chat chat chat chat', 'presence carol'];
    for (const text of fromServer) s.serverSocket().send(text);
    for (const text of fromClient) s.client.send(text);
    const expectedAtClient = [
      'presence alice alice alice (edited)',
      'hello hello hello',
      'presence bob bob (edited)',
      'server-ask',
      'hello hello hello again',
      'injected to client',
    ];
    const expectedAtServer = ['chat chat chat', 'client-ask', 'chat chat chat chat', 'presence carol (edited)', 'injected to server'];
    await waitFor(() => s.atClient.length >= expectedAtClient.length && s.atServer.length >= expectedAtServer.length, 5000, 'the altered streams');
    // The injections come after the message that asked for them, in their own direction's order.
    expect(s.atClient.filter((text) => text !== 'injected to client')).toEqual(expectedAtClient.filter((text) => text !== 'injected to client'));
    expect(s.atClient).toContain('injected to client');
    expect(s.atServer.filter((text) => text !== 'injected to server')).toEqual(expectedAtServer.filter((text) => text !== 'injected to server'));
    expect(s.atServer).toContain('injected to server');
    // Both peers still decode what follows (a broken inflate context would fail here or close 1007).
    s.serverSocket().send('hello hello hello at the end');
    s.client.send('chat chat chat at the end');
    await waitFor(() => s.atClient.includes('hello hello hello at the end') && s.atServer.includes('chat chat chat at the end'), 5000, 'the last messages');
    s.client.close(1000, 'done');
    await new Promise((resolve) => s.client.once('close', resolve));

    const frames = await s.stop();
    const data = frames.filter((frame) => frame.type === 'text');
    const modified = data.filter((frame) => frame.action === 'modified');
    expect(modified.map((frame) => [frame.dir, frame.text, frame.forwarded?.text, frame.by])).toEqual(
      expect.arrayContaining([
        ['in', 'presence alice alice alice', 'presence alice alice alice (edited)', 'script'],
        ['in', 'presence bob bob', 'presence bob bob (edited)', 'script'],
        ['out', 'presence carol', 'presence carol (edited)', 'script'],
      ]),
    );
    expect(data.filter((frame) => frame.action === 'dropped').map((frame) => [frame.dir, frame.text])).toEqual(
      expect.arrayContaining([
        ['in', 'drop this hello hello'],
        ['out', 'drop me chat chat'],
      ]),
    );
    const injected = data.filter((frame) => frame.action === 'injected');
    expect(injected.map((frame) => [frame.dir, frame.text, frame.masked, frame.compressed ?? false])).toEqual(
      expect.arrayContaining([
        ['in', 'injected to client', false, false],
        ['out', 'injected to server', true, false],
      ]),
    );
    // Every frame that arrived is in the archive, changed or not: what the peers sent.
    expect(data.filter((frame) => frame.action !== 'injected' && frame.dir === 'in').map((frame) => frame.text)).toEqual([
      ...fromServer,
      'hello hello hello at the end',
    ]);
    expect(data.filter((frame) => frame.action !== 'injected' && frame.dir === 'out').map((frame) => frame.text)).toEqual([
      ...fromClient,
      'chat chat chat at the end',
    ]);
    // Indexes follow the file, without gaps.
    expect(frames.map((frame) => frame.index)).toEqual(frames.map((_, i) => i));
  });
});

describe('hooks that fail, close, abort and delay', () => {
  it('a hook that throws, never settles or returns garbage: the message goes unchanged and an error entry names the hook', async () => {
    let calls = 0;
    const hooks: Hooks = {
      onMessage: (message) => {
        calls += 1;
        if (message.text === 'throw') throw new Error('hook bug');
        if (message.text === 'hang') return new Promise(() => {});
        if (message.text === 'garbage') return { nonsense: true } as unknown as undefined;
        return undefined;
      },
    };
    const s = await session(script(hooks), false, 150);
    for (const text of ['throw', 'hang', 'garbage', 'fine']) s.client.send(text);
    await waitFor(() => s.atServer.length === 4, 5000, 'all four messages');
    expect(s.atServer).toEqual(['throw', 'hang', 'garbage', 'fine']);
    expect(calls).toBe(4);
    s.client.close();
    await new Promise((resolve) => s.client.once('close', resolve));
    await s.stop();
    const errors = (await readEntries(s.archive)).filter((entry) => entry.kind === 'error');
    expect(errors.map((entry) => entry.code)).toEqual(['HOOK_ERROR', 'HOOK_TIMEOUT', 'HOOK_RESULT']);
    expect(errors[0]!.message).toMatch(/test\.mjs onMessage.*hook bug/);
  });

  it('ctx.close(4001, reason): each peer gets that close frame from wstape, and the end says wstape closed it', async () => {
    const hooks: Hooks = {
      onMessage: (message, ctx) => {
        if (message.text === 'kick me') ctx.close(4001, 'kicked');
        return undefined;
      },
    };
    const s = await session(script(hooks), false);
    const serverClosed = new Promise<[number, string]>((resolve) => s.serverSocket().once('close', (code, reason) => resolve([code, String(reason)])));
    const clientClosed = new Promise<[number, string]>((resolve) => s.client.once('close', (code, reason) => resolve([code, String(reason)])));
    s.client.send('kick me');
    expect(await clientClosed).toEqual([4001, 'kicked']);
    expect(await serverClosed).toEqual([4001, 'kicked']);
    await s.stop();
    const entries = await readEntries(s.archive);
    expect(entries.find((entry) => entry.kind === 'end')).toMatchObject({ closeCode: 4001, closeReason: 'kicked', closedBy: 'wstape', closedVia: 'script' });
    // The message that asked still reached the server, before the close.
    expect(s.atServer).toEqual(['kick me']);
  });

  it('ctx.abort(): the client sees 1006 and the end says wstape aborted it', async () => {
    const hooks: Hooks = {
      onMessage: (message, ctx) => {
        if (message.text === 'crash') ctx.abort();
        return undefined;
      },
    };
    const s = await session(script(hooks), false);
    const clientClosed = new Promise<number>((resolve) => s.client.once('close', (code) => resolve(code)));
    s.serverSocket().send('crash');
    expect(await clientClosed).toBe(1006);
    await s.stop();
    const end = (await readEntries(s.archive)).find((entry) => entry.kind === 'end');
    expect(end).toMatchObject({ closeCode: 1006, closedBy: 'wstape', closedVia: 'script' });
  });

  it('{ delay } holds a message back at least that long, and only its own direction', async () => {
    const hooks: Hooks = { onMessage: (message) => (message.dir === 'in' && message.text === 'slow' ? { delay: 300 } : undefined) };
    const s = await session(script(hooks), false);
    const arrivals = new Map<string, number>();
    s.client.on('message', (data) => arrivals.set(String(data), performance.now()));
    const sentAt = performance.now();
    s.serverSocket().send('slow');
    s.client.send('other way');
    await waitFor(() => s.atServer.length === 1, 5000, 'the other direction');
    // The client's message went up while the server's was held.
    expect(arrivals.has('slow')).toBe(false);
    await waitFor(() => arrivals.has('slow'), 5000, 'the delayed message');
    expect(arrivals.get('slow')! - sentAt).toBeGreaterThanOrEqual(299);
    s.client.close();
    await new Promise((resolve) => s.client.once('close', resolve));
    const frames = await s.stop();
    expect(frames.find((frame) => frame.text === 'slow')).toMatchObject({ action: 'delayed', delay: 300, by: 'script' });
  });

  it('a pass-through hook forwards the original bytes: the server gets exactly what the client sent', async () => {
    const server = await startWsServer({ perMessageDeflate: false });
    cleanups.push(server.close);
    const got: string[] = [];
    server.wss.on('connection', (ws) => ws.on('message', (data) => got.push(String(data))));
    // The tap sits between the recorder and the server, and sees what the recorder forwards.
    const tap = await startTap(server.port);
    cleanups.push(() => tap.close());
    const recorder = await startRecorder({ target: `ws://127.0.0.1:${tap.port}`, hooks: script({ onMessage: () => undefined }) });
    cleanups.push(() => recorder.stop());
    const client = await openClient(`ws://127.0.0.1:${recorder.port}/exact`, { perMessageDeflate: false });
    client.send('one');
    client.send(Buffer.from([1, 2, 3]));
    client.send('three');
    await waitFor(() => got.length === 3, 5000, 'three messages');
    client.close();
    await new Promise((resolve) => client.once('close', resolve));
    await recorder.stop();
    const frames = (await readEntries(recorder.path)).filter((entry): entry is FrameEntry => entry.kind === 'frame' && entry.dir === 'out');
    // Rebuild what the client sent from the archive (masks and all) and compare with the tap.
    const forwarded = afterHead(tap.clientToServer());
    let offset = 0;
    for (const frame of frames) {
      expect(frame.action).toBeUndefined();
      const mask = Buffer.from(frame.mask!, 'hex');
      expect(forwarded.subarray(offset + 2, offset + 6)).toEqual(mask);
      offset += frame.wireSize;
    }
    expect(offset).toBe(forwarded.length);
  });
});

describe('flags on a live session through the forward proxy (CONNECT), with permessage-deflate', () => {
  it('--drop, --replace, --set, --delay and --inject-on change both directions; each peer gets exactly that', async () => {
    const flags = compileFlags({
      drop: ['in /presence/'],
      replace: ['out /secret/[redacted]/g'],
      set: ['in /quote/ $.price=-1'],
      delay: ['out /slow/ 150ms'],
      injectOn: ['in /welcome/ out {"type":"subscribe"}'],
    })!;
    const server = await startWsServer({ perMessageDeflate: { threshold: 0 } });
    cleanups.push(server.close);
    const atServer: string[] = [];
    let socket: WebSocket | null = null;
    server.wss.on('connection', (ws) => {
      socket = ws;
      ws.on('message', (data) => atServer.push(String(data)));
    });
    const recorder = await startRecorder({ hooks: [flags] });
    cleanups.push(() => recorder.stop());
    const client = await openClient(`ws://127.0.0.1:${server.port}/forward`, { perMessageDeflate: { threshold: 0 }, agent: new ConnectAgent(recorder.port) });
    const atClient: string[] = [];
    client.on('message', (data) => atClient.push(String(data)));
    await waitFor(() => socket !== null, 5000, 'the server side');
    for (const text of ['{"type":"welcome"}', '{"type":"presence","who":"ada"}', '{"type":"quote","price":10}', '{"type":"presence","who":"bob"}', 'plain'])
      socket!.send(text);
    // The subscribe is injected as the welcome passes, before the client can see the welcome;
    // the client's own messages go up only after that, so the server's order is fixed.
    await waitFor(() => atClient.length >= 1, 5000, 'the welcome');
    const sentSlow = performance.now();
    for (const text of ['my secret is secret', 'slow one', 'last']) client.send(text);
    await waitFor(() => atClient.length === 3 && atServer.length === 4, 5000, 'both altered streams');
    expect(atClient).toEqual(['{"type":"welcome"}', '{"type":"quote","price":-1}', 'plain']);
    expect(atServer).toEqual(['{"type":"subscribe"}', 'my [redacted] is [redacted]', 'slow one', 'last']);
    expect(performance.now() - sentSlow).toBeGreaterThanOrEqual(149);
    client.close();
    await new Promise((resolve) => client.once('close', resolve));
    await recorder.stop();
    const frames = (await readEntries(recorder.path)).filter((entry): entry is FrameEntry => entry.kind === 'frame' && entry.type === 'text');
    expect(frames.filter((frame) => frame.action !== undefined).map((frame) => [frame.dir, frame.action, frame.by])).toEqual(
      expect.arrayContaining([
        ['in', 'dropped', 'flag'],
        ['in', 'modified', 'flag'],
        ['out', 'injected', 'flag'],
        ['out', 'modified', 'flag'],
        ['out', 'delayed', 'flag'],
      ]),
    );
  });
});

describe('after a dropped compressed message (context takeover), wstape compresses again', () => {
  it('later messages reach the client compressed (RSV1) with a window that matches its inflater', async () => {
    const server = await startWsServer({ perMessageDeflate: { threshold: 0 } });
    cleanups.push(server.close);
    let socket: WebSocket | null = null;
    server.wss.on('connection', (ws) => (socket = ws));
    const hooks: Hooks = { onMessage: (message) => (message.text === 'drop me drop me' ? null : undefined) };
    const recorder = await startRecorder({ target: server.url, hooks: script(hooks) });
    cleanups.push(() => recorder.stop());
    const tap = await startTap(recorder.port);
    cleanups.push(() => tap.close());
    const client = await openClient(`ws://127.0.0.1:${tap.port}/again`, { perMessageDeflate: { threshold: 0 } });
    const got: string[] = [];
    client.on('message', (data) => got.push(String(data)));
    await waitFor(() => socket !== null, 5000, 'the server side');
    const texts = ['quote ACME 101.25 volume 1200', 'drop me drop me', 'quote ACME 101.50 volume 900', 'quote ACME 101.75 volume 1100'];
    for (const text of texts) socket!.send(text);
    await waitFor(() => got.length === 3, 5000, 'three messages');
    expect(got).toEqual([texts[0], texts[2], texts[3]]);
    const parser = new FrameParser({ maxRetain: 1 << 20 });
    const frames = parser.push(afterHead(tap.serverToClient())).flatMap((event) => (event.type === 'frame' ? [event.frame] : []));
    expect(frames.map((frame) => frame.header.rsv1)).toEqual([true, true, true]);
  });
});

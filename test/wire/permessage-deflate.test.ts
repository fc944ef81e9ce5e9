import zlib from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MessageDeflater,
  MessageInflater,
  negotiatedDeflate,
  parseExtensions,
  SyncZlibStream,
  type MessageInflaterOptions,
} from '../../src/wire/permessage-deflate.js';
import { isWireError } from '../../src/wire/wire-error.js';
import { hex, plain, toHex, utf8 } from './split-helpers.js';

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isWireError(error) ? error.code : 'not a WireError';
  }
  return undefined;
}

/**
 * Compresses messages as a permessage-deflate sender does (RFC 7692 §7.2.1): one raw DEFLATE
 * stream, a sync flush after each message, the trailing 00 00 ff ff removed. With
 * noContextTakeover, a fresh stream per message.
 */
async function compressMessages(messages: Uint8Array[], noContextTakeover = false, windowBits = 15): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  let deflate = zlib.createDeflateRaw({ windowBits });
  for (const message of messages) {
    if (noContextTakeover) deflate = zlib.createDeflateRaw({ windowBits });
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer) => chunks.push(chunk);
    deflate.on('data', onData);
    deflate.write(message);
    await new Promise<void>((resolve) => deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
    deflate.off('data', onData);
    const data = Buffer.concat(chunks);
    expect([...data.subarray(data.length - 4)]).toEqual([0, 0, 0xff, 0xff]);
    out.push(plain(data.subarray(0, data.length - 4)));
  }
  deflate.close();
  return out;
}

describe('parseExtensions (RFC 6455 §9.1)', () => {
  it('parses names, parameters and quoted values', () => {
    expect(parseExtensions('permessage-deflate; client_max_window_bits; server_max_window_bits="10", x-foo')).toEqual([
      { name: 'permessage-deflate', params: { client_max_window_bits: true, server_max_window_bits: '10' } },
      { name: 'x-foo', params: {} },
    ]);
    expect(parseExtensions('a;b=1 ;c = "2",, d')).toEqual([
      { name: 'a', params: { b: '1', c: '2' } },
      { name: 'd', params: {} },
    ]);
    expect(parseExtensions('a; b="x\\yz"')).toEqual([{ name: 'a', params: { b: 'xyz' } }]);
    expect(parseExtensions('')).toEqual([]);
    expect(parseExtensions('a; b=1; b=2')).toEqual([{ name: 'a', params: { b: '1' } }]);
  });

  it('rejects what does not follow the grammar', () => {
    for (const bad of ['a;', 'a; =1', 'a b', 'a; b="1 2"', 'a; b="unterminated', ';a', 'a; b=', 'a; b="']) {
      expect(
        code(() => parseExtensions(bad)),
        bad,
      ).toBe('WS_INVALID_EXTENSION_HEADER');
    }
  });
});

describe('negotiatedDeflate (RFC 7692 §7.1)', () => {
  it('reads the accepted parameters', () => {
    expect(negotiatedDeflate('permessage-deflate')).toEqual({
      serverNoContextTakeover: false,
      clientNoContextTakeover: false,
      serverMaxWindowBits: 15,
      clientMaxWindowBits: 15,
    });
    expect(
      negotiatedDeflate('permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits="9"'),
    ).toEqual({
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
      serverMaxWindowBits: 10,
      clientMaxWindowBits: 9,
    });
  });

  it('is null without the extension and lenient with odd parameters', () => {
    expect(negotiatedDeflate(undefined)).toBeNull();
    expect(negotiatedDeflate('')).toBeNull();
    expect(negotiatedDeflate('x-webkit-deflate-frame')).toBeNull();
    expect(negotiatedDeflate('permessage-deflate; b="1 2"')).toBeNull();
    expect(negotiatedDeflate('permessage-deflate; server_max_window_bits=16; client_max_window_bits; foo=bar')).toMatchObject({
      serverMaxWindowBits: 15,
      clientMaxWindowBits: 15,
    });
    expect(negotiatedDeflate('x-other, permessage-deflate; server_max_window_bits=08')?.serverMaxWindowBits).toBe(15);
  });
});

const ENGINES = [
  ['one zlib stream per direction', true],
  ['inflateRawSync with the window as dictionary (the fallback)', false],
] as const;

it('this Node lets the inflater keep one zlib stream per direction (else every test of it runs the fallback)', () => {
  for (const stream of [SyncZlibStream.inflater(), SyncZlibStream.deflater(15, new Uint8Array(0))]) {
    expect(stream).not.toBeNull();
    stream!.close();
  }
});

describe.each(ENGINES)('MessageInflater: %s', (_name, zlibStream) => {
  const newInflater = (options: MessageInflaterOptions) => new MessageInflater({ ...options, zlibStream });

  describe('RFC 7692 §7.2.3 examples', () => {
    const inflater = () => newInflater({ noContextTakeover: false, maxOutput: 1024 });

    it('§7.2.3.1: one compressed block, whole or in fragments', () => {
      expect(text(inflater().inflate(hex('f2 48 cd c9 c9 07 00')).output)).toBe('Hello');
      expect(text(inflater().inflate([hex('f2 48 cd'), hex('c9 c9 07 00')]).output)).toBe('Hello');
    });

    it('§7.2.3.2: a second "Hello" refers to the first through the shared window', () => {
      const one = inflater();
      expect(one.inflate(hex('f2 48 cd c9 c9 07 00'))).toMatchObject({ size: 5, truncated: false });
      const second = one.inflate(hex('f2 00 11 00 00'));
      expect(text(second.output)).toBe('Hello');
      expect(second.size).toBe(5);
      // Without the first message's output the back reference cannot be resolved.
      expect(code(() => inflater().inflate(hex('f2 00 11 00 00')))).toBe('WS_INFLATE_FAILED');
    });

    it('§7.2.3.3: a stored (uncompressed) DEFLATE block', () => {
      expect(text(inflater().inflate(hex('00 05 00 fa ff 48 65 6c 6c 6f 00')).output)).toBe('Hello');
    });

    it('§7.2.3.4: a block with BFINAL set', () => {
      expect(text(inflater().inflate(hex('f3 48 cd c9 c9 07 00 00')).output)).toBe('Hello');
    });

    it('§7.2.3.5: two DEFLATE blocks in one message', () => {
      expect(text(inflater().inflate(hex('f2 48 05 00 00 00 ff ff ca c9 c9 07 00')).output)).toBe('Hello');
    });

    it('an empty message', () => {
      expect(inflater().inflate(hex('00'))).toMatchObject({ size: 0, truncated: false });
      expect(inflater().inflate(new Uint8Array(0))).toMatchObject({ size: 0, truncated: false });
    });
  });

  describe('against zlib streams', () => {
    // Messages that repeat each other, longer than the 32 KiB window in total.
    const messages = Array.from({ length: 60 }, (_, i) =>
      utf8(`{"seq":${i},"topic":"prices","body":"${'lorem ipsum dolor sit amet '.repeat(20 + (i % 7) * 30)}"}`),
    );

    it('inflates many messages of one context-takeover stream', async () => {
      const compressed = await compressMessages(messages);
      // Later messages are tiny: they refer back to earlier ones.
      expect(compressed[10]!.length).toBeLessThan(messages[10]!.length / 10);
      const inflater = newInflater({ noContextTakeover: false, maxOutput: 1 << 20 });
      for (const [i, message] of messages.entries()) {
        const result = inflater.inflate(compressed[i]!);
        expect(toHex(result.output)).toBe(toHex(message));
        expect(result.size).toBe(message.length);
      }
    });

    it('inflates a stream whose messages are bigger than the window', async () => {
      const big = [0, 1, 2, 3].map((i) => utf8(`${i}:` + 'abcdefghij'.repeat(5000 + i * 1000)));
      const compressed = await compressMessages([...big, ...big]);
      const inflater = newInflater({ noContextTakeover: false, maxOutput: 1 << 20 });
      for (const [i, data] of compressed.entries()) {
        expect(toHex(inflater.inflate(data).output)).toBe(toHex(big[i % 4]!));
      }
    });

    it('inflates small windows (server_max_window_bits=9)', async () => {
      const compressed = await compressMessages(messages.slice(0, 10), false, 9);
      const inflater = newInflater({ noContextTakeover: false, maxOutput: 1 << 20 });
      for (const [i, data] of compressed.entries()) {
        expect(toHex(inflater.inflate(data).output)).toBe(toHex(messages[i]!));
      }
    });

    it('inflates no-context-takeover messages independently', async () => {
      const compressed = await compressMessages(messages.slice(0, 5), true);
      const inflater = newInflater({ noContextTakeover: true, maxOutput: 1 << 20 });
      // Any order works: no message refers to another.
      for (const i of [4, 0, 3, 1, 2]) {
        expect(toHex(inflater.inflate(compressed[i]!).output)).toBe(toHex(messages[i]!));
      }
    });

    it('caps the output at maxOutput but keeps the window and the real size', async () => {
      const compressed = await compressMessages(messages.slice(0, 3));
      const inflater = newInflater({ noContextTakeover: false, maxOutput: 100 });
      for (const [i, data] of compressed.entries()) {
        const result = inflater.inflate(data);
        expect(result.truncated).toBe(true);
        expect(result.size).toBe(messages[i]!.length);
        expect(toHex(result.output)).toBe(toHex(messages[i]!.subarray(0, 100)));
      }
    });

    it('refuses to inflate past maxInflatedSize, and then loses the context', async () => {
      const [bomb, next] = await compressMessages([new Uint8Array(1 << 20), utf8('after')]);
      expect(bomb!.length).toBeLessThan(2000);
      const inflater = newInflater({ noContextTakeover: false, maxOutput: 10, maxInflatedSize: 100_000 });
      expect(code(() => inflater.inflate(bomb!))).toBe('WS_INFLATE_TOO_LARGE');
      expect(inflater.available).toBe(false);
      expect(code(() => inflater.inflate(next!))).toBe('WS_INFLATE_UNAVAILABLE');
    });

    it('corrupt data throws WS_INFLATE_FAILED; without context takeover the next message still inflates', () => {
      const inflater = newInflater({ noContextTakeover: true, maxOutput: 100 });
      expect(code(() => inflater.inflate(hex('ff ff ff ff')))).toBe('WS_INFLATE_FAILED');
      expect(inflater.available).toBe(true);
      expect(text(inflater.inflate(hex('f2 48 cd c9 c9 07 00')).output)).toBe('Hello');

      const shared = newInflater({ noContextTakeover: false, maxOutput: 100 });
      expect(code(() => shared.inflate(hex('ff ff ff ff')))).toBe('WS_INFLATE_FAILED');
      expect(shared.available).toBe(false);
    });

    it('skip() loses the context only with context takeover', () => {
      const shared = newInflater({ noContextTakeover: false, maxOutput: 100 });
      shared.skip();
      expect(shared.available).toBe(false);
      const fresh = newInflater({ noContextTakeover: true, maxOutput: 100 });
      fresh.skip();
      expect(fresh.available).toBe(true);
    });
  });

  describe('inflateFragment: fragment by fragment', () => {
    const inflater = (maxInflatedSize?: number) =>
      newInflater({ noContextTakeover: false, maxOutput: 1024, ...(maxInflatedSize !== undefined ? { maxInflatedSize } : {}) });

    it('§7.2.3.5: two blocks flushed as two fragments inflate one by one', () => {
      const one = inflater();
      const first = one.inflateFragment([hex('f2 48 05 00 00 00 ff ff')], false);
      expect(text(first!.output)).toBe('He');
      expect(text(one.inflateFragment([hex('ca c9 c9 07 00')], true)!.output)).toBe('llo');
    });

    it('a fragment that does not end on a flush point yields nothing; its bytes come again with the next', () => {
      const one = inflater();
      expect(one.inflateFragment([hex('f2 48 cd')], false)).toBeNull();
      expect(text(one.inflateFragment([hex('f2 48 cd'), hex('c9 c9 07 00')], true)!.output)).toBe('Hello');
    });

    it('00 00 ff ff that is data, not a flush point: the outputs still join to the message', () => {
      // A stored block of 8 bytes whose first 4 are 00 00 ff ff, cut right after them.
      const block = hex('00 08 00 f7 ff 00 00 ff ff 41 42 43 44');
      const one = inflater();
      const first = one.inflateFragment([block.subarray(0, 9)], false);
      if (zlibStream) {
        // The stream took the bytes and yields what they decode to so far.
        expect(toHex(first!.output)).toBe('0000ffff');
        expect(toHex(one.inflateFragment([block.subarray(9)], true)!.output)).toBe('41424344');
      } else {
        // The fallback tells it is no flush point and yields nothing yet.
        expect(first).toBeNull();
        expect(toHex(one.inflateFragment([block.subarray(0, 9), block.subarray(9)], true)!.output)).toBe('0000ffff41424344');
      }
    });

    it('§7.2.3.4: messages that end their DEFLATE stream (BFINAL) one after another', () => {
      const one = inflater();
      for (let i = 0; i < 3; i++) expect(text(one.inflate(hex('f3 48 cd c9 c9 07 00 00')).output)).toBe('Hello');
      expect(text(one.inflate(hex('f2 48 cd c9 c9 07 00')).output)).toBe('Hello');
    });

    it('a sender that did not remove the 00 00 ff ff: its messages still inflate, one after another', () => {
      const one = inflater();
      expect(text(one.inflate(hex('f2 48 cd c9 c9 07 00 00 00 ff ff')).output)).toBe('Hello');
      expect(text(one.inflate(hex('f2 00 11 00 00 00 00 ff ff')).output)).toBe('Hello');
      expect(text(one.inflate(hex('f2 00 11 00 00')).output)).toBe('Hello');
    });

    it('bytes after the end of the DEFLATE stream: the stream flags them, the fallback drops them', () => {
      const one = inflater();
      const message = hex('f3 48 cd c9 c9 07 00 41 42');
      if (zlibStream) expect(code(() => one.inflate(message))).toBe('WS_INFLATE_FAILED');
      else expect(text(one.inflate(message).output)).toBe('Hello');
    });

    it('an empty compressed payload inflates to nothing and leaves the stream as it was', () => {
      const one = inflater();
      expect(text(one.inflate(hex('f2 48 cd c9 c9 07 00')).output)).toBe('Hello');
      expect(one.inflate(new Uint8Array(0))).toMatchObject({ size: 0, truncated: false });
      expect(one.inflateFragment([new Uint8Array(0), new Uint8Array(0)], true)).toMatchObject({ size: 0 });
      // The next message still refers back to the first.
      expect(text(one.inflate(hex('f2 00 11 00 00')).output)).toBe('Hello');
    });

    it('a corrupt fragment before the final one: the final one throws WS_INFLATE_FAILED', () => {
      const one = new MessageInflater({ noContextTakeover: true, maxOutput: 1024, zlibStream });
      // An invalid block type (BTYPE 11), then a flush point's tail.
      expect(one.inflateFragment([hex('07 00 00 ff ff')], false)).toBeNull();
      expect(one.inflateFragment([hex('07 00 00 ff ff'), hex('00 00 ff ff')], false)).toBeNull();
      expect(code(() => one.inflateFragment([hex('07 00 00 ff ff'), hex('00 00 ff ff'), hex('01')], true))).toBe('WS_INFLATE_FAILED');
      // Without context takeover the next message inflates.
      expect(text(one.inflate(hex('f2 48 cd c9 c9 07 00')).output)).toBe('Hello');
    });

    it('caps the message, not each fragment: fragments together past maxInflatedSize throw', async () => {
      // Three fragments of 40 000 zero bytes each from one stream, flushed after each.
      const deflate = zlib.createDeflateRaw();
      const pieces: Buffer[] = [];
      for (let i = 0; i < 3; i++) {
        const chunks: Buffer[] = [];
        const onData = (chunk: Buffer): number => chunks.push(chunk);
        deflate.on('data', onData);
        deflate.write(new Uint8Array(40_000));
        await new Promise<void>((resolve) => deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
        deflate.off('data', onData);
        pieces.push(Buffer.concat(chunks));
      }
      deflate.close();
      const last = pieces[2]!.subarray(0, pieces[2]!.length - 4);

      const capped = inflater(100_000);
      expect(capped.inflateFragment([pieces[0]!], false)?.size).toBe(40_000);
      expect(capped.inflateFragment([pieces[1]!], false)?.size).toBe(40_000);
      expect(code(() => capped.inflateFragment([last], true))).toBe('WS_INFLATE_TOO_LARGE');
      expect(capped.available).toBe(false);

      // The same fragments as three messages each stay under the bound.
      const roomy = inflater(100_000);
      for (const piece of [pieces[0]!, pieces[1]!, last]) expect(roomy.inflateFragment([piece], true)?.size).toBe(40_000);
    });
  });
});

describe('MessageInflater: the zlib stream and the fallback agree (property)', () => {
  /** One sender's messages, each cut into fragments that it flushes after (as `ws` does), or cut anywhere. */
  function send(messages: Uint8Array[][], noContextTakeover: boolean, cutAnywhere: boolean): Uint8Array[][] {
    let window: Uint8Array = new Uint8Array(0);
    return messages.map((fragments) => {
      if (noContextTakeover) window = new Uint8Array(0);
      const pieces = fragments.map((fragment) => {
        const out = zlib.deflateRawSync(fragment, { finishFlush: zlib.constants.Z_SYNC_FLUSH, ...(window.length > 0 ? { dictionary: window } : {}) });
        const joined = Buffer.concat([window, fragment]);
        window = plain(joined.subarray(Math.max(0, joined.length - 32 * 1024)));
        return plain(out);
      });
      const last = pieces.length - 1;
      pieces[last] = pieces[last]!.subarray(0, pieces[last]!.length - 4);
      if (!cutAnywhere) return pieces;
      // The same bytes cut at other places: most fragments then end off a flush point.
      const all = Buffer.concat(pieces);
      const cuts = fragments.map((_, i) => Math.floor(((i + 1) * all.length) / fragments.length));
      return cuts.map((end, i) => plain(all.subarray(i === 0 ? 0 : cuts[i - 1]!, end)));
    });
  }

  /** Each fragment's output, as the stream observer collects it (pieces held while nothing comes). */
  function receive(inflater: MessageInflater, pieces: Uint8Array[]): Uint8Array[] {
    const held: Uint8Array[] = [];
    return pieces.map((piece, i) => {
      held.push(piece);
      const result = inflater.inflateFragment(held, i === pieces.length - 1);
      if (result === null) return new Uint8Array(0);
      held.length = 0;
      return result.output;
    });
  }

  const content = fc.oneof(
    fc.uint8Array({ maxLength: 3000 }),
    fc.string({ maxLength: 2000 }).map((text) => utf8(text.repeat(3))),
  );
  const messages = fc.array(fc.array(content, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 12 });

  it('every fragment yields the same bytes; a message joins to what was sent', () => {
    fc.assert(
      fc.property(messages, fc.boolean(), fc.boolean(), (sent, noContextTakeover, cutAnywhere) => {
        const wire = send(sent, noContextTakeover, cutAnywhere);
        const streamed = new MessageInflater({ noContextTakeover, maxOutput: 1 << 20 });
        const fallback = new MessageInflater({ noContextTakeover, maxOutput: 1 << 20, zlibStream: false });
        for (const [i, pieces] of wire.entries()) {
          const a = receive(streamed, pieces);
          const b = receive(fallback, pieces);
          expect(a.map(toHex)).toEqual(b.map(toHex));
          const message = Buffer.concat(sent[i]!);
          expect(toHex(Buffer.concat(a))).toBe(toHex(message));
          if (!cutAnywhere) expect(a.map(toHex)).toEqual(sent[i]!.map(toHex));
        }
        streamed.close();
      }),
      { numRuns: 150 },
    );
  });
});

describe.each(ENGINES)('MessageDeflater (%s): compressing for a receiver whose window came from another compressor', (_name, zlibStream) => {
  /** What a sender with context takeover puts on the wire for each message (one zlib stream). */
  async function senderStream(messages: string[]): Promise<Uint8Array[]> {
    const deflate = zlib.createDeflateRaw({ windowBits: 15 });
    const out: Uint8Array[] = [];
    for (const message of messages) {
      const chunks: Buffer[] = [];
      const onData = (chunk: Buffer): number => chunks.push(chunk);
      deflate.on('data', onData);
      deflate.write(message);
      await new Promise<void>((resolve) => deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
      deflate.off('data', onData);
      const bytes = Buffer.concat(chunks);
      out.push(bytes.subarray(0, bytes.length - 4));
    }
    deflate.close();
    return out;
  }

  const earlier = ['{"type":"quote","symbol":"ACME","price":101.25,"volume":1200}', '{"type":"quote","symbol":"ACME","price":101.5,"volume":900}'];
  const next = '{"type":"quote","symbol":"ACME","price":101.75,"volume":1100}';

  it('continues the receiver window: the receiver inflates it, and it refers back into the earlier messages', async () => {
    const receiver = new MessageInflater({ noContextTakeover: false, maxOutput: 1 << 20 });
    const deflater = new MessageDeflater(15, zlibStream);
    for (const compressed of await senderStream(earlier)) deflater.seen(receiver.inflate(compressed).output);
    const compressed = deflater.deflate(Buffer.from(next))!;
    expect(Buffer.from(receiver.inflate(compressed).output).toString()).toBe(next);
    // Without the window it would have to spell the message out.
    expect(compressed.length).toBeLessThan(new MessageDeflater(15, zlibStream).deflate(Buffer.from(next))!.length);
  });

  it('a deflater that saw other content than the receiver produces what the receiver cannot read right', async () => {
    const receiver = new MessageInflater({ noContextTakeover: false, maxOutput: 1 << 20 });
    for (const compressed of await senderStream(earlier)) receiver.inflate(compressed);
    const wrong = new MessageDeflater(15, zlibStream);
    wrong.seen(Buffer.from('{"type":"trade","symbol":"WXYZ","amount":999.99,"side":"sell!"}'.repeat(2)));
    const compressed = wrong.deflate(Buffer.from(next))!;
    let read: string;
    try {
      read = Buffer.from(receiver.inflate(compressed).output).toString();
    } catch {
      read = '(failed)';
    }
    expect(read).not.toBe(next);
  });
  it('many messages, seen and compressed in turn, some empty, some larger than the window: a zlib receiver reads them all', async () => {
    // The receiver as `ws` has it: one zlib inflate stream for the direction, 00 00 ff ff appended.
    const receiver = zlib.createInflateRaw({ windowBits: 15 });
    const inflated: Buffer[] = [];
    receiver.on('data', (chunk: Buffer) => inflated.push(chunk));
    const receive = async (payload: Uint8Array): Promise<string> => {
      inflated.length = 0;
      receiver.write(Buffer.concat([payload, Buffer.from([0, 0, 0xff, 0xff])]));
      await new Promise<void>((resolve) => receiver.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
      return Buffer.concat(inflated).toString();
    };
    const deflater = new MessageDeflater(15, zlibStream);
    const texts = ['{"n":1}', '', '{"n":1}{"n":2}', 'x'.repeat(40_000) + '{"n":3}', '', '', '{"n":3}{"n":1}'];
    for (const [i, text] of texts.entries()) {
      if (i === 1) {
        // A message forwarded as it came, compressed by another sender (the first one's window is empty).
        const other = zlib.deflateRawSync(Buffer.from('{"seen":true}'), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
        expect(await receive(other.subarray(0, other.length - 4))).toBe('{"seen":true}');
        deflater.seen(Buffer.from('{"seen":true}'));
      }
      expect(await receive(deflater.deflate(Buffer.from(text))!)).toBe(text);
    }
    receiver.close();
  });

  it('an empty message compresses to 0x00 (RFC 7692 §7.2.3.6), before and after others', () => {
    const deflater = new MessageDeflater(15, zlibStream);
    expect(toHex(deflater.deflate(new Uint8Array(0))!)).toBe('00');
    deflater.deflate(Buffer.from('hello'));
    expect(toHex(deflater.deflate(new Uint8Array(0))!)).toBe('00');
  });
});

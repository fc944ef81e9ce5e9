/**
 * permessage-deflate (RFC 7692) for an observer: read what the handshake negotiated, inflate the
 * messages of one direction synchronously, fragment by fragment (MessageInflater), and compress
 * messages of wstape's own for a receiver that has context takeover (MessageDeflater).
 */

import zlib from 'node:zlib';
import type { DeflateParams } from './types.js';
import { concat } from './bytes.js';
import { isWireError, wireError } from './wire-error.js';

/** One element of a Sec-WebSocket-Extensions list. */
export interface ExtensionOffer {
  name: string;
  /** Parameter values; `true` for a parameter given without a value. */
  params: Record<string, string | true>;
}

// RFC 2616 §2.2: token = 1*<any CHAR except CTLs or separators>.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;
const WHOLE_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Parses a Sec-WebSocket-Extensions value (RFC 6455 §9.1):
 * `extension-token *( ";" name [ "=" ( token | quoted-string ) ] )`, comma-separated.
 * Empty list elements are skipped; a repeated parameter keeps its first value.
 *
 * @throws WireError WS_INVALID_EXTENSION_HEADER when the value does not follow that grammar.
 */
export function parseExtensions(header: string): ExtensionOffer[] {
  const result: ExtensionOffer[] = [];
  let at = 0;

  const skipSpace = (): void => {
    while (header[at] === ' ' || header[at] === '\t') at++;
  };
  const fail = (what: string): never => {
    throw wireError('WS_INVALID_EXTENSION_HEADER', `${what} at offset ${at} of "${header}"`);
  };
  const token = (what: string): string => {
    const match = TOKEN.exec(header.slice(at));
    if (match === null) return fail(`expected ${what}`);
    at += match[0].length;
    return match[0];
  };
  const quoted = (): string => {
    at++; // opening quote
    let value = '';
    for (;;) {
      const char = header[at++];
      if (char === undefined) return fail('unterminated quoted string');
      if (char === '"') return value;
      if (char === '\\') {
        const escaped = header[at++];
        if (escaped === undefined) return fail('unterminated quoted string');
        value += escaped;
      } else {
        value += char;
      }
    }
  };

  while (at < header.length) {
    skipSpace();
    if (at >= header.length) break;
    if (header[at] === ',') {
      at++;
      continue;
    }
    const name = token('an extension name');
    const params: Record<string, string | true> = {};
    for (;;) {
      skipSpace();
      if (header[at] !== ';') break;
      at++;
      skipSpace();
      const key = token('a parameter name');
      skipSpace();
      let value: string | true = true;
      if (header[at] === '=') {
        at++;
        skipSpace();
        if (header[at] === '"') {
          value = quoted();
          // RFC 6455 §9.1: a quoted value "MUST conform to the 'token' ABNF" once unquoted.
          if (!WHOLE_TOKEN.test(value)) fail('a quoted value that is not a token');
        } else {
          value = token('a parameter value');
        }
      }
      if (!Object.hasOwn(params, key)) params[key] = value;
    }
    result.push({ name, params });
    skipSpace();
    if (at < header.length) {
      if (header[at] !== ',') fail('expected "," or ";"');
      at++;
    }
  }
  return result;
}

/**
 * The permessage-deflate parameters a server accepted, from its Sec-WebSocket-Extensions
 * response header (RFC 7692 §7.1), or null when it did not accept the extension.
 *
 * Lenient on purpose: an observer must read what the peers send even when the negotiation was
 * sloppy. A header that does not parse counts as no extension; window bits outside 8-15 or
 * missing count as 15; unknown parameters are ignored.
 */
export function negotiatedDeflate(responseExtensionsHeader: string | undefined): DeflateParams | null {
  if (responseExtensionsHeader === undefined || responseExtensionsHeader.trim() === '') return null;
  let offers: ExtensionOffer[];
  try {
    offers = parseExtensions(responseExtensionsHeader);
  } catch (error) {
    if (isWireError(error, 'WS_INVALID_EXTENSION_HEADER')) return null;
    throw error;
  }
  // RFC 7692 §5: the server's response names the one accepted offer.
  const offer = offers.find((o) => o.name.toLowerCase() === 'permessage-deflate');
  if (offer === undefined) return null;
  const { params } = offer;
  return {
    serverNoContextTakeover: params['server_no_context_takeover'] !== undefined,
    clientNoContextTakeover: params['client_no_context_takeover'] !== undefined,
    serverMaxWindowBits: windowBits(params['server_max_window_bits']),
    clientMaxWindowBits: windowBits(params['client_max_window_bits']),
  };
}

function windowBits(value: string | true | undefined): number {
  // RFC 7692 §7.1.2: a decimal integer 8-15, without leading zeros; 15 when absent.
  if (typeof value !== 'string' || !/^[1-9][0-9]?$/.test(value)) return 15;
  const bits = Number(value);
  return bits >= 8 && bits <= 15 ? bits : 15;
}

/** Options for {@link MessageInflater}. */
export interface MessageInflaterOptions {
  /** True when the sender resets its compressor for every message (no shared window). */
  noContextTakeover: boolean;
  /** Output bytes returned per call (per fragment); the rest is counted and dropped. */
  maxOutput: number;
  /**
   * The most a message may inflate to, all its fragments together (the zip-bomb bound).
   * Default: the larger of maxOutput and 64 MiB.
   */
  maxInflatedSize?: number;
  /**
   * Whether to keep one zlib stream for the direction when this Node allows it (the default; see
   * {@link SyncZlibStream}). False: one `zlib.inflateRawSync` per call, the fallback, for tests.
   */
  zlibStream?: boolean;
}

/** What one message, or one fragment of it, inflated to. */
export interface InflateResult {
  /** The first maxOutput bytes of the output. */
  output: Uint8Array;
  /** The real size of the output. */
  size: number;
  /** True when output holds fewer than `size` bytes. */
  truncated: boolean;
}

const WINDOW = 32 * 1024;
// RFC 7692 §7.2.2: the sender removed these 4 bytes (an empty stored block) from each message.
const TAIL = new Uint8Array([0x00, 0x00, 0xff, 0xff]);
// An empty final block with fixed Huffman codes (RFC 1951 §3.2.3, §3.2.6: BFINAL 1, BTYPE 01,
// then the end-of-block code 0000000). Appended to a fragment, it ends the DEFLATE stream
// cleanly only when the fragment ended on a block boundary: that is how the fallback tells a
// flush point.
const END_BLOCK = new Uint8Array([0x03, 0x00]);
const DEFAULT_MAX_INFLATED = 64 * 1024 * 1024;
const OUTPUT_CHUNK = 64 * 1024;

/** Thrown inside this file by zlib calls; MessageInflater turns it into a WireError, MessageDeflater into `lost`. */
class ZlibFailure extends Error {
  constructor(
    readonly reason: 'too-large' | 'corrupt',
    readonly original?: unknown,
  ) {
    super(reason);
  }
}

/** The parts of Node's zlib stream that {@link SyncZlibStream} drives (lib/zlib.js). */
interface ZlibHandle {
  writeSync(flush: number, input: Uint8Array, inOffset: number, inLength: number, output: Uint8Array, outOffset: number, outLength: number): void;
  reset(): void;
  close(): void;
  onerror: (message: string, errno: number, code?: string) => void;
}

/** The output buffer every SyncZlibStream writes into (all of them run synchronously). */
let scratch: Uint8Array | null = null;
/**
 * Whether this Node's zlib stream can be driven synchronously; settled on first use. Only tried
 * on the Node versions whose lib/zlib.js drives the handle this way (tested here on 20): a
 * native handle called with arguments it does not expect aborts the process rather than throw.
 */
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
let streamWorks: boolean | undefined = NODE_MAJOR >= 20 && NODE_MAJOR <= 24 ? undefined : false;

/**
 * One raw DEFLATE stream, inflating or deflating, kept for the whole direction and driven
 * synchronously.
 *
 * Node's only synchronous zlib API (`inflateRawSync`) builds a stream, its native handle and
 * its 32 KiB window for every call, and with context takeover the window of the earlier
 * messages must be copied in as a preset dictionary each time: about 15 µs for a 1 KiB message,
 * and garbage that keeps the collector busy (issue 13). A zlib stream keeps its window itself,
 * but Node's only way to feed it is asynchronous, and an entry that waits for a callback would
 * reach the archive after its bytes were forwarded. So this class calls the stream's native
 * handle the way `inflateRawSync` itself does (`processChunkSync` in lib/zlib.js: `writeSync`
 * into an output buffer, the counts left in `_writeState`), on one stream kept open: about
 * 1.5 µs for the same message. (Compressing, for MessageDeflater, is the same story: 77 µs for a
 * 1 KiB message with its window as a dictionary, against a few with a kept stream.) These are
 * internals, not API: the first stream opened checks they are there and inflate a known message
 * right, once per process; when they do not, {@link SyncZlibStream.inflater} and
 * {@link SyncZlibStream.deflater} return null, and the callers fall back to the `*RawSync` calls.
 */
export class SyncZlibStream {
  private failure: string | null = null;

  private constructor(
    private readonly stream: zlib.InflateRaw | zlib.DeflateRaw,
    private readonly handle: ZlibHandle,
    private readonly state: Uint32Array,
  ) {
    // zlib reports errors to this callback during writeSync; the stream's own handler would
    // destroy the stream and emit 'error' a tick later.
    handle.onerror = (message) => {
      this.failure = message;
    };
  }

  /** A new inflating stream, or null when this Node's zlib does not work as this class expects. */
  static inflater(): SyncZlibStream | null {
    return SyncZlibStream.works() ? SyncZlibStream.create(zlib.createInflateRaw({ windowBits: 15 })) : null;
  }

  /**
   * A new deflating stream (windowBits 9-15) whose window starts with `dictionary`, or null when
   * this Node's zlib does not work as this class expects.
   */
  static deflater(windowBits: number, dictionary: Uint8Array): SyncZlibStream | null {
    if (!SyncZlibStream.works()) return null;
    return SyncZlibStream.create(zlib.createDeflateRaw({ windowBits, ...(dictionary.length > 0 ? { dictionary } : {}) }));
  }

  private static works(): boolean {
    streamWorks ??= SyncZlibStream.selfTest();
    return streamWorks;
  }

  private static create(stream: zlib.InflateRaw | zlib.DeflateRaw): SyncZlibStream | null {
    const internals = stream as unknown as { _handle?: Partial<ZlibHandle> | null; _writeState?: unknown };
    const handle = internals._handle;
    const state = internals._writeState;
    const usable =
      handle != null &&
      typeof handle.writeSync === 'function' &&
      typeof handle.reset === 'function' &&
      typeof handle.close === 'function' &&
      state instanceof Uint32Array &&
      state.length >= 2;
    if (!usable) {
      stream.close();
      return null;
    }
    return new SyncZlibStream(stream, handle as ZlibHandle, state);
  }

  /** RFC 7692 §7.2.3.2: two "Hello" messages, the second a back reference into the first. */
  private static selfTest(): boolean {
    const stream = SyncZlibStream.create(zlib.createInflateRaw({ windowBits: 15 }));
    if (stream === null) return false;
    try {
      const hello = [0x48, 0x65, 0x6c, 0x6c, 0x6f];
      const first = stream.write(new Uint8Array([0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, ...TAIL]), 100, 100).output;
      const second = stream.write(new Uint8Array([0xf2, 0x00, 0x11, 0x00, 0x00, ...TAIL]), 100, 100).output;
      return [first, second].every((out) => out.length === 5 && out.every((byte, i) => byte === hello[i]));
    } catch {
      return false;
    } finally {
      stream.close();
    }
  }

  /**
   * Inflates or deflates the next input with a sync flush: everything it yields comes out now
   * (the first `maxOutput` bytes of it; `size` counts all).
   *
   * @throws ZlibFailure 'too-large' once the output passes `room` bytes, 'corrupt' for
   *   invalid data. The stream is then in the middle of something: reset or close it.
   */
  write(input: Uint8Array, room: number, maxOutput: number): InflateResult {
    const out = (scratch ??= new Uint8Array(OUTPUT_CHUNK));
    const kept: Uint8Array[] = [];
    let keptBytes = 0;
    let size = 0;
    let inOffset = 0;
    let inLength = input.length;
    for (;;) {
      this.handle.writeSync(zlib.constants.Z_SYNC_FLUSH, input, inOffset, inLength, out, 0, out.length);
      if (this.failure !== null) throw new ZlibFailure('corrupt', new Error(this.failure));
      const outLeft = this.state[0]!;
      const inLeft = this.state[1]!;
      const produced = out.length - outLeft;
      size += produced;
      if (size > room) throw new ZlibFailure('too-large');
      const take = Math.min(produced, maxOutput - keptBytes);
      if (take > 0) {
        kept.push(out.slice(0, take));
        keptBytes += take;
      }
      inOffset += inLength - inLeft;
      inLength = inLeft;
      // A full output buffer may mean more output is waiting.
      if (outLeft !== 0) break;
    }
    if (inLength > 0) {
      // Input left over with room in the output: the DEFLATE stream ended (a block with BFINAL
      // set), and zlib would yield nothing more from it. RFC 7692 §7.2.3.4 allows that at the
      // end of a message, followed by an empty stored block; anything else is not a message.
      if (!isEmptyStoredBlock(input.subarray(inOffset))) throw new ZlibFailure('corrupt', new Error('data after the end of the DEFLATE stream'));
      this.reset();
    }
    const output = kept.length === 1 ? kept[0]! : concat(kept, keptBytes);
    return { output, size, truncated: size > keptBytes };
  }

  /** Starts a new DEFLATE stream, with an empty window. */
  reset(): void {
    this.failure = null;
    this.handle.reset();
  }

  close(): void {
    this.stream.close();
  }
}

/**
 * Inflates the compressed messages of one direction, in order (RFC 7692 §7.2.2), a message
 * whole or fragment by fragment, synchronously (no callbacks: an entry is written before the
 * bytes it describes are forwarded).
 *
 * With context takeover a sender's compressor may refer back to any of the last 32 KiB it sent
 * earlier (the LZ77 sliding window), so the inflater must see every message of the direction.
 * It keeps one zlib stream for the direction ({@link SyncZlibStream}), or, when this Node
 * does not allow that, keeps the last 32 KiB of its own output and hands them to
 * `zlib.inflateRawSync` as the preset dictionary of the next call.
 *
 * At a sync-flush point (what `ws` and Python websockets emit after every fragment: RFC 7692
 * §7.2.1 removes the 00 00 ff ff only from the end of the message) the DEFLATE stream is on a
 * byte-aligned block boundary, so a fragment that ends there inflates on its own. A fragment
 * that does not end with 00 00 ff ff (a sender that cut one compressed stream into frames)
 * yields nothing yet: the caller passes its bytes again with the next fragment, and the output
 * comes with the fragment that reaches a flush point (at the latest the final one). When those
 * four bytes are data, not a flush point (rare), the zlib stream yields what they decode to so
 * far and the fallback yields nothing yet: either way the outputs join to the message.
 *
 * Once a message is not inflated (skipped, corrupt, or too large) while the sender uses context
 * takeover, later messages may refer to output that was never seen: the inflater becomes
 * unavailable (`available` false) and inflating throws WS_INFLATE_UNAVAILABLE from then on.
 */
export class MessageInflater {
  private readonly noContextTakeover: boolean;
  private readonly maxOutput: number;
  private readonly maxInflatedSize: number;
  private readonly zlibStream: boolean;
  /** The zlib stream: undefined until the first message, null when the fallback is used. */
  private stream: SyncZlibStream | null | undefined = undefined;
  // The fallback's last 32 KiB of output. Without context takeover it holds the current
  // message's output only (its later fragments refer back to its earlier ones).
  private readonly window = new SlidingWindow(WINDOW);
  /** Bytes the current message inflated to so far, for maxInflatedSize. */
  private messageSize = 0;
  /** The zlib stream found the current message corrupt at a fragment before the final one. */
  private corrupt = false;
  private lost = false;

  constructor(options: MessageInflaterOptions) {
    this.noContextTakeover = options.noContextTakeover;
    this.maxOutput = options.maxOutput;
    this.maxInflatedSize = options.maxInflatedSize ?? Math.max(options.maxOutput, DEFAULT_MAX_INFLATED);
    this.zlibStream = options.zlibStream ?? true;
  }

  /** False once the shared window is unknown (context takeover only). */
  get available(): boolean {
    return !this.lost;
  }

  /**
   * Inflates one whole message: its compressed payload, or the payloads of its fragments in
   * order.
   *
   * @throws WireError WS_INFLATE_FAILED for corrupt data, WS_INFLATE_TOO_LARGE past
   *   maxInflatedSize, WS_INFLATE_UNAVAILABLE once the window is unknown.
   */
  inflate(compressed: Uint8Array | readonly Uint8Array[]): InflateResult {
    return this.inflateFragment(compressed instanceof Uint8Array ? [compressed] : compressed, true) as InflateResult;
  }

  /**
   * Inflates the next fragment of the message in progress: `pieces` are the compressed payloads
   * of the fragments not consumed yet, this one last. Returns null for a non-final fragment that
   * does not end on a flush point: nothing was consumed, pass the same pieces again, plus the
   * next fragment's, next time. The final fragment always yields a result (or throws).
   *
   * @throws WireError as {@link inflate}; WS_INFLATE_TOO_LARGE once the message's fragments
   *   together pass maxInflatedSize. After a throw the message is over for the inflater.
   */
  inflateFragment(pieces: readonly Uint8Array[], final: boolean): InflateResult | null {
    if (this.lost) {
      throw wireError('WS_INFLATE_UNAVAILABLE', 'an earlier message was not inflated');
    }
    // A flush point ends with the empty stored block 00 00 ff ff (RFC 1951 §3.2.4). Checking for
    // it first keeps the attempt below to fragments that are almost surely at one.
    if (!final && !endsWithTail(pieces)) return null;
    if (this.corrupt) {
      // The pieces held since the corrupt fragment are the message's uninflated bytes.
      if (!final) return null;
      this.skip();
      throw wireError('WS_INFLATE_FAILED', 'compressed message is not valid DEFLATE data');
    }
    if (final && pieces.every((piece) => piece.length === 0)) {
      // No DEFLATE data at all (a compliant sender sends at least 0x00): the 00 00 ff ff alone
      // would leave a kept stream inside a stored block. It inflates to nothing.
      this.endMessage();
      return { output: EMPTY_BYTES, size: 0, truncated: false };
    }
    const room = this.maxInflatedSize - this.messageSize;
    if (this.stream === undefined) this.stream = this.zlibStream ? SyncZlibStream.inflater() : null;

    let result: InflateResult;
    try {
      result = this.stream !== null ? this.stream.write(joined(pieces, final), room, this.maxOutput) : this.inflateWithDictionary(pieces, final, room);
    } catch (error) {
      if (!(error instanceof ZlibFailure)) throw error;
      if (error.reason === 'corrupt' && !final) {
        // Not a flush point after all, or corrupt: the final fragment, with every piece held
        // until then, tells which (the fallback) or reports it (the stream, which cannot take
        // bytes back).
        if (this.stream !== null) this.corrupt = true;
        return null;
      }
      this.skip();
      throw error.reason === 'too-large'
        ? wireError('WS_INFLATE_TOO_LARGE', `message inflates to over ${this.maxInflatedSize} bytes`, error.original)
        : wireError('WS_INFLATE_FAILED', 'compressed message is not valid DEFLATE data', error.original);
    }
    this.messageSize += result.size;
    if (final) this.endMessage();
    return result;
  }

  /**
   * Records that the message in progress was not inflated to its end. With context takeover the
   * window is then unknown and the inflater unavailable for good; without it, the next message
   * starts afresh.
   */
  skip(): void {
    if (!this.noContextTakeover) this.lost = true;
    this.endMessage();
  }

  /** Frees the zlib stream; inflating again opens a new one. */
  close(): void {
    this.stream?.close();
    this.stream = undefined;
  }

  private endMessage(): void {
    this.messageSize = 0;
    this.corrupt = false;
    if (this.lost) {
      this.close();
      return;
    }
    // RFC 7692 §7.1.1: without context takeover every message starts with an empty window (and
    // a stream left mid-message by a failure starts over).
    if (this.noContextTakeover) {
      this.window.clear();
      this.stream?.reset();
    }
  }

  /** The fallback: one `zlib.inflateRawSync` call, the window as its dictionary. */
  private inflateWithDictionary(pieces: readonly Uint8Array[], final: boolean, room: number): InflateResult {
    const end = final ? TAIL : END_BLOCK;
    let length = end.length;
    for (const piece of pieces) length += piece.length;
    const input = concat([...pieces, end], length);

    let inflated: Buffer;
    try {
      inflated = zlib.inflateRawSync(input, {
        // A message ends on a sync flush, not at the end of a DEFLATE stream; a fragment is
        // checked by ending the stream with END_BLOCK (Z_FINISH, the default, fails otherwise).
        ...(final ? { finishFlush: zlib.constants.Z_SYNC_FLUSH } : {}),
        windowBits: 15,
        // zlib's default 16 KiB output chunks cost a buffer each and a copy to join them:
        // with 64 KiB a 64 KiB message inflates in about half the CPU time (issue 13).
        chunkSize: OUTPUT_CHUNK,
        maxOutputLength: Math.max(1, room),
        ...(this.window.length > 0 ? { dictionary: this.window.bytes } : {}),
      });
    } catch (error) {
      throw new ZlibFailure((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE' ? 'too-large' : 'corrupt', error);
    }

    const size = inflated.length;
    if (size > room) throw new ZlibFailure('too-large');
    this.window.push(inflated);
    let output: Uint8Array;
    if (size <= this.maxOutput && inflated.buffer.byteLength <= 2 * size) {
      output = new Uint8Array(inflated.buffer, inflated.byteOffset, size);
    } else if (size <= this.maxOutput) {
      // A small output in a large chunk: copied, so that a message held for the hooks does not
      // keep the whole chunk alive.
      output = Uint8Array.prototype.slice.call(inflated, 0, size);
    } else {
      // Copy, so the full output can be freed.
      output = new Uint8Array(this.maxOutput);
      output.set(inflated.subarray(0, this.maxOutput));
    }
    return { output, size, truncated: size > this.maxOutput };
  }
}

/**
 * The pieces as one input, with the message's removed 00 00 ff ff put back after the final one.
 * A final piece that still ends with them (a sender that did not remove them) gets none: a
 * second tail would start a stored block that the stream kept for the next message would take
 * its bytes into. A message that was stripped right cannot end with 0xff: its last byte holds
 * the empty block's three header bits, then zeros.
 */
function joined(pieces: readonly Uint8Array[], final: boolean): Uint8Array {
  const tail = final && !endsWithTail(pieces);
  if (!tail && pieces.length === 1) return pieces[0]!;
  let length = tail ? TAIL.length : 0;
  for (const piece of pieces) length += piece.length;
  return concat(tail ? [...pieces, TAIL] : pieces, length);
}

/** 00 00 ff ff, or 00 00 00 ff ff: an empty stored block, whole or from its length on. */
function isEmptyStoredBlock(rest: Uint8Array): boolean {
  const at = rest.length - TAIL.length;
  if (at !== 0 && !(at === 1 && rest[0] === 0)) return false;
  return TAIL.every((byte, i) => rest[at + i] === byte);
}

/** Whether the pieces, joined, end with 00 00 ff ff. */
function endsWithTail(pieces: readonly Uint8Array[]): boolean {
  let matched = 0;
  for (let p = pieces.length - 1; p >= 0 && matched < TAIL.length; p--) {
    const piece = pieces[p]!;
    for (let i = piece.length - 1; i >= 0 && matched < TAIL.length; i--) {
      if (piece[i] !== TAIL[TAIL.length - 1 - matched]) return false;
      matched++;
    }
  }
  return matched === TAIL.length;
}

/**
 * Compresses the messages of one direction for a receiver whose inflater has context takeover,
 * after the sender's own compressed stream stopped being forwarded as it was (wstape dropped or
 * changed a compressed message). The receiver's LZ77 window holds the content of every
 * compressed message it inflated; this deflater's history must hold the same last bytes: those
 * of the messages forwarded as they came (`seen`), then its own input.
 *
 * Until the first message is compressed, `seen` content only goes into a sliding window (one
 * copy). The first `deflate` opens one zlib stream with that window as its preset dictionary and
 * keeps it (SyncZlibStream: about 256 KiB of zlib state at window bits 15, for the life of the
 * direction); content seen after that is compressed through it and the output dropped, so the
 * history stays the receiver's. Each message ends on a sync flush whose 0x00 0x00 0xff 0xff tail
 * is removed (RFC 7692 §7.2.1). Where this Node does not allow a kept stream, each message is one
 * `deflateRawSync` with the window as its dictionary.
 */
export class MessageDeflater {
  private readonly window: SlidingWindow;
  /** The kept stream: undefined until the first deflate, null when the fallback is used. */
  private stream: SyncZlibStream | null | undefined = undefined;
  private lost = false;

  /**
   * @param windowBits the receiver's window: the sender's negotiated max_window_bits, 9-15.
   * @param zlibStream false: the fallback, for tests (see MessageInflaterOptions.zlibStream).
   */
  constructor(
    private readonly windowBits: number,
    private readonly zlibStream = true,
  ) {
    if (!(Number.isInteger(windowBits) && windowBits >= 9 && windowBits <= 15)) throw new RangeError('windowBits must be 9-15');
    this.window = new SlidingWindow(1 << windowBits);
  }

  /** False once the receiver's window is unknown (a compressed message whose content was not known). */
  get available(): boolean {
    return !this.lost;
  }

  /** The receiver inflated this content from a message forwarded as it came. */
  seen(content: Uint8Array): void {
    if (this.lost) return;
    if (this.stream) this.compress(this.stream, content);
    else this.window.push(content);
  }

  /** The receiver inflated a message whose content is unknown here: no dictionary can match its window. */
  unknown(): void {
    this.lost = true;
    this.stream?.close();
    this.stream = null;
  }

  /**
   * One message's compressed payload, to be sent with RSV1 set; null when zlib failed, after
   * which the deflater is unavailable (send uncompressed: RFC 7692 allows any message so).
   */
  deflate(payload: Uint8Array): Uint8Array | null {
    // An empty stored block's header byte (RFC 7692 §7.2.3.6): what a sender that flushes each
    // message sends for an empty one. A kept stream would give nothing (zlib does not repeat a
    // flush without new input), and an empty payload would leave the receiver's inflater inside
    // the stored block that the appended 00 00 ff ff starts.
    if (payload.length === 0) return Uint8Array.of(0);
    if (this.stream === undefined) this.stream = this.zlibStream ? SyncZlibStream.deflater(this.windowBits, this.window.bytes) : null;
    if (this.stream !== null) {
      const out = this.compress(this.stream, payload);
      return out === null ? null : withoutTail(out);
    }
    const out = zlib.deflateRawSync(payload, {
      windowBits: this.windowBits,
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
      ...(this.window.length > 0 ? { dictionary: this.window.bytes } : {}),
    });
    this.window.push(payload);
    return withoutTail(out);
  }

  /** The content through the kept stream; null (and the deflater unavailable) if zlib failed. */
  private compress(stream: SyncZlibStream, content: Uint8Array): Uint8Array | null {
    try {
      return stream.write(content, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER).output;
    } catch (error) {
      if (!(error instanceof ZlibFailure)) throw error;
      this.unknown();
      return null;
    }
  }
}

/** A sync flush's output without its trailing 0x00 0x00 0xff 0xff (RFC 7692 §7.2.1). */
function withoutTail(out: Uint8Array): Uint8Array {
  return endsWithTail([out]) ? out.subarray(0, out.length - TAIL.length) : out;
}

/**
 * The last `size` bytes of some content, for a preset dictionary: kept in a buffer of twice that
 * size, so that adding content costs one copy (and a move of at most `size` bytes now and then)
 * and the window is always one contiguous view. Allocated on first use.
 */
class SlidingWindow {
  private buffer: Uint8Array | null = null;
  // The window is buffer[start, end).
  private start = 0;
  private end = 0;

  constructor(private readonly size: number) {}

  get length(): number {
    return this.end - this.start;
  }

  /** The window's bytes: a view, valid until the next push or clear. */
  get bytes(): Uint8Array {
    return this.buffer === null ? EMPTY_BYTES : this.buffer.subarray(this.start, this.end);
  }

  clear(): void {
    this.start = this.end = 0;
  }

  push(content: Uint8Array): void {
    if (content.length === 0) return;
    const buffer = (this.buffer ??= new Uint8Array(2 * this.size));
    if (content.length >= this.size) {
      buffer.set(content.subarray(content.length - this.size));
      this.start = 0;
      this.end = this.size;
      return;
    }
    if (this.end + content.length > buffer.length) {
      const keep = Math.min(this.end - this.start, this.size - content.length);
      buffer.copyWithin(0, this.end - keep, this.end);
      this.start = 0;
      this.end = keep;
    }
    buffer.set(content, this.end);
    this.end += content.length;
    this.start = Math.max(this.start, this.end - this.size);
  }
}

const EMPTY_BYTES = new Uint8Array(0);

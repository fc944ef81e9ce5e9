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
   * The most a message may inflate to, all its fragments together (the zip-bomb bound). Each
   * call's whole output is needed for the real size and the window, so this is also the
   * transient memory cost of one call. Default: the larger of maxOutput and 64 MiB.
   */
  maxInflatedSize?: number;
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
// cleanly only when the fragment ended on a block boundary: that is how a flush point is told.
const END_BLOCK = new Uint8Array([0x03, 0x00]);
const DEFAULT_MAX_INFLATED = 64 * 1024 * 1024;
const OUTPUT_CHUNK = 64 * 1024;

/**
 * Inflates the compressed messages of one direction, in order (RFC 7692 §7.2.2), a message
 * whole or fragment by fragment.
 *
 * One `zlib.inflateRawSync` call per message or fragment, so that recording stays synchronous
 * (no zlib stream, no callbacks): with context takeover a sender's compressor may refer back to
 * any of the last 32 KiB it sent earlier (the LZ77 sliding window), so the inflater keeps the
 * last 32 KiB of its own output and hands it to zlib as the preset dictionary of the next call.
 * At a sync-flush point (what `ws` and Python websockets emit after every fragment: RFC 7692
 * §7.2.1 removes the 00 00 ff ff only from the end of the message) the DEFLATE stream is on a
 * byte-aligned block boundary and that window is all the state there is, so a fragment that
 * ends there inflates on its own. A fragment that ends elsewhere (a sender that cut one
 * compressed stream into frames) yields nothing yet: the caller passes its bytes again with the
 * next fragment, and the output comes with the fragment that reaches a flush point (at the
 * latest the final one).
 *
 * Once a message is not inflated (skipped, corrupt, or too large) while the sender uses context
 * takeover, later messages may refer to output that was never seen: the inflater becomes
 * unavailable (`available` false) and inflating throws WS_INFLATE_UNAVAILABLE from then on.
 */
export class MessageInflater {
  private readonly noContextTakeover: boolean;
  private readonly maxOutput: number;
  private readonly maxInflatedSize: number;
  // The last <= 32 KiB of output live in window[windowStart, windowEnd), room to append after.
  // Allocated on first use: an idle connection costs nothing. Without context takeover it holds
  // the current message's output only (its later fragments refer back to its earlier ones).
  private window: Uint8Array | null = null;
  private windowStart = 0;
  private windowEnd = 0;
  /** Bytes the current message inflated to so far, for maxInflatedSize. */
  private messageSize = 0;
  private lost = false;

  constructor(options: MessageInflaterOptions) {
    this.noContextTakeover = options.noContextTakeover;
    this.maxOutput = options.maxOutput;
    this.maxInflatedSize = options.maxInflatedSize ?? Math.max(options.maxOutput, DEFAULT_MAX_INFLATED);
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
    const end = final ? TAIL : END_BLOCK;
    let length = end.length;
    for (const piece of pieces) length += piece.length;
    const input = concat([...pieces, end], length);
    const room = this.maxInflatedSize - this.messageSize;

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
        ...(this.window !== null && this.windowEnd > this.windowStart ? { dictionary: this.window.subarray(this.windowStart, this.windowEnd) } : {}),
      });
    } catch (error) {
      const tooLarge = (error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE';
      // Not a flush point after all (the 4 bytes were data), or corrupt data: the final
      // fragment, which inflates everything held, tells which.
      if (!tooLarge && !final) return null;
      this.skip();
      throw tooLarge
        ? wireError('WS_INFLATE_TOO_LARGE', `message inflates to over ${this.maxInflatedSize} bytes`, error)
        : wireError('WS_INFLATE_FAILED', 'compressed message is not valid DEFLATE data', error);
    }

    const size = inflated.length;
    if (size > room) {
      this.skip();
      throw wireError('WS_INFLATE_TOO_LARGE', `message inflates to over ${this.maxInflatedSize} bytes`);
    }
    this.messageSize += size;
    this.remember(inflated);
    if (final) this.endMessage();
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

  /**
   * Records that the message in progress was not inflated to its end. With context takeover the
   * window is then unknown and the inflater unavailable for good; without it, the next message
   * starts afresh.
   */
  skip(): void {
    if (!this.noContextTakeover) this.lost = true;
    this.endMessage();
  }

  private endMessage(): void {
    this.messageSize = 0;
    // RFC 7692 §7.1.1: without context takeover every message starts with an empty window.
    if (this.noContextTakeover) this.windowStart = this.windowEnd = 0;
  }

  /** Keeps the last 32 KiB of output as the next call's dictionary. */
  private remember(output: Uint8Array): void {
    if (output.length === 0) return;
    const window = (this.window ??= new Uint8Array(2 * WINDOW));
    if (output.length >= WINDOW) {
      window.set(output.subarray(output.length - WINDOW));
      this.windowStart = 0;
      this.windowEnd = WINDOW;
      return;
    }
    if (this.windowEnd + output.length > window.length) {
      const keep = Math.min(this.windowEnd - this.windowStart, WINDOW - output.length);
      window.copyWithin(0, this.windowEnd - keep, this.windowEnd);
      this.windowStart = 0;
      this.windowEnd = keep;
    }
    window.set(output, this.windowEnd);
    this.windowEnd += output.length;
    this.windowStart = Math.max(this.windowStart, this.windowEnd - WINDOW);
  }
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
 * compressed message it inflated; this deflater keeps the same last bytes (`seen` for the
 * messages forwarded as they came, its own output after) and hands them to zlib as the preset
 * dictionary, the mirror of MessageInflater. One `deflateRawSync` per message, ending on a sync
 * flush whose 0x00 0x00 0xff 0xff tail is removed (RFC 7692 §7.2.1).
 */
export class MessageDeflater {
  private readonly windowSize: number;
  private window: Uint8Array = new Uint8Array(0);
  private lost = false;

  /** @param windowBits the receiver's window: the sender's negotiated max_window_bits, 9-15. */
  constructor(private readonly windowBits: number) {
    if (!(Number.isInteger(windowBits) && windowBits >= 9 && windowBits <= 15)) throw new RangeError('windowBits must be 9-15');
    this.windowSize = 1 << windowBits;
  }

  /** False once the receiver's window is unknown (a compressed message whose content was not known). */
  get available(): boolean {
    return !this.lost;
  }

  /** The receiver inflated this content from a message forwarded as it came. */
  seen(content: Uint8Array): void {
    this.remember(content);
  }

  /** The receiver inflated a message whose content is unknown here: no dictionary can match its window. */
  unknown(): void {
    this.lost = true;
  }

  /** One message's compressed payload, to be sent with RSV1 set. */
  deflate(payload: Uint8Array): Uint8Array {
    const out = zlib.deflateRawSync(payload, {
      windowBits: this.windowBits,
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
      ...(this.window.length > 0 ? { dictionary: this.window } : {}),
    });
    this.remember(payload);
    const ends = out.length >= 4 && out[out.length - 4] === 0 && out[out.length - 3] === 0 && out[out.length - 2] === 0xff && out[out.length - 1] === 0xff;
    return ends ? out.subarray(0, out.length - 4) : out;
  }

  private remember(content: Uint8Array): void {
    if (content.length >= this.windowSize) {
      this.window = content.slice(content.length - this.windowSize);
      return;
    }
    const joined = concat([this.window, content], this.window.length + content.length);
    this.window = joined.length > this.windowSize ? joined.slice(joined.length - this.windowSize) : joined;
  }
}

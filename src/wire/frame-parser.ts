/**
 * An incremental, I/O-free RFC 6455 frame parser.
 *
 * It is a state machine in the manner of ws's lib/receiver.js: numbered states, a list of
 * buffered chunks and `consume`; a state that lacks bytes returns and waits for the next push.
 * Fed the same bytes cut at any points it yields the same frames.
 *
 * The parser is mechanical: it splits the stream into frames and unmasks payloads. It judges
 * nothing except what makes the stream unparseable (a 64-bit length with the top bit set, which
 * RFC 6455 §5.2 forbids). Anomalies are the stream observer's business.
 *
 * Lengths from 2^53 to 2^63 - 1 are legal but cannot be held exactly in a number: the bytes still
 * to come are then counted in a bigint until they fit a number again, so the frame boundary after
 * such a frame is exact, and the frame reports `payloadLength` Number.MAX_SAFE_INTEGER with
 * `lengthTooLarge` set (and so, like any payload longer than maxRetain, `truncated`).
 *
 * Memory: only the first `maxRetain` payload bytes of a frame are kept; the rest are counted and
 * dropped. Nothing is sized from a declared length: kept bytes go into a buffer that at most
 * doubles what actually arrived, so a frame that claims 2^40 bytes and sends 10 costs about 10.
 * An unmasked payload that arrived inside one pushed chunk is returned as a view (`subarray`) of
 * that chunk, not a copy: callers must not modify a chunk after pushing it. A masked payload is
 * always a fresh copy, so the pushed chunk is never written to.
 */

import type { FrameHeader, ParsedFrame, StreamError } from './types.js';
import { unmaskInto } from './mask.js';

/** What one push can yield: a complete frame, or the error that stopped the parser. */
export type ParserEvent = { type: 'frame'; frame: ParsedFrame; wireSize: number } | { type: 'error'; error: StreamError };

/** Options for {@link FrameParser}. */
export interface FrameParserOptions {
  /** Payload bytes kept per frame; the rest are counted and discarded. */
  maxRetain: number;
}

const GET_INFO = 0;
const GET_LENGTH_16 = 1;
const GET_LENGTH_64 = 2;
const GET_MASK = 3;
const GET_DATA = 4;
const STOPPED = 5;

const EMPTY = new Uint8Array(0);

/**
 * Splits one direction of a WebSocket byte stream into frames.
 *
 * @example
 *   const parser = new FrameParser({ maxRetain: 1 << 20 });
 *   for (const event of parser.push(chunk)) if (event.type === 'frame') use(event.frame);
 */
export class FrameParser {
  private readonly maxRetain: number;
  private state = GET_INFO;

  // Input not yet consumed: chunks[0] starts at `offset`.
  private readonly chunks: Uint8Array[] = [];
  private offset = 0;
  private buffered = 0;
  // Up to 8 header bytes gathered across chunks.
  private readonly scratch = new Uint8Array(8);

  // The frame being parsed.
  private byte0 = 0;
  private byte1 = 0;
  private headerLength = 0;
  private payloadLength = 0;
  private nonMinimal = false;
  private maskKey: Uint8Array | null = null;
  /** Payload bytes still to arrive (kept or not). */
  private remaining = 0;
  /** While more than Number.MAX_SAFE_INTEGER payload bytes are still to arrive: how many (else null). */
  private remainingBig: bigint | null = null;
  /** The declared length is above Number.MAX_SAFE_INTEGER. */
  private lengthTooLarge = false;
  /** Payload bytes kept so far (also the mask offset of the next kept byte). */
  private kept = 0;
  /** min(payloadLength, maxRetain): what `kept` reaches by the end of the frame. */
  private keepLimit = 0;
  /** The kept payload in `keptBytes[0, kept)`: a view of the input, or a buffer that grows. */
  private keptBytes: Uint8Array = EMPTY;

  /** @param options.maxRetain payload bytes to keep per frame (>= 0) */
  constructor(options: FrameParserOptions) {
    if (!(options.maxRetain >= 0)) throw new RangeError('maxRetain must be >= 0');
    this.maxRetain = options.maxRetain;
  }

  /** True once the stream proved unparseable; later pushes return nothing. */
  get stopped(): boolean {
    return this.state === STOPPED;
  }

  /**
   * Bytes the parser holds right now: unconsumed input plus the kept payload of the frame in
   * progress. Between pushes: under 14 bytes of header plus at most `maxRetain`.
   */
  get retainedBytes(): number {
    return this.buffered + this.keptBytes.length;
  }

  /**
   * Feeds the next bytes of the stream.
   *
   * @returns the frames completed by these bytes, in order, and at most one error.
   */
  push(chunk: Uint8Array): ParserEvent[] {
    const events: ParserEvent[] = [];
    if (this.state === STOPPED || chunk.length === 0) return events;
    this.chunks.push(chunk);
    this.buffered += chunk.length;

    for (;;) {
      switch (this.state) {
        case GET_INFO:
          if (!this.getInfo()) return events;
          break;
        case GET_LENGTH_16:
          if (!this.getLength16()) return events;
          break;
        case GET_LENGTH_64:
          if (!this.getLength64(events)) return events;
          break;
        case GET_MASK:
          if (!this.getMask()) return events;
          break;
        case GET_DATA:
          if (!this.getData(events)) return events;
          break;
        default:
          return events;
      }
    }
  }

  /** Copies the next `n` (<= 8) input bytes into `scratch` and consumes them. */
  private consume(n: number): Uint8Array {
    const out = this.scratch;
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0] as Uint8Array;
      const take = Math.min(n - filled, chunk.length - this.offset);
      out.set(chunk.subarray(this.offset, this.offset + take), filled);
      filled += take;
      this.advance(chunk, take);
    }
    return out;
  }

  /** Moves past `n` bytes of chunks[0], dropping it once used up. */
  private advance(chunk: Uint8Array, n: number): void {
    this.offset += n;
    this.buffered -= n;
    if (this.offset === chunk.length) {
      this.chunks.shift();
      this.offset = 0;
    }
  }

  private getInfo(): boolean {
    if (this.buffered < 2) return false;
    const bytes = this.consume(2);
    this.byte0 = bytes[0] as number;
    this.byte1 = bytes[1] as number;
    this.headerLength = 2;
    this.nonMinimal = false;
    this.maskKey = null;
    const length7 = this.byte1 & 0x7f;
    // RFC 6455 §5.2: 126 means a 16-bit length follows, 127 a 64-bit length.
    if (length7 === 126) this.state = GET_LENGTH_16;
    else if (length7 === 127) this.state = GET_LENGTH_64;
    else this.afterLength(length7);
    return true;
  }

  private getLength16(): boolean {
    if (this.buffered < 2) return false;
    const bytes = this.consume(2);
    const length = ((bytes[0] as number) << 8) | (bytes[1] as number);
    this.headerLength += 2;
    // RFC 6455 §5.2: "the minimal number of bytes MUST be used to encode the length".
    this.nonMinimal = length < 126;
    this.afterLength(length);
    return true;
  }

  private getLength64(events: ParserEvent[]): boolean {
    if (this.buffered < 8) return false;
    const bytes = this.consume(8);
    const high = (((bytes[0] as number) << 24) | ((bytes[1] as number) << 16) | ((bytes[2] as number) << 8) | (bytes[3] as number)) >>> 0;
    const low = (((bytes[4] as number) << 24) | ((bytes[5] as number) << 16) | ((bytes[6] as number) << 8) | (bytes[7] as number)) >>> 0;
    this.headerLength += 8;
    // RFC 6455 §5.2: "the most significant bit MUST be 0" in a 64-bit length.
    if (high >= 0x80000000) {
      return this.stop(events, 'a 64-bit payload length has its most significant bit set');
    }
    // Past 2^53 - 1 a number cannot count the length exactly: a bigint counts it (see the top).
    if (high > 0x1fffff) {
      this.nonMinimal = false;
      this.afterLength(Number.MAX_SAFE_INTEGER);
      this.lengthTooLarge = true;
      this.remaining = 0;
      this.remainingBig = (BigInt(high) << 32n) | BigInt(low);
      return true;
    }
    const length = high * 0x100000000 + low;
    // RFC 6455 §5.2: "the minimal number of bytes MUST be used to encode the length".
    this.nonMinimal = length <= 0xffff;
    this.afterLength(length);
    return true;
  }

  private afterLength(length: number): void {
    this.payloadLength = length;
    this.lengthTooLarge = false;
    this.remainingBig = null;
    this.remaining = length;
    this.kept = 0;
    this.keepLimit = Math.min(length, this.maxRetain);
    // RFC 6455 §5.2: the mask bit says whether a 4-byte masking key follows.
    this.state = (this.byte1 & 0x80) !== 0 ? GET_MASK : GET_DATA;
  }

  private getMask(): boolean {
    if (this.buffered < 4) return false;
    const key = plain(Buffer.allocUnsafe(4));
    key.set(this.consume(4).subarray(0, 4));
    this.maskKey = key;
    this.headerLength += 4;
    this.state = GET_DATA;
    return true;
  }

  private getData(events: ParserEvent[]): boolean {
    while (this.remainingBig !== null) {
      // More than 2^53 - 1 bytes to come: every chunk is smaller than that, so all of it is payload.
      const chunk = this.chunks[0];
      if (chunk === undefined) return false;
      const start = this.offset;
      const take = chunk.length - start;
      const keep = Math.min(take, this.maxRetain - this.kept);
      if (keep > 0) this.keepBytes(chunk, start, keep);
      this.advance(chunk, take);
      const left = this.remainingBig - BigInt(take);
      if (left <= BigInt(Number.MAX_SAFE_INTEGER)) {
        this.remaining = Number(left);
        this.remainingBig = null;
      } else {
        this.remainingBig = left;
      }
    }
    while (this.remaining > 0) {
      const chunk = this.chunks[0];
      if (chunk === undefined) return false;
      const start = this.offset;
      const take = Math.min(this.remaining, chunk.length - start);
      const keep = Math.min(take, this.maxRetain - this.kept);
      if (keep > 0) this.keepBytes(chunk, start, keep);
      this.remaining -= take;
      this.advance(chunk, take);
    }
    events.push(this.finishFrame());
    this.state = GET_INFO;
    return true;
  }

  /**
   * Keeps `n` payload bytes of `chunk` from `start`, unmasked. When the whole kept payload is in
   * this chunk it is a view (unmasked) or one exact copy (masked). Otherwise it goes into a
   * buffer that at most doubles the bytes received so far: nothing is sized from the declared
   * length, and each byte is copied about twice at most.
   */
  private keepBytes(chunk: Uint8Array, start: number, n: number): void {
    const view = chunk.subarray(start, start + n);
    const key = this.maskKey;
    const kept = this.kept;
    if (kept === 0 && n === this.keepLimit) {
      if (key === null) {
        this.keptBytes = view;
      } else {
        // Buffer.allocUnsafe takes small sizes from Node's pool: far cheaper than new Uint8Array.
        const out = Buffer.allocUnsafe(n);
        unmaskInto(out, view, key, 0);
        this.keptBytes = out;
      }
      this.kept = n;
      return;
    }
    if (kept + n > this.keptBytes.length) {
      const grown = Buffer.allocUnsafe(Math.min(this.keepLimit, 2 * (kept + n)));
      grown.set(this.keptBytes.subarray(0, kept));
      this.keptBytes = grown;
    }
    const target = this.keptBytes.subarray(kept, kept + n);
    if (key === null) target.set(view);
    else unmaskInto(target, view, key, kept & 3);
    this.kept = kept + n;
  }

  private finishFrame(): ParserEvent {
    // By now kept === keepLimit, so a grown buffer is exactly full.
    const payload = plain(this.keptBytes);
    this.keptBytes = EMPTY;

    const byte0 = this.byte0;
    const header: FrameHeader = {
      fin: (byte0 & 0x80) !== 0,
      rsv1: (byte0 & 0x40) !== 0,
      rsv2: (byte0 & 0x20) !== 0,
      rsv3: (byte0 & 0x10) !== 0,
      opcode: byte0 & 0x0f,
      masked: this.maskKey !== null,
      maskKey: this.maskKey,
      payloadLength: this.payloadLength,
      headerLength: this.headerLength,
      nonMinimalLength: this.nonMinimal,
      ...(this.lengthTooLarge ? { lengthTooLarge: true } : {}),
    };
    const frame: ParsedFrame = {
      header,
      payload,
      truncated: this.kept < this.payloadLength,
    };
    this.kept = 0;
    // A too-large length is reported as Number.MAX_SAFE_INTEGER, and so is its wire size.
    return { type: 'frame', frame, wireSize: Math.min(this.headerLength + this.payloadLength, Number.MAX_SAFE_INTEGER) };
  }

  private stop(events: ParserEvent[], message: string): boolean {
    this.state = STOPPED;
    this.chunks.length = 0;
    this.buffered = 0;
    this.offset = 0;
    events.push({ type: 'error', error: { code: 'WS_STREAM_UNPARSEABLE', message } });
    return false;
  }
}

/**
 * A plain Uint8Array over the same memory. Buffers (from sockets, or from Buffer.allocUnsafe's
 * cheap pool) are shown as plain Uint8Arrays so every payload has the same type.
 */
function plain(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

/**
 * Redacting bytes: a message made of fragments, a control frame's payload, an HTTP body.
 *
 * How bytes are treated depends on what they are:
 * - Text (a text message that is valid UTF-8, a binary payload that is UTF-8 text without control
 *   characters, a text body): every pass, and a secret becomes the marker, whatever its length.
 * - Anything else (binary data, a compressed message that could not be inflated, a body that is
 *   not text): the passes run over the bytes as latin1, and each secret found is overwritten with
 *   as many bytes (`[REDACTED]***`, or `***` when shorter than the marker), so length prefixes
 *   and offsets inside binary formats stay right and nothing else changes.
 * - Control frames (ping, pong, close reasons): like text when they are text, but with the length
 *   kept, since a control frame's payload must stay within 125 bytes (RFC 6455 §5.5).
 *
 * A message split over several frames is redacted whole, then cut again at the same places
 * (TextDoc.mapOffset): same frame count and order, each frame's new bytes; a secret that spanned
 * a boundary is replaced in the frame it began in.
 */
import { isUtf8 } from 'node:buffer';
import * as zlib from 'node:zlib';
import type { Body, HeaderList } from '../format/schema.js';
import type { MessageType } from '../wire/opcodes.js';
import type { PassContext } from './context.js';
import { BINARY_PASSES, FORM_PASSES, TEXT_PASSES, runPasses, type HitListener } from './passes.js';
import { TextDoc, type Hit } from './text-doc.js';

export type PayloadKind = MessageType | 'control';

/** UTF-8 text with no control characters but tab, newlines, form feed, U+001E (SignalR) and a final NUL (STOMP). */
export function isTextLike(bytes: Uint8Array): boolean {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!isUtf8(buffer)) return false;
  const end = buffer.length > 0 && buffer[buffer.length - 1] === 0 ? buffer.length - 1 : buffer.length;
  for (let i = 0; i < end; i++) {
    const c = buffer[i]!;
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x0c && c !== 0x1e) || c === 0x7f) return false;
  }
  return true;
}

/** The document for some bytes, by what they are. */
export function docFor(bytes: Buffer, kind: PayloadKind): TextDoc {
  const text = kind === 'text' ? isUtf8(bytes) : isTextLike(bytes);
  if (!text) return new TextDoc(bytes.toString('latin1'), 'latin1');
  return new TextDoc(bytes.toString('utf8'), 'utf8', { fixedLength: kind === 'control' });
}

/**
 * Redact a message given as its fragments' payloads. Returns the new payloads (same count, a
 * fragment that was empty stays empty), or null when nothing changed.
 */
export function redactPieces(pieces: readonly Buffer[], kind: PayloadKind, ctx: PassContext, onHit: HitListener): Buffer[] | null {
  const whole = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
  const doc = docFor(whole, kind);
  runPasses(doc, doc.encoding === 'utf8' ? TEXT_PASSES : BINARY_PASSES, ctx, onHit);
  if (!doc.changed) return null;
  const bytes = doc.bytes();
  const result: Buffer[] = [];
  let from = 0;
  let offset = 0;
  for (const [index, piece] of pieces.entries()) {
    offset += piece.length;
    const to = index === pieces.length - 1 ? bytes.length : doc.mapOffset(offset);
    result.push(bytes.subarray(from, to));
    from = to;
  }
  return result;
}

function headerValue(headers: HeaderList, name: string): string | undefined {
  return headers.find(([key]) => key.toLowerCase() === name)?.[1];
}

/** Bodies are inflated up to this size to be searched. */
const MAX_INFLATED = 64 * 1024 * 1024;

interface Codec {
  name: string;
  decode(bytes: Buffer): Buffer;
  encode(bytes: Buffer): Buffer;
}

const CODECS: Record<string, Codec[]> = {
  gzip: [{ name: 'gzip', decode: (b) => zlib.gunzipSync(b, { maxOutputLength: MAX_INFLATED }), encode: (b) => zlib.gzipSync(b) }],
  'x-gzip': [{ name: 'gzip', decode: (b) => zlib.gunzipSync(b, { maxOutputLength: MAX_INFLATED }), encode: (b) => zlib.gzipSync(b) }],
  // RFC 9110 §8.4.1.2: "deflate" is the zlib format, but some servers send raw DEFLATE.
  deflate: [
    { name: 'deflate', decode: (b) => zlib.inflateSync(b, { maxOutputLength: MAX_INFLATED }), encode: (b) => zlib.deflateSync(b) },
    { name: 'deflate', decode: (b) => zlib.inflateRawSync(b, { maxOutputLength: MAX_INFLATED }), encode: (b) => zlib.deflateRawSync(b) },
  ],
  br: [{ name: 'br', decode: (b) => zlib.brotliDecompressSync(b, { maxOutputLength: MAX_INFLATED }), encode: (b) => zlib.brotliCompressSync(b) }],
};

function decodeBody(bytes: Buffer, codecs: readonly Codec[]): { codec: Codec; inner: Buffer } | null {
  for (const codec of codecs) {
    try {
      return { codec, inner: codec.decode(bytes) };
    } catch {
      // not this one
    }
  }
  return null;
}

/**
 * Redact a captured HTTP body, given the headers of its message (for Content-Type and
 * Content-Encoding). Returns the new body (its `size` moved by the change in kept bytes), or null
 * when nothing changed. A body sent compressed (Content-Encoding gzip, deflate or br, kept whole)
 * is inflated, redacted and compressed again; its hits come with the note `(gzip)`.
 */
export function redactBody(body: Body, headers: HeaderList, ctx: PassContext, onHit: (hit: Hit, note: string) => void): Body | null {
  const plain: HitListener = (hit) => onHit(hit, '');
  const contentType = headerValue(headers, 'content-type')?.toLowerCase() ?? '';
  const passes = contentType.includes('application/x-www-form-urlencoded') ? FORM_PASSES : TEXT_PASSES;
  if (body.text !== undefined) {
    const doc = new TextDoc(body.text, 'utf8');
    runPasses(doc, passes, ctx, plain);
    if (!doc.changed) return null;
    const delta = Buffer.byteLength(doc.text, 'utf8') - Buffer.byteLength(body.text, 'utf8');
    return { ...body, size: Math.max(0, body.size + delta), text: doc.text };
  }
  if (body.data === undefined || body.data === '') return null;
  const bytes = Buffer.from(body.data, 'base64');
  const coding = headerValue(headers, 'content-encoding')?.trim().toLowerCase() ?? '';
  const codecs = CODECS[coding];
  if (codecs !== undefined && body.truncated !== true) {
    const decoded = decodeBody(bytes, codecs);
    if (decoded !== null) {
      const doc = docFor(decoded.inner, 'text');
      runPasses(doc, doc.encoding === 'utf8' ? passes : BINARY_PASSES, ctx, (hit) => onHit(hit, `(${decoded.codec.name})`));
      if (!doc.changed) return null;
      const encoded = decoded.codec.encode(doc.bytes());
      return { ...body, size: Math.max(0, body.size + encoded.length - bytes.length), data: encoded.toString('base64') };
    }
  }
  const doc = new TextDoc(bytes.toString('latin1'), 'latin1');
  runPasses(doc, BINARY_PASSES, ctx, plain);
  if (!doc.changed) return null;
  return { ...body, data: doc.bytes().toString('base64') };
}

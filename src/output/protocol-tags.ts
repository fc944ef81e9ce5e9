/**
 * Subprotocol tags for the arrow view (`[socket.io EVENT "chat"]`, `[stomp SEND /queue/a]`),
 * worked out per connection: the live view of `wstape record` sees entries one at a time, so this
 * remembers each connection's negotiated subprotocol from its connection entry.
 *
 * Only whole single-frame data messages are tagged (a fragment is not a packet), by the
 * subprotocol detectors alone (registry.ts detectProtocol: cheap prefix checks, no JSON fallback).
 */
import { detectProtocol } from '../detect/registry.js';
import { protocolTag } from '../detect/tags.js';
import type { Entry } from '../format/schema.js';
import { payloadBytes } from './payload.js';

/** Payloads longer than this are not tagged in the live view: it runs in the proxy's process. */
const MAX_LIVE_TAG_BYTES = 64 * 1024;

export class ProtocolTagger {
  readonly #subprotocols = new Map<string, string | null>();

  /** The tag for this entry's line, or null; call for every entry, in order. */
  tag(entry: Entry): string | null {
    if (entry.kind === 'connection') {
      this.#subprotocols.set(entry.id, entry.subprotocol);
      return null;
    }
    if (entry.kind === 'end') this.#subprotocols.delete(entry.conn);
    if (entry.kind !== 'frame' || !entry.fin || (entry.type !== 'text' && entry.type !== 'binary')) return null;
    if (entry.size > MAX_LIVE_TAG_BYTES || entry.truncated === true) return null;
    const found = detectProtocol(payloadBytes(entry), { type: entry.type, subprotocol: this.#subprotocols.get(entry.conn) ?? null });
    return protocolTag(found);
  }
}

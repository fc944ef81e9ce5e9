/**
 * The opening handshake's one computation (RFC 6455 §4.2.2): the server proves it read the
 * client's key by answering base64(SHA-1(key + GUID)).
 */
import { createHash, randomBytes } from 'node:crypto';

const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Sec-WebSocket-Accept for a Sec-WebSocket-Key. */
export function acceptKey(key: string): string {
  return createHash('sha1')
    .update(key + WEBSOCKET_GUID)
    .digest('base64');
}

/** A fresh Sec-WebSocket-Key: 16 random bytes, base64 (RFC 6455 §4.1). */
export function newClientKey(): string {
  return randomBytes(16).toString('base64');
}

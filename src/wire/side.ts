/**
 * The two peers of a WebSocket connection and the two directions its frames travel, as one
 * vocabulary.
 *
 * A connection has a client and a server (`Side`, also the codec's sender). The archive names a
 * frame's direction from the client's point of view (`Direction`): `out` is client to server,
 * `in` is server to client (docs/FORMAT.md, the `dir` field), and the arrow views draw them as
 * `-->` and `<--`. These names are part of the archive and of `--json` output: never rename.
 */

/** A peer of the connection: who sent a frame, who closed, who dropped the TCP connection. */
export type Side = 'client' | 'server';

/** A frame's direction in the archive: `out` client to server, `in` server to client. */
export type Direction = 'out' | 'in';

/** Both sides, client first (the order reports list them in). */
export const SIDES = ['client', 'server'] as const satisfies readonly Side[];

/** Both directions, `out` first (the order reports list them in). */
export const DIRECTIONS = ['out', 'in'] as const satisfies readonly Direction[];

/** The other peer. */
export function otherSide(side: Side): Side {
  return side === 'client' ? 'server' : 'client';
}

/** The other direction. */
export function otherDirection(dir: Direction): Direction {
  return dir === 'out' ? 'in' : 'out';
}

/** The peer that sends the frames of a direction: `out` → client, `in` → server. */
export function senderOf(dir: Direction): Side {
  return dir === 'out' ? 'client' : 'server';
}

/** The direction of the frames a peer sends: client → `out`, server → `in`. */
export function directionOf(sender: Side): Direction {
  return sender === 'client' ? 'out' : 'in';
}

/** The arrow views' sign for a direction: `-->` for out, `<--` for in. */
export function arrowOf(dir: Direction): '-->' | '<--' {
  return dir === 'out' ? '-->' : '<--';
}

/**
 * A key for one direction of one connection, for the maps that keep per-stream state (open
 * messages, held fragments). RFC 6455 §5.4 orders fragments within a direction only, so every
 * per-message state is kept per (connection, direction).
 */
export function streamKey(conn: string, dir: Direction): string {
  return `${conn}\u0000${dir}`;
}

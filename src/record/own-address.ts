/**
 * Whether an address is the recorder's own listening socket, so that an upstream connection
 * there (a --target or a request that names the recorder, by any host name that resolves to it)
 * is refused as a loop instead of proxying to itself until it runs out of sockets. Decided on the
 * address the upstream socket actually reached, so no name needs resolving here.
 */
import type { SocketAddress } from './http-proxy-types.js';

/** `::ffff:127.0.0.1` → `127.0.0.1`; IPv6 in lower case. */
function normalize(address: string): string {
  const lower = address.toLowerCase();
  return lower.startsWith('::ffff:') && lower.includes('.') ? lower.slice(7) : lower;
}

function isLoopback(address: string): boolean {
  return address === '::1' || /^127\./.test(address);
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

/**
 * A matcher for a socket listening on `listening` (what server.address() gives), on a machine
 * whose interfaces have `localAddresses` (os.networkInterfaces()). A wildcard listener (0.0.0.0,
 * ::) is reached through any local address; a specific one through that address only.
 */
export function ownAddressMatcher(listening: SocketAddress, localAddresses: readonly string[]): (remote: SocketAddress) => boolean {
  const bound = normalize(listening.address);
  const local = new Set(localAddresses.map(normalize));
  return (remote) => {
    if (remote.port !== listening.port) return false;
    const address = normalize(remote.address);
    if (isWildcard(bound)) return isLoopback(address) || local.has(address);
    return address === bound;
  };
}

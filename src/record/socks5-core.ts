/**
 * The SOCKS5 handshake of one client connection, with no I/O: a sans-io state machine in the
 * shape of HttpProxyCore (events in, actions out). The adapter (socks5-session.ts) feeds it the
 * client's bytes and what happened to the upstream, and carries out what it returns: write a
 * reply, connect to an address, record an error, close, or hand the client and the open upstream
 * to an HTTP session positioned as "a tunnel to host:port was accepted", which then sniffs the
 * tunnel's first bytes exactly as it does after an HTTP CONNECT.
 *
 * What it speaks:
 * - RFC 1928 (SOCKS Protocol Version 5): the method negotiation, then one request. Only CONNECT
 *   is supported; BIND and UDP ASSOCIATE get reply 0x07. IPv4, IPv6 and domain names (resolved
 *   by the adapter on the proxy side, as socks5h:// clients expect).
 * - RFC 1929 (Username/Password Authentication) when the recorder has credentials
 *   (--socks-auth); then "no authentication required" is neither offered nor accepted.
 *
 * Protections: a handshake must complete within the header timeout (the core asks for the timer;
 * the adapter runs it), an upstream that turns out to be this recorder is refused (reply 0x02,
 * PROXY_LOOP), and no byte sequence throws: every malformed field is an error entry and a close.
 */
import type { RecorderErrorCode } from '../format/error-codes.js';
import type { SocketAddress } from './http-proxy-types.js';
import { describeUpstreamError, formatAuthority, type SocketError, type UpstreamAddress } from './upstream-address.js';

/** RFC 1928 §6: the REP field of a reply. */
export const SocksReply = {
  succeeded: 0x00,
  generalFailure: 0x01,
  notAllowed: 0x02,
  networkUnreachable: 0x03,
  hostUnreachable: 0x04,
  connectionRefused: 0x05,
  ttlExpired: 0x06,
  commandNotSupported: 0x07,
  addressTypeNotSupported: 0x08,
} as const;

/** RFC 1929 credentials the client must present. */
export interface SocksCredentials {
  username: string;
  password: string;
}

export type Socks5Event =
  | { type: 'client-bytes'; bytes: Uint8Array }
  /** The client half-closed or went away before the handshake was done. */
  | { type: 'client-ended' }
  /** The upstream asked for by `connect` is open; `remote` is where it reached, `local` its own end. */
  | { type: 'upstream-connected'; remote?: SocketAddress; local?: SocketAddress }
  | { type: 'upstream-failed'; error: SocketError | null }
  /** The handshake timer (`set-timer`) ran out. */
  | { type: 'timeout' };

export type Socks5Action =
  /** Bytes to the client (a method selection, an authentication status, a reply). */
  | { type: 'write'; bytes: Uint8Array }
  /** Open an upstream TCP connection (a name is resolved by the adapter, on the proxy side). */
  | { type: 'connect'; address: UpstreamAddress }
  /** Stop reading from the client until the tunnel is handed on (bytes after the request wait in the core). */
  | { type: 'pause' }
  | { type: 'set-timer'; ms: number }
  | { type: 'clear-timer' }
  | { type: 'error'; code: RecorderErrorCode; message: string }
  /** End the client after what was written (and destroy the upstream, if one is open); the core is done. */
  | { type: 'close'; reason: string }
  /**
   * The tunnel to `address` is open and was answered 0x00: hand the client and the upstream to an
   * HTTP session as an accepted tunnel, with `clientBytes` (what the client sent after its
   * request) as its first bytes. The core is done.
   */
  | { type: 'tunnel'; address: UpstreamAddress; clientBytes: Uint8Array };

export interface Socks5CoreOptions {
  /** The client's address, for error messages. */
  client: SocketAddress;
  /** Credentials required by --socks-auth; null: no authentication. */
  credentials: SocksCredentials | null;
  /** The whole handshake must arrive within this (0: no limit). */
  headerTimeoutMs: number;
  /** Whether an upstream's remote address is this recorder's own listening socket. */
  isOwnAddress: (remote: SocketAddress) => boolean;
}

const enum State {
  /** RFC 1928 §3: VER NMETHODS METHODS. */
  Greeting,
  /** RFC 1929 §2: VER ULEN UNAME PLEN PASSWD. */
  Auth,
  /** RFC 1928 §4: VER CMD RSV ATYP DST.ADDR DST.PORT. */
  Request,
  /** The request is complete; the upstream is opening. */
  Connecting,
  Done,
}

const VERSION = 0x05;
const METHOD_NO_AUTH = 0x00;
const METHOD_USERNAME_PASSWORD = 0x02;
const METHOD_NONE_ACCEPTABLE = 0xff;
const AUTH_VERSION = 0x01;
const CMD_CONNECT = 0x01;
const CMD_NAMES: Record<number, string> = { 0x02: 'BIND', 0x03: 'UDP ASSOCIATE' };
const ATYP_IPV4 = 0x01;
const ATYP_DOMAIN = 0x03;
const ATYP_IPV6 = 0x04;
/** A domain name we are willing to resolve: letters, digits, dot, hyphen, underscore (and ':' for IPv6 text). */
const HOST_NAME = /^[A-Za-z0-9._:-]+$/;

/** Which reply code tells a client why its upstream could not be reached (RFC 1928 §6). */
const REPLY_FOR_ERROR: Record<string, number> = {
  ECONNREFUSED: SocksReply.connectionRefused,
  ENOTFOUND: SocksReply.hostUnreachable,
  EAI_AGAIN: SocksReply.hostUnreachable,
  EAI_NONAME: SocksReply.hostUnreachable,
  EHOSTUNREACH: SocksReply.hostUnreachable,
  ETIMEDOUT: SocksReply.ttlExpired,
  ENETUNREACH: SocksReply.networkUnreachable,
};

/** The reply code for an upstream connect failure (general failure when nothing more precise fits). */
export function replyForError(error: SocketError | null): number {
  return REPLY_FOR_ERROR[error?.code ?? ''] ?? SocksReply.generalFailure;
}

/** The SOCKS5 handshake of one client connection, as a pure state machine. */
export class Socks5Core {
  private readonly options: Socks5CoreOptions;
  private state = State.Greeting;
  private buffer: Uint8Array = new Uint8Array(0);
  private target: UpstreamAddress | null = null;
  private timing = false;
  private actions: Socks5Action[] = [];

  constructor(options: Socks5CoreOptions) {
    this.options = options;
  }

  /** True once the core closed the connection or handed it on. */
  get done(): boolean {
    return this.state === State.Done;
  }

  /** The actions before any event: the handshake timer. Call once. */
  start(): Socks5Action[] {
    this.actions = [];
    if (this.options.headerTimeoutMs > 0) {
      this.timing = true;
      this.actions.push({ type: 'set-timer', ms: this.options.headerTimeoutMs });
    }
    return this.actions;
  }

  handle(event: Socks5Event): Socks5Action[] {
    this.actions = [];
    if (this.state === State.Done) return this.actions;
    switch (event.type) {
      case 'client-bytes':
        // Bytes while connecting are kept for the tunnel (the client is paused, so one read at most).
        this.buffer = concat(this.buffer, event.bytes);
        this.advance();
        break;
      case 'client-ended':
        if (this.state === State.Connecting) this.close('the client went away before its tunnel opened');
        // Negotiated, then closed before a byte of a request: a connection opened ahead of need and
        // never used (Chromium's preconnects), as an idle HTTP keep-alive connection is; no error.
        else if (this.state === State.Request && this.buffer.length === 0) this.close('the client closed a negotiated connection it never used');
        else this.fail('SOCKS_HANDSHAKE', `the client closed the connection in the middle of the handshake (${this.stage()})`);
        break;
      case 'upstream-connected':
        this.connected(event.remote, event.local);
        break;
      case 'upstream-failed':
        this.connectFailed(event.error);
        break;
      case 'timeout':
        this.timing = false;
        this.fail(
          'SOCKS_HANDSHAKE',
          `handshake not complete after ${this.options.headerTimeoutMs / 1000} s (--header-timeout), stalled in the ${this.stage()}`,
        );
        break;
    }
    return this.actions;
  }

  /** Parse as many handshake messages as the buffer holds. */
  private advance(): void {
    for (;;) {
      const before = this.state;
      if (this.state === State.Greeting) this.greeting();
      else if (this.state === State.Auth) this.auth();
      else if (this.state === State.Request) this.request();
      else return;
      // A state that lacks bytes returns without moving on: wait for more.
      if (this.state === before) return;
    }
  }

  private greeting(): void {
    const bytes = this.buffer;
    if (bytes.length < 2) return;
    // RFC 1928 §3: VER = X'05'.
    if (bytes[0] !== VERSION) return this.fail('SOCKS_HANDSHAKE', `not SOCKS version 5 (version byte 0x${hex(bytes[0]!)})`);
    const count = bytes[1]!;
    if (bytes.length < 2 + count) return;
    const methods = bytes.subarray(2, 2 + count);
    this.consume(2 + count);
    const wanted = this.options.credentials ? METHOD_USERNAME_PASSWORD : METHOD_NO_AUTH;
    if (!methods.includes(wanted)) {
      // RFC 1928 §3: X'FF' NO ACCEPTABLE METHODS, and the client MUST close the connection.
      this.write([VERSION, METHOD_NONE_ACCEPTABLE]);
      const offered = [...methods].map((method) => `0x${hex(method)}`).join(', ') || 'none';
      const need = this.options.credentials ? 'username/password (0x02, --socks-auth is set)' : 'no authentication (0x00)';
      return this.fail(this.options.credentials ? 'SOCKS_AUTH' : 'SOCKS_HANDSHAKE', `the client offered methods ${offered}, not ${need}`);
    }
    this.write([VERSION, wanted]);
    this.state = this.options.credentials ? State.Auth : State.Request;
  }

  private auth(): void {
    const bytes = this.buffer;
    if (bytes.length < 2) return;
    // RFC 1929 §2: VER = X'01' (the version of the subnegotiation).
    if (bytes[0] !== AUTH_VERSION) return this.fail('SOCKS_HANDSHAKE', `not a username/password request (version byte 0x${hex(bytes[0]!)})`);
    const userLength = bytes[1]!;
    if (bytes.length < 2 + userLength + 1) return;
    const passwordLength = bytes[2 + userLength]!;
    const end = 3 + userLength + passwordLength;
    if (bytes.length < end) return;
    const username = bytes.subarray(2, 2 + userLength);
    const password = bytes.subarray(3 + userLength, end);
    const credentials = this.options.credentials!;
    // Both compared in full, whatever the first one says, so the time taken tells nothing.
    const userOk = sameBytes(username, Buffer.from(credentials.username, 'utf8'));
    const passwordOk = sameBytes(password, Buffer.from(credentials.password, 'utf8'));
    this.consume(end);
    if (!(userOk && passwordOk)) {
      // RFC 1929 §2: a STATUS other than X'00' is failure, and the server MUST close the connection.
      this.write([AUTH_VERSION, 0x01]);
      const who = Buffer.from(username).toString('utf8');
      return this.fail('SOCKS_AUTH', `username/password refused for user "${printable(who)}" (--socks-auth)`);
    }
    this.write([AUTH_VERSION, 0x00]);
    this.state = State.Request;
  }

  private request(): void {
    const bytes = this.buffer;
    if (bytes.length < 5) return;
    if (bytes[0] !== VERSION) return this.fail('SOCKS_HANDSHAKE', `request not SOCKS version 5 (version byte 0x${hex(bytes[0]!)})`);
    const command = bytes[1]!;
    // bytes[2] is RSV (RFC 1928 §4: X'00'); its value changes nothing, so it is not checked.
    const type = bytes[3]!;
    let host: string;
    let at: number;
    if (type === ATYP_IPV4) {
      if (bytes.length < 10) return;
      host = [...bytes.subarray(4, 8)].join('.');
      at = 8;
    } else if (type === ATYP_IPV6) {
      if (bytes.length < 22) return;
      host = ipv6Text(bytes.subarray(4, 20));
      at = 20;
    } else if (type === ATYP_DOMAIN) {
      // RFC 1928 §5: the first octet is the length of the name, with no terminating NUL.
      const length = bytes[4]!;
      if (bytes.length < 5 + length + 2) return;
      host = Buffer.from(bytes.subarray(5, 5 + length)).toString('latin1');
      at = 5 + length;
    } else {
      this.reply(SocksReply.addressTypeNotSupported);
      return this.fail('SOCKS_HANDSHAKE', `address type 0x${hex(type)} is not supported (RFC 1928 §5: 0x01, 0x03, 0x04)`);
    }
    const port = (bytes[at]! << 8) | bytes[at + 1]!;
    this.consume(at + 2);
    const address = { host, port };
    const where = formatAuthority(address, 0);
    if (command !== CMD_CONNECT) {
      // RFC 1928 §6: X'07' Command not supported.
      this.reply(SocksReply.commandNotSupported);
      const name = CMD_NAMES[command] ?? `command 0x${hex(command)}`;
      return this.fail('SOCKS_HANDSHAKE', `${name} ${printable(where)} is not supported: wstape's SOCKS5 speaks CONNECT only`);
    }
    if (type === ATYP_DOMAIN && !HOST_NAME.test(host)) {
      this.reply(SocksReply.hostUnreachable);
      return this.fail('SOCKS_HANDSHAKE', `CONNECT to "${printable(host)}": not a host name`);
    }
    if (port === 0) {
      this.reply(SocksReply.hostUnreachable);
      return this.fail('SOCKS_HANDSHAKE', `CONNECT ${where}: port 0`);
    }
    this.target = address;
    this.state = State.Connecting;
    this.clearTimer();
    this.actions.push({ type: 'pause' }, { type: 'connect', address });
  }

  private connected(remote: SocketAddress | undefined, local: SocketAddress | undefined): void {
    if (this.state !== State.Connecting) return;
    const target = this.target!;
    if (remote && this.options.isOwnAddress(remote)) {
      // The same refusal as an HTTP CONNECT to the recorder (508 there); X'02' is SOCKS's "not allowed".
      const where = formatAuthority({ host: remote.address, port: remote.port }, 0);
      this.reply(SocksReply.notAllowed);
      this.error('PROXY_LOOP', `SOCKS5 CONNECT ${formatAuthority(target, 0)} would reach this recorder itself (${where}): a proxy loop`);
      this.close('refused: a proxy loop');
      return;
    }
    this.reply(SocksReply.succeeded, local);
    this.state = State.Done;
    const clientBytes = this.buffer;
    this.buffer = new Uint8Array(0);
    this.actions.push({ type: 'tunnel', address: target, clientBytes });
  }

  private connectFailed(error: SocketError | null): void {
    if (this.state !== State.Connecting) return;
    const target = this.target!;
    const { code, reason } = describeUpstreamError(error ?? { message: 'closed before connecting' }, target, false);
    this.reply(replyForError(error));
    this.error(code, `SOCKS5 CONNECT ${formatAuthority(target, 0)}: ${reason}`);
    this.close(`the upstream could not be reached`);
  }

  /**
   * RFC 1928 §6: VER REP RSV ATYP BND.ADDR BND.PORT. BND is the address the recorder's upstream
   * socket has (success); a failure names no address (0.0.0.0:0).
   */
  private reply(code: number, bound?: SocketAddress): void {
    const v4 = bound && /^\d+\.\d+\.\d+\.\d+$/.test(bound.address) ? bound.address.split('.').map(Number) : null;
    const v6 = bound && !v4 && bound.address.includes(':') ? ipv6Bytes(bound.address) : null;
    const port = bound && (v4 || v6) ? bound.port : 0;
    const address = v6 ? [ATYP_IPV6, ...v6] : [ATYP_IPV4, ...(v4 ?? [0, 0, 0, 0])];
    this.write([VERSION, code, 0x00, ...address, port >> 8, port & 0xff]);
  }

  /** Which part of the handshake the client is in, for messages. */
  private stage(): string {
    if (this.state === State.Greeting) return 'method negotiation';
    if (this.state === State.Auth) return 'username/password subnegotiation';
    return 'request';
  }

  private fail(code: RecorderErrorCode, message: string): void {
    const { address, port } = this.options.client;
    this.error(code, `SOCKS5 from ${formatAuthority({ host: address, port }, 0)}: ${message}`);
    this.close(message);
  }

  private close(reason: string): void {
    this.clearTimer();
    this.state = State.Done;
    this.actions.push({ type: 'close', reason });
  }

  private clearTimer(): void {
    if (!this.timing) return;
    this.timing = false;
    this.actions.push({ type: 'clear-timer' });
  }

  private error(code: RecorderErrorCode, message: string): void {
    this.actions.push({ type: 'error', code, message });
  }

  private write(bytes: number[]): void {
    this.actions.push({ type: 'write', bytes: Uint8Array.from(bytes) });
  }

  private consume(n: number): void {
    this.buffer = this.buffer.subarray(n);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return Uint8Array.prototype.slice.call(b);
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Equal bytes, compared in time that depends on the lengths only. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  let difference = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) difference |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return difference === 0;
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}

/** Text safe for a one-line message: control bytes as \xNN. */
function printable(text: string): string {
  const shown = text.length > 100 ? `${text.slice(0, 100)}…` : text;
  let out = '';
  for (const char of shown) {
    const code = char.charCodeAt(0);
    out += code < 0x20 || (code >= 0x7f && code <= 0x9f) || char === '"' || char === '\\' ? `\\x${hex(code)}` : char;
  }
  return out;
}

/** 16 bytes as the usual IPv6 text (RFC 5952: lower case, longest zero run as ::). */
function ipv6Text(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  const text = groups.map((group) => group.toString(16));
  if (bestStart === -1) return text.join(':');
  const head = text.slice(0, bestStart).join(':');
  const tail = text.slice(bestStart + bestLength).join(':');
  return `${head}::${tail}`;
}

/** IPv6 text (as a socket reports it) as 16 bytes; null when it is not one. */
function ipv6Bytes(text: string): number[] | null {
  const plain = text.split('%')[0]!;
  const halves = plain.split('::');
  if (halves.length > 2) return null;
  const part = (half: string | undefined): string[] => (half ? half.split(':') : []);
  const head = part(halves[0]);
  const tail = part(halves[1]);
  // An IPv4-mapped tail (::ffff:127.0.0.1) is two groups.
  const expand = (groups: string[]): string[] | null => {
    const last = groups[groups.length - 1];
    if (last === undefined || !last.includes('.')) return groups;
    const octets = last.split('.').map(Number);
    if (octets.length !== 4 || octets.some((octet) => !(octet >= 0 && octet <= 255))) return null;
    return [...groups.slice(0, -1), ((octets[0]! << 8) | octets[1]!).toString(16), ((octets[2]! << 8) | octets[3]!).toString(16)];
  };
  const first = halves.length === 2 ? head : expand(head);
  const second = halves.length === 2 ? expand(tail) : [];
  if (!first || !second) return null;
  const zeros = 8 - first.length - second.length;
  if (halves.length === 1 ? zeros !== 0 : zeros < 0) return null;
  const groups = [...first, ...Array<string>(zeros).fill('0'), ...second];
  const out: number[] = [];
  for (const group of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return null;
    const value = parseInt(group, 16);
    out.push(value >> 8, value & 0xff);
  }
  return out;
}

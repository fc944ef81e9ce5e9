/**
 * Deciding whether a client that left mid-handshake distrusts the wstape root CA.
 *
 * Node's tls (so `ws` and undici) rejects a certificate by closing the connection once it has
 * it, without an alert (see client-tls.ts). Chromium, on the wire, sometimes does the same with a
 * certificate it trusts: it abandons a handshake it no longer needs (a speculative connection, or
 * all of them when its trust store finishes loading at start-up) and opens another that succeeds.
 * What tells the two apart is what happens around it: a client that does not trust the CA never
 * finishes a handshake for that host, while the browser finishes one within moments. So a
 * client that left after the certificate is recorded as CLIENT_TLS only when no handshake for the
 * same host finished within `graceMs` before or after; the entry is written once that time has
 * passed, or when recording stops. Handshake errors (alerts) are recorded at once.
 */
import type { ClientTlsFailure } from './client-tls.js';

/** How long around a finished handshake for a host a client leaving after the certificate is not a trust failure. */
const CLIENT_TRUST_GRACE_MS = 3000;

/** At most this many hosts remember their last finished handshake; older ones are forgotten first. */
const MAX_HOSTS = 1000;

interface Pending {
  timer: NodeJS.Timeout;
  message: string;
}

export class ClientTrust {
  /** Host → when a handshake for it last finished. */
  private readonly trustedAt = new Map<string, number>();
  /** Host → the failures waiting for the grace time to pass. */
  private readonly pending = new Map<string, Pending[]>();

  constructor(
    private readonly report: (message: string) => void,
    private readonly graceMs = CLIENT_TRUST_GRACE_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** A client finished a handshake for `host` (SNI name, or the host it asked for): it trusts the CA for it. */
  trusted(host: string): void {
    this.trustedAt.delete(host); // re-inserted last: the Map's order is the forgetting order
    this.trustedAt.set(host, this.now());
    if (this.trustedAt.size > MAX_HOSTS) {
      const oldest = this.trustedAt.keys().next();
      if (!oldest.done) this.trustedAt.delete(oldest.value);
    }
    for (const failure of this.pending.get(host) ?? []) clearTimeout(failure.timer);
    this.pending.delete(host);
  }

  /** A client's handshake for `host` failed; `message` says so, for the archive. */
  failed(failure: ClientTlsFailure, host: string, message: string): void {
    if (failure.kind === 'error') {
      this.report(message);
      return;
    }
    const last = this.trustedAt.get(host);
    if (last !== undefined && this.now() - last <= this.graceMs) return;
    const list = this.pending.get(host) ?? [];
    const entry: Pending = {
      message,
      timer: setTimeout(() => {
        const left = (this.pending.get(host) ?? []).filter((other) => other !== entry);
        if (left.length > 0) this.pending.set(host, left);
        else this.pending.delete(host);
        this.report(message);
      }, this.graceMs),
    };
    // Recording must not stay up for this timer; shutdown() writes what is still waiting.
    entry.timer.unref();
    list.push(entry);
    this.pending.set(host, list);
  }

  /** Recording stops: write every failure still waiting for its grace time. */
  shutdown(): void {
    const waiting = [...this.pending.values()].flat();
    this.pending.clear();
    for (const failure of waiting) {
      clearTimeout(failure.timer);
      this.report(failure.message);
    }
  }
}

/**
 * An opaque tunnel: bytes relayed both ways, unrecorded but counted. The proxy core opens one for
 * TLS to a --no-intercept host, a protocol where the server speaks first, and a stream that stops
 * parsing as HTTP; its tunnel entry says which.
 */
import type { Duplex } from 'node:stream';
import { forward } from './backpressure.js';
import type { Side } from '../wire/side.js';
import type { Recorder } from './recorder.js';

export interface TunnelOptions {
  recorder: Recorder;
  id: string;
  client: Duplex;
  upstream: Duplex;
  /** Bytes already received from the client, to send first. */
  clientBytes: Uint8Array;
  /** Bytes already received from the server, to send first. */
  serverBytes: Uint8Array;
  onDone?: () => void;
}

export function relayTunnel(options: TunnelOptions): { shutdown(): void } {
  const { recorder, id, client, upstream } = options;
  let bytesOut = 0;
  let bytesIn = 0;
  let droppedBy: Side | null = null;
  let open = 2;

  const pump = (from: Duplex, to: Duplex, side: Side): void => {
    from.on('data', (chunk: Buffer) => {
      if (side === 'client') bytesOut += chunk.length;
      else bytesIn += chunk.length;
      forward(from, to, chunk);
    });
    const drop = (): void => {
      droppedBy ??= side;
    };
    from.on('end', () => {
      drop();
      to.end();
    });
    from.on('error', () => {
      drop();
      to.destroy();
    });
    from.on('close', () => {
      drop();
      if (!to.destroyed && !to.writableEnded) to.end();
      open -= 1;
      if (open > 0) return;
      recorder.append({
        kind: 'end',
        conn: id,
        ...recorder.now(),
        closeCode: null,
        closeReason: '',
        closedBy: droppedBy,
        droppedBy: droppedBy ?? 'server',
        clean: false,
        bytesOut,
        bytesIn,
      });
      recorder.flush();
      options.onDone?.();
    });
  };

  if (options.clientBytes.length > 0) {
    bytesOut += options.clientBytes.length;
    upstream.write(options.clientBytes);
  }
  if (options.serverBytes.length > 0) {
    bytesIn += options.serverBytes.length;
    client.write(options.serverBytes);
  }
  pump(client, upstream, 'client');
  pump(upstream, client, 'server');
  client.resume();
  upstream.resume();
  return {
    shutdown(): void {
      client.destroy();
      upstream.destroy();
    },
  };
}

/**
 * The edges a command talks to, passed in so tests can run a command with a fake io and read
 * what it printed.
 */
import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';

export interface OutputStream {
  write(chunk: string | Uint8Array): boolean;
  isTTY?: boolean;
  once?(event: 'drain', listener: () => void): unknown;
}

export interface Io {
  stdout: OutputStream;
  stderr: OutputStream;
  env: Record<string, string | undefined>;
  /** Current working directory, for default output paths. */
  cwd: string;
}

export function processIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}

/** Colours only on a TTY, and never with NO_COLOR set (https://no-color.org) or TERM=dumb. */
export function useColor(stream: OutputStream, env: Io['env']): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

/** Print a warning as one line on stderr: `wstape: warning: ...`. */
export function warn(io: Pick<Io, 'stderr'>, message: string): void {
  io.stderr.write(`wstape: warning: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
}

/**
 * Write a chunk and, when the stream's buffer is full, wait for it to drain, so a command piped
 * into a slow reader holds a bounded amount of output in memory.
 */
export async function writeOut(stream: OutputStream, chunk: string | Uint8Array): Promise<void> {
  if (stream.write(chunk) || stream.once === undefined) return;
  await new Promise<void>((resolve) => {
    stream.once?.('drain', () => resolve());
  });
}

/** The terminal's width when the stream is one, else undefined. */
export function terminalColumns(stream: OutputStream): number | undefined {
  if (stream.isTTY !== true) return undefined;
  const columns = (stream as { columns?: unknown }).columns;
  return typeof columns === 'number' && columns > 0 ? columns : undefined;
}

/**
 * True when `a` and `b` name the same file, so a command can refuse to write its output over its
 * own input (`redact`, `export`, `import`). `./a` and `a`, a symlink and its target, and two hard
 * links are one file: existing paths are compared by device and inode; a path that does not
 * exist yet by the real path of its folder plus its name.
 */
export function sameFile(a: string, b: string): boolean {
  const statOf = (file: string): { dev: number; ino: number } | null => {
    try {
      return statSync(file);
    } catch {
      return null;
    }
  };
  const sa = statOf(a);
  const sb = statOf(b);
  if (sa !== null && sb !== null) return sa.dev === sb.dev && sa.ino === sb.ino;
  return realPathOf(a) === realPathOf(b);
}

/** The real path of a file, or of its folder joined with its name when it does not exist. */
function realPathOf(file: string): string {
  const absolute = path.resolve(file);
  try {
    return realpathSync(absolute);
  } catch {
    try {
      return path.join(realpathSync(path.dirname(absolute)), path.basename(absolute));
    } catch {
      return absolute;
    }
  }
}

/** Resolves on the first SIGINT or SIGTERM; cancel() removes the handlers without waiting. */
export function untilSignal(): { signalled: Promise<void>; cancel: () => void } {
  let onSignal = (): void => {};
  const signalled = new Promise<void>((resolve) => {
    onSignal = (): void => {
      cancel();
      resolve();
    };
  });
  const cancel = (): void => {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { signalled, cancel };
}

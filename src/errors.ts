/**
 * The one error type the CLI expects, and the table that turns its code into an exit code.
 *
 * Anything that is a user's mistake or bad input (a missing file, a damaged archive, a port in
 * use) is a CliError with a stable `code`; tests assert on the code, never on the wording. Any
 * other exception is a bug: the entry point prints its stack and asks for a report.
 */

/**
 * The exit codes, the one place they are numbered; the README's table is tested against these
 * (test/errors.test.ts). Commands return them, the entry point exits with them.
 */
/** Success; for `diff`, the two recordings agree. */
export const EXIT_OK = 0;
/** `diff` found a difference; `replay --strict` found recorded messages that never came. */
export const EXIT_DIFFERENT = 1;
/** Bad input or usage: an unknown option, a missing or damaged file. */
export const EXIT_USAGE = 2;
/** Cannot listen, write, or use the root CA. */
export const EXIT_IO = 3;
/** A bug: an unexpected exception (the stack is printed). */
export const EXIT_INTERNAL = 70;

/**
 * `show`, `stats`: a `--conn` named a connection the archive does not have (a typo, most often),
 * as grep exits 1 when nothing matched. The same number as EXIT_DIFFERENT: both say "the answer
 * is not what you looked for", never an error.
 */
export const EXIT_NO_MATCH = EXIT_DIFFERENT;

/** Every exit code by name, for the README test and the --help epilogue. */
export const EXIT_CODES = { EXIT_OK, EXIT_DIFFERENT, EXIT_USAGE, EXIT_IO, EXIT_INTERNAL } as const;

/** Stable error codes and their exit codes. Add new ones; never rename (scripts may match on them). */
export const ERROR_CODES = {
  /** Bad command-line usage: unknown option, bad value. */
  ERR_USAGE: EXIT_USAGE,
  /** The input file does not exist or cannot be read. */
  ERR_FILE: EXIT_USAGE,
  /** The file is not a wstape archive (another format, or not JSON at all). */
  ERR_ARCHIVE_FORMAT: EXIT_USAGE,
  /** The archive was written by a newer wstape (a version this build cannot read). */
  ERR_ARCHIVE_VERSION: EXIT_USAGE,
  /** A line in the middle of the archive is damaged (not JSON, or not a valid entry). */
  ERR_ARCHIVE_DAMAGED: EXIT_USAGE,
  /** The recorder could not listen (port in use, permission denied). */
  ERR_LISTEN: EXIT_IO,
  /** The archive could not be written. */
  ERR_WRITE: EXIT_IO,
  /**
   * The TLS root CA cannot be created, read or trusted: a folder or key file owned by another
   * user, open to others and not fixable, a damaged or mismatched ca.pem / ca.key.
   */
  ERR_CA: EXIT_IO,
  /** A host name that cannot go into a certificate (not a DNS name or an IP address). */
  ERR_TLS_HOST: EXIT_USAGE,
  /** Replay could not run: the server refused the handshake, closed early, or never answered. */
  ERR_REPLAY: EXIT_USAGE,
  /** A file given to `wstape import` is not a HAR it can read (not JSON, not HAR, a field of the wrong shape). */
  ERR_HAR: EXIT_USAGE,
  /**
   * `wstape send`/`close` found no running recorder to talk to: none runs, none matches
   * --recorder, or several run and --recorder names none of them.
   */
  ERR_RECORDER: EXIT_USAGE,
  /** `wstape send`/`close`: the recorder has no open WebSocket connection with that id. */
  ERR_CONNECTION: EXIT_USAGE,
  /**
   * The control channel to a recorder cannot be used: its folder, registry file or socket is
   * owned by another user or open to others, or the recorder did not answer.
   */
  ERR_CONTROL: EXIT_IO,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class CliError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'CliError';
    this.code = code;
    this.exitCode = ERROR_CODES[code];
  }
}

/** Make a CliError; the one helper every module uses, so codes stay in one table. */
export function cliError(code: ErrorCode, message: string): CliError {
  return new CliError(code, message);
}

export function isCliError(error: unknown): error is CliError {
  return error instanceof CliError;
}

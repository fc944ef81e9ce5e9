/**
 * The one error type the CLI expects, and the table that turns its code into an exit code.
 *
 * Anything that is a user's mistake or bad input (a missing file, a damaged archive, a port in
 * use) is a CliError with a stable `code`; tests assert on the code, never on the wording. Any
 * other exception is a bug: the entry point prints its stack and asks for a report.
 */

/** Stable error codes. Add new ones; never rename (scripts may match on them). */
export const ERROR_CODES = {
  /** Bad command-line usage: unknown option, bad value. */
  ERR_USAGE: 2,
  /** The input file does not exist or cannot be read. */
  ERR_FILE: 2,
  /** The file is not a wstape archive (another format, or not JSON at all). */
  ERR_ARCHIVE_FORMAT: 2,
  /** The archive was written by a newer wstape (a version this build cannot read). */
  ERR_ARCHIVE_VERSION: 2,
  /** A line in the middle of the archive is damaged (not JSON, or not a valid entry). */
  ERR_ARCHIVE_DAMAGED: 2,
  /** The recorder could not listen (port in use, permission denied). */
  ERR_LISTEN: 3,
  /** The archive could not be written. */
  ERR_WRITE: 3,
  /**
   * The TLS root CA cannot be created, read or trusted: a folder or key file owned by another
   * user, open to others and not fixable, a damaged or mismatched ca.pem / ca.key.
   */
  ERR_CA: 3,
  /** A host name that cannot go into a certificate (not a DNS name or an IP address). */
  ERR_TLS_HOST: 2,
  /** Replay could not run: the server refused the handshake, closed early, or never answered. */
  ERR_REPLAY: 2,
  /** A file given to `wstape import` is not a HAR it can read (not JSON, not HAR, a field of the wrong shape). */
  ERR_HAR: 2,
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

/**
 * Recognising a JSON Web Token (RFC 7519) or JWE (RFC 7516) in compact form: base64url segments
 * separated by dots, whose first segment (the JOSE header) decodes to a JSON object with a
 * string "alg". Checking the header keeps version numbers, host names and file names that happen
 * to have three dotted parts from being taken for tokens.
 */

/** True when `candidate` (already shaped like `x.y.z`) is a JWT: its header is JSON with "alg". */
export function isJwtAt(candidate: string): boolean {
  const dot = candidate.indexOf('.');
  if (dot <= 0) return false;
  const header = candidate.slice(0, dot);
  // RFC 7515 §2: base64url without padding; 4n+1 characters cannot be valid.
  if (header.length % 4 === 1) return false;
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as unknown;
  } catch {
    return false;
  }
  return typeof decoded === 'object' && decoded !== null && !Array.isArray(decoded) && typeof (decoded as { alg?: unknown }).alg === 'string';
}

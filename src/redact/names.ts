/**
 * Which names look like they hold a secret: HTTP header names, query and form parameter names,
 * JSON keys. The default rules match on the *words* of a name, so `access_token`, `accessToken`,
 * `X-Access-Token` and `ACCESS-TOKEN` are one and the same, while `max_tokens` (an LLM setting),
 * `token_type` (OAuth's "Bearer") and `Sec-WebSocket-Key` (a handshake nonce) are left alone.
 *
 * A name is split into words at every non-alphanumeric character and at camelCase boundaries.
 * It matches when one of its words is a secret word, two adjacent words form a secret pair
 * (`api key`), or all its words run together form a secret compound (`apikey`); and its last
 * word does not say the value is only *about* the secret (`token_type`, `password_hint`,
 * `token_url`, `access_token_expires_in`).
 */

/** Something names are tested against: a RegExp, or one of the word matchers below. */
export interface NameMatcher {
  test(name: string): boolean;
}

/** The words of a name, lower case: `X-Api-Key` → x, api, key; `refreshToken` → refresh, token. */
export function nameWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word !== '');
}

/** Words that mark a secret wherever they stand in a name. */
const SECRET_WORDS = new Set([
  'password',
  'passwd',
  'pwd',
  'passphrase',
  'passcode',
  'secret',
  'secrets',
  'token',
  'jwt',
  'authorization',
  'credential',
  'credentials',
  'cookie',
  'cookies',
]);

/** Adjacent word pairs that mark a secret: `api_key`, `x-session-id`, `auth_code`. */
const SECRET_PAIRS = new Set([
  'api key',
  'access key',
  'secret key',
  'private key',
  'signing key',
  'encryption key',
  'master key',
  'subscription key',
  'session key',
  'session id',
  'auth key',
  'auth code',
  'client secret',
]);

/** Names written as one word: `apikey`, `ACCESSTOKEN`, `sessionid`. */
const SECRET_COMPOUNDS = new Set([
  'apikey',
  'accesskey',
  'secretkey',
  'privatekey',
  'accesstoken',
  'refreshtoken',
  'idtoken',
  'authtoken',
  'sessiontoken',
  'sessionid',
  'sessionkey',
  'clientsecret',
  'authkey',
  'xsrftoken',
  'csrftoken',
  'jsessionid',
  'phpsessid',
]);

/** A word after the secret word that says the value describes the secret rather than holds it. */
const DESCRIPTIVE_WORDS = new Set([
  'type',
  'types',
  'count',
  'counts',
  'length',
  'len',
  'size',
  'expiry',
  'expires',
  'expiration',
  'exp',
  'ttl',
  'url',
  'uri',
  'endpoint',
  'endpoints',
  'path',
  'name',
  'names',
  'policy',
  'hint',
  'required',
  'enabled',
  'format',
  'kind',
  'field',
  'header',
  'limit',
  'version',
  'location',
  'strength',
  'algorithm',
  'alg',
  'in',
  'at',
]);

function hasSecretWord(words: readonly string[], extra: ReadonlySet<string> = new Set()): boolean {
  if (words.length === 0) return false;
  if (SECRET_COMPOUNDS.has(words.join(''))) return true;
  // A secret word counts unless a word after it says the value only describes the secret
  // (`token_type`, `access_token_expires_in`).
  const describedAfter = (from: number): boolean => words.slice(from).some((word) => DESCRIPTIVE_WORDS.has(word));
  for (const [index, word] of words.entries()) {
    if ((SECRET_WORDS.has(word) || SECRET_COMPOUNDS.has(word) || extra.has(word)) && !describedAfter(index + 1)) return true;
    const next = words[index + 1];
    if (next !== undefined && SECRET_PAIRS.has(`${word} ${next}`) && !describedAfter(index + 2)) return true;
  }
  return false;
}

/** Header words on top of the shared ones: `X-Session-Id`, `X-Hub-Signature`, `X-CSRF-Token`. */
const HEADER_WORDS = new Set(['session', 'auth', 'signature', 'csrf', 'xsrf']);

/**
 * Header names the default rule redacts: Authorization, Proxy-Authorization, Cookie, Set-Cookie,
 * X-Api-Key, Api-Key, X-Auth-Token, X-Amz-Security-Token, X-CSRF-Token, X-Goog-Api-Key,
 * Private-Token, X-Session-Id, X-Hub-Signature-256 and the like. Not the handshake's
 * Sec-WebSocket-* (nonces and negotiation; Sec-WebSocket-Protocol has its own rule), not CORS's
 * Access-Control-* (Access-Control-Allow-Credentials is a flag), not the WWW-Authenticate and
 * Proxy-Authenticate challenges.
 */
export const defaultHeaderNames: NameMatcher = {
  test(name) {
    const lower = name.toLowerCase();
    if (lower.startsWith('sec-websocket-') || lower.startsWith('access-control-') || lower.endsWith('-authenticate')) return false;
    if (lower === 'set-cookie2') return true;
    return hasSecretWord(nameWords(name), HEADER_WORDS);
  },
};

/** Query words on top of the shared ones: `session`, `auth`, `signature`, anywhere in the name. */
const QUERY_WORDS = new Set(['session', 'auth', 'signature']);
/** Whole names that are secrets only on their own: OAuth's `code`, `sig`, `sid`. */
const QUERY_EXACT = new Set(['code', 'sig', 'sid', 'key']);

/**
 * Query and form parameter names the default rule redacts: token, access_token, id_token,
 * refresh_token, key, api_key, apiKey, secret, client_secret, password, signature, sig,
 * X-Amz-Signature, X-Amz-Credential, X-Amz-Security-Token, code, auth, session, sid and the like.
 * (`key`, `code`, `sig` and `sid` only as the whole name: `sort_key` and `error_code` stay.)
 */
export const defaultQueryNames: NameMatcher = {
  test(name) {
    const words = nameWords(name);
    if (words.length === 0) return false;
    if (QUERY_EXACT.has(words.join(''))) return true;
    return hasSecretWord(words, QUERY_WORDS);
  },
};

/** JSON keys whose object or array value is searched rather than replaced whole. */
const CONTAINER_WORDS = new Set(['session', 'auth']);

/**
 * How the default JSON rule treats a key: `secret` replaces the value whatever it is
 * (password, passwd, secret, token, access_token, authorization, api_key, apiKey, jwt,
 * credentials, cookie, client_secret, private_key, session_id...); `container` (a name that ends
 * in session or auth) replaces a string, number or boolean but looks inside an object or array,
 * because `"session": {...}` is often configuration (e.g. OpenAI Realtime's session.update) and
 * `"auth": {...}` names its secret fields; null leaves it alone.
 */
export function jsonKeyClass(key: string): 'secret' | 'container' | null {
  const words = nameWords(key);
  if (hasSecretWord(words)) return 'secret';
  const last = words[words.length - 1];
  if (last !== undefined && CONTAINER_WORDS.has(last)) return 'container';
  return null;
}

export const defaultJsonKeys: NameMatcher = { test: (key) => jsonKeyClass(key) !== null };
export const defaultJsonContainerKeys: NameMatcher = { test: (key) => jsonKeyClass(key) === 'container' };

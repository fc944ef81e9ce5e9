/** Rule specs, the default rule set, and the name matchers behind the default rules. */
import { describe, expect, it } from 'vitest';
import { isCliError } from '../../src/errors.js';
import { defaultHeaderNames, defaultQueryNames, jsonKeyClass, nameWords } from '../../src/redact/names.js';
import { defaultRules, parseRule, parseRules } from '../../src/redact/rules.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (isCliError(error)) return error.code;
    throw error;
  }
  return undefined;
}

describe('parseRule', () => {
  it.each([
    ['header:X-Tenant', 'header', 'header:X-Tenant'],
    ['HEADER: X-Tenant', 'header', 'header:X-Tenant'],
    ['query:tenant', 'query', 'query:tenant'],
    ['json:^pin$', 'json', 'json:^pin$'],
    ['regex:acct-\\d+', 'regex', 'regex:acct-\\d+'],
    ['regex:/ACCT-\\d+/i', 'regex', 'regex:/ACCT-\\d+/i'],
    ['regex:a:b', 'regex', 'regex:a:b'],
  ])('%s', (spec, kind, id) => {
    expect(parseRule(spec)).toMatchObject({ kind, id });
  });

  it('header and query names match case-insensitively, exactly', () => {
    const header = parseRule('header:X-Tenant');
    if (header.kind !== 'header') throw new Error('expected a header rule');
    expect([header.names.test('x-tenant'), header.names.test('X-TENANT'), header.names.test('X-Tenant-Id')]).toEqual([true, true, false]);
  });

  it('json rules are case-insensitive regexes on keys', () => {
    const rule = parseRule('json:^pin$');
    if (rule.kind !== 'json') throw new Error('expected a json rule');
    expect([rule.keys.test('PIN'), rule.keys.test('pinned')]).toEqual([true, false]);
  });

  it('regex rules take flags in /PATTERN/FLAGS form', () => {
    const rule = parseRule('regex:/acct/i');
    if (rule.kind !== 'regex') throw new Error('expected a regex rule');
    expect(rule.pattern.flags).toBe('dgi');
  });

  it.each([
    ['nothing'],
    ['header'],
    [':x'],
    ['header:'],
    ['header:Bad Name'],
    ['query:a=b'],
    ['json:('],
    ['regex:[unclosed'],
    ['regex:/x/g'],
    ['regex:a*'],
    ['regex://'],
    ['cookie:x'],
  ])('rejects %j with ERR_USAGE on one line', (spec) => {
    expect(codeOf(() => parseRule(spec))).toBe('ERR_USAGE');
    try {
      parseRule(spec);
    } catch (error) {
      expect((error as Error).message).not.toContain('\n');
    }
  });

  it('parseRules keeps each id once', () => {
    expect(parseRules(['header:A', 'header:A', 'query:A']).map((rule) => rule.id)).toEqual(['header:A', 'query:A']);
  });

  it('the default rules', () => {
    expect(defaultRules().map((rule) => [rule.id, rule.kind])).toEqual([
      ['headers', 'header'],
      ['subprotocol', 'subprotocol'],
      ['userinfo', 'userinfo'],
      ['query', 'query'],
      ['jwt', 'jwt'],
      ['json', 'json'],
    ]);
  });
});

describe('names', () => {
  it.each([
    ['X-Api-Key', ['x', 'api', 'key']],
    ['refreshToken', ['refresh', 'token']],
    ['APIKey', ['api', 'key']],
    ['client_secret', ['client', 'secret']],
    ['ACCESS-TOKEN', ['access', 'token']],
  ])('words of %s', (name, words) => {
    expect(nameWords(name)).toEqual(words);
  });

  const secretHeaders = [
    'Authorization',
    'Proxy-Authorization',
    'Cookie',
    'Set-Cookie',
    'X-Api-Key',
    'Api-Key',
    'X-Auth-Token',
    'X-Amz-Security-Token',
    'X-CSRF-Token',
    'X-XSRF-TOKEN',
    'X-Goog-Api-Key',
    'Private-Token',
    'X-Session-Id',
    'X-Hub-Signature-256',
    'Ocp-Apim-Subscription-Key',
    'X-Vault-Token',
  ];
  const plainHeaders = [
    'Host',
    'Sec-WebSocket-Key',
    'Sec-WebSocket-Accept',
    'Sec-WebSocket-Protocol',
    'Access-Control-Allow-Credentials',
    'WWW-Authenticate',
    'Proxy-Authenticate',
    'Content-Type',
    'User-Agent',
    'X-Request-Id',
    'X-Token-Type',
  ];
  it.each(secretHeaders)('header %s is redacted', (name) => expect(defaultHeaderNames.test(name)).toBe(true));
  it.each(plainHeaders)('header %s is kept', (name) => expect(defaultHeaderNames.test(name)).toBe(false));

  const secretParams = [
    'token',
    'access_token',
    'id_token',
    'refresh_token',
    'key',
    'api_key',
    'apiKey',
    'secret',
    'client_secret',
    'password',
    'signature',
    'sig',
    'X-Amz-Signature',
    'X-Amz-Credential',
    'X-Amz-Security-Token',
    'code',
    'auth',
    'session',
    'sid',
    'jsessionid',
  ];
  const plainParams = ['page', 'q', 'state', 'client_id', 'redirect_uri', 'error_code', 'sort_key', 'token_type', 'authuser', 'keyword', 'v'];
  it.each(secretParams)('parameter %s is redacted', (name) => expect(defaultQueryNames.test(name)).toBe(true));
  it.each(plainParams)('parameter %s is kept', (name) => expect(defaultQueryNames.test(name)).toBe(false));

  it.each([
    ['password', 'secret'],
    ['passwd', 'secret'],
    ['newPassword', 'secret'],
    ['secret', 'secret'],
    ['token', 'secret'],
    ['access_token', 'secret'],
    ['authorization', 'secret'],
    ['api_key', 'secret'],
    ['apiKey', 'secret'],
    ['x-api-key', 'secret'],
    ['session_id', 'secret'],
    ['sessionToken', 'secret'],
    ['credentials', 'secret'],
    ['session', 'container'],
    ['auth', 'container'],
    ['max_tokens', null],
    ['token_type', null],
    ['tokenUrl', null],
    ['password_hint', null],
    ['key', null],
    ['authMethod', null],
    ['sessions', null],
  ])('JSON key %s: %s', (key, expected) => {
    expect(jsonKeyClass(key)).toBe(expected);
  });
});

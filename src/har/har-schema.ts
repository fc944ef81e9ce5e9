/**
 * HAR as zod schemas, two of them:
 *
 * - `harSchema`: HAR 1.2 as the spec has it (http://www.softwareishard.com/blog/har-12-spec/):
 *   every required field of log, creator, pages, entries, request, response, cookies, headers,
 *   postData, content, cache and timings, custom fields only with a leading underscore, `time`
 *   the sum of the timings. What `wstape export` writes must pass it (the tests check).
 * - `harInputSchema`: what `wstape import` reads. Lenient where real exporters differ (mitmproxy
 *   writes `null` timings and `content: {}`, Firefox leaves out headersSize, Playwright marks a
 *   failed response with status -1), strict about the shapes the importer relies on, so a bad
 *   file is refused with the JSON path of the first problem instead of a half-made archive.
 *
 * parseHarText() turns text into a validated document or a one-line ERR_HAR: the check of a whole
 * document in memory. `wstape import` streams instead (har-scan.ts validates each part with these
 * schemas as it arrives) and gives the same line for the same file (test/har/har-stream.test.ts).
 */
import * as z from 'zod';
import { cliError } from '../errors.js';
import { isImportableTime } from './har-common.js';
import {
  connectionEntrySchema,
  endEntrySchema,
  errorEntrySchema,
  frameEntrySchema,
  headerSchema,
  proxyModeSchema,
  trailerSchema,
  tunnelEntrySchema,
} from '../format/schema.js';

// ---------------------------------------------------------------------------------------------
// HAR 1.2, strictly

/** ISO 8601 with a time and a zone, as HAR 1.2 asks of `startedDateTime` and `expires`. */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/;
const isoDate = z.string().regex(ISO_8601, 'expected an ISO 8601 date and time with a zone');

/**
 * An object with the spec's fields; any other field must be a custom one, which HAR 1.2 says
 * starts with an underscore.
 */
function harObject<T extends z.ZodRawShape>(shape: T) {
  return z
    .object(shape)
    .catchall(z.unknown())
    .superRefine((value, ctx) => {
      for (const key of Object.keys(value)) {
        if (!Object.hasOwn(shape, key) && !key.startsWith('_')) {
          ctx.addIssue({ code: 'custom', path: [key], message: 'not a HAR 1.2 field (custom fields start with "_")' });
        }
      }
    });
}

const comment = z.string().optional();
const nameValue = harObject({ name: z.string(), value: z.string(), comment });
const creator = harObject({ name: z.string(), version: z.string(), comment });
const cookie = harObject({
  name: z.string(),
  value: z.string(),
  path: z.string().optional(),
  domain: z.string().optional(),
  expires: isoDate.optional(),
  httpOnly: z.boolean().optional(),
  secure: z.boolean().optional(),
  comment,
});
const param = harObject({ name: z.string(), value: z.string().optional(), fileName: z.string().optional(), contentType: z.string().optional(), comment });
const postData = harObject({ mimeType: z.string(), params: z.array(param).optional(), text: z.string().optional(), comment });
const content = harObject({
  size: z.number().int(),
  compression: z.number().optional(),
  mimeType: z.string(),
  text: z.string().optional(),
  encoding: z.string().optional(),
  comment,
});
const cacheEntry = harObject({ expires: isoDate.optional(), lastAccess: isoDate, eTag: z.string(), hitCount: z.number().int(), comment });
const cache = harObject({ beforeRequest: cacheEntry.nullable().optional(), afterRequest: cacheEntry.nullable().optional(), comment });
/** -1 when a phase does not apply; send, wait and receive are never -1. */
const optionalTiming = z.number().min(-1).optional();
const timings = harObject({
  blocked: optionalTiming,
  dns: optionalTiming,
  connect: optionalTiming,
  send: z.number().nonnegative(),
  wait: z.number().nonnegative(),
  receive: z.number().nonnegative(),
  ssl: optionalTiming,
  comment,
});
const request = harObject({
  method: z.string(),
  url: z.string(),
  httpVersion: z.string(),
  cookies: z.array(cookie),
  headers: z.array(nameValue),
  queryString: z.array(nameValue),
  postData: postData.optional(),
  headersSize: z.number().int(),
  bodySize: z.number().int(),
  comment,
});
const response = harObject({
  status: z.number().int(),
  statusText: z.string(),
  httpVersion: z.string(),
  cookies: z.array(cookie),
  headers: z.array(nameValue),
  content,
  redirectURL: z.string(),
  headersSize: z.number().int(),
  bodySize: z.number().int(),
  comment,
});
const page = harObject({
  startedDateTime: isoDate,
  id: z.string(),
  title: z.string(),
  pageTimings: harObject({ onContentLoad: z.number().optional(), onLoad: z.number().optional(), comment }),
  comment,
});
const entry = harObject({
  pageref: z.string().optional(),
  startedDateTime: isoDate,
  time: z.number().nonnegative(),
  request,
  response,
  cache,
  timings,
  serverIPAddress: z.string().optional(),
  connection: z.string().optional(),
  comment,
}).superRefine((value, ctx) => {
  // "time: Total elapsed time of the request in milliseconds. This is the sum of all timings
  // available in the timings object (i.e. not including -1 values)"; ssl is part of connect.
  const t = value.timings;
  const sum = [t.blocked, t.dns, t.connect, t.send, t.wait, t.receive].reduce<number>((total, v) => total + (v !== undefined && v > 0 ? v : 0), 0);
  if (Math.abs(sum - value.time) > 0.001)
    ctx.addIssue({ code: 'custom', path: ['time'], message: `expected the sum of the timings (${sum}), got ${value.time}` });
});

/** A HAR 1.2 document, as the spec has it. */
export const harSchema = harObject({
  log: harObject({
    version: z.string(),
    creator,
    browser: creator.optional(),
    pages: z.array(page).optional(),
    entries: z.array(entry),
    comment,
  }),
});

// ---------------------------------------------------------------------------------------------
// What the importer reads

const inputNameValue = z.object({ name: z.string(), value: z.string() });

/** A frame of a message, as `wstape export` describes it in `_wstapeFrames`. */
export const frameMetaSchema = frameEntrySchema.omit({ kind: true, conn: true, dir: true, text: true, data: true }).extend({
  bytes: z.number().int().nonnegative(),
  as: z.enum(['text', 'data', 'none']),
});

/** An item of `_webSocketMessages` (and of wstape's `_wstapeControlFrames`, `_wstapeDropped`). */
export const inputMessage = z.object({
  type: z.string(),
  time: z.number(),
  opcode: z.number().int(),
  data: z.string().nullish(),
  _wstapeFrames: z.array(frameMetaSchema).min(1).optional(),
  _wstapeData: z.string().optional(),
  _wstapeIncomplete: z.boolean().optional(),
  _wstapeOriginal: z.string().optional(),
});

const wstapeEntryExtras = z.object({
  id: z.string().min(1),
  elapsed: z.number().nonnegative(),
  mode: proxyModeSchema,
  client: connectionEntrySchema.shape.client,
  server: connectionEntrySchema.shape.server,
  target: z.string(),
  requestHttpVersion: z.string(),
  responseHttpVersion: z.string().optional(),
  subprotocol: z.string().nullish(),
  extensions: z.string().nullish(),
  permessageDeflate: connectionEntrySchema.shape.permessageDeflate.optional(),
  end: endEntrySchema.omit({ kind: true, conn: true }).optional(),
  duration: z.number().nonnegative().optional(),
  error: z.string().optional(),
  errors: z.array(errorEntrySchema.omit({ kind: true, conn: true })).optional(),
});

const inputRequest = z.object({
  method: z.string(),
  url: z.string(),
  httpVersion: z.string().nullish(),
  headers: z.array(inputNameValue),
  postData: z
    .object({
      mimeType: z.string().nullish(),
      text: z.string().nullish(),
      params: z.array(z.object({ name: z.string(), value: z.string().nullish() })).nullish(),
      encoding: z.string().nullish(),
      _encoding: z.string().nullish(),
      _wstapeTruncated: z.boolean().optional(),
    })
    .nullish(),
  bodySize: z.number().nullish(),
  /** HTTP Toolkit: a request body that is not text, as base64. */
  _content: z.object({ text: z.string(), encoding: z.string().nullish(), size: z.number().nullish() }).nullish(),
});

const inputResponse = z.object({
  status: z.number(),
  statusText: z.string().nullish(),
  httpVersion: z.string().nullish(),
  headers: z.array(inputNameValue),
  content: z
    .object({
      size: z.number().nullish(),
      mimeType: z.string().nullish(),
      text: z.string().nullish(),
      encoding: z.string().nullish(),
      compression: z.number().nullish(),
      _wstapeTruncated: z.boolean().optional(),
    })
    .nullish(),
  bodySize: z.number().nullish(),
  /** Chrome and mitmproxy: why the request failed. */
  _error: z.string().nullish(),
  /** Playwright: why the request failed. */
  _failureText: z.string().nullish(),
});

/** An entry of `log.entries`. */
export const inputEntry = z
  .object({
    startedDateTime: z
      .string()
      .refine((value) => !Number.isNaN(Date.parse(value)), 'expected an ISO 8601 date')
      .refine((value) => Number.isNaN(Date.parse(value)) || isImportableTime(Date.parse(value)), 'expected a date in the years 0000 to 9999'),
    // Milliseconds the request took; the entry must still end by the year 9999 (checked below).
    time: z.number().nullish(),
    request: inputRequest,
    response: inputResponse,
    _resourceType: z.string().nullish(),
    _webSocketMessages: z.array(inputMessage).nullish(),
    _webSocketClose: z
      .union([z.literal('aborted'), z.object({ code: z.number().int().nullish(), reason: z.string().nullish(), timestamp: z.number().nullish() })], {
        error: 'expected {code, reason, timestamp} or "aborted"',
      })
      .nullish(),
    _wstapeControlFrames: z.array(inputMessage).optional(),
    _wstapeDropped: z.array(inputMessage).optional(),
    _wstape: wstapeEntryExtras.optional(),
  })
  .superRefine((entry, ctx) => {
    const start = Date.parse(entry.startedDateTime);
    if (entry.time != null && isImportableTime(start) && !isImportableTime(start + entry.time)) {
      ctx.addIssue({ code: 'custom', path: ['time'], message: `expected milliseconds that end the entry by the year 9999, got ${entry.time}` });
    }
  });

/** A HAR as `wstape import` reads it; unknown fields are ignored. */
export const harInputSchema = z.object({
  log: z.object({
    version: z.string().nullish(),
    creator: z.object({ name: z.string().nullish(), version: z.string().nullish() }).nullish(),
    entries: z.array(inputEntry),
    _wstapeHeader: headerSchema.optional(),
    _wstapeTrailer: trailerSchema.nullish(),
    _wstapeTunnels: z.array(tunnelEntrySchema.omit({ kind: true }).extend({ end: endEntrySchema.omit({ kind: true, conn: true }).optional() })).optional(),
    _wstapeErrors: z.array(errorEntrySchema.omit({ kind: true })).optional(),
  }),
});

export type HarInput = z.infer<typeof harInputSchema>;
export type HarInputEntry = z.infer<typeof inputEntry>;
export type HarInputMessage = z.infer<typeof inputMessage>;
export type FrameMeta = z.infer<typeof frameMetaSchema>;

// ---------------------------------------------------------------------------------------------
// Messages

/** `log.entries[3].request.headers`: a zod path the way a person would write it for JSON. */
export function formatJsonPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$][\w$]*$/.test(key)) text += text === '' ? key : `.${key}`;
    else text += `[${JSON.stringify(String(key))}]`;
  }
  return text === '' ? '(the document)' : text;
}

/** "an array", "a string", "null": what a JSON value is, for messages. */
export function describeJsonValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'object':
      return 'an object';
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'a boolean';
    default:
      return typeof value;
  }
}

const ARTICLES: Record<string, string> = {
  array: 'an array',
  object: 'an object',
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'a boolean',
};

function valueAt(root: unknown, path: readonly PropertyKey[]): { found: boolean; value: unknown } {
  let current: unknown = root;
  for (const key of path) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, key)) return { found: false, value: undefined };
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return { found: true, value: current };
}

/**
 * The first problem zod found, as `path: what is wrong`, e.g.
 * `log.entries[3].request.headers: expected an array, got an object`. `root` is the value that
 * was validated; `prefix` its path in the document, when it is a part (one entry, one message).
 */
export function describeIssue(issue: z.core.$ZodIssue, root: unknown, prefix: readonly PropertyKey[] = []): string {
  const where = formatJsonPath([...prefix, ...issue.path]);
  if (issue.code === 'invalid_type') {
    const expected = ARTICLES[issue.expected] ?? issue.expected;
    const { found, value } = valueAt(root, issue.path);
    return found ? `${where}: expected ${expected}, got ${describeJsonValue(value)}` : `${where}: missing (expected ${expected})`;
  }
  return `${where}: ${issue.message}`;
}

/**
 * Parse and validate a HAR's text. Throws ERR_HAR, one line naming the file and the first problem
 * with its JSON path: not JSON, a wstape archive, or a field of the wrong shape.
 */
export function parseHarText(text: string, name: string): HarInput {
  let value: unknown;
  try {
    value = JSON.parse(text.replace(/^\uFEFF/, '')) as unknown;
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw cliError('ERR_HAR', `${name} is not a HAR file: not JSON (${detail})`);
  }
  if (value !== null && typeof value === 'object' && (value as { format?: unknown }).format === 'wstape') {
    throw cliError('ERR_HAR', `${name} is a wstape archive already, not a HAR file (wstape export --format har makes a HAR of it)`);
  }
  const result = harInputSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const detail = issue === undefined ? 'invalid' : describeIssue(issue, value);
    throw cliError('ERR_HAR', `${name} is not a HAR file wstape can import: ${detail}`);
  }
  return result.data;
}

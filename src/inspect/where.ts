/**
 * Evaluating a `--where` expression (parsed by where-parse.ts) against a frame or message row and
 * its connection. Pure: `WhereMatcher.observe` remembers connection entries as the archive is
 * streamed, `matches` judges one row. docs/WHERE.md is the user's description of the language.
 *
 * The values an expression sees:
 *   dir, type, size, index, time, elapsed, opcode  the row's fields as archived
 *   flags   the anomaly flags (an array; `"invalid-utf8" in flags`)
 *   text    the text payload, or null (binary and control frames without text)
 *   conn    { id, url, status, subprotocol, headers }: the connection's handshake; `headers` are
 *           the upgrade request's headers by lower-case name (repeated ones joined with ", ")
 *   json    the text payload parsed as JSON, or null when it is not JSON (never an error)
 *
 * A path that leads nowhere (`json.a.b` on a string, a missing header) is null. Comparisons never
 * convert: `size == "10"` is false; `<` `<=` `>` `>=` compare two numbers or two strings, and are
 * false otherwise. `~` is a case-insensitive regular-expression search in a string; `x in y` is
 * true when the array y holds x, or when the string y contains the string x.
 */
import type { ConnectionEntry, Entry } from '../format/schema.js';
import type { FrameRow } from './messages.js';
import { parseWhere, type WhereNode } from './where-parse.js';

type Value = string | number | boolean | null | Value[] | { [key: string]: Value };

/** What a row is judged with besides itself. */
interface Scope {
  row: FrameRow;
  connection: ConnectionEntry | undefined;
  /** Parsed once, on first use of `json`. */
  json?: { value: Value } | undefined;
}

/** Payloads longer than this are not parsed for `json.` paths (they are null). */
const MAX_JSON_PARSE = 16 * 1024 * 1024;

function connValue(connection: ConnectionEntry | undefined): Value {
  if (connection === undefined) return null;
  const headers: Record<string, Value> = Object.create(null) as Record<string, Value>;
  for (const [name, value] of connection.request.headers) {
    const key = name.toLowerCase();
    const seen = headers[key];
    headers[key] = typeof seen === 'string' ? `${seen}, ${value}` : value;
  }
  return { id: connection.id, url: connection.url, status: connection.response.status, subprotocol: connection.subprotocol, headers };
}

function jsonValue(scope: Scope): Value {
  if (scope.json === undefined) {
    let value: Value = null;
    const text = scope.row.text;
    if (text !== undefined && text.length <= MAX_JSON_PARSE && scope.row.truncated !== true) {
      try {
        value = JSON.parse(text) as Value;
      } catch {
        value = null;
      }
    }
    scope.json = { value };
  }
  return scope.json.value;
}

function rootValue(root: string, scope: Scope): Value {
  const row = scope.row;
  switch (root) {
    case 'dir':
      return row.dir;
    case 'type':
      return row.type;
    case 'size':
      return row.size;
    case 'index':
      return row.index;
    case 'time':
      return row.time;
    case 'elapsed':
      return row.elapsed;
    case 'opcode':
      return row.opcode;
    case 'flags':
      return [...(row.flags ?? [])];
    case 'text':
      return row.text ?? null;
    case 'conn':
      return connValue(scope.connection);
    case 'json':
      return jsonValue(scope);
    default:
      return null;
  }
}

function member(value: Value, key: string | number): Value {
  if (Array.isArray(value)) {
    if (typeof key !== 'number') return key === 'length' ? value.length : null;
    return value[key < 0 ? value.length + key : key] ?? null;
  }
  if (value !== null && typeof value === 'object') {
    const name = String(key);
    return Object.prototype.hasOwnProperty.call(value, name) ? (value[name] ?? null) : null;
  }
  return null;
}

function truthy(value: Value): boolean {
  if (Array.isArray(value)) return value.length > 0;
  return value !== null && value !== false && value !== 0 && value !== '';
}

function equal(a: Value, b: Value): boolean {
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b;
  return JSON.stringify(a) === JSON.stringify(b);
}

function ordered(a: Value, b: Value, test: (order: number) => boolean): boolean {
  if (typeof a === 'number' && typeof b === 'number') return test(a < b ? -1 : a > b ? 1 : 0);
  if (typeof a === 'string' && typeof b === 'string') return test(a < b ? -1 : a > b ? 1 : 0);
  return false;
}

function evaluate(node: WhereNode, scope: Scope): Value {
  switch (node.kind) {
    case 'literal':
      return node.value;
    case 'path': {
      let value = rootValue(node.root, scope);
      for (const key of node.keys) value = member(value, key);
      return value;
    }
    case 'not':
      return !truthy(evaluate(node.operand, scope));
    case 'and':
      return truthy(evaluate(node.left, scope)) && truthy(evaluate(node.right, scope));
    case 'or':
      return truthy(evaluate(node.left, scope)) || truthy(evaluate(node.right, scope));
    case 'compare': {
      const left = evaluate(node.left, scope);
      const right = evaluate(node.right, scope);
      switch (node.op) {
        case '==':
          return equal(left, right);
        case '!=':
          return !equal(left, right);
        case '<':
          return ordered(left, right, (order) => order < 0);
        case '<=':
          return ordered(left, right, (order) => order <= 0);
        case '>':
          return ordered(left, right, (order) => order > 0);
        case '>=':
          return ordered(left, right, (order) => order >= 0);
        case '~':
          return typeof left === 'string' && node.regex !== undefined && node.regex.test(left);
        case 'in':
          if (Array.isArray(right)) return right.some((item) => equal(item, left));
          return typeof right === 'string' && typeof left === 'string' && right.includes(left);
      }
    }
  }
}

/** A compiled `--where` expression, with the connections seen so far. */
export class WhereMatcher {
  readonly #ast: WhereNode;
  readonly #connections = new Map<string, ConnectionEntry>();

  /** Parses `source`; a bad expression throws ERR_USAGE (exit 2) naming the column. */
  constructor(source: string) {
    this.#ast = parseWhere(source);
  }

  /** Remember connection entries (their URL and headers); call for every entry, in order. */
  observe(entry: Entry): void {
    if (entry.kind === 'connection') this.#connections.set(entry.id, entry);
  }

  /** True when the row (a frame entry or a reassembled message) satisfies the expression. */
  matches(row: FrameRow): boolean {
    return truthy(evaluate(this.#ast, { row, connection: this.#connections.get(row.conn) }));
  }
}

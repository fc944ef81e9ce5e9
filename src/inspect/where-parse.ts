/**
 * The `--where EXPR` language of `show` and `list` (docs/WHERE.md): a tokenizer and a
 * recursive-descent parser that turn an expression into a small AST. No eval, no function calls,
 * no assignment: the grammar has nothing but literals, field paths and the operators below, so an
 * expression read from a command line (or a shared shell script) can only compare values.
 *
 *   or      := and ( "||" and )*
 *   and     := unary ( "&&" unary )*
 *   unary   := "!" unary | compare
 *   compare := primary [ ( "==" | "!=" | "<" | "<=" | ">" | ">=" | "~" | "in" ) primary ]
 *   primary := STRING | NUMBER | "true" | "false" | "null" | path | "(" or ")"
 *   path    := NAME ( "." NAME | "[" ( STRING | NUMBER ) "]" )*
 *
 * Our own parser rather than a library (jsep, filtrex): the grammar is this small, a library's
 * larger one (calls, ternaries, array literals, `this`) would have to be walked and refused node
 * by node, and here every error carries the column a user must fix. Errors are ERR_USAGE.
 */
import { cliError } from '../errors.js';

export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | '~' | 'in';

export type WhereNode =
  | { kind: 'literal'; value: string | number | boolean | null }
  | { kind: 'path'; root: string; keys: (string | number)[]; column: number }
  | { kind: 'not'; operand: WhereNode }
  | { kind: 'and' | 'or'; left: WhereNode; right: WhereNode }
  | { kind: 'compare'; op: CompareOp; left: WhereNode; right: WhereNode; regex?: RegExp };

/** The names an expression may start a path with (see where.ts for what each holds). */
export const WHERE_ROOTS: readonly string[] = ['dir', 'type', 'size', 'index', 'time', 'elapsed', 'opcode', 'flags', 'text', 'conn', 'json'];

type Token =
  | { kind: 'op'; text: string; column: number }
  | { kind: 'string'; value: string; column: number; text: string }
  | { kind: 'number'; value: number; column: number; text: string }
  | { kind: 'name'; text: string; column: number }
  | { kind: 'end'; column: number; text: string };

/** Longest first, so `<=` is not read as `<` then `=`. */
const OPERATORS = ['==', '!=', '<=', '>=', '&&', '||', '<', '>', '!', '~', '(', ')', '[', ']', '.'];
const NAME = /[A-Za-z_$][\w$-]*/y;
const NUMBER = /-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/y;
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", '/': '/' };
const MAX_DEPTH = 64;
/** Expressions longer than this are refused: nobody types one, and it bounds the recursion. */
export const MAX_WHERE_LENGTH = 4096;

function fail(source: string, column: number, what: string): never {
  throw cliError('ERR_USAGE', `--where: ${what} at column ${column}: ${source}`);
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const char = source[i] as string;
    if (/\s/.test(char)) {
      i++;
      continue;
    }
    const column = i + 1;
    if (char === '"' || char === "'") {
      let value = '';
      let j = i + 1;
      for (;;) {
        const c = source[j];
        if (c === undefined) fail(source, column, 'unterminated string');
        if (c === char) break;
        if (c === '\\') {
          const next = source[j + 1];
          const escaped = next === undefined ? undefined : ESCAPES[next];
          if (escaped === undefined) fail(source, j + 1, `unknown escape "\\${next ?? ''}"`);
          value += escaped;
          j += 2;
          continue;
        }
        value += c;
        j++;
      }
      tokens.push({ kind: 'string', value, column, text: source.slice(i, j + 1) });
      i = j + 1;
      continue;
    }
    NUMBER.lastIndex = i;
    const number = /[\d.-]/.test(char) ? NUMBER.exec(source) : null;
    if (number !== null && !(char === '.' && tokens.at(-1)?.kind === 'name')) {
      tokens.push({ kind: 'number', value: Number(number[0]), column, text: number[0] });
      i += number[0].length;
      continue;
    }
    NAME.lastIndex = i;
    const name = NAME.exec(source);
    if (name !== null) {
      tokens.push({ kind: 'name', text: name[0], column });
      i += name[0].length;
      continue;
    }
    const op = OPERATORS.find((candidate) => source.startsWith(candidate, i));
    if (op === undefined) fail(source, column, `unexpected "${char}"`);
    tokens.push({ kind: 'op', text: op, column });
    i += op.length;
  }
  tokens.push({ kind: 'end', column: source.length + 1, text: '' });
  return tokens;
}

const COMPARE_OPS = new Set(['==', '!=', '<', '<=', '>', '>=', '~']);

class Parser {
  #pos = 0;
  #depth = 0;
  constructor(
    readonly source: string,
    readonly tokens: Token[],
  ) {}

  get #peek(): Token {
    return this.tokens[this.#pos] as Token;
  }

  #next(): Token {
    return this.tokens[this.#pos++] as Token;
  }

  #isOp(text: string): boolean {
    const token = this.#peek;
    return token.kind === 'op' && token.text === text;
  }

  #expect(text: string): void {
    if (!this.#isOp(text)) this.#unexpected(`expected "${text}"`);
    this.#pos++;
  }

  #unexpected(expected: string): never {
    const token = this.#peek;
    const found = token.kind === 'end' ? 'the end' : `"${token.text}"`;
    return fail(this.source, token.column, `${expected}, found ${found}`);
  }

  parse(): WhereNode {
    const node = this.#or();
    if (this.#peek.kind !== 'end') this.#unexpected('expected an operator (&&, ||, ==, ~ ...)');
    return node;
  }

  #or(): WhereNode {
    let left = this.#and();
    while (this.#isOp('||')) {
      this.#pos++;
      left = { kind: 'or', left, right: this.#and() };
    }
    return left;
  }

  #and(): WhereNode {
    let left = this.#unary();
    while (this.#isOp('&&')) {
      this.#pos++;
      left = { kind: 'and', left, right: this.#unary() };
    }
    return left;
  }

  #unary(): WhereNode {
    if (this.#isOp('!')) {
      this.#nest();
      this.#pos++;
      const operand = this.#unary();
      this.#depth--;
      return { kind: 'not', operand };
    }
    return this.#compare();
  }

  /** Bounds the recursion: deeper nesting than this is refused, not a stack overflow. */
  #nest(): void {
    if (++this.#depth > MAX_DEPTH) fail(this.source, this.#peek.column, `nested deeper than ${MAX_DEPTH} levels`);
  }

  #compare(): WhereNode {
    const left = this.#primary();
    const token = this.#peek;
    const op = token.kind === 'op' && COMPARE_OPS.has(token.text) ? token.text : token.kind === 'name' && token.text === 'in' ? 'in' : null;
    if (op === null) return left;
    this.#pos++;
    const rightToken = this.#peek;
    const right = this.#primary();
    const node: WhereNode = { kind: 'compare', op: op as CompareOp, left, right };
    if (op === '~') {
      if (right.kind !== 'literal' || typeof right.value !== 'string')
        fail(this.source, rightToken.column, 'the right side of ~ must be a string (a regular expression)');
      try {
        node.regex = new RegExp(right.value, 'i');
      } catch {
        fail(this.source, rightToken.column, 'invalid regular expression');
      }
    }
    return node;
  }

  #primary(): WhereNode {
    const token = this.#next();
    switch (token.kind) {
      case 'string':
      case 'number':
        return { kind: 'literal', value: token.value };
      case 'name':
        if (token.text === 'true' || token.text === 'false') return { kind: 'literal', value: token.text === 'true' };
        if (token.text === 'null') return { kind: 'literal', value: null };
        if (!WHERE_ROOTS.includes(token.text)) {
          fail(this.source, token.column, `unknown field "${token.text}" (use ${WHERE_ROOTS.join(', ')})`);
        }
        return this.#path(token.text, token.column);
      case 'op':
        if (token.text === '(') {
          this.#pos--;
          this.#nest();
          this.#pos++;
          const inner = this.#or();
          this.#expect(')');
          this.#depth--;
          return inner;
        }
        break;
      case 'end':
        break;
    }
    this.#pos--;
    return this.#unexpected('expected a value (a field, a string, a number)');
  }

  #path(root: string, column: number): WhereNode {
    const keys: (string | number)[] = [];
    for (;;) {
      if (this.#isOp('.')) {
        this.#pos++;
        const name = this.#next();
        if (name.kind !== 'name') {
          this.#pos--;
          this.#unexpected('expected a name after "."');
        }
        keys.push(name.text);
      } else if (this.#isOp('[')) {
        this.#pos++;
        const key = this.#next();
        if (key.kind !== 'string' && key.kind !== 'number') {
          this.#pos--;
          this.#unexpected('expected a string or a number in [ ]');
        }
        keys.push(key.value);
        this.#expect(']');
      } else {
        return { kind: 'path', root, keys, column };
      }
    }
  }
}

/** Parse a `--where` expression; a bad one throws ERR_USAGE naming the column. */
export function parseWhere(source: string): WhereNode {
  if (source.length > MAX_WHERE_LENGTH) throw cliError('ERR_USAGE', `--where: the expression is longer than ${MAX_WHERE_LENGTH} characters`);
  if (source.trim() === '') throw cliError('ERR_USAGE', '--where: the expression is empty');
  return new Parser(source, tokenize(source)).parse();
}

/**
 * JSON payloads on a terminal: syntax colours, and re-indenting for `show --pretty-json`.
 *
 * Both work on the payload's own tokens, never on a re-serialised value: JSON.parse +
 * JSON.stringify would turn `1.0` into `1` and round integers above 2^53, which a debugging tool
 * must not do to what was on the wire. The tokenizer is tolerant: it also colours a payload cut
 * short (a truncated frame, a line cut to the terminal width), and text that was escaped for the
 * terminal (see payload.ts), without ever changing a character.
 */
import type { Palette } from './colors.js';

export type JsonTokenKind = 'key' | 'string' | 'number' | 'literal' | 'punct' | 'space' | 'other';

export interface JsonToken {
  kind: JsonTokenKind;
  text: string;
}

const PUNCT = new Set(['{', '}', '[', ']', ',', ':']);
const SPACE = /[ \t\r\n]/;
const NUMBER = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/;
const LITERAL = /^(?:true|false|null)/;

/** Split JSON text (complete, cut short, or terminal-escaped) into tokens that join back to it. */
export function jsonTokens(text: string): JsonToken[] {
  const tokens: JsonToken[] = [];
  let i = 0;
  while (i < text.length) {
    const char = text[i]!;
    if (char === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      j = Math.min(j + 1, text.length);
      tokens.push({ kind: 'string', text: text.slice(i, j) });
      i = j;
      continue;
    }
    if (PUNCT.has(char)) {
      tokens.push({ kind: 'punct', text: char });
      i++;
      continue;
    }
    if (SPACE.test(char)) {
      let j = i + 1;
      while (j < text.length && SPACE.test(text[j]!)) j++;
      tokens.push({ kind: 'space', text: text.slice(i, j) });
      i = j;
      continue;
    }
    const rest = text.slice(i, i + 64);
    const match = NUMBER.exec(rest) ?? LITERAL.exec(rest);
    if (match !== null) {
      tokens.push({ kind: /^[-.\d]/.test(match[0]) ? 'number' : 'literal', text: match[0] });
      i += match[0].length;
      continue;
    }
    tokens.push({ kind: 'other', text: char });
    i++;
  }
  // A string followed by ':' (spaces allowed) is an object key.
  for (let t = 0; t < tokens.length; t++) {
    if (tokens[t]!.kind !== 'string') continue;
    let n = t + 1;
    while (tokens[n]?.kind === 'space') n++;
    if (tokens[n]?.kind === 'punct' && tokens[n]!.text === ':') tokens[t]!.kind = 'key';
  }
  return tokens;
}

/** Colours: keys, strings, numbers and true/false/null each their own; punctuation plain. */
export function paintJsonToken(token: JsonToken, p: Palette): string {
  switch (token.kind) {
    case 'key':
      return p.blue(token.text);
    case 'string':
      return p.green(token.text);
    case 'number':
      return p.yellow(token.text);
    case 'literal':
      return p.magenta(token.text);
    default:
      return token.text;
  }
}

/** The text with JSON syntax colours (the identity with a disabled palette). */
export function highlightJson(text: string, p: Palette): string {
  if (!p.enabled) return text;
  return jsonTokens(text)
    .map((token) => paintJsonToken(token, p))
    .join('');
}

/** True for text that is a JSON object or array (what gets colours and --pretty-json). */
export function isJsonDocument(text: string): boolean {
  const start = text.trimStart()[0];
  if (start !== '{' && start !== '[') return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** True for text that begins like a JSON object or array (for payloads the archive cut short). */
export function looksLikeJson(text: string): boolean {
  return /^\s*[{[]\s*(?:["{[\]}\d-]|true|false|null|$)/.test(text.slice(0, 16));
}

/**
 * Valid JSON text re-indented, one token sequence per line, `indent` spaces per level, keeping
 * every token as written. Empty objects and arrays stay `{}` and `[]`. Returns the lines.
 */
export function reindentJson(text: string, indent = 2): JsonToken[][] {
  const tokens = jsonTokens(text).filter((token) => token.kind !== 'space');
  const lines: JsonToken[][] = [];
  let line: JsonToken[] = [];
  let depth = 0;
  const pad = (): JsonToken[] => (depth > 0 ? [{ kind: 'space', text: ' '.repeat(depth * indent) }] : []);
  const newline = (): void => {
    lines.push(line);
    line = pad();
  };
  for (let t = 0; t < tokens.length; t++) {
    const token = tokens[t]!;
    const next = tokens[t + 1];
    if (token.kind === 'punct' && (token.text === '{' || token.text === '[')) {
      const close = token.text === '{' ? '}' : ']';
      if (next?.kind === 'punct' && next.text === close) {
        line.push(token, next);
        t++;
        continue;
      }
      line.push(token);
      depth++;
      newline();
    } else if (token.kind === 'punct' && (token.text === '}' || token.text === ']')) {
      depth = Math.max(0, depth - 1);
      if (line.some((item) => item.kind !== 'space')) newline();
      else line = pad();
      line.push(token);
    } else if (token.kind === 'punct' && token.text === ',') {
      line.push(token);
      newline();
    } else if (token.kind === 'punct' && token.text === ':') {
      line.push(token, { kind: 'space', text: ' ' });
    } else {
      line.push(token);
    }
  }
  if (line.some((item) => item.kind !== 'space')) lines.push(line);
  return lines;
}

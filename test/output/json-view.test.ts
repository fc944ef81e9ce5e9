import { describe, expect, it } from 'vitest';
import { makePalette, stripAnsi } from '../../src/output/colors.js';
import { highlightJson, isJsonDocument, jsonTokens, looksLikeJson, reindentJson } from '../../src/output/json-view.js';

const on = makePalette(true);
const off = makePalette(false);
const lines = (text: string, indent?: number): string[] => reindentJson(text, indent).map((tokens) => tokens.map((t) => t.text).join(''));

describe('jsonTokens', () => {
  it('tells keys, strings, numbers, literals and punctuation apart', () => {
    const kinds = jsonTokens('{"a": "b", "n": -1.5e3, "t": true, "z": null, "l": [1, false]}')
      .filter((token) => token.kind !== 'space')
      .map((token) => `${token.kind}:${token.text}`);
    expect(kinds).toEqual([
      'punct:{',
      'key:"a"',
      'punct::',
      'string:"b"',
      'punct:,',
      'key:"n"',
      'punct::',
      'number:-1.5e3',
      'punct:,',
      'key:"t"',
      'punct::',
      'literal:true',
      'punct:,',
      'key:"z"',
      'punct::',
      'literal:null',
      'punct:,',
      'key:"l"',
      'punct::',
      'punct:[',
      'number:1',
      'punct:,',
      'literal:false',
      'punct:]',
      'punct:}',
    ]);
  });

  it.each(['{"a":"x\\"y:z,{}"}', '{"a":"cut sho', '[1,2,3', '{"x":"\\x1b[2J"}', 'not json at all', '', '{"k" : "v"}'])(
    'joins back to the text it came from: %j',
    (text) => {
      expect(
        jsonTokens(text)
          .map((t) => t.text)
          .join(''),
      ).toBe(text);
    },
  );

  it('escaped quotes do not end a string', () => {
    const tokens = jsonTokens('{"a":"x\\"y:z"}').filter((t) => t.kind !== 'space');
    expect(tokens[3]).toEqual({ kind: 'string', text: '"x\\"y:z"' });
  });
});

describe('highlightJson', () => {
  it('colours keys, strings, numbers and literals each their own way', () => {
    const out = highlightJson('{"k":"v","n":1,"b":true}', on);
    expect(out).toContain('\u001b[34m"k"\u001b[39m');
    expect(out).toContain('\u001b[32m"v"\u001b[39m');
    expect(out).toContain('\u001b[33m1\u001b[39m');
    expect(out).toContain('\u001b[35mtrue\u001b[39m');
    expect(stripAnsi(out)).toBe('{"k":"v","n":1,"b":true}');
  });

  it('is the identity without colour', () => {
    expect(highlightJson('{"k":"v"}', off)).toBe('{"k":"v"}');
  });
});

describe('reindentJson', () => {
  it('indents objects and arrays, two spaces a level', () => {
    expect(lines('{"a":1,"b":[true,null],"c":{"d":"e"}}')).toEqual([
      '{',
      '  "a": 1,',
      '  "b": [',
      '    true,',
      '    null',
      '  ],',
      '  "c": {',
      '    "d": "e"',
      '  }',
      '}',
    ]);
  });

  it('keeps every token as written: no rounding, no reformatted numbers or escapes', () => {
    expect(lines('{"big":12345678901234567890,"f":1.0,"e":1E+2,"s":"\\u00e9\\n"}')).toEqual([
      '{',
      '  "big": 12345678901234567890,',
      '  "f": 1.0,',
      '  "e": 1E+2,',
      '  "s": "\\u00e9\\n"',
      '}',
    ]);
  });

  it('leaves empty containers on one line and drops the original whitespace', () => {
    expect(lines('{ "a" : { } , "b" : [ ] }')).toEqual(['{', '  "a": {},', '  "b": []', '}']);
    expect(lines('[]')).toEqual(['[]']);
    expect(lines('[[1],[2]]', 4)).toEqual(['[', '    [', '        1', '    ],', '    [', '        2', '    ]', ']']);
  });
});

describe('JSON recognition', () => {
  it.each([
    ['{"a":1}', true],
    [' [1,2] ', true],
    ['"a string"', false],
    ['42', false],
    ['{"a":', false],
    ['{not json}', false],
  ])('isJsonDocument(%j) is %s', (text, expected) => {
    expect(isJsonDocument(text)).toBe(expected);
  });

  it.each([
    ['{"a":', true],
    ['[1,', true],
    ['{}', true],
    ['  {\n "x"', true],
    ['{not json', false],
    ['hello', false],
    ['[INFO] started', false],
  ])('looksLikeJson(%j) is %s', (text, expected) => {
    expect(looksLikeJson(text)).toBe(expected);
  });
});

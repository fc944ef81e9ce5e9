/**
 * Parsing the intervention flags: values that compile, and values that do not, each with the
 * one-line ERR_USAGE error that names the flag, the value and (a keyword of) what is expected.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isCliError } from '../../src/errors.js';
import { compileFlags, FLAG_OPTIONS, type InterventionFlags } from '../../src/intervene/flags.js';

type Field = keyof InterventionFlags;

function errorOf(field: Field, value: string): unknown {
  try {
    compileFlags({ [field]: [value] });
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('compileFlags: no flag', () => {
  it.each<[string, InterventionFlags]>([
    ['nothing', {}],
    ['empty lists', { drop: [], delay: [], injectAt: [] }],
  ])('%s gives null (the byte-exact path)', (_name, flags) => {
    expect(compileFlags(flags)).toBeNull();
  });

  it('names the hooks "flags", by flag', () => {
    expect(compileFlags({ drop: ['in'] })).toMatchObject({ name: 'flags', by: 'flag' });
  });
});

describe('compileFlags: values that parse', () => {
  it.each<[Field, string]>([
    ['drop', 'in'],
    ['drop', 'out'],
    ['drop', 'both'],
    ['drop', '  in   text  '],
    ['drop', 'in text /"type":"presence"/'],
    ['drop', 'in /"type": "presence"/i'],
    ['drop', 'in /a\\/b/'],
    ['drop', 'in binary /\\x00\\x01/'],
    ['drop', 'out $.type=ping'],
    ['drop', 'out $.type="two words"'],
    ['drop', 'out $.n=3'],
    ['drop', 'out $.tags=["a", "b"]'],
    ['drop', 'out $.o={"a": [1, {"b": "}"}]}'],
    ['drop', "out $['a=b']=1"],
    ['drop', 'out $.user'],
    ['drop', 'out $..id=7'],
    ['drop', 'in pong'],
    ['drop', 'out ping /keepalive/'],
    ['replace', 'in /foo/bar/g'],
    ['replace', 'in text /(\\w+)@example\\.com/$1@test.invalid/gi'],
    ['replace', 'both /a\\/b/c\\/d/'],
    ['replace', 'out /x//'],
    ['set', 'in $.user.name="mallory"'],
    ['set', 'in $.user.name=mallory'],
    ['set', 'in $.items[0].price=0'],
    ['set', 'out $.type=profile $.user.name="mallory"'],
    ['set', 'out /profile/ $.admin=true'],
    ['delay', 'in 200ms'],
    ['delay', 'out 1.5s'],
    ['delay', 'out 100ms~50ms'],
    ['delay', 'in /presence/ 2s'],
    ['delay', 'in binary 0ms'],
    ['closeAfter', 'in 5'],
    ['closeAfter', 'in 5 1011'],
    ['closeAfter', 'in 5 1011 going away'],
    ['closeAfter', 'out text /x/ 2 4000 bye'],
    ['closeAfter', 'in ping 3'],
    ['closeOn', 'in /fatal/'],
    ['closeOn', 'in /fatal/ 1011'],
    ['closeOn', 'in $.error 3001 server said so'],
    ['abortAfter', 'out 3'],
    ['abortAfter', 'both 10'],
    ['abortOn', 'in /crash/'],
    ['abortOn', 'in'],
    ['injectOn', 'in /welcome/ out {"type":"subscribe"}'],
    ['injectOn', 'in $.type=welcome out {"type": "subscribe", "room": "a b"}'],
    ['injectOn', 'in out hello'],
    ['injectOn', 'out ping in pong-ish text'],
    ['injectAt', '2s in {"type":"kick"}'],
    ['injectAt', '500ms out hello there'],
  ])('--%s %j', (field, value) => {
    expect(compileFlags({ [field]: [value] })).not.toBeNull();
  });
});

describe('compileFlags: values that do not parse', () => {
  it.each<[Field, string, RegExp]>([
    ['drop', '', /empty/],
    ['drop', '   ', /empty/],
    ['drop', 'inbound', /direction/],
    ['drop', 'text in', /direction/],
    ['drop', 'in txt', /unexpected "txt"/],
    ['drop', 'in text /unclosed', /not closed/],
    ['drop', 'in /(/', /regular expression/],
    ['drop', 'in /a/q', /regular expression/],
    ['drop', 'in /a/gx', /regular expression/],
    ['drop', 'in /a/i,', /after the regular expression/],
    ['drop', 'in /a/ extra', /unexpected "extra"/],
    ['drop', 'in $type=ping', /JSONPath/],
    ['drop', 'in $.a[?(@.b)]', /JSONPath/],
    ['drop', 'in $.type=', /value after "="/],
    ['drop', 'in $.type="unclosed', /not valid JSON/],
    ['drop', 'in $.o={"a":}', /not valid JSON/],
    ['drop', 'in binary $.type=x', /JSONPath test applies to text/],
    ['drop', 'in ping $.type=x', /JSONPath test applies to text/],
    ['replace', 'in /foo/', /not closed/],
    ['replace', 'in foo/bar/', /expected \/REGEX\/REPLACEMENT\//],
    ['replace', 'in binary /a/b/', /acts on text/],
    ['replace', 'in /a/b/ extra', /unexpected "extra"/],
    ['set', 'in', /expected \$\.path=VALUE/],
    ['set', 'in $.user.name', /expected "=VALUE"/],
    ['set', 'in $=1', /whole message/],
    ['set', 'in $.items[*].id=1', /more than one place/],
    ['set', 'in $..id=1', /more than one place/],
    ['set', 'in ping $.a=1', /acts on text/],
    ['set', 'in $.a=1 $.b=2 $.c=3', /unexpected/],
    ['delay', 'in', /expected a time/],
    ['delay', 'in 200', /expected a time/],
    ['delay', 'in 2m', /expected a time/],
    ['delay', 'in -5ms', /expected a time/],
    ['delay', 'in 100ms~', /expected a time/],
    ['delay', 'in 100ms~5ms~1ms', /expected a time/],
    ['delay', 'in 30d', /expected a time/],
    ['delay', 'in 9999999999ms', /too long/],
    ['delay', 'in ping 10ms', /acts on text or binary/],
    ['delay', 'sideways 10ms', /direction/],
    ['closeAfter', 'in', /expected a count/],
    ['closeAfter', 'in 0', /whole number/],
    ['closeAfter', 'in 2.5', /whole number/],
    ['closeAfter', 'in five', /whole number/],
    ['closeAfter', 'in 5 1006', /close code/],
    ['closeAfter', 'in 5 1005', /close code/],
    ['closeAfter', 'in 5 2000', /close code/],
    ['closeAfter', 'in 5 999', /close code/],
    ['closeAfter', 'in 5 bye', /close code/],
    ['closeAfter', `in 5 1000 ${'x'.repeat(124)}`, /123 bytes/],
    ['closeOn', 'in /fatal/ 5000', /close code/],
    ['abortAfter', 'out', /expected a count/],
    ['abortAfter', 'out 3 1011', /unexpected "1011"/],
    ['abortOn', 'in /crash/ now', /unexpected "now"/],
    ['injectOn', 'in /welcome/', /direction/],
    ['injectOn', 'in /welcome/ out', /message to send/],
    ['injectOn', 'in /welcome/ both hi', /direction/],
    ['injectOn', 'in /welcome/ {"type":"x"}', /direction/],
    ['injectAt', 'in 2s hello', /expected a time/],
    ['injectAt', '2s~1s in hello', /expected a time/],
    ['injectAt', '2s hello', /direction/],
    ['injectAt', '2s in', /message to send/],
    ['injectOn', 'in /x/ out hex:0', /even number of hex digits/],
    ['injectOn', 'in /x/ out hex:zz', /even number of hex digits/],
    ['injectAt', '1s in base64:AQI', /standard base64/],
    ['injectAt', '1s in base64:', /standard base64/],
  ])('--%s %j', (field, value, why) => {
    const error = errorOf(field, value);
    expect(isCliError(error) && error.code).toBe('ERR_USAGE');
    const message = (error as Error).message;
    expect(message.startsWith(`--${FLAG_OPTIONS[field]} ${JSON.stringify(value)}: `)).toBe(true);
    expect(message).toMatch(why);
    expect(message).not.toContain('\n');
  });

  it('reports the first bad value among several', () => {
    expect(() => compileFlags({ drop: ['in', 'nowhere'] })).toThrow(/^--drop "nowhere": /);
  });
});

describe('docs/HOOKS.md', () => {
  const docs = readFileSync(new URL('../../docs/HOOKS.md', import.meta.url), 'utf8');
  const fields = new Map<string, Field>(Object.entries(FLAG_OPTIONS).map(([field, option]) => [option, field as Field]));
  // The ```sh blocks: the syntax lines in the prose use placeholders.
  const shell = [...docs.matchAll(/```sh\n([\s\S]*?)```/g)].map(([, block]) => block).join('\n');
  const examples = [...shell.matchAll(/--([a-z-]+) '([^']*)'/g)].filter(([, option]) => fields.has(option as string));

  it('has shell examples for every flag', () => {
    expect(new Set(examples.map(([, option]) => option))).toEqual(new Set(Object.values(FLAG_OPTIONS)));
  });

  it.each(examples.map(([, option, value]) => [option as string, value as string]))('--%s %j compiles', (option, value) => {
    expect(compileFlags({ [fields.get(option) as Field]: [value] })).not.toBeNull();
  });
});

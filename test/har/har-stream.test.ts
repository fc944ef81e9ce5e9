/**
 * The parts of the streaming import, alone: the external sort spills and merges to the order an
 * in-memory sort gives; the message clock decided without keeping the times agrees with
 * timeUnit(); an entry's fields and message lists in any key order import the same; and a bad
 * HAR gets the very line the whole-document validation (parseHarText) gives, including which
 * problem is reported first when there are several.
 */
import fc from 'fast-check';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isCliError } from '../../src/errors.js';
import type { Entry } from '../../src/format/schema.js';
import { EntrySorter } from '../../src/har/entry-sorter.js';
import { timeUnit } from '../../src/har/har-common.js';
import { parseHarText } from '../../src/har/har-schema.js';
import { runImport } from '../../src/har/import-har.js';
import { TimeStats } from '../../src/har/message-clock.js';
import type { SortKey } from '../../src/har/websocket-from-har.js';
import { frame } from '../format/helpers.js';
import { fakeIo } from '../output/test-archives.js';
import { importHar, scratch } from './helpers.js';

/** An entry that says where it was added: its `elapsed`. Even ones are frames to be numbered. */
const madeEntry = (n: number): Entry =>
  n % 2 === 0
    ? { ...frame(0, `f${n}`), elapsed: n }
    : { kind: 'error', time: '2026-11-25T10:30:00.000Z', elapsed: n, code: 'HAR_WEBSOCKET_ERROR', message: `m${n}` };

describe('EntrySorter', () => {
  it('gives the order of a stable in-memory sort, whether it spills runs to disk or not, and leaves no file', () => {
    // Its runs go under os.tmpdir(), which follows TMPDIR: a directory of this test's own.
    const own = scratch();
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = own;
    try {
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 3 }), fc.double({ min: -1e6, max: 1e6, noNaN: true })), {
            maxLength: 300,
          }),
          (keys) => {
            const expected = keys
              .map((key, at) => ({ key, at }))
              .sort((x, y) => x.key[0] - y.key[0] || x.key[1] - y.key[1] || x.key[2] - y.key[2] || x.at - y.at);
            for (const budget of [1, 500, 1e9]) {
              const sorter = new EntrySorter(budget);
              // The position in the input as the last key field keeps equal keys apart, as the import's keys are.
              keys.forEach(([a, b, c], at) => sorter.add([a, b, c, 0, 0, 0, at] as SortKey, madeEntry(at), at % 2 === 0));
              const spilled = sorter.runs > 0;
              const got = [...sorter.sorted()].map(({ json, conn }) => [(JSON.parse(json) as Entry).elapsed, conn !== '']);
              sorter.dispose();
              expect(got).toEqual(expected.map(({ at }) => [at, at % 2 === 0]));
              if (budget === 1 && keys.length > 0) expect(spilled).toBe(true);
            }
          },
        ),
        { numRuns: 40 },
      );
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    expect(readdirSync(own)).toEqual([]);
  });
});

describe('EntrySorter runs with lines longer than its read buffer', () => {
  it('gives every entry back whole and in order', () => {
    const sorter = new EntrySorter(100_000);
    // Texts of 0 to 60,000 characters, some of them multi-byte, in a shuffled order of keys.
    const texts = Array.from({ length: 120 }, (_, at) => `${at}:${(at % 3 === 0 ? 'é' : 'x').repeat((at * 7919) % 60_000)}`);
    const order = texts.map((_, at) => (at * 37) % texts.length);
    order.forEach((at) => sorter.add([at, 0, 0, 0, 0, 0, 0], { ...frame(at, texts[at] as string), conn: `c${at % 4}` }, at % 2 === 0));
    expect(sorter.runs).toBeGreaterThan(3);
    const got = [...sorter.sorted()].map(({ json, conn }) => [(JSON.parse(json) as { text: string }).text, conn]);
    sorter.dispose();
    expect(got).toEqual(texts.map((text, at) => [text, at % 2 === 0 ? `c${at % 4}` : '']));
  });
});

describe('TimeStats', () => {
  it('decides the unit as timeUnit() does over the same times', () => {
    const time = fc.oneof(fc.double({ min: -2e12, max: 2e12, noNaN: true }), fc.constantFrom(1e11, -1e11, 1e11 - 1, 0, 1.7e9, 1.7e12));
    fc.assert(
      fc.property(fc.array(time, { maxLength: 50 }), (times) => {
        const stats = new TimeStats();
        for (const t of times) stats.add(t);
        expect(stats.unit).toBe(timeUnit(times));
      }),
    );
  });
});

const request = { method: 'GET', url: 'ws://x.test/s', headers: [{ name: 'Host', value: 'x.test' }] };
const response = { status: 101, headers: [] };
const messages = [
  { type: 'send', time: 1795602601.5, opcode: 1, data: 'hello' },
  { type: 'receive', time: 1795602601.25, opcode: 1, data: 'early' },
  { type: 'receive', time: 1795602602, opcode: 8, data: 'A+g=' },
];

describe('streamed HAR entries', () => {
  it('import the same whatever the order of their fields, and with fields the importer skips', async () => {
    const usual = { startedDateTime: '2026-11-25T10:30:00.000Z', request, response, _resourceType: 'websocket', _webSocketMessages: messages };
    const listsFirst = {
      _webSocketMessages: messages,
      _initiator: { type: 'script', stack: { callFrames: [{ url: 'https://x.test/app.js', lineNumber: 1 }] } },
      cache: {},
      response,
      timings: { send: 0, wait: 0, receive: 0 },
      _resourceType: 'websocket',
      request,
      startedDateTime: '2026-11-25T10:30:00.000Z',
    };
    const a = await importHar({ log: { version: '1.2', entries: [usual] } });
    const b = await importHar({ log: { entries: [listsFirst], pages: [{ id: 'p' }], version: '1.2' } });
    expect(b.entries).toEqual(a.entries);
    expect(a.entries.filter((entry) => entry.kind === 'frame').map((entry) => (entry.kind === 'frame' ? [entry.index, entry.text ?? entry.code] : []))).toEqual(
      [
        [0, 'early'],
        [1, 'hello'],
        [2, 1000],
      ],
    );
  });
});

describe('a bad HAR', () => {
  const entry = (extra: Record<string, unknown>): Record<string, unknown> => ({ startedDateTime: '2026-11-25T10:30:00Z', request, response, ...extra });
  const badMessage = { type: 'send', time: 'noon', opcode: 1 };
  const cases: [string, string][] = [
    ['a bad creator after a bad entry (zod checks log.creator first)', JSON.stringify({ log: { entries: [entry({ request: 1 })], creator: 7 } })],
    ['a bad _wstapeHeader after a bad entry (the entries first)', JSON.stringify({ log: { _wstapeHeader: 1, entries: [entry({ time: 'x' })] } })],
    ['a bad entry after a good one', JSON.stringify({ log: { entries: [entry({}), entry({ response: { status: '101', headers: [] } })] } })],
    [
      'problems in two message lists (the first list first)',
      JSON.stringify({ log: { entries: [entry({ _wstapeControlFrames: [badMessage], _webSocketMessages: [{}, badMessage] })] } }),
    ],
    [
      'a bad message and a bad request (the request first)',
      JSON.stringify({ log: { entries: [entry({ _webSocketMessages: [badMessage], request: { url: 1 } })] } }),
    ],
    ['an entry that is not an object', JSON.stringify({ log: { entries: [entry({}), 'x'] } })],
    ['a document that is an array', '[{"log":{}}]'],
    ['a log that is a string', '{"log":"x","format":"har"}'],
    ['no entries', '{"log":{"version":"1.2"}}'],
    ['a time that ends after 9999 with a bad message', JSON.stringify({ log: { entries: [entry({ time: 1e20, _webSocketMessages: [badMessage] })] } })],
    ['a wstape archive', '{"format":"wstape","version":2,"entries":[]}'],
  ];

  it.each(cases)('%s: the line parseHarText gives', async (_name, text) => {
    const dir = scratch();
    const file = join(dir, 'bad.har');
    writeFileSync(file, text);
    const whole = (() => {
      try {
        parseHarText(text, file);
      } catch (error) {
        return error;
      }
      return null;
    })();
    const streamed = await runImport({ file, out: join(dir, 'out.wstape.json') }, fakeIo()).catch((error: unknown) => error);
    expect(isCliError(whole) && isCliError(streamed)).toBe(true);
    if (!isCliError(whole) || !isCliError(streamed)) return;
    expect([streamed.code, streamed.message]).toEqual([whole.code, whole.message]);
    expect(existsSync(join(dir, 'out.wstape.json'))).toBe(false);
  });

  it.each([
    ['cut short', '{"log":{"entries":[{"startedDateTime":"2026-11-25T10:30:00Z"'],
    ['trailing text', '{"log":{"entries":[]}} x'],
    ['a bad token inside a message list', '{"log":{"entries":[{"_webSocketMessages":[{"type":nope}]}]}}'],
  ])('%s: not JSON, ERR_HAR', async (_name, text) => {
    const dir = scratch();
    const file = join(dir, 'bad.har');
    writeFileSync(file, text);
    const error = await runImport({ file, out: join(dir, 'out.wstape.json') }, fakeIo()).catch((caught: unknown) => caught);
    expect(isCliError(error) && [error.code, error.exitCode]).toEqual(['ERR_HAR', 2]);
    expect(isCliError(error) && error.message).toMatch(/bad\.har is not a HAR file: not JSON \(.+\)$/);
  });
});

/**
 * The viewer's filter rules, without a browser (src/viewer/frame-query.ts and traffic-query.ts
 * use no DOM): where a joined message goes in messages mode, how a continuation is typed, how
 * the filters compose, and what a bad regex or time does. The browser tests check the same
 * through the page on a recorded session.
 */
import { describe, expect, it } from 'vitest';
import type { FrameEntry } from '../../src/format/schema.js';
import { ConnFrames, DEFAULT_QUERY, parseTimeBound, runQuery, type FrameQuery } from '../../src/viewer/frame-query.js';
import type { ViewerFrame, ViewerItem } from '../../src/viewer/model.js';
import { statusMatches, itemMatches, DEFAULT_TRAFFIC_QUERY } from '../../src/viewer/traffic-query.js';
import { frame as frameEntry, isoAt } from '../output/test-archives.js';

function frame(index: number, overrides: Partial<FrameEntry>): ViewerFrame {
  const { kind: _kind, ...fields } = frameEntry({ index, elapsed: 1 + index, time: isoAt(1 + index), ...overrides });
  return fields;
}

/**
 * c1, capture order: 0 text "hello", 1 binary first fragment, 2 ping, 3 continuation (final) of
 * the binary message, 4 text first fragment "par", 5 continuation final "t", 6 orphan
 * continuation, 7 close, 8 text first fragment "cut" that never finishes.
 */
function conn(): ConnFrames {
  const frames = new ConnFrames();
  const bin = Buffer.from([1, 2]).toString('base64');
  frames.add(frame(0, { text: 'hello' }));
  frames.add(frame(1, { type: 'binary', opcode: 2, fin: false, text: undefined, data: bin }));
  frames.add(frame(2, { type: 'ping', opcode: 9, text: 'hb', dir: 'in' }));
  frames.add(frame(3, { type: 'continuation', opcode: 0, text: undefined, data: bin }));
  frames.add(frame(4, { fin: false, text: 'par' }));
  frames.add(frame(5, { type: 'continuation', opcode: 0, text: 't' }));
  frames.add(frame(6, { type: 'continuation', opcode: 0, text: 'stray' }));
  frames.add(frame(7, { type: 'close', opcode: 8, text: undefined, code: 1000, reason: 'bye' }));
  frames.add(frame(8, { fin: false, text: 'cut' }));
  // What show --messages joins (src/share/viewer-data.ts ships these): indexed by the first frame, placed at the last.
  frames.addMessage({
    ...frame(1, { type: 'binary', opcode: 2, text: undefined, data: Buffer.from([1, 2, 1, 2]).toString('base64') }),
    fragments: 2,
    lastIndex: 3,
  });
  frames.addMessage({ ...frame(4, { text: 'part' }), fragments: 2, lastIndex: 5 });
  frames.addMessage({ ...frame(8, { text: 'cut', fin: false }), fragments: 1, lastIndex: 8, incomplete: true });
  return frames;
}

const indexes = (query: Partial<FrameQuery>): number[] => runQuery(conn(), { ...DEFAULT_QUERY, ...query }).rows.map(({ frame }) => frame.index);

describe('messages mode', () => {
  it('puts each joined message where its last frame was, keeps control frames and orphans in capture order', () => {
    const rows = runQuery(conn(), { ...DEFAULT_QUERY, messages: true }).rows;
    expect(rows.map(({ frame }) => [frame.index, frame.text ?? frame.type])).toEqual([
      [0, 'hello'],
      [2, 'hb'],
      [1, 'binary'],
      [4, 'part'],
      [6, 'stray'],
      [7, 'close'],
      [8, 'cut'],
    ]);
    expect(rows.find(({ frame }) => frame.index === 8)?.frame.incomplete).toBe(true);
  });
});

describe('filters', () => {
  it.each<[string, Partial<FrameQuery>, number[]]>([
    ['nothing', {}, [0, 1, 2, 3, 4, 5, 6, 7, 8]],
    ['direction in', { dir: 'in' }, [2]],
    ['text: a continuation is its message type; an orphan counts as data', { binary: false, control: false }, [0, 4, 5, 6, 8]],
    ['binary', { text: false, control: false }, [1, 3, 6]],
    ['control', { text: false, binary: false }, [2, 7]],
    ['plain search, case-insensitive, in text and close reasons', { search: 'BYE' }, [7]],
    ['regex search', { search: '^(hel|par)', regex: true }, [0, 4]],
    ['binary payloads searched as latin1', { search: '\u0001\u0002' }, [1, 3]],
    ['hide heartbeats', { hideHeartbeats: true }, [0, 1, 3, 4, 5, 6, 7, 8]],
    ['a time range in seconds since the start', { since: '3', until: '+5s' }, [2, 3, 4]],
    ['a time range as ISO 8601', { since: isoAt(8) }, [7, 8]],
    ['all together', { dir: 'out', control: false, search: 'a', since: '4' }, [4, 6]],
  ])('%s', (_name, query, expected) => {
    expect(indexes(query)).toEqual(expected);
  });

  it('reports a bad regex or time and leaves that filter out', () => {
    const result = runQuery(conn(), { ...DEFAULT_QUERY, search: '(', regex: true, until: 'soon' });
    expect(result.error).toMatch(/^search: .*; to: give seconds since the start/);
    expect(result.rows).toHaveLength(9);
  });

  it.each<[string, unknown]>([
    ['', null],
    ['12.5', { kind: 'elapsed', seconds: 12.5 }],
    ['+3s', { kind: 'elapsed', seconds: 3 }],
    ['2026-11-25T10:30:05Z', { kind: 'wall', ms: Date.parse('2026-11-25T10:30:05Z') }],
  ])('reads the time %j', (text, bound) => {
    expect(parseTimeBound(text, 'from')).toEqual(bound);
  });
});

describe('the traffic filters', () => {
  it.each<[string, number | null, boolean]>([
    ['', null, true],
    ['101', 101, true],
    ['101', 200, false],
    ['4xx', 404, true],
    ['4xx', 500, false],
    ['200, 404', 404, true],
    ['4xx', null, false],
  ])('status %j passes %s: %s', (filter, status, passes) => {
    expect(statusMatches(filter, status)).toBe(passes);
  });

  it('matches the host, not the path', () => {
    const item = { row: { id: 'c1', kind: 'websocket', url: 'wss://chat.example.com:8443/example.org', status: 101, method: null } } as unknown as ViewerItem;
    expect(itemMatches(item, { ...DEFAULT_TRAFFIC_QUERY, host: 'EXAMPLE.COM' })).toBe(true);
    expect(itemMatches(item, { ...DEFAULT_TRAFFIC_QUERY, host: 'example.org' })).toBe(false);
    expect(itemMatches(item, { ...DEFAULT_TRAFFIC_QUERY, kind: 'http' })).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { MessageAssembler, MessageTracker, type AssembledFrame, type AssemblyEvent, type FramePosition } from '../../src/wire/message-assembler.js';
import type { FrameType } from '../../src/wire/opcodes.js';

/** A literal frame: which stream it was sent on, its type and FIN, its payload as text. */
interface Frame extends AssembledFrame {
  stream: string;
  text: string;
}

const utf8 = new TextEncoder();

function frame(stream: string, type: FrameType, fin: boolean, text = '', extra: Partial<Frame> = {}): Frame {
  return { stream, type, fin, text, size: text.length, wireSize: text.length + 2, ...extra };
}

/** One line per event: `out text "hello" x3`, `out control ping`. */
function describeEvent(event: AssemblyEvent<Frame>): string {
  if (event.type === 'frame') return `${event.frame.stream} ${event.position} ${event.frame.type}`;
  const { message } = event;
  const marks = [
    `x${message.fragments}`,
    ...(message.compressed ? ['compressed'] : []),
    ...(message.truncated ? ['truncated'] : []),
    ...(message.incomplete ? ['incomplete'] : []),
    ...message.flags,
  ];
  return `${message.stream} ${message.type} ${JSON.stringify(new TextDecoder().decode(message.payload))} ${marks.join(' ')}`;
}

const cases: [name: string, frames: Frame[], places: FramePosition[], events: string[]][] = [
  ['an unfragmented message', [frame('out', 'text', true, 'hi')], ['whole'], ['out text "hi" x1']],
  [
    'a fragmented text message',
    [frame('out', 'text', false, 'he'), frame('out', 'continuation', false, 'll'), frame('out', 'continuation', true, 'o')],
    ['first', 'middle', 'final'],
    ['out text "hello" x3'],
  ],
  [
    'a fragmented message with a ping between its fragments (RFC 6455 §5.4)',
    [frame('out', 'binary', false, 'ab'), frame('out', 'ping', true, 'p'), frame('out', 'continuation', true, 'cd')],
    ['first', 'control', 'final'],
    ['out control ping', 'out binary "abcd" x2'],
  ],
  ['a compressed message in one frame', [frame('in', 'text', true, 'hello', { compressed: true, wireSize: 9 })], ['whole'], ['in text "hello" x1 compressed']],
  [
    // The archive keeps a compressed message's inflated payload on its final frame.
    'a compressed fragmented message',
    [
      frame('in', 'text', false, '', { compressed: true, size: 0, wireSize: 5 }),
      frame('in', 'continuation', false, '', { compressed: true, size: 0, wireSize: 4 }),
      frame('in', 'continuation', true, 'hello world', { compressed: true, wireSize: 6 }),
    ],
    ['first', 'middle', 'final'],
    ['in text "hello world" x3 compressed'],
  ],
  [
    'a continuation with no message to continue',
    [frame('out', 'continuation', true, 'x', { flags: ['unexpected-continuation'] })],
    ['orphan'],
    ['out orphan continuation'],
  ],
  [
    'a new data frame while a message is open',
    [frame('out', 'text', false, 'a'), frame('out', 'binary', true, 'b', { flags: ['interrupted-message'] }), frame('out', 'continuation', true, 'c')],
    ['first', 'whole', 'orphan'],
    ['out text "a" x1 incomplete', 'out binary "b" x1 interrupted-message', 'out orphan continuation'],
  ],
  [
    'a new fragmented message while one is open',
    [frame('out', 'text', false, 'a'), frame('out', 'text', false, 'b'), frame('out', 'continuation', true, 'c')],
    ['first', 'first', 'final'],
    ['out text "a" x1 incomplete', 'out text "bc" x2'],
  ],
  [
    'each direction on its own',
    [
      frame('out', 'text', false, 'a'),
      frame('in', 'binary', false, 'X'),
      frame('in', 'close', true),
      frame('out', 'continuation', true, 'b'),
      frame('in', 'continuation', true, 'Y'),
    ],
    ['first', 'first', 'control', 'final', 'final'],
    ['in control close', 'out text "ab" x2', 'in binary "XY" x2'],
  ],
  [
    'reserved opcodes, outside any message',
    [frame('out', 'binary', false, 'a'), frame('out', 'reserved', true, 'r'), frame('out', 'continuation', true, 'b')],
    ['first', 'control', 'final'],
    ['out control reserved', 'out binary "ab" x2'],
  ],
];

describe('MessageTracker', () => {
  it.each(cases)('places the frames of %s', (_name, frames, places) => {
    const tracker = new MessageTracker();
    expect(frames.map((f) => tracker.place(f, f.stream).position)).toEqual(places);
  });

  it('gives every data frame the type of its message and names what a new message interrupted', () => {
    const tracker = new MessageTracker();
    const places = [frame('', 'binary', false), frame('', 'ping', true), frame('', 'continuation', false), frame('', 'text', true)].map((f) =>
      tracker.place(f),
    );
    expect(places.map((place) => place.messageType)).toEqual(['binary', null, 'binary', 'text']);
    expect(places.map((place) => place.interrupted)).toEqual([null, null, null, 'binary']);
  });

  it('forgets a stream that ended, and lists open streams in the order their messages began', () => {
    const tracker = new MessageTracker();
    tracker.place(frame('', 'text', false), 'a');
    tracker.place(frame('', 'binary', false), 'b');
    tracker.place(frame('', 'binary', false), 'a');
    expect(tracker.openStreams).toEqual(['b', 'a']);
    expect(tracker.openMessage('a')).toBe('binary');
    expect(tracker.end('a')).toBe('binary');
    expect(tracker.end('a')).toBeNull();
    expect(tracker.place(frame('', 'continuation', true), 'a').position).toBe('orphan');
  });
});

describe('MessageAssembler', () => {
  const payload = (f: Frame): Uint8Array => utf8.encode(f.text);

  it.each(cases)('assembles %s', (_name, frames, _places, events) => {
    const assembler = new MessageAssembler<Frame>({ payload });
    expect(frames.flatMap((f) => assembler.push(f, f.stream)).map(describeEvent)).toEqual(events);
    expect(assembler.finish()).toEqual([]);
  });

  it('sums sizes, keeps the first and last frames and each flag once', () => {
    const assembler = new MessageAssembler<Frame>({ payload });
    const first = frame('out', 'text', false, 'ab', { flags: ['invalid-utf8'] });
    const last = frame('out', 'continuation', true, 'cde', { flags: ['invalid-utf8', 'non-minimal-length'] });
    assembler.push(first);
    const [event] = assembler.push(last);
    expect(event?.type === 'message' && event.message).toMatchObject({ first, last, size: 5, wireSize: 9, flags: ['invalid-utf8', 'non-minimal-length'] });
  });

  it('keeps at most maxBytes of a fragmented message and marks it truncated', () => {
    const assembler = new MessageAssembler<Frame>({ payload, maxBytes: 3 });
    assembler.push(frame('out', 'binary', false, 'ab'));
    const events = assembler.push(frame('out', 'continuation', true, 'cd'));
    expect(events.map(describeEvent)).toEqual([' binary "abc" x2 truncated']);
    expect(events[0]?.type === 'message' && events[0].message.size).toBe(4);
  });

  it('ends unfinished messages with their stream, or all at the end, in the order they began', () => {
    const assembler = new MessageAssembler<Frame>({ payload });
    for (const f of [frame('in', 'text', false, 'x'), frame('out', 'text', false, 'a'), frame('out', 'continuation', false, 'b')]) assembler.push(f, f.stream);
    expect(assembler.end('nothing')).toEqual([]);
    const describeAll = (messages: ReturnType<typeof assembler.finish>): string[] => messages.map((message) => describeEvent({ type: 'message', message }));
    expect(describeAll(assembler.end('out'))).toEqual(['out text "ab" x2 incomplete']);
    assembler.push(frame('out', 'binary', false, 'c'), 'out');
    expect(describeAll(assembler.finish())).toEqual(['in text "x" x1 incomplete', 'out binary "c" x1 incomplete']);
    expect(assembler.push(frame('in', 'continuation', true, 'y'), 'in').map(describeEvent)).toEqual(['in orphan continuation']);
  });

  it('does not read the payload of an unfragmented message until asked', () => {
    let reads = 0;
    const assembler = new MessageAssembler<Frame>({ payload: (f) => (reads++, utf8.encode(f.text)) });
    const [event] = assembler.push(frame('out', 'text', true, 'hi'));
    expect(reads).toBe(0);
    expect(event?.type === 'message' && new TextDecoder().decode(event.message.payload)).toBe('hi');
    expect(reads).toBe(1);
  });
});

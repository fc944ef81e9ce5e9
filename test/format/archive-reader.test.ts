import { z } from 'zod';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entryLine, headerLine, trailerLine } from '../../src/format/archive-lines.js';
import { openArchive, openArchiveBytes, type ArchiveReader, type OpenArchiveOptions } from '../../src/format/archive-reader.js';
import { ARCHIVE_VERSION, archiveSchema, type Entry } from '../../src/format/schema.js';
import { FIXTURES, frame, header, readAll, sampleEntries, thrown, trailer, useTmpDir } from './helpers.js';

const tmp = useTmpDir();

function write(name: string, content: string | Uint8Array): string {
  const path = join(tmp(), name);
  writeFileSync(path, content);
  return path;
}

function archiveText(entries: Entry[], closed = true): string {
  return headerLine(header) + entries.map((entry, i) => entryLine(entry, i === 0)).join('') + (closed ? trailerLine(trailer) : '');
}

async function open(path: string): Promise<{ reader: ArchiveReader; warnings: string[] }> {
  const warnings: string[] = [];
  const reader = await openArchive(path, { onWarning: (message) => warnings.push(message) });
  return { reader, warnings };
}

describe('the v1 fixture (kept and read forever)', () => {
  const path = join(FIXTURES, 'v1-basic.wstape.json');

  it('reads completely, without warnings, migrated to the current version', async () => {
    const { reader, warnings } = await open(path);
    expect(reader.header.version).toBe(ARCHIVE_VERSION);
    expect(reader.header.recorder?.listen).toBe('127.0.0.1:8080');
    expect(reader.complete).toBe(false); // not before entries() finished
    const entries = await readAll(reader);
    expect(entries.map((entry) => entry.kind)).toEqual([
      'http',
      'connection',
      'frame',
      'frame',
      'frame',
      'frame',
      'frame',
      'frame',
      'frame',
      'end',
      'tunnel',
      'error',
    ]);
    expect(reader.complete).toBe(true);
    expect(reader.trailer?.summary.frames).toBe(7);
    expect(warnings).toEqual([]);
  });

  it('is one valid JSON document matching archiveSchema, with the same entries the reader yields', async () => {
    // As version 1 was: its own literal, everything else as today (version 2 only added fields).
    const document = archiveSchema.extend({ version: z.literal(1) }).parse(JSON.parse(readFileSync(path, 'utf8')));
    const { reader } = await open(path);
    expect(await readAll(reader)).toEqual(document.entries);
    expect(reader.trailer).toEqual({ stoppedAt: document.stoppedAt, summary: document.summary });
  });

  it('reads the same with CRLF line endings (a Windows checkout)', async () => {
    const crlf = write('crlf.wstape.json', readFileSync(path, 'utf8').replace(/\n/g, '\r\n'));
    const { reader, warnings } = await open(crlf);
    expect(await readAll(reader)).toHaveLength(12);
    expect(reader.complete).toBe(true);
    expect(warnings).toEqual([]);
  });
});

describe('crash tolerance', () => {
  it('reads an unclosed archive up to its last complete entry, and warns once', async () => {
    const { reader, warnings } = await open(join(FIXTURES, 'unclosed.wstape.json'));
    const entries = await readAll(reader);
    expect(entries).toHaveLength(6);
    expect(reader.complete).toBe(false);
    expect(reader.trailer).toBeNull();
    expect(warnings).toHaveLength(1);
  });

  it('reads an archive with a header and no entries yet', async () => {
    const { reader, warnings } = await open(write('fresh.wstape.json', headerLine(header)));
    expect(await readAll(reader)).toEqual([]);
    expect(reader.complete).toBe(false);
    expect(warnings).toHaveLength(1);
  });

  it('reads a closed archive with zero entries', async () => {
    const { reader, warnings } = await open(write('none.wstape.json', archiveText([])));
    expect(await readAll(reader)).toEqual([]);
    expect(reader.complete).toBe(true);
    expect(warnings).toEqual([]);
  });

  it('ignores a last line of garbage, such as zeros left by a power loss', async () => {
    const path = write('zeros.wstape.json', archiveText(sampleEntries(), false) + '\0'.repeat(4096));
    const { reader, warnings } = await open(path);
    expect(await readAll(reader)).toEqual(sampleEntries());
    expect(warnings).toHaveLength(1);
  });

  it('an empty file is ERR_ARCHIVE_DAMAGED', async () => {
    expect((await thrown(() => openArchive(write('empty.wstape.json', '')))).code).toBe('ERR_ARCHIVE_DAMAGED');
    expect((await thrown(() => openArchive(write('blank.wstape.json', ' \n\n')))).code).toBe('ERR_ARCHIVE_DAMAGED');
  });

  /**
   * Cut `text` at each of `lengths`: opening throws ERR_ARCHIVE_DAMAGED while the header line is
   * incomplete; from then on nothing throws, the entries are a prefix of the full list, and the
   * archive is complete only once the closing line is whole.
   */
  async function checkTruncations(text: Buffer, full: Entry[], lengths: number[], inFile: boolean): Promise<void> {
    const headerEnd = text.indexOf(0x0a); // the header line is whole from here on (its "\n" aside)
    const closingEnd = text.length - 1;
    const path = join(tmp(), 'cut.wstape.json');
    const openCut = async (length: number, options: OpenArchiveOptions = {}): Promise<ArchiveReader> => {
      if (!inFile) return openArchiveBytes('cut.wstape.json', text.subarray(0, length), options);
      writeFileSync(path, text.subarray(0, length));
      return openArchive(path, options);
    };
    let previousCount = 0;
    for (const length of lengths) {
      if (length < headerEnd) {
        const error = await thrown(() => openCut(length));
        expect(error.code, `cut at ${length}`).toBe('ERR_ARCHIVE_DAMAGED');
        continue;
      }
      const warnings: string[] = [];
      const reader = await openCut(length, { onWarning: (message) => warnings.push(message) });
      const entries = await readAll(reader);
      expect(entries, `cut at ${length}`).toEqual(full.slice(0, entries.length));
      expect(entries.length).toBeGreaterThanOrEqual(previousCount);
      previousCount = entries.length;
      expect(reader.complete, `cut at ${length}`).toBe(length >= closingEnd);
      expect(warnings).toHaveLength(reader.complete ? 0 : 1);
    }
    expect(previousCount).toBe(full.length);
  }

  const everyOffset = (text: Buffer): number[] => Array.from({ length: text.length + 1 }, (_, i) => i);
  /** Every 7th offset plus both sides of every newline: enough to exercise the file path too. */
  const someOffsets = (text: Buffer): number[] => everyOffset(text).filter((i) => i % 7 === 0 || text[i] === 0x0a || text[i - 1] === 0x0a || i === text.length);

  it('reads the v1 fixture cut at every byte offset', async () => {
    const text = readFileSync(join(FIXTURES, 'v1-basic.wstape.json'));
    const { reader } = await open(join(FIXTURES, 'v1-basic.wstape.json'));
    const full = await readAll(reader);
    await checkTruncations(text, full, everyOffset(text), false);
    await checkTruncations(text, full, someOffsets(text), true);
  });

  it('reads a written archive with multi-byte text cut at every byte offset', async () => {
    const entries = sampleEntries();
    const text = Buffer.from(archiveText(entries));
    await checkTruncations(text, entries, everyOffset(text), false);
    await checkTruncations(text, entries, someOffsets(text), true);
  });
});

describe('the v2 fixture (kept and read forever)', () => {
  const path = join(FIXTURES, 'v2-actions.wstape.json');

  it('reads completely, with what wstape did on each frame and who closed', async () => {
    const { reader, warnings } = await open(path);
    const entries = await readAll(reader);
    expect(warnings).toEqual([]);
    expect(reader.complete).toBe(true);
    const actions = entries.flatMap((entry) => (entry.kind === 'frame' && entry.action ? [[entry.index, entry.action, entry.by]] : []));
    expect(actions).toEqual([
      [1, 'modified', 'script'],
      [2, 'injected', 'control'],
      [3, 'delayed', 'flag'],
      [5, 'dropped', 'flag'],
      [6, 'injected', 'script'],
      [7, 'injected', 'script'],
    ]);
    const end = entries.find((entry) => entry.kind === 'end');
    expect(end).toMatchObject({ closedBy: 'wstape', closedVia: 'script', closeCode: 1011 });
  });
});

describe('versions', () => {
  it('a newer version is ERR_ARCHIVE_VERSION, even though its entries would not validate', async () => {
    const error = await thrown(() => openArchive(join(FIXTURES, 'v99-future.wstape.json')));
    expect(error.code).toBe('ERR_ARCHIVE_VERSION');
  });

  it('tells a newer version from its first line alone, even when that line is cut or laid out differently', async () => {
    const future = readFileSync(join(FIXTURES, 'v99-future.wstape.json'), 'utf8');
    const cut = write('cut-v2.wstape.json', future.slice(0, 40));
    expect((await thrown(() => openArchive(cut))).code).toBe('ERR_ARCHIVE_VERSION');
    const pretty = write('pretty-v2.wstape.json', JSON.stringify(JSON.parse(future), null, 2));
    expect((await thrown(() => openArchive(pretty))).code).toBe('ERR_ARCHIVE_VERSION');
  });

  it.each([0, -1, 1.5, '1', null])('a version of %j is ERR_ARCHIVE_DAMAGED', async (version) => {
    const line = JSON.stringify({ ...header, version }).slice(0, -1) + ',"entries":[\n';
    expect((await thrown(() => openArchive(write('v.wstape.json', line)))).code).toBe('ERR_ARCHIVE_DAMAGED');
  });
});

describe('files that are not wstape archives', () => {
  const har = { log: { version: '1.2', creator: { name: 'Firefox', version: '120' }, entries: [] } };
  const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');

  it.each([
    ['a HAR file', 'x.har', JSON.stringify(har, null, 2)],
    ['a one-line HAR file', 'x.har', JSON.stringify(har) + '\n'],
    ['JSON with another format', 'x.json', JSON.stringify({ format: 'har', version: 1 })],
    ['a first line with another format', 'x.json', '{"format":"other","version":1,"entries":[\n'],
    ['a JSON array', 'x.json', '[1,2,3]'],
    ['a text file', 'notes.txt', 'just some notes\nabout things\n'],
    ['a PNG', 'x.png', png],
    ['an NDJSON file', 'x.ndjson', '{"a":1}\n{"b":2}\n'],
  ])('%s is ERR_ARCHIVE_FORMAT', async (_label, name, content) => {
    expect((await thrown(() => openArchive(write(name, content)))).code).toBe('ERR_ARCHIVE_FORMAT');
  });

  it('a missing file is ERR_FILE', async () => {
    expect((await thrown(() => openArchive(join(tmp(), 'nope.wstape.json')))).code).toBe('ERR_FILE');
  });

  it('a directory is ERR_FILE', async () => {
    const dir = join(tmp(), 'dir.wstape.json');
    mkdirSync(dir);
    expect((await thrown(() => openArchive(dir))).code).toBe('ERR_FILE');
  });
});

describe('damage', () => {
  async function damageOf(path: string): Promise<{ code?: unknown; message: string; before: number }> {
    const reader = await openArchive(path);
    let before = 0;
    try {
      for await (const _entry of reader.entries()) before++;
    } catch (error) {
      return { ...(error as { code?: unknown; message: string }), message: (error as Error).message, before };
    }
    throw new Error('expected damage');
  }

  it('a line in the middle that is not JSON is ERR_ARCHIVE_DAMAGED, naming its line', async () => {
    const damage = await damageOf(join(FIXTURES, 'damaged-middle.wstape.json'));
    expect(damage.code).toBe('ERR_ARCHIVE_DAMAGED');
    expect(damage.message).toMatch(/\bline 5\b/);
    expect(damage.before).toBe(3); // the entries on lines 2-4 were read first
  });

  it('an entry that breaks the schema is ERR_ARCHIVE_DAMAGED, naming its line and field on one line', async () => {
    const entries: Entry[] = [frame(0, 'a'), frame(1, 'b'), frame(2, 'c')];
    const lines = archiveText(entries).split('\n');
    lines[3] = lines[3]!.replace('"opcode":1', '"opcode":99');
    const damage = await damageOf(write('bad.wstape.json', lines.join('\n')));
    expect(damage.code).toBe('ERR_ARCHIVE_DAMAGED');
    expect(damage.message).toMatch(/\bline 4\b/);
    expect(damage.message).toMatch(/\bopcode\b/);
    expect(damage.message).not.toContain('\n');
  });

  it.each([
    ['an entry without a kind (an unknown kind is skipped: see below)', (lines: string[]) => (lines[2] = ',{"conn":"c1"}')],
    ['a missing comma', (lines: string[]) => (lines[2] = lines[2]!.slice(1))],
    ['a comma on the first entry', (lines: string[]) => (lines[1] = ',' + lines[1]!)],
    ['content after the closing line', (lines: string[]) => lines.splice(-1, 0, ',{"kind":"frame"}')],
    ['a bad closing line', (lines: string[]) => (lines[lines.length - 2] = '],"stoppedAt":1}')],
  ])('%s is ERR_ARCHIVE_DAMAGED', async (_label, edit) => {
    const lines = archiveText([frame(0, 'a'), frame(1, 'b')]).split('\n');
    edit(lines);
    expect((await damageOf(write('bad.wstape.json', lines.join('\n')))).code).toBe('ERR_ARCHIVE_DAMAGED');
  });

  it('an invalid header is ERR_ARCHIVE_DAMAGED', async () => {
    const line = '{"format":"wstape","version":1,"creator":"me","entries":[\n';
    expect((await thrown(() => openArchive(write('h.wstape.json', line)))).code).toBe('ERR_ARCHIVE_DAMAGED');
  });

  it('validate: false skips entry validation', async () => {
    const lines = archiveText([frame(0, 'a')]).split('\n');
    lines[1] = lines[1]!.replace('"opcode":1', '"opcode":99');
    const reader = await openArchive(write('lax.wstape.json', lines.join('\n')), { validate: false });
    expect(await readAll(reader)).toHaveLength(1);
  });
});

describe('reformatted archives', () => {
  it('reads a pretty-printed complete archive as one document', async () => {
    const entries = sampleEntries();
    const path = write('pretty.wstape.json', JSON.stringify(JSON.parse(archiveText(entries)), null, 2));
    const { reader, warnings } = await open(path);
    expect(reader.header).toEqual(header);
    expect(await readAll(reader)).toEqual(entries);
    expect(reader.complete).toBe(true);
    expect(reader.trailer).toEqual(trailer);
    expect(warnings).toEqual([]);
  });

  it('a pretty-printed archive that was cut short is ERR_ARCHIVE_DAMAGED', async () => {
    const text = JSON.stringify(JSON.parse(archiveText(sampleEntries())), null, 2);
    const path = write('pretty-cut.wstape.json', text.slice(0, text.length / 2));
    expect((await thrown(() => openArchive(path))).code).toBe('ERR_ARCHIVE_DAMAGED');
  });

  it('a reformatted archive with a bad entry names the entry', async () => {
    const document = JSON.parse(archiveText([frame(0, 'a'), frame(1, 'b')])) as { entries: { opcode: number }[] };
    document.entries[1]!.opcode = 99;
    const reader = await openArchive(write('pretty-bad.wstape.json', JSON.stringify(document, null, 1)));
    const error = await thrown(() => readAll(reader));
    expect(error.code).toBe('ERR_ARCHIVE_DAMAGED');
    expect(error.message).toMatch(/\bentry 2\b/);
  });
});

describe('the reader API', () => {
  it('entries() is single use', async () => {
    const { reader } = await open(join(FIXTURES, 'v1-basic.wstape.json'));
    await readAll(reader);
    await expect(readAll(reader)).rejects.toThrow();
  });

  it('stopping early neither warns nor marks the archive complete', async () => {
    const { reader, warnings } = await open(join(FIXTURES, 'v1-basic.wstape.json'));
    for await (const _entry of reader.entries()) break;
    expect(reader.complete).toBe(false);
    expect(warnings).toEqual([]);
  });

  it('reads lines much longer than a read chunk', async () => {
    const big = frame(0, 'x'.repeat(5 * 1024 * 1024) + 'é');
    const { reader } = await open(write('big.wstape.json', archiveText([big, frame(1, 'small')])));
    const entries = await readAll(reader);
    expect(entries[0]).toEqual(big);
    expect(entries).toHaveLength(2);
  });
});

describe('inputs that are not files, and lines that never end', () => {
  it('reads an archive from a stream given for "-" (standard input), the same as from a file', async () => {
    const text = archiveText(sampleEntries());
    const { Readable } = await import('node:stream');
    const chunks = [...Buffer.from(text)].map((byte) => Buffer.from([byte])); // one byte at a time
    const reader = await openArchive('-', { stdin: Readable.from(chunks) });
    expect(reader.path).toBe('standard input');
    expect(await readAll(reader)).toEqual(sampleEntries());
    expect(reader.complete).toBe(true);
  });

  it('reads a FIFO (as `show <(cat a.wstape.json)` passes one)', async () => {
    const { execFileSync } = await import('node:child_process');
    const { createWriteStream } = await import('node:fs');
    const fifo = join(tmp(), 'fifo');
    execFileSync('mkfifo', [fifo]);
    const writer = createWriteStream(fifo);
    writer.end(archiveText(sampleEntries()));
    const { reader } = await open(fifo);
    expect(await readAll(reader)).toEqual(sampleEntries());
  });

  it('reads a reformatted one-line archive from a stream', async () => {
    const { Readable } = await import('node:stream');
    const document = JSON.stringify(archiveSchema.parse(JSON.parse(archiveText(sampleEntries()))));
    const reader = await openArchive('-', { stdin: Readable.from([Buffer.from(document)]) });
    expect(await readAll(reader)).toEqual(sampleEntries());
  });

  it('stops at a first line over 1 MiB that is not JSON, from a stream that never ends', async () => {
    const { Readable } = await import('node:stream');
    let sent = 0;
    const zeros = new Readable({
      read() {
        sent += 65536;
        this.push(Buffer.alloc(65536));
      },
    });
    const error = await thrown(() => openArchive('-', { stdin: zeros }));
    expect(error.code).toBe('ERR_ARCHIVE_DAMAGED');
    expect(error.message).toMatch(/line 1 is longer than 1048576 bytes: not a wstape archive/);
    expect(sent).toBeLessThan(4 * 1024 * 1024);
  });

  it('stops at an entry line longer than the line limit, naming the line, and holds no more than the limit and a chunk', async () => {
    const { Readable } = await import('node:stream');
    const first = headerLine(header) + entryLine(frame(0, 'hi'), true);
    let sent = 0;
    const endless = new Readable({
      read() {
        if (sent === 0) this.push(Buffer.from(first + ',{"kind":"frame","text":"'));
        else this.push(Buffer.alloc(65536, 0x61));
        sent++;
      },
    });
    const reader = await openArchive('-', { stdin: endless, maxLineBytes: 1024 * 1024 });
    const error = await thrown(() => readAll(reader));
    expect(error.code).toBe('ERR_ARCHIVE_DAMAGED');
    expect(error.message).toMatch(/line 3 is longer than 1048576 bytes: not a wstape archive/);
    expect(sent).toBeLessThan(40);
  });

  it('skips an entry of an unknown kind (a newer writer, same version) with one warning; unknown fields of known kinds stay ignored', async () => {
    const future = { kind: 'bookmark', time: frame(0, 'x').time, elapsed: 0.5, note: 'later' };
    const entries = sampleEntries();
    const lines = [headerLine(header), entryLine(entries[0]!, true), `,${JSON.stringify(future)}\n`, `,${JSON.stringify({ ...future, kind: 'other' })}\n`];
    lines.push(...entries.slice(1).map((entry) => entryLine(entry, false)), trailerLine(trailer));
    const { reader, warnings } = await open(write('future-kind.wstape.json', lines.join('')));
    expect(await readAll(reader)).toEqual(entries);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/line 3: skipped an entry of kind "bookmark"/);
  });
});

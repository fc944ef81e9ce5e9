import * as fs from 'node:fs';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as nextImmediate } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { entryLine, headerLine } from '../../src/format/archive-lines.js';
import { openArchive } from '../../src/format/archive-reader.js';
import { ArchiveWriter, type WriterFs } from '../../src/format/archive-writer.js';
import { archiveSchema } from '../../src/format/schema.js';
import { frame, header, readAll, sampleEntries, thrown, trailer, useTmpDir } from './helpers.js';

const tmp = useTmpDir();

/** The real fs, counting write calls. */
function countingFs(): WriterFs & { writes: number } {
  const counting = {
    writes: 0,
    openSync: (path: string, flags: string, mode: number) => fs.openSync(path, flags, mode),
    writeSync: (fd: number, buffer: Uint8Array, offset: number, length: number) => {
      counting.writes++;
      return fs.writeSync(fd, buffer, offset, length);
    },
    fsyncSync: (fd: number) => fs.fsyncSync(fd),
    closeSync: (fd: number) => fs.closeSync(fd),
  };
  return counting;
}

describe('ArchiveWriter', () => {
  it('round-trips through the reader', async () => {
    const path = join(tmp(), 'a.wstape.json');
    const writer = ArchiveWriter.open(path, header);
    const entries = sampleEntries();
    for (const entry of entries) writer.append(entry);
    writer.close(trailer);
    expect(writer.error).toBeNull();
    expect(writer.entriesWritten).toBe(entries.length);
    expect(writer.bytesWritten).toBe(statSync(path).size);

    const warnings: string[] = [];
    const reader = await openArchive(path, { onWarning: (message) => warnings.push(message) });
    expect(reader.header).toEqual(header);
    expect(await readAll(reader)).toEqual(entries);
    expect(reader.trailer).toEqual(trailer);
    expect(reader.complete).toBe(true);
    expect(warnings).toEqual([]);
  });

  it('writes the documented layout, which is valid JSON matching archiveSchema', () => {
    const path = join(tmp(), 'a.wstape.json');
    const writer = ArchiveWriter.open(path, header);
    const [first, second] = [frame(0, 'a'), frame(1, 'b')];
    writer.append(first);
    writer.append(second);
    writer.close(trailer);
    const text = readFileSync(path, 'utf8');
    expect(text).toBe(
      `${JSON.stringify(header).slice(0, -1)},"entries":[\n${JSON.stringify(first)}\n,${JSON.stringify(second)}\n],${JSON.stringify(trailer).slice(1)}\n`,
    );
    expect(archiveSchema.parse(JSON.parse(text)).entries).toEqual([first, second]);
  });

  it('writes a valid document with zero entries', () => {
    const path = join(tmp(), 'a.wstape.json');
    ArchiveWriter.open(path, header).close(trailer);
    expect(archiveSchema.parse(JSON.parse(readFileSync(path, 'utf8'))).entries).toEqual([]);
  });

  it('writes the header at open, so a new recording is readable at once', () => {
    const path = join(tmp(), 'a.wstape.json');
    ArchiveWriter.open(path, header);
    expect(readFileSync(path, 'utf8')).toBe(headerLine(header));
  });

  it('writes a header with non-ASCII strings as UTF-8', () => {
    const path = join(tmp(), 'a.wstape.json');
    const unicode = { ...header, recorder: { ...header.recorder!, target: 'ws://upstream.test:8080/é€' } };
    ArchiveWriter.open(path, unicode);
    expect(readFileSync(path, 'utf8')).toBe(headerLine(unicode));
  });

  it('creates the file readable by its owner only', () => {
    const path = join(tmp(), 'a.wstape.json');
    ArchiveWriter.open(path, header).close(trailer);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('refuses to overwrite an existing file unless asked to', () => {
    const path = join(tmp(), 'a.wstape.json');
    writeFileSync(path, 'precious');
    expect(() => ArchiveWriter.open(path, header)).toThrow(expect.objectContaining({ code: 'ERR_WRITE' }));
    expect(readFileSync(path, 'utf8')).toBe('precious');
    ArchiveWriter.open(path, header, { overwrite: true }).close(trailer);
    expect(readFileSync(path, 'utf8')).toContain('"stoppedAt"');
  });

  it('cannot create a file in a missing directory: ERR_WRITE', () => {
    expect(() => ArchiveWriter.open(join(tmp(), 'no', 'such', 'a.json'), header)).toThrow(expect.objectContaining({ code: 'ERR_WRITE' }));
  });

  it('writes a batch of appends with one write call at flush()', () => {
    const path = join(tmp(), 'a.wstape.json');
    const counting = countingFs();
    const writer = ArchiveWriter.open(path, header, { fs: counting });
    const before = counting.writes;
    for (let i = 0; i < 50; i++) writer.append(frame(i, `message ${i}`));
    expect(counting.writes).toBe(before); // queued, not written
    writer.flush();
    expect(counting.writes).toBe(before + 1);
    expect(writer.entriesWritten).toBe(50);
    writer.flush(); // nothing queued: no write
    expect(counting.writes).toBe(before + 1);
    writer.close(trailer);
  });

  it('writes UTF-8 when any line of a batch is not said to be ASCII, and copies lines that are', async () => {
    const path = join(tmp(), 'ascii.wstape.json');
    const writer = ArchiveWriter.open(path, header);
    writer.append(frame(0, 'plain'), { ascii: true, flushing: true });
    writer.flush();
    // A batch that mixes both: the whole batch is encoded, so the non-ASCII text survives.
    writer.append(frame(1, 'ascii'), { ascii: true });
    writer.append(frame(2, 'h\u00e9llo \u20ac'));
    writer.close(trailer);
    const texts = (await readAll(await openArchive(path))).flatMap((entry) => (entry.kind === 'frame' ? [entry.text] : []));
    expect(texts).toEqual(['plain', 'ascii', 'h\u00e9llo \u20ac']);
  });

  it('batches of every size, one after another, reach the file as they were (the reused encoding buffer)', async () => {
    const path = join(tmp(), 'sizes.wstape.json');
    const writer = ArchiveWriter.open(path, header);
    const texts = ['small', 'x'.repeat(700_000), 'é'.repeat(300_000), 'y'.repeat(3_000_000), 'tiny', 'z'.repeat(2_000)];
    texts.forEach((text, i) => {
      writer.append(frame(i, text), { ascii: !text.includes('é') });
      writer.flush();
    });
    writer.close(trailer);
    const read = (await readAll(await openArchive(path))).flatMap((entry) => (entry.kind === 'frame' ? [entry.text] : []));
    expect(read).toEqual(texts);
  });

  it('flushing: the caller flushes, so nothing is scheduled for later', async () => {
    const path = join(tmp(), 'flushing.wstape.json');
    const writer = ArchiveWriter.open(path, header);
    writer.append(frame(0, 'x'), { flushing: true });
    await nextImmediate();
    // Not written by itself: the hint promised a flush() that has not come yet.
    expect(readFileSync(path, 'utf8').split('\n')).toHaveLength(2);
    writer.flush();
    expect(readFileSync(path, 'utf8').split('\n')).toHaveLength(3);
    writer.close(trailer);
  });

  it('flushes by itself in the same event-loop iteration when nobody calls flush()', async () => {
    const path = join(tmp(), 'a.wstape.json');
    const writer = ArchiveWriter.open(path, header);
    writer.append(frame(0, 'a'));
    expect(writer.entriesWritten).toBe(0);
    await nextImmediate();
    expect(writer.entriesWritten).toBe(1);
    expect(readFileSync(path, 'utf8').split('\n')).toHaveLength(3);
    writer.close(trailer);
  });

  it('bounds its queue: append flushes once more than 1 MiB is queued', () => {
    const path = join(tmp(), 'a.wstape.json');
    const counting = countingFs();
    const writer = ArchiveWriter.open(path, header, { fs: counting });
    const before = counting.writes;
    const payload = 'x'.repeat(100 * 1024);
    for (let i = 0; i < 25; i++) writer.append(frame(i, payload)); // ~2.5 MiB
    expect(counting.writes - before).toBe(2);
    expect(writer.entriesWritten).toBe(22);
    writer.close(trailer);
    expect(writer.entriesWritten).toBe(25);
  });

  it('close() is idempotent, and appends after it are dropped, not written', () => {
    const path = join(tmp(), 'a.wstape.json');
    const writer = ArchiveWriter.open(path, header);
    writer.append(frame(0, 'a'));
    writer.close(trailer);
    const size = statSync(path).size;
    writer.close(trailer);
    writer.append(frame(1, 'b'));
    writer.flush();
    expect(statSync(path).size).toBe(size);
    expect(writer.error).toBeNull();
    expect(writer.entriesDropped).toBe(1);
  });
});

describe('ArchiveWriter.appendJson', () => {
  it('writes an entry given as its JSON byte for byte as append() writes the entry, and counts it', () => {
    const { text: _text, ...binary } = frame(7, 'x');
    const entries = [...sampleEntries(), { ...binary, data: 'QUJD'.repeat(400) }];
    const viaEntries = join(tmp(), 'a.wstape.json');
    const viaJson = join(tmp(), 'b.wstape.json');
    const a = ArchiveWriter.open(viaEntries, header);
    for (const entry of entries) a.append(entry);
    a.close(trailer);
    const b = ArchiveWriter.open(viaJson, header);
    for (const entry of entries) b.appendJson(entryLine(entry, true).slice(0, -1));
    b.flush();
    expect(b.entriesWritten).toBe(entries.length);
    b.close(trailer);
    expect(readFileSync(viaJson, 'utf8')).toBe(readFileSync(viaEntries, 'utf8'));
  });
});

describe('ArchiveWriter write errors', () => {
  it('a file descriptor closed behind its back: no throw, error set, nothing more written', async () => {
    const path = join(tmp(), 'a.wstape.json');
    let fd = -1;
    const real = countingFs();
    const writer = ArchiveWriter.open(path, header, {
      fs: { ...real, openSync: (p, flags, mode) => (fd = real.openSync(p, flags, mode)) },
    });
    writer.append(frame(0, 'a'));
    writer.flush();
    fs.closeSync(fd);
    writer.append(frame(1, 'b'));
    expect(() => writer.flush()).not.toThrow();
    expect(writer.error?.code).toBe('ERR_WRITE');
    writer.append(frame(2, 'c'));
    await nextImmediate();
    expect(() => writer.close(trailer)).not.toThrow();
    expect(writer.error?.code).toBe('ERR_WRITE');
    expect(writer.entriesWritten).toBe(1);
    expect(writer.entriesDropped).toBe(2);
    // What reached the file is still a readable (unclosed) archive.
    expect(await readAll(await openArchive(path))).toHaveLength(1);
  });

  it('a disk that fills up mid-write: no throw, the first error is kept, the archive stays readable', async () => {
    const path = join(tmp(), 'a.wstape.json');
    const real = countingFs();
    let room = 1500; // bytes the "disk" accepts in total
    const full: WriterFs = {
      ...real,
      writeSync: (fd, buffer, offset, length) => {
        if (room === 0) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
        const written = real.writeSync(fd, buffer, offset, Math.min(length, room));
        room -= written;
        return written;
      },
    };
    const writer = ArchiveWriter.open(path, header, { fs: full });
    for (let i = 0; i < 20; i++) {
      writer.append(frame(i, `message number ${i}`));
      expect(() => writer.flush()).not.toThrow();
    }
    writer.close(trailer);
    expect(writer.error?.code).toBe('ERR_WRITE');
    const entries = await readAll(await openArchive(path));
    expect(entries.length).toBe(writer.entriesWritten);
    expect(entries.length).toBeGreaterThan(0);
  });

  it.each([
    { cut: 'in the middle of a line', extra: 10, held: 2 },
    { cut: "just before a line's newline (readers accept that line)", extra: -1, held: 3 },
    { cut: 'right after a line', extra: 0, held: 3 },
  ])('a disk that fills up within a batch, $cut: onWritten hears of exactly the entries the file holds', async ({ extra, held }) => {
    const path = join(tmp(), 'a.wstape.json');
    const real = countingFs();
    const entries = Array.from({ length: 5 }, (_, i) => frame(i, `message number ${i}`));
    // Room for the header and the first `held` lines (give or take `extra` bytes), then ENOSPC.
    const lineBytes = entries.map((entry, i) => Buffer.byteLength(`${i === 0 ? '' : ','}${JSON.stringify(entry)}\n`));
    let room = Buffer.byteLength(headerLine(header)) + lineBytes.slice(0, extra > 0 ? 2 : 3).reduce((a, b) => a + b, 0) + extra;
    const full: WriterFs = {
      ...real,
      writeSync: (fd, buffer, offset, length) => {
        if (room === 0) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
        const written = real.writeSync(fd, buffer, offset, Math.min(length, room));
        room -= written;
        return written;
      },
    };
    const heard: unknown[] = [];
    const writer = ArchiveWriter.open(path, header, { fs: full, onWritten: (written) => heard.push(...written) });
    for (const entry of entries) writer.append(entry);
    writer.flush();
    writer.close(trailer);
    expect(writer.error?.message).toMatch(/ENOSPC/);
    expect(heard).toEqual(entries.slice(0, held));
    expect(writer.entriesWritten).toBe(held);
    expect(writer.entriesDropped).toBe(entries.length - held);
    expect(await readAll(await openArchive(path))).toEqual(entries.slice(0, held));
  });

  it.skipIf(!existsSync('/dev/full'))('/dev/full: the header cannot be written, so open() throws ERR_WRITE', async () => {
    const error = await thrown(() => ArchiveWriter.open('/dev/full', header, { overwrite: true }));
    expect(error.code).toBe('ERR_WRITE');
  });

  it.skipIf(!existsSync('/dev/full'))('/dev/full after the header: append, flush and close do not throw', () => {
    const real = countingFs();
    let headerWritten = false;
    const writer = ArchiveWriter.open('/dev/full', header, {
      overwrite: true,
      fs: {
        ...real,
        // Let the header "succeed" so open() returns; every later write hits the real /dev/full.
        writeSync: (fd, buffer, offset, length) => {
          if (headerWritten) return real.writeSync(fd, buffer, offset, length);
          headerWritten = true;
          return length;
        },
      },
    });
    expect(writer.error).toBeNull();
    writer.append(frame(0, 'a'));
    expect(() => writer.flush()).not.toThrow();
    expect(writer.error?.code).toBe('ERR_WRITE');
    expect(() => writer.append(frame(1, 'b'))).not.toThrow();
    expect(() => writer.close(trailer)).not.toThrow();
    expect(writer.entriesWritten).toBe(0);
  });
});

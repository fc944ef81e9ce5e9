import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openArchive } from '../../src/format/archive-reader.js';
import { ArchiveWriter } from '../../src/format/archive-writer.js';
import { frame, header, trailer, useTmpDir } from './helpers.js';

const tmp = useTmpDir();
const MiB = 1024 * 1024;

function memory(): number {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

describe('reading a large archive', () => {
  it('streams: memory stays far below the archive size', async () => {
    const path = join(tmp(), 'large.wstape.json');
    const writer = ArchiveWriter.open(path, header);
    const payload = 'p'.repeat(600);
    const count = 200_000;
    for (let i = 0; i < count; i++) writer.append(frame(i, payload));
    writer.close(trailer);
    const size = statSync(path).size;
    expect(size).toBeGreaterThan(150 * MiB);

    const baseline = memory();
    let peak = baseline;
    let read = 0;
    const reader = await openArchive(path);
    for await (const entry of reader.entries()) {
      if (entry.kind === 'frame' && entry.index !== read) throw new Error(`out of order at ${read}`);
      read++;
      if (read % 2000 === 0) peak = Math.max(peak, memory());
    }
    expect(read).toBe(count);
    expect(reader.complete).toBe(true);
    // Holding the archive would take at least its size; uncollected garbage is far less (~15 MiB).
    expect(peak - baseline).toBeLessThan(size / 3);
  });
});

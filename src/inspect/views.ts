/**
 * An archive's frames as one side of a changed session saw them. When wstape changed a live
 * session (hooks, flags, `wstape send`/`close`), its archive holds every frame that arrived plus
 * the frames wstape sent itself, and says for each what it did (`action`). Two views follow:
 *
 * - `arrived`: what the peers sent, as they sent it; the frames wstape injected are left out.
 * - `delivered`: what each receiver got: dropped messages and pings/pongs left out, a modified
 *   message replaced by what was forwarded (one frame), injected frames kept.
 *
 * For an archive in which wstape changed nothing both views are the archive itself. The view is
 * computed while streaming: the fragments of a message are held until its final frame says what
 * became of it.
 */
import type { FrameEntry } from '../format/schema.js';
import { Opcode } from '../wire/opcodes.js';

export type ArchiveView = 'arrived' | 'delivered';

export const ARCHIVE_VIEWS: readonly ArchiveView[] = ['arrived', 'delivered'];

export class FrameViewFilter {
  /** Per connection and direction: the fragments of a message whose fate is not known yet. */
  private readonly pending = new Map<string, FrameEntry[]>();

  constructor(private readonly view: ArchiveView) {}

  /** The frames of `frame` in this view (none, itself, its held fragments and itself, or a replacement). */
  push(frame: FrameEntry): FrameEntry[] {
    if (this.view === 'arrived') return frame.action === 'injected' ? [] : [frame];
    if (frame.action === 'injected') return [frame];
    const isData = frame.type === 'text' || frame.type === 'binary' || frame.type === 'continuation';
    if (!isData) return frame.action === 'dropped' ? [] : [frame];
    const key = `${frame.conn}\u0000${frame.dir}`;
    if (!frame.fin) {
      const held = this.pending.get(key) ?? [];
      held.push(frame);
      this.pending.set(key, held);
      return [];
    }
    const held = this.pending.get(key) ?? [];
    this.pending.delete(key);
    if (frame.action === 'dropped') return [];
    if (frame.action === 'modified' && frame.forwarded) return [replacement(frame, held[0] ?? frame)];
    return [...held, frame];
  }
}

/** A modified message's forwarded payload as the frame that carried it. */
function replacement(last: FrameEntry, first: FrameEntry): FrameEntry {
  const forwarded = last.forwarded!;
  const frame: FrameEntry = {
    ...last,
    index: first.index,
    type: forwarded.type,
    opcode: forwarded.type === 'text' ? Opcode.Text : Opcode.Binary,
    fin: true,
    rsv1: false,
    size: forwarded.size,
  };
  delete frame.compressed;
  delete frame.fragmentInflated;
  delete frame.text;
  delete frame.data;
  delete frame.truncated;
  delete frame.flags;
  delete frame.forwarded;
  if (forwarded.text !== undefined) frame.text = forwarded.text;
  if (forwarded.data !== undefined) frame.data = forwarded.data;
  if (forwarded.truncated === true) frame.truncated = true;
  return frame;
}

/**
 * An archive as replay needs it: the recorded WebSocket conversations (handshake, frames in
 * capture order, how they ended) and the HTTP exchanges. Replay holds these in memory: it works on
 * the sessions a user picked, not on gigabyte captures (use `show` filters or `--conn` first).
 */
import type { Io } from '../io.js';
import type { ConnectionEntry, EndEntry, FrameEntry, HttpEntry } from '../format/schema.js';
import { openForReading } from '../inspect/open-archive.js';
import { cliError } from '../errors.js';
import { FrameViewFilter, type ArchiveView } from '../inspect/views.js';

export interface Conversation {
  connection: ConnectionEntry;
  /** Frames of both directions, in capture order (their `index`). */
  frames: FrameEntry[];
  end: EndEntry | null;
}

export interface Recording {
  conversations: Conversation[];
  exchanges: HttpEntry[];
}

/**
 * `view`: for an archive of a session wstape changed (hooks, flags), which side to keep: what
 * its receivers got (`delivered`, the default) or what its peers sent (`arrived`).
 */
export async function loadRecording(file: string, io: Io, view: ArchiveView = 'delivered'): Promise<Recording> {
  const reader = await openForReading(file, io);
  const filter = new FrameViewFilter(view);
  const byId = new Map<string, Conversation>();
  const conversations: Conversation[] = [];
  const exchanges: HttpEntry[] = [];
  for await (const entry of reader.entries()) {
    if (entry.kind === 'connection') {
      const conversation: Conversation = { connection: entry, frames: [], end: null };
      byId.set(entry.id, conversation);
      conversations.push(conversation);
    } else if (entry.kind === 'frame') {
      const conversation = byId.get(entry.conn);
      if (conversation) conversation.frames.push(...filter.push(entry));
    } else if (entry.kind === 'end') {
      const conversation = byId.get(entry.conn);
      if (conversation) conversation.end = entry;
    } else if (entry.kind === 'http') {
      exchanges.push(entry);
    }
  }
  for (const conversation of conversations) conversation.frames.sort((a, b) => a.index - b.index);
  return { conversations, exchanges };
}

/** The conversation --conn names, or a usage error listing the ones there are. */
export function pickConversation(recording: Recording, id: string): Conversation {
  const found = recording.conversations.find((conversation) => conversation.connection.id === id);
  if (!found) {
    const ids = recording.conversations.map((conversation) => conversation.connection.id).join(', ') || 'none';
    throw cliError('ERR_USAGE', `no WebSocket connection "${id}" in the archive (it has: ${ids})`);
  }
  return found;
}

/** The path and query of a recorded URL: what a replayed client asks for. */
export function pathOf(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.pathname}${parsed.search}`;
  } catch {
    return url;
  }
}

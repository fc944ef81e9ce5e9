/**
 * What the viewer shows: the data `wstape export --format html` embeds in the page and `wstape
 * view` streams to it. Built in Node (src/share/viewer-data.ts), where content detection, message
 * assembly and stats run with the very code `show` and `stats` use; read in the browser
 * (src/viewer/main.ts). Types only, so both sides import it.
 */
import type { ArchiveHeader, ArchiveTrailer, ConnectionEntry, EndEntry, ErrorEntry, FrameEntry, HttpEntry, TunnelEntry } from '../format/schema.js';
import type { ConnectionStats } from '../inspect/stats-report.js';
import type { ListRow } from '../inspect/list-rows.js';
import type { TimeFormat } from '../output/labels.js';

/** What content detection found in a payload (src/detect/), as `show --json` reports it. */
export interface ViewerDetection {
  id: string;
  label: string;
  /** Binary payloads only: the decoded value (MessagePack, protobuf fields, image size...). */
  decoded?: unknown;
  /** A keep-alive of the connection's protocol (Engine.IO ping, STOMP heart-beat...). */
  heartbeat?: true;
}

/**
 * A frame row as `show --json` prints it (the frame entry without `kind`), or a joined message
 * (with `fragments` and `lastIndex`, as `show --messages` prints it), plus its detection.
 */
export type ViewerFrame = Omit<FrameEntry, 'kind'> & {
  det?: ViewerDetection;
  fragments?: number;
  lastIndex?: number;
  incomplete?: true;
};

/** One row of the traffic list: a WebSocket connection, an HTTP exchange or a tunnel. */
export interface ViewerItem {
  /** The `list --json` row. */
  row: ListRow;
  /** The entry that opened it: the handshake, the exchange, the tunnel. */
  entry: ConnectionEntry | HttpEntry | TunnelEntry;
  end: EndEntry | null;
  errors: ErrorEntry[];
  /** WebSocket connections: the `stats --json` object, with the close diagnosis. */
  stats: ConnectionStats | null;
}

/** The whole page's data. */
export interface ViewerData {
  /** The archive's file name. */
  source: string;
  /** The archive's header (redacted when `redacted`). */
  header: ArchiveHeader;
  /** Null while recording, or for an archive whose recorder was killed. */
  trailer: ArchiveTrailer | null;
  /** The wstape version that made the page. */
  wstape: string;
  /** ISO 8601 time the page was made. */
  exportedAt: string;
  /** True when the export ran the redaction engine over the entries (`--redact`, `--rule`). */
  redacted: boolean;
  /** The show filters the export applied, as command-line text ('' for none). */
  filters: string;
  /** How the page first shows times (`export --time`); the reader can change it. */
  time?: TimeFormat;
  items: ViewerItem[];
  /** Every frame kept, in archive order. */
  frames: ViewerFrame[];
  /**
   * The messages that are not one frame (fragmented, or never finished), as `show --messages`
   * rows; an unfragmented message is its frame, so it is not repeated here.
   */
  messages: ViewerFrame[];
  /** Error entries that concern no connection. */
  errors: ErrorEntry[];
}

/** What the live viewer pushes after the first snapshot: what changed. */
export interface ViewerUpdate {
  /** Items added or changed, whole (replace by `row.id`). */
  items: ViewerItem[];
  frames: ViewerFrame[];
  messages: ViewerFrame[];
  errors: ErrorEntry[];
  /** Set once the recorder closed the archive. */
  trailer?: ArchiveTrailer | null;
}

/** The page's configuration: an embedded export, or the live viewer's token. */
export type ViewerBoot = { mode: 'static'; data: ViewerData } | { mode: 'live'; token: string; source: string };

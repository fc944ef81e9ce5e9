/**
 * How `wstape diff` reports differences to people: one block per difference, JSON changes as
 * `$.path from → to`, and a closing summary line. The comparison itself is in diff.ts.
 */
/** Most JSON changes listed under one changed frame; the rest are counted. */
import type { Palette } from '../output/colors.js';
import { escapeText } from '../output/payload.js';
import { CloseCode, closeCodeName } from '../wire/close-codes.js';
import { arrowOf as arrowSign, type Direction } from '../wire/side.js';
import type { CloseOutcome, Difference, DifferenceKind, DiffResult, DiffTally } from './diff.js';
import { renderJsonValue, type JsonChange } from './match.js';

const MAX_CHANGES_SHOWN = 20;

function connLabel(difference: Difference, p: Palette): string {
  const { connA, connB } = difference;
  const label = connA === connB || connB === null ? (connA ?? '') : connA === null ? connB : `${connA}/${connB}`;
  return p.bold(escapeText(label));
}

function arrowOf(dir: Direction | null, p: Palette): string {
  return dir === 'out' ? p.green(arrowSign('out')) : p.cyan(arrowSign('in'));
}

function indexLabel(difference: Difference): string {
  const { indexA, indexB } = difference;
  if (indexA === null) return `#${indexB}`;
  if (indexB === null || indexB === indexA) return `#${indexA}`;
  return `#${indexA}→#${indexB}`;
}

/** `$.user.name "ada" → "bob"`, `$.extra added true`, `$.items[2] removed 7`. */
export function formatChange(change: JsonChange, p: Palette): string {
  const path = escapeText(change.path);
  switch (change.kind) {
    case 'changed':
      return `${path} ${p.red(renderJsonValue(change.from))} → ${p.green(renderJsonValue(change.to))}`;
    case 'added':
      return `${path} ${p.green('added')} ${renderJsonValue(change.to)}`;
    case 'removed':
      return `${path} ${p.red('removed')} ${renderJsonValue(change.from)}`;
  }
}

function formatOutcome(outcome: unknown): string {
  if (outcome === null || typeof outcome !== 'object') return 'still open';
  const { code, reason, closedBy } = outcome as CloseOutcome;
  const parts: string[] = [code === null ? 'no code' : String(code)];
  if (code === CloseCode.AbnormalClosure) parts.push(`(${closeCodeName(code)})`);
  if (reason !== '') parts.push(escapeText(JSON.stringify(reason)));
  if (closedBy !== null) parts.push(`by ${closedBy}`);
  return parts.join(' ');
}

function formatMs(ms: number): string {
  return `${ms.toFixed(1)} ms`;
}

/** A difference as report lines (no trailing newlines). Colours only through the palette. */
export function formatDifference(difference: Difference, p: Palette): string[] {
  const conn = connLabel(difference, p);
  const arrow = arrowOf(difference.dir, p);
  const text = (value: unknown): string => (typeof value === 'string' ? value : String(value));
  switch (difference.kind) {
    case 'added':
      return [`${conn} ${arrow} ${p.green('+')} ${indexLabel(difference)} ${p.green(text(difference.to))}`];
    case 'removed':
      return [`${conn} ${arrow} ${p.red('-')} ${indexLabel(difference)} ${p.red(text(difference.from))}`];
    case 'changed': {
      const head = `${conn} ${arrow} ${indexLabel(difference)} ${p.yellow('changed')}:`;
      const changes = difference.changes ?? [];
      if (changes.length === 1) return [`${head} ${formatChange(changes[0] as JsonChange, p)}`];
      if (changes.length > 1) {
        const lines = [head, ...changes.slice(0, MAX_CHANGES_SHOWN).map((change) => `    ${formatChange(change, p)}`)];
        if (changes.length > MAX_CHANGES_SHOWN) lines.push(p.dim(`    … and ${changes.length - MAX_CHANGES_SHOWN} more`));
        return lines;
      }
      const from = text(difference.from);
      const to = text(difference.to);
      if (from.length + to.length <= 100) return [`${head} ${p.red(from)} → ${p.green(to)}`];
      return [head, `    ${p.red('-')} ${p.red(from)}`, `    ${p.green('+')} ${p.green(to)}`];
    }
    case 'close':
      return [`${conn} ${p.magenta('close')}: ${formatOutcome(difference.from)} → ${formatOutcome(difference.to)}`];
    case 'timing': {
      const gapA = difference.gapA ?? 0;
      const gapB = difference.gapB ?? 0;
      const delta = gapB - gapA;
      return [
        `${conn} ${arrow} ${indexLabel(difference)} ${p.cyan('timing')}: gap ${formatMs(gapA)} → ${formatMs(gapB)} (${delta >= 0 ? '+' : '−'}${formatMs(Math.abs(delta))})`,
      ];
    }
    case 'connections': {
      const onlyIn = difference.connA !== null ? 'A' : 'B';
      const url = difference.url === null ? '' : ` ${escapeText(difference.url)}`;
      const count = (value: unknown): string => `${text(value)} WebSocket connection${value === 1 ? '' : 's'}`;
      return [`${conn} ${p.yellow(`only in ${onlyIn}`)}:${url} (A has ${count(difference.from)}, B has ${text(difference.to)})`];
    }
  }
}

/** How the summary counts each kind: singular and plural. */
const KIND_LABELS: ReadonlyArray<readonly [DifferenceKind, string, string]> = [
  ['changed', 'changed', 'changed'],
  ['added', 'added', 'added'],
  ['removed', 'removed', 'removed'],
  ['close', 'close outcome', 'close outcomes'],
  ['timing', 'timing shift', 'timing shifts'],
  ['connections', 'unpaired connection', 'unpaired connections'],
];

/** The report's last line (from all the differences, or a tally of them): `3 differences: 1 changed, 1 added, 1 removed` or `no differences ...`. */
export function summaryLine(result: DiffResult | DiffTally): string {
  const { pairs, framesA, framesB } = result;
  const countOf = (kind: DifferenceKind): number => ('counts' in result ? result.counts[kind] : result.differences.filter((d) => d.kind === kind).length);
  const n = 'counts' in result ? Object.values(result.counts).reduce((sum, count) => sum + count, 0) : result.differences.length;
  const conns = `${pairs} connection${pairs === 1 ? '' : 's'}`;
  if (n === 0) return `no differences (${conns}, ${framesA} frames in A, ${framesB} in B)`;
  const counts = KIND_LABELS.map(([kind, one, many]) => {
    const count = countOf(kind);
    return count === 0 ? '' : `${count} ${count === 1 ? one : many}`;
  }).filter((part) => part !== '');
  return `${n} difference${n === 1 ? '' : 's'}: ${counts.join(', ')} (${conns} compared, ${framesA} frames in A, ${framesB} in B)`;
}

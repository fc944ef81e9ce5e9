/**
 * Human-readable sizes and durations for the arrow view and tables. Binary units (KiB = 1024
 * bytes), because payload limits such as --max-payload are powers of two.
 */

const SIZE_UNITS = ['KiB', 'MiB', 'GiB', 'TiB'] as const;

/** `0 B`, `512 B`, `1.0 KiB`, `12.3 KiB`, `4.0 MiB`. */
export function formatSize(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 1024) return `${Math.max(0, Math.round(bytes))} B`;
  let value = bytes;
  let unit: string = 'B';
  for (const next of SIZE_UNITS) {
    if (value < 1024) break;
    value /= 1024;
    unit = next;
  }
  // 1023.96 KiB would print as "1024.0 KiB"; say "1.0 MiB" instead.
  if (value.toFixed(1) === '1024.0' && unit !== 'TiB') {
    value = 1;
    unit = SIZE_UNITS[SIZE_UNITS.indexOf(unit as (typeof SIZE_UNITS)[number]) + 1] ?? unit;
  }
  return `${value.toFixed(1)} ${unit}`;
}

/** A duration given in seconds: `850 ms`, `12.3 s`, `5m 03s`, `2h 07m`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '-';
  if (seconds < 0.9995) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 59.95) return `${seconds.toFixed(1)} s`;
  const totalSeconds = Math.round(seconds);
  if (totalSeconds < 3600) {
    const m = Math.floor(totalSeconds / 60);
    const s = totalSeconds % 60;
    return `${m}m ${String(s).padStart(2, '0')}s`;
  }
  const totalMinutes = Math.floor(totalSeconds / 60);
  const h = Math.floor(totalMinutes / 60);
  const m = totalMinutes % 60;
  return `${h}h ${String(m).padStart(2, '0')}m`;
}

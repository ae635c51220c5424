import type { JobProgress } from '../../contract/index.js';

// Pure formatting of the indexer's progress for the CLI: one line, fixed order, numbers a user
// can read at a glance (thousands separators, rates with sensible precision, ETA as h/m/s).

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export function formatCount(n: number): string {
  return integer.format(Math.round(n));
}

/** Items per second: one decimal below 100 (CPU runs), whole numbers above. */
export function formatRate(perSec: number): string {
  if (!Number.isFinite(perSec) || perSec <= 0) return '0';
  if (perSec < 100) return perSec.toFixed(1);
  return formatCount(perSec);
}

/** `45s`, `2m 05s`, `1h 02m`, `3d 04h`; `--` when unknown. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d ${pad(Math.floor((s % 86400) / 3600))}h`;
}

export function formatPercent(done: number, total: number): string {
  if (total <= 0) return '';
  const pct = Math.min(100, (100 * done) / total);
  return `${pct < 10 ? pct.toFixed(1) : Math.floor(pct)}%`;
}

/** e.g. `indexing 1,234/50,000 (2.5%) · 312 items/s · ETA 2m 36s · 3 skipped` */
export function formatProgressLine(progress: JobProgress): string {
  const { phase, done, total, skipped } = progress;
  if (phase === 'preparing' && done === 0) return 'preparing (loading model and SAE, scanning data)…';
  const parts: string[] = [];
  const counts = total > 0 ? `${formatCount(done)}/${formatCount(total)} (${formatPercent(done, total)})` : formatCount(done);
  parts.push(`${phase} ${counts}`);
  if (phase === 'indexing') {
    parts.push(`${formatRate(progress.itemsPerSec)} items/s`);
    parts.push(`ETA ${formatDuration(progress.etaSec)}`);
  }
  if (skipped > 0) parts.push(`${formatCount(skipped)} skipped`);
  return parts.join(' · ');
}

/** Cuts a line to a terminal width so `\r` rewrites stay on one row. */
export function fitToWidth(line: string, columns: number | undefined): string {
  if (!columns || columns < 10 || line.length < columns) return line;
  return `${line.slice(0, columns - 2)}…`;
}

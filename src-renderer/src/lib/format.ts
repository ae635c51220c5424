// Number formatting shared by every view, so the same quantity always reads the same way.

const countFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** Whole counts with thousands separators: 1,281,167. */
export function formatCount(n: number | null | undefined): string {
  if (n == null || !Number.isFinite(n)) return '–';
  return countFormat.format(n);
}

/**
 * Activation values: three significant digits, trailing zeros kept so a column reads evenly
 * (0.500, 2.00, 1.77, not 0.5, 2, 1.77); whole numbers from 100 up; exponent notation when very
 * small or large.
 */
export function formatValue(v: number | null | undefined): string {
  if (v == null || !Number.isFinite(v)) return '–';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a < 1e-3 || a >= 1e5) return v.toExponential(2);
  if (a >= 99.95) return countFormat.format(Math.round(v));
  return v.toPrecision(3);
}

/** Fixed decimals for log10 quantities: -3.42. */
export function formatLog(v: number | null | undefined, digits = 2): string {
  if (v == null || !Number.isFinite(v)) return '–';
  return v.toFixed(digits);
}

/** Firing frequencies (fractions of tokens): 3.21e-4, or 0.0123 when large enough to read. */
export function formatFrequency(f: number | null | undefined): string {
  if (f == null || !Number.isFinite(f)) return '–';
  if (f === 0) return '0';
  if (f < 1e-2) return f.toExponential(2);
  return f.toFixed(4);
}

/** A share as a percentage with one decimal. */
export function formatPercent(part: number, whole: number): string {
  if (!(whole > 0)) return '–';
  return `${((100 * part) / whole).toFixed(1)}%`;
}

/** Remaining time: 12s, 3m 05s, 1h 02m. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${String(m % 60).padStart(2, '0')}m`;
}

/** Throughput: 3 significant digits. */
export function formatRate(perSecond: number | null | undefined): string {
  if (perSecond == null || !Number.isFinite(perSecond)) return '–';
  if (perSecond >= 100) return countFormat.format(Math.round(perSecond));
  return Number(perSecond.toPrecision(3)).toString();
}

/** Axis tick label for a log10 axis: 10^-3 shown as 1e-3, 10^0 as 1. */
export function formatPowerOfTen(exponent: number): string {
  if (exponent === 0) return '1';
  if (exponent === 1) return '10';
  return `1e${exponent}`;
}

/** A power of ten written as a plain number where that stays short: 0.001, 0.1, 1, 100, 1e5. */
export function formatDecade(exponent: number): string {
  if (exponent >= 0 && exponent <= 4) return String(10 ** exponent);
  if (exponent < 0 && exponent >= -3) return (10 ** exponent).toFixed(-exponent);
  return `1e${exponent}`;
}

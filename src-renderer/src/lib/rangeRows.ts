import type { Exemplar, FeatureDetail } from '@contract';

/** Items shown per row: the index keeps 4 samples per range, so the "top" row shows as many. */
const ROW_LENGTH = 4;

export interface DisplayRow {
  key: string;
  /** "top", then the range's bounds, e.g. "1.0–3.2". */
  label: string;
  /** Items whose value lies in the row's range (null for the top row: it is the top-k's best). */
  count: number | null;
  items: Exemplar[];
}

/** A range bound, two significant digits below 100 (0.32, 1.0, 3.2, 32), whole numbers above. */
export function formatBound(v: number): string {
  return v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toPrecision(2);
}

export function rangeLabel(lo: number, hi: number | null): string {
  if (hi === null) return `≥ ${formatBound(lo)}`;
  if (lo === 0) return `< ${formatBound(hi)}`;
  return `${formatBound(lo)}–${formatBound(hi)}`;
}

/**
 * The rows of the range view, strongest first: "top" (the feature's best exemplars), then every
 * non-empty activation range down to the weakest. null when the index holds no range samples.
 */
export function displayRows(detail: FeatureDetail): DisplayRow[] | null {
  if (!detail.rangeSamples) return null;
  const rows: DisplayRow[] = [];
  if (detail.exemplars.length) rows.push({ key: 'top', label: 'top', count: null, items: detail.exemplars.slice(0, ROW_LENGTH) });
  for (const r of detail.rangeSamples) rows.push({ key: `${r.lo}`, label: rangeLabel(r.lo, r.hi), count: r.count, items: r.items });
  return rows;
}

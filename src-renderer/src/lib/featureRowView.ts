import type { FeatureCategory, FeatureRow } from '@contract';
import { CATEGORY_LABELS } from './categories';
import { formatCount, formatLog, formatValue } from './format';
import { sparklinePath } from './sparklinePath';

/**
 * What one table row shows, as ready strings: the table patches a recycled row element with
 * these instead of formatting numbers, building paths and slicing tags in its render for every
 * row on every scroll frame. A row object is frozen and replaced when its page is fetched again,
 * so each view is built once per row object.
 */
export interface FeatureRowView {
  frequency: string;
  mean: string;
  max: string;
  count: string;
  autocorrelation: string;
  switchRate: string;
  /** The distribution sparkline's SVG path. */
  histogram: string;
  category: FeatureCategory | null;
  categoryLabel: string;
  /** The first free tags shown in the row; `moreTags` counts the rest. */
  tags: readonly string[];
  moreTags: string;
  reviewed: boolean;
  notes: string;
  notesTitle: string;
}

/** Free tags shown per row before "+N". */
export const ROW_TAGS = 3;

/** A loading row: the same cells, empty, so a page arriving patches text instead of mounting. */
export const EMPTY_ROW_VIEW: FeatureRowView = Object.freeze({
  frequency: '',
  mean: '',
  max: '',
  count: '',
  autocorrelation: '',
  switchRate: '',
  histogram: '',
  category: null,
  categoryLabel: '',
  tags: Object.freeze([]),
  moreTags: '',
  reviewed: false,
  notes: '',
  notesTitle: '',
});

const views = new WeakMap<FeatureRow, FeatureRowView>();

/** Temporal values, no "-0.00": values that round to zero read as 0.00; absent reads as a dash. */
export function formatTemporal(v: number | null | undefined): string {
  if (typeof v !== 'number') return '—';
  return Math.abs(v) < 0.005 ? '0.00' : v.toFixed(2);
}

export function featureRowView(row: FeatureRow | undefined): FeatureRowView {
  if (!row) return EMPTY_ROW_VIEW;
  let view = views.get(row);
  if (view) return view;
  view = Object.freeze({
    frequency: row.count === 0 ? 'dead' : formatLog(row.logFrequency),
    mean: formatValue(row.mean),
    max: formatValue(row.max),
    count: formatCount(row.count),
    autocorrelation: formatTemporal(row.autocorrelation),
    switchRate: formatTemporal(row.switchRate),
    histogram: sparklinePath(row.histogram),
    category: row.category,
    categoryLabel: row.category ? CATEGORY_LABELS[row.category] : '',
    tags: Object.freeze(row.tags.slice(0, ROW_TAGS)),
    moreTags: row.tags.length > ROW_TAGS ? `+${row.tags.length - ROW_TAGS}` : '',
    reviewed: row.reviewed,
    notes: row.noteCount ? `✎${row.noteCount}` : '',
    notesTitle: row.noteCount ? `${row.noteCount} note${row.noteCount === 1 ? '' : 's'}` : '',
  });
  views.set(row, view);
  return view;
}

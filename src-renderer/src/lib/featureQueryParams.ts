import type { FeatureCategory, FeatureFilter, FeatureSortKey, Tristate } from '@contract';
import { FEATURE_CATEGORIES } from '@contract';
import type { LocationQuery, LocationQueryRaw } from 'vue-router';

/** The table's sort and filter, as kept in the features route's query string. */
export interface FeatureListQuery {
  sort: FeatureSortKey;
  desc: boolean;
  filter: Required<FeatureFilter>;
}

const SORT_KEYS: readonly FeatureSortKey[] = ['index', 'frequency', 'mean', 'max', 'category', 'reviewed', 'autocorrelation', 'switchRate'];

export function defaultListQuery(): FeatureListQuery {
  return {
    // Index order with nothing hidden: what a researcher expects on first open, and what a
    // bare /features URL has always meant.
    sort: 'index',
    desc: false,
    filter: {
      dead: 'any',
      dense: 'any',
      minLogFrequency: null,
      maxLogFrequency: null,
      minMean: null,
      maxMean: null,
      minMax: null,
      maxMax: null,
      minIndex: null,
      maxIndex: null,
      category: null,
      tag: null,
      reviewed: 'any',
      minAutocorrelation: null,
      maxAutocorrelation: null,
      minSwitchRate: null,
      maxSwitchRate: null,
    },
  };
}

function parseCategory(value: string | null): FeatureCategory | 'none' | null {
  return value === 'none' || FEATURE_CATEGORIES.includes(value as FeatureCategory) ? (value as FeatureCategory | 'none') : null;
}

const RANGE_KEYS = ['minLogFrequency', 'maxLogFrequency', 'minMean', 'maxMean', 'minMax', 'maxMax', 'minIndex', 'maxIndex'] as const;

function first(value: LocationQuery[string] | undefined): string | null {
  const v = Array.isArray(value) ? value[0] : value;
  return v == null ? null : v;
}

function parseTristate(value: string | null, fallback: Tristate): Tristate {
  return value === 'any' || value === 'only' || value === 'exclude' ? value : fallback;
}

function parseNumber(value: string | null): number | null {
  if (value == null || value.trim() === '') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

/** Reads the query string leniently: unknown or malformed values fall back to the defaults. */
export function parseListQuery(query: LocationQuery): FeatureListQuery {
  const base = defaultListQuery();
  const sort = first(query.sort);
  const out: FeatureListQuery = {
    sort: SORT_KEYS.includes(sort as FeatureSortKey) ? (sort as FeatureSortKey) : base.sort,
    desc: query.dir == null ? base.desc : first(query.dir) !== 'asc',
    filter: {
      ...base.filter,
      dead: parseTristate(first(query.dead), base.filter.dead),
      dense: parseTristate(first(query.dense), base.filter.dense),
      category: parseCategory(first(query.category)),
      tag: first(query.tag)?.trim() || null,
      reviewed: parseTristate(first(query.reviewed), 'any'),
    },
  };
  for (const key of RANGE_KEYS) out.filter[key] = parseNumber(first(query[key]));
  return out;
}

/** Writes only what differs from the defaults, so plain URLs stay short. */
export function listQueryToRoute(q: FeatureListQuery): LocationQueryRaw {
  const base = defaultListQuery();
  const out: LocationQueryRaw = {};
  if (q.sort !== base.sort) out.sort = q.sort;
  if (q.desc !== base.desc) out.dir = q.desc ? 'desc' : 'asc';
  if (q.filter.dead !== base.filter.dead) out.dead = q.filter.dead;
  if (q.filter.dense !== base.filter.dense) out.dense = q.filter.dense;
  if (q.filter.category) out.category = q.filter.category;
  if (q.filter.tag) out.tag = q.filter.tag;
  if (q.filter.reviewed !== 'any') out.reviewed = q.filter.reviewed;
  for (const key of RANGE_KEYS) {
    const v = q.filter[key];
    if (v != null) out[key] = String(v);
  }
  return out;
}

/** Stable key of a list query: equal keys mean the same rows in the same order. */
export function listQueryKey(indexId: string, q: FeatureListQuery): string {
  const f = q.filter;
  return JSON.stringify([indexId, q.sort, q.desc, f.dead, f.dense, ...RANGE_KEYS.map((k) => f[k]), f.category, f.tag, f.reviewed]);
}

/** True when some filter narrows the list. */
export function isFiltered(q: FeatureListQuery): boolean {
  const f = q.filter;
  return f.dead !== 'any' || f.dense !== 'any' || RANGE_KEYS.some((k) => f[k] != null) || f.category != null || !!f.tag || f.reviewed !== 'any';
}

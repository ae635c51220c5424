import { z } from 'zod';
import { featureNumber, indexId, optionalLimit } from './common.js';
import { float32FromBase64, float32ToBase64 } from './float32Wire.js';
import { returns, type MethodTable, type ResultWire } from './method.js';
import type { FeatureTags } from './tags.js';

// Features of one index: the sortable, filterable table, one feature's page, the scatter, the
// items of the index and an item's page, and search by meaning (tags, notes, labels).

const SORT_KEYS = ['index', 'frequency', 'mean', 'max', 'category', 'reviewed', 'autocorrelation', 'switchRate'] as const;
export type FeatureSortKey = (typeof SORT_KEYS)[number];
const TRISTATES = ['any', 'only', 'exclude'] as const;
export type Tristate = (typeof TRISTATES)[number];

/** The three built-in, mutually exclusive categories (the video-SAE paper's scene / action / object). */
const CATEGORIES = ['scene', 'action', 'object'] as const;
export type FeatureCategory = (typeof CATEGORIES)[number];
export const FEATURE_CATEGORIES: readonly FeatureCategory[] = CATEGORIES;
export const featureCategory = z.enum(CATEGORIES);

const range = z.number().nullish();
const featureFilter = z.strictObject({
  dead: z.enum(TRISTATES).optional(),
  dense: z.enum(TRISTATES).optional(),
  minLogFrequency: range,
  maxLogFrequency: range,
  minMean: range,
  maxMean: range,
  minMax: range,
  maxMax: range,
  /** Feature number range, inclusive (e.g. one Matryoshka group). */
  minIndex: range,
  maxIndex: range,
  /** A category, 'none' for features without one; null or absent: any. */
  category: z.enum([...CATEGORIES, 'none']).nullish(),
  /** Only features carrying this free tag. */
  tag: z.string().nullish(),
  reviewed: z.enum(TRISTATES).optional(),
  /** Video indexes: range of the lag-1 autocorrelation / switch rate (features without a value are excluded when set). */
  minAutocorrelation: range,
  maxAutocorrelation: range,
  minSwitchRate: range,
  maxSwitchRate: range,
});
export type FeatureFilter = z.infer<typeof featureFilter>;

const offset = z.number().int().nonnegative();

const featureQuery = z.strictObject({
  indexId,
  sort: z.enum(SORT_KEYS),
  desc: z.boolean(),
  offset,
  limit: z.number().int().nonnegative(),
  filter: featureFilter.optional(),
});
export type FeatureQuery = z.infer<typeof featureQuery>;

export interface FeatureRow {
  /** The feature's number in the SAE (0 … width − 1). */
  feature: number;
  /** Patch tokens where f > 0. */
  count: number;
  /** count / tokens. */
  frequency: number;
  /** log10(frequency + 1e-10). */
  logFrequency: number;
  /** Mean of positive values (0 when dead). */
  mean: number;
  max: number;
  /** Counts of positive values per histogram bin (see IndexSummary.histogram). */
  histogram: number[];
  category: FeatureCategory | null;
  tags: string[];
  reviewed: boolean;
  noteCount: number;
  /** Video indexes: lag-1 autocorrelation over (clip, patch, t) pairs; null when undefined or for images. */
  autocorrelation: number | null;
  /** Video indexes: fraction of active pairs where exactly one side is active; null when undefined or for images. */
  switchRate: number | null;
}

export interface FeaturePage {
  /** Rows matching the filter. */
  total: number;
  offset: number;
  rows: FeatureRow[];
}

export interface Exemplar {
  rank: number;
  itemId: number;
  /** Path relative to the dataset root. */
  item: string;
  label: string | null;
  /** Max over patches of this feature on this item. */
  value: number;
  /** The feature's activation on every patch, row-major over the grid. */
  patchMap: number[];
}

export interface LabelCount {
  label: string;
  count: number;
}

export interface FeatureDetail {
  indexId: string;
  row: FeatureRow;
  grid: [number, number];
  /** Common colour scale of this feature's heatmaps: max over its exemplars' patch values. */
  upper: number;
  exemplars: Exemplar[];
  labelCounts: LabelCount[];
  clsCount: number;
  clsMax: number;
  /** The user's category, tags, notes and reviewed mark for this feature (of this SAE). */
  tags: FeatureTags;
  /**
   * Exemplars across activation ranges: the non-empty fixed log10 ranges of the
   * feature's per-item values (max over patches), strongest first, each with its item count and a
   * few deterministically sampled items. null (or absent): the index was built without them.
   */
  rangeSamples?: RangeSampleRow[] | null;
}

/** One activation range of a feature and the items sampled from it (see FeatureDetail.rangeSamples). */
export interface RangeSampleRow {
  /** Range bounds: items with lo ≤ value < hi; lo 0 for the lowest range, hi null for the highest (open ended). */
  lo: number;
  hi: number | null;
  /** How many items have their value in this range (exact). */
  count: number;
  /** The sampled items, by value desc (rank: position in this row). */
  items: Exemplar[];
}


/**
 * Two float32 columns, one value per feature (by index): 100,000 features are 800 KB in memory
 * and over IPC, about 1.07 MB of base64 over the web host (scatterWire), instead of about 3.6 MB of
 * JSON numbers. Float32 keeps 7 significant digits, far finer than a pixel of the plot.
 */
export interface ScatterData {
  /** log10(frequency + 1e-10). */
  logFrequency: Float32Array;
  /** log10(mean + 1e-10). */
  logMean: Float32Array;
}

/** The scatter on JSON transports: the feature count and each column as base64 little-endian float32. */
export interface ScatterJson {
  features: number;
  logFrequency: string;
  logMean: string;
}

export const scatterWire: ResultWire<ScatterData> = {
  toJson(result): ScatterJson {
    if (result.logMean.length !== result.logFrequency.length) {
      throw new RangeError(`scatter: logFrequency holds ${result.logFrequency.length} values but logMean ${result.logMean.length}; they must be one per feature.`);
    }
    return { features: result.logFrequency.length, logFrequency: float32ToBase64(result.logFrequency), logMean: float32ToBase64(result.logMean) };
  },
  fromJson(json): ScatterData {
    const j = (typeof json === 'object' && json !== null ? json : {}) as Partial<Record<keyof ScatterJson, unknown>>;
    const n = j.features;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
      throw new TypeError(`scatter: features must be the feature count, a whole number ≥ 0 (got ${JSON.stringify(n) ?? 'nothing'}).`);
    }
    return { logFrequency: float32FromBase64(j.logFrequency, n, 'scatter.logFrequency'), logMean: float32FromBase64(j.logMean, n, 'scatter.logMean') };
  },
};



/** A page of an index's items (listItems): for picking a clip from the index instead of typing a path. */
export interface ItemPage {
  /** Items matching the search. */
  total: number;
  /** id (for thumbnailUrl), path relative to the dataset root, label, and whether a thumbnail exists (exemplar items only). */
  items: { id: number; path: string; label: string | null; thumbnail: boolean }[];
}

/** One feature active on an item (itemDetail): from the index's stored per-item top features. */
export interface ItemFeature {
  feature: number;
  /** Max over patches as the index stored it (float16), the order of the list. */
  value: number;
  category: FeatureCategory | null;
  tags: string[];
  noteCount: number;
  /** The feature's activation on every patch, re-encoded now through the patch query engine; null when not computed. */
  patchMap: number[] | null;
  /** Activation summed over the whole image (what `studio query --patches all` ranks by); null without maps. */
  sum: number | null;
}

/** An item page: the image (or clip) and every feature the index stored as active on it. */
export interface ItemDetail {
  indexId: string;
  item: {
    id: number;
    /** Relative to the dataset root. */
    path: string;
    /** Absolute path on the host (what "query these patches" and "test causally" open). */
    file: string;
    label: string | null;
    thumbnail: boolean;
    /** Source size in pixels, null when the file cannot be read now. */
    width: number | null;
    height: number | null;
    /** Clips of a video index: frames sampled; null for images. */
    frames: number | null;
  };
  grid: [number, number];
  features: ItemFeature[];
  /** Common colour scale of the maps: their largest patch value (0 without maps). */
  upper: number;
  /** The model's input crop (PNG data URL) the maps cover; null without maps. */
  preview: string | null;
  /** Why maps are missing (a clip, a cached-activation index, an unreadable file), or null. */
  mapsProblem: string | null;
}

/** What a search hit matched. */
export type FeatureSearchMatch =
  | { kind: 'tag'; text: string }
  | { kind: 'note'; text: string }
  | { kind: 'category'; text: FeatureCategory }
  | { kind: 'suggested'; text: FeatureCategory }
  | { kind: 'label'; text: string };

export interface FeatureSearchHit {
  row: FeatureRow;
  matches: FeatureSearchMatch[];
  /** Dataset-label hits: exemplars carrying a matching label, and that count over all exemplars; 0 otherwise. */
  labelCount: number;
  labelPurity: number;
  exemplars: number;
}

export interface FeatureSearchPage {
  total: number;
  offset: number;
  /** The dataset labels the text matched (exactly, else as a substring). */
  labels: string[];
  hits: FeatureSearchHit[];
}

/** Every call the renderer (or any host client) can make. One argument object per method. */

/** Shown in the UI and CLI: `CLIP-24K/6909`. */
export function featureName(indexName: string, index: number): string {
  return `${indexName}/${index}`;
}

export const featuresMethods = {
  queryFeatures: {
    args: featureQuery,
    result: returns<FeaturePage>(),
    errors: ['not-found'],
  },
  featureDetail: {
    args: z.strictObject({ indexId, feature: featureNumber }),
    result: returns<FeatureDetail>(),
    errors: ['not-found', 'bad-request'],
  },
  scatter: {
    args: z.strictObject({ indexId }),
    result: returns<ScatterData>(),
    errors: ['not-found'],
    wire: scatterWire,
  },
  /** The index's items whose path or label holds every word of `search`, by path (the flicker view's clip list). */
  listItems: {
    args: z.strictObject({ indexId, search: z.string().optional(), offset: offset.optional(), limit: optionalLimit }),
    result: returns<ItemPage>(),
    errors: ['not-found'],
  },
  /** An item page: the item and its stored top features, with each one's map re-encoded (maps: false skips the model). */
  itemDetail: {
    args: z.strictObject({ indexId, item: z.number().int().nonnegative(), maps: z.boolean().optional() }),
    result: returns<ItemDetail>(),
    errors: ['not-found'],
  },
  /** Features by tag, note text, category (set or suggested) and dataset label purity, with the table's filters. */
  searchFeatures: {
    args: z.strictObject({ indexId, text: z.string(), filter: featureFilter.optional(), limit: optionalLimit, offset: offset.optional() }),
    result: returns<FeatureSearchPage>(),
    errors: ['not-found'],
  },
} satisfies MethodTable;

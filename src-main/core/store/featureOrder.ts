// The feature table's order and filters, answered from kept id lists.
//
// A table page used to be one SQL statement that filtered, joined every feature with its tags and
// sorted all rows, then skipped `offset` of them: a page deep in frequency order cost a second at
// 100k features, and the total was counted again for every page. Here each (sort, direction) is
// read once as a list of ids, in the order of that column's index (schema.ts: (column, id) for
// every sortable column, so SQLite walks an index and hands back integers, never rows). A range
// filter on a column is a contiguous run of that same list, found by two COUNTs over the index;
// each filter's ordered ids are kept: any page at any offset is a slice, and the total is its
// length. Only the page's rows are then read with their histograms and tags.
//
// What invalidates what: feature statistics change only when another connection (the indexer)
// commits, which `PRAGMA data_version` reports; tags and reviewed marks also change through this
// connection (tag edits), which `total_changes()` reports. Both are read per query, in microseconds.
import type Database from 'better-sqlite3';
import type { FeatureFilter, FeatureSortKey } from '../../contract/index.js';

/** A feature is dense when it fires on more than this fraction of patch tokens. */
export const DENSE_FREQUENCY = 1e-2;
/** Filtered orders kept (each at most 4 bytes per feature). */
const KEPT_ORDERS = 16;
/** Filter clauses kept (one byte per feature each): a dragged range slider makes many. */
const KEPT_CLAUSES = 64;

/** Category sort rank: categorised features first in scene, action, object order; then untagged. */
const CATEGORY_RANK: Record<string, number> = { scene: 0, action: 1, object: 2 };
const NO_CATEGORY = 3;

/** Sorts read from a column index, by the column's name (schema.ts creates a (column, id) index for each). */
const SORT_COLUMN: Partial<Record<FeatureSortKey, string>> = {
  frequency: 'count',
  mean: 'mean',
  max: 'max',
  autocorrelation: 'autocorr',
  switchRate: 'switch_rate',
};

/** Per feature id: category rank and reviewed mark; free tags are looked up per filter. */
interface TagColumns {
  category: Uint8Array;
  reviewed: Uint8Array;
}

/** Which features (by id) a filter clause keeps: 1 kept, 0 not. */
type Mask = Uint8Array;

export class FeatureOrder {
  private columnsVersion = -1;
  private tagsVersion = '';
  /** Every feature id, ascending (ids are 0..dSae-1 once built; gaps are possible mid-build). */
  private allIds: Int32Array | null = null;
  private tagColumns: TagColumns | null = null;
  /** Ordered ids of all features per `sort:desc`. */
  private readonly sorted = new Map<string, Int32Array>();
  /** Per sortable column: ids in its index's order (NULLs first, ties by id) and how many are NULL. */
  private readonly columns = new Map<string, { ids: Int32Array; nulls: number }>();
  /** Ids kept by one filter clause, per clause key. */
  private readonly clauses = new Map<string, Mask>();
  /** Ordered, filtered feature ids per `sort:desc:filter` key, most recently used last. */
  private readonly filtered = new Map<string, Int32Array>();

  constructor(
    private readonly db: Database.Database,
    private readonly saeHash: string,
  ) {}

  /** Ids of the features passing `filter`, in table order (ties by id, in the sort's direction). */
  ids(sort: FeatureSortKey, desc: boolean, filter: FeatureFilter, tokens: number): Int32Array {
    this.refresh();
    const { key: filterKey, masks } = this.filterMasks(filter, tokens);
    const key = `${sort}:${desc ? 'desc' : 'asc'}:${filterKey}`;
    const hit = this.filtered.get(key);
    if (hit) return keep(this.filtered, key, hit, KEPT_ORDERS);
    const order = this.order(sort, desc);
    let result = order;
    if (masks.length > 0) {
      const out = new Int32Array(order.length);
      let n = 0;
      for (const id of order) if (masks.every((m) => m[id] === 1)) out[n++] = id;
      result = out.slice(0, n);
    }
    return keep(this.filtered, key, result, KEPT_ORDERS);
  }

  /** Drops what a commit since the last query made stale. */
  private refresh(): void {
    const dataVersion = this.db.pragma('data_version', { simple: true }) as number;
    const ownChanges = (this.db.prepare('SELECT total_changes() AS n').get() as { n: number }).n;
    if (dataVersion !== this.columnsVersion) {
      this.columnsVersion = dataVersion;
      this.allIds = null;
      this.columns.clear();
      this.sorted.clear();
      this.clauses.clear();
      this.filtered.clear();
    }
    const tagsVersion = `${dataVersion}:${ownChanges}`;
    if (tagsVersion !== this.tagsVersion) {
      this.tagsVersion = tagsVersion;
      this.tagColumns = null;
      // What reads tags goes; orders and clauses of feature statistics stay (tag edits never touch them).
      for (const key of ['category:asc', 'category:desc', 'reviewed:asc', 'reviewed:desc']) this.sorted.delete(key);
      for (const key of [...this.clauses.keys()]) if (key.startsWith('tag:')) this.clauses.delete(key);
      this.filtered.clear();
    }
  }

  private everyId(): Int32Array {
    this.allIds ??= this.column('count').ids.slice().sort();
    return this.allIds;
  }

  /** A column's ids in index order; one JSON array from SQLite costs far less than a row per id. */
  private column(name: string): { ids: Int32Array; nulls: number } {
    let c = this.columns.get(name);
    if (!c) {
      const json = this.db.prepare(`SELECT json_group_array(id) FROM (SELECT id FROM features INDEXED BY features_${name} ORDER BY ${name}, id)`).pluck().get() as string;
      c = { ids: Int32Array.from(JSON.parse(json) as number[]), nulls: this.count(`${name} IS NULL`) };
      this.columns.set(name, c);
    }
    return c;
  }

  private count(where: string, ...args: number[]): number {
    return this.db.prepare(`SELECT COUNT(*) FROM features WHERE ${where}`).pluck().get(...args) as number;
  }

  /** A mask over feature ids (one byte each, up to the largest id). */
  private mask(ids: Iterable<number>): Mask {
    const all = this.everyId();
    const m = new Uint8Array(all.length > 0 ? all[all.length - 1]! + 1 : 0);
    for (const id of ids) if (id >= 0 && id < m.length) m[id] = 1;
    return m;
  }

  private tags(): TagColumns {
    if (this.tagColumns) return this.tagColumns;
    const size = this.mask([]).length;
    const t: TagColumns = { category: new Uint8Array(size).fill(NO_CATEGORY), reviewed: new Uint8Array(size) };
    const heads = this.db.prepare('SELECT feature, category, reviewed FROM feature_tags WHERE sae_hash = ?').raw().all(this.saeHash) as [
      number,
      string | null,
      number,
    ][];
    for (const [feature, category, reviewed] of heads) {
      if (feature < 0 || feature >= size) continue;
      t.category[feature] = category !== null ? (CATEGORY_RANK[category] ?? NO_CATEGORY) : NO_CATEGORY;
      t.reviewed[feature] = reviewed ? 1 : 0;
    }
    this.tagColumns = t;
    return t;
  }

  /**
   * All ids in table order. Ascending is (value, id) ascending; descending is its exact reverse
   * (value and id both descending), except that features without a value (temporal columns of
   * features that never fired in a clip) come last either way, by id in the sort's direction.
   */
  private order(sort: FeatureSortKey, desc: boolean): Int32Array {
    const key = `${sort}:${desc ? 'desc' : 'asc'}`;
    let order = this.sorted.get(key);
    if (order) return order;
    const column = SORT_COLUMN[sort];
    if (column) {
      // The (column, id) index: NULLs first, then values ascending, each run of equal values by id.
      const { ids: byIndex, nulls } = this.column(column);
      const valued = byIndex.subarray(nulls);
      const withoutValue = byIndex.subarray(0, nulls);
      order = new Int32Array(byIndex.length);
      order.set(desc ? valued.slice().reverse() : valued);
      order.set(desc ? withoutValue.slice().reverse() : withoutValue, valued.length);
    } else {
      const tags = sort === 'category' || sort === 'reviewed' ? this.tags() : null;
      const asc = sort === 'category' ? this.byRank(tags!.category, NO_CATEGORY + 1) : sort === 'reviewed' ? this.byRank(tags!.reviewed, 2) : this.everyId();
      order = desc ? asc.slice().reverse() : asc;
    }
    this.sorted.set(key, order);
    return order;
  }

  /** Ids grouped by a small per-id rank (stable: id order within a rank). */
  private byRank(rank: Uint8Array, ranks: number): Int32Array {
    const ids = this.everyId();
    const starts = new Int32Array(ranks + 1);
    for (const id of ids) starts[rank[id]! + 1]!++;
    for (let r = 0; r < ranks; r++) starts[r + 1]! += starts[r]!;
    const out = new Int32Array(ids.length);
    for (const id of ids) out[starts[rank[id]!]!++] = id;
    return out;
  }

  /**
   * The ids whose `column` lies in [min, max] (either bound optional, `strictMin` for (min, max];
   * NULL is in no range): a run of the column's index order, found by counting values below each bound.
   */
  private range(column: string, min: number | null, max: number | null, strictMin = false): Mask {
    const key = `${column}:${strictMin ? '(' : '['}${min}..${max}]`;
    let m = this.clauses.get(key);
    if (!m) {
      const { ids, nulls } = this.column(column);
      const from = nulls + (min === null ? 0 : this.count(`${column} ${strictMin ? '<=' : '<'} ?`, min));
      const to = max === null ? ids.length : nulls + this.count(`${column} <= ?`, max);
      m = this.mask(ids.subarray(from, Math.max(from, to)));
    }
    return keep(this.clauses, key, m, KEPT_CLAUSES);
  }

  /**
   * The filter as one mask per clause (a feature passes when every mask holds it), and a key
   * naming the filter (equal filters, equal keys).
   */
  private filterMasks(f: FeatureFilter, tokens: number): { key: string; masks: Mask[] } {
    const masks: Mask[] = [];
    const parts: string[] = [];
    const add = (key: string, mask: Mask) => {
      masks.push(mask);
      parts.push(key);
    };
    if (f.dead === 'only') add('dead', this.range('count', 0, 0));
    if (f.dead === 'exclude') add('alive', this.range('count', 0, null, true));
    if (f.dense === 'only' || f.dense === 'exclude') {
      const threshold = DENSE_FREQUENCY * tokens;
      add(`dense=${f.dense}@${threshold}`, f.dense === 'only' ? this.range('count', threshold, null, true) : this.range('count', null, threshold));
    }
    const bound = (v?: number | null) => (v !== undefined && v !== null && Number.isFinite(v) ? v : null);
    const range = (column: string, min?: number | null, max?: number | null) => {
      // A bound on a temporal column drops features without a value (NULL is in no range).
      if (bound(min) !== null || bound(max) !== null) add(`${column}=${bound(min)}..${bound(max)}`, this.range(column, bound(min), bound(max)));
    };
    range('log_freq', f.minLogFrequency, f.maxLogFrequency);
    range('mean', f.minMean, f.maxMean);
    range('max', f.minMax, f.maxMax);
    if (bound(f.minIndex) !== null || bound(f.maxIndex) !== null) {
      // Ids are at hand: a rowid range in SQL would read the table's rows.
      const lo = bound(f.minIndex) ?? -Infinity;
      const hi = bound(f.maxIndex) ?? Infinity;
      add(`id=${lo}..${hi}`, this.mask(this.everyId().filter((id) => id >= lo && id <= hi)));
    }
    range('autocorr', f.minAutocorrelation, f.maxAutocorrelation);
    range('switch_rate', f.minSwitchRate, f.maxSwitchRate);
    if (f.category) {
      const want = f.category === 'none' ? NO_CATEGORY : (CATEGORY_RANK[f.category] ?? -1);
      add(`category=${f.category}`, this.tags().category.map((c) => (c === want ? 1 : 0)));
    }
    if (f.tag) {
      const key = `tag:${JSON.stringify(f.tag)}`;
      const m = this.clauses.get(key) ?? this.mask(this.db.prepare('SELECT feature FROM feature_free_tags WHERE sae_hash = ? AND tag = ?').pluck().all(this.saeHash, f.tag) as number[]);
      add(key, keep(this.clauses, key, m, KEPT_CLAUSES));
    }
    if (f.reviewed === 'only' || f.reviewed === 'exclude') {
      const want = f.reviewed === 'only' ? 1 : 0;
      add(`reviewed=${f.reviewed}`, this.tags().reviewed.map((r) => (r === want ? 1 : 0)));
    }
    return { key: parts.join('&'), masks };
  }
}

/** Stores `value` as the most recently used entry, dropping the least recently used past `cap`. */
function keep<T>(map: Map<string, T>, key: string, value: T, cap: number): T {
  map.delete(key);
  map.set(key, value);
  if (map.size > cap) map.delete(map.keys().next().value!);
  return value;
}

import { defineStore } from 'pinia';
import { markRaw, ref, shallowRef } from 'vue';
import type { ApiErrorPayload, FeatureRow } from '@contract';
import { useStoreClient } from '../api/storeClient';
import { describeError } from '../api/studioError';
import { defaultListQuery, listQueryKey, type FeatureListQuery } from '../lib/featureQueryParams';
import { PagedRows } from '../lib/pagedRows';

/** Rows per request to the core. */
export const PAGE_SIZE = 100;
/** Pages kept in memory (least recently shown dropped first), fetched again when scrolled back to. */
export const MAX_CACHED_PAGES = 120;
/**
 * Page requests outstanding at once. The host answers one at a time, so more only lengthens the
 * queue a newly visible page waits behind after a jump (requests already sent cannot be taken
 * back from it); two keep the host busy while the reply of the other is on its way.
 */
export const MAX_IN_FLIGHT = 2;
/** Pages fetched beyond the visible ones: two in the scroll direction, one behind. */
export const PREFETCH_AHEAD = 2;
export const PREFETCH_BEHIND = 1;

/**
 * The sorted, filtered feature table, paged from the core as the user scrolls.
 *
 * Rows are never held as one big reactive array: pages live in a plain Map of frozen (markRaw)
 * arrays and a single `version` counter tells Vue that some page arrived. Paging (latest viewport
 * wins, bounded requests, prefetch, LRU cache) is PagedRows' job. Every query change starts a new
 * epoch there; replies from an older one are dropped (stale-result filtering), so fast typing in
 * a filter never shows rows of a query the user already left.
 */
export const useFeatureTableStore = defineStore('features', () => {
  const client = useStoreClient();

  const indexId = ref<string | null>(null);
  const query = shallowRef<FeatureListQuery>(defaultListQuery());
  /** Rows matching the filter; null until the first page of the current query arrives. */
  const total = ref<number | null>(null);
  const error = ref<ApiErrorPayload | null>(null);
  /** Bumped whenever the page cache changes, so rowAt() is re-read by templates. */
  const version = ref(0);
  /** Position (in the current order) of the selected row. */
  const selected = ref(0);
  /** Where the table was scrolled, restored when coming back from a feature. */
  const scrollTop = ref(0);
  /** Features ticked for bulk tagging (by feature index, so they survive paging and re-sorting). */
  const checked = ref<Set<number>>(new Set());
  /** Position of the last ticked row, for shift-click ranges. */
  const checkAnchor = ref<number | null>(null);

  let key = '';
  /** The current query's first page, returned again when the same query comes back. */
  let firstLoad: Promise<void> = Promise.resolve();
  const rows = new PagedRows<FeatureRow>({
    pageSize: PAGE_SIZE,
    maxCachedPages: MAX_CACHED_PAGES,
    maxInFlight: MAX_IN_FLIGHT,
    prefetchAhead: PREFETCH_AHEAD,
    prefetchBehind: PREFETCH_BEHIND,
    fetchPage: async (page) => {
      const q = query.value;
      const result = await client.queryFeatures({
        indexId: indexId.value!,
        sort: q.sort,
        desc: q.desc,
        offset: page * PAGE_SIZE,
        limit: PAGE_SIZE,
        filter: q.filter,
      });
      return { rows: markRaw(Object.freeze(result.rows.map((r) => markRaw(r)))), total: result.total };
    },
    onPage: (rowTotal) => {
      total.value = rowTotal;
      error.value = null;
      version.value++;
    },
    onError: (e) => {
      error.value = describeError(e);
    },
  });

  function pending(): boolean {
    return rows.pending > 0;
  }

  /** Switches to a query; the same query again keeps the cache, selection and scroll. */
  function setQuery(nextIndexId: string, next: FeatureListQuery): Promise<void> {
    const nextKey = listQueryKey(nextIndexId, next);
    if (nextKey === key) return firstLoad;
    key = nextKey;
    if (indexId.value !== nextIndexId) clearChecked();
    indexId.value = nextIndexId;
    query.value = next;
    rows.reset();
    total.value = null;
    error.value = null;
    selected.value = 0;
    scrollTop.value = 0;
    version.value++;
    firstLoad = rows.want(0, 0);
    return firstLoad;
  }

  /** Drops cached rows and reloads the viewport (e.g. after the index was rebuilt). */
  function refresh(): Promise<void> {
    if (indexId.value == null) return Promise.resolve();
    rows.reset();
    version.value++;
    return rows.want(0, 0);
  }

  /**
   * Fetches the pages near the viewport again (after tags changed), keeping the old rows on
   * screen until the new ones arrive so the table does not flicker; farther cached pages are
   * fetched again when scrolled back to.
   */
  function reloadLoaded(): Promise<void> {
    if (indexId.value == null) return Promise.resolve();
    return rows.markStale().then(() => {
      version.value++; // pages past a smaller total may have gone
    });
  }

  function toggleChecked(feature: number, position: number): void {
    const next = new Set(checked.value);
    if (next.has(feature)) next.delete(feature);
    else next.add(feature);
    checked.value = next;
    checkAnchor.value = position;
  }

  /** Ticks every loaded row between the anchor and `position` (shift-click). */
  function checkRange(position: number): void {
    const from = checkAnchor.value ?? position;
    const next = new Set(checked.value);
    for (let p = Math.min(from, position); p <= Math.max(from, position); p++) {
      const row = rowAt(p);
      if (row) next.add(row.feature);
    }
    checked.value = next;
    checkAnchor.value = position;
  }

  function clearChecked(): void {
    checked.value = new Set();
    checkAnchor.value = null;
  }

  /**
   * The viewport shows rows [start, end]: fetches their pages (and prefetches around them) unless
   * cached. Resolves when they are readable or no longer wanted (the viewport moved on).
   */
  function ensureRange(start: number, end: number): Promise<void> {
    if (indexId.value == null) return Promise.resolve();
    return rows.want(start, end);
  }

  /** The row at a position in the current order, or undefined while its page is loading. */
  function rowAt(position: number): FeatureRow | undefined {
    void version.value; // reactive dependency: re-evaluate when pages arrive
    return rows.row(position);
  }

  /** Position of a feature among the cached rows, or -1 when it is not in a loaded page. */
  function positionOf(featureIndex: number): number {
    for (const [first, page] of rows.loaded()) {
      const i = page.findIndex((r) => r.feature === featureIndex);
      if (i >= 0) return first + i;
    }
    return -1;
  }

  function select(position: number): void {
    const max = (total.value ?? 1) - 1;
    selected.value = Math.max(0, Math.min(max, position));
  }

  /**
   * The feature `delta` steps from `featureIndex` in the table's current order when the table
   * holds it, else by feature index within [0, featureCount). Null at either end.
   */
  async function neighbour(featureIndex: number, delta: number, featureCount: number): Promise<number | null> {
    const position = positionOf(featureIndex);
    if (position >= 0 && total.value != null) {
      const target = position + delta;
      if (target < 0 || target >= total.value) return null;
      await rows.want(target, target);
      const row = rowAt(target);
      if (row) {
        selected.value = target;
        return row.feature;
      }
    }
    const target = featureIndex + delta;
    return target >= 0 && target < featureCount ? target : null;
  }

  return {
    indexId,
    query,
    total,
    error,
    version,
    selected,
    scrollTop,
    checked,
    checkAnchor,
    toggleChecked,
    checkRange,
    clearChecked,
    reloadLoaded,
    pending,
    setQuery,
    refresh,
    ensureRange,
    rowAt,
    positionOf,
    select,
    neighbour,
  };
});

import { defineStore } from 'pinia';
import { markRaw, ref, shallowRef } from 'vue';
import type { ApiErrorPayload, FeatureRow } from '@contract';
import { useStoreClient } from '../api/storeClient';
import { describeError } from '../api/studioError';
import { defaultListQuery, listQueryKey, type FeatureListQuery } from '../lib/featureQueryParams';

/** Rows per request to the core. */
export const PAGE_SIZE = 100;
/** Pages kept in memory; farther pages are dropped and fetched again when scrolled back to. */
export const MAX_CACHED_PAGES = 120;

/**
 * The sorted, filtered feature table, paged from the core as the user scrolls.
 *
 * Rows are never held as one big reactive array: pages live in a plain Map of frozen (markRaw)
 * arrays and a single `version` counter tells Vue that some page arrived. Every query change
 * starts a new generation; replies from an older generation are dropped (stale-result filtering),
 * so fast typing in a filter never shows rows of a query the user already left.
 */
export const useFeaturesStore = defineStore('features', () => {
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
  let generation = 0;
  const pages = new Map<number, readonly FeatureRow[]>();
  const inflight = new Map<number, Promise<void>>();

  function pending(): boolean {
    return inflight.size > 0;
  }

  /** Switches to a query; the same query again keeps the cache, selection and scroll. */
  function setQuery(nextIndexId: string, next: FeatureListQuery): Promise<void> {
    const nextKey = listQueryKey(nextIndexId, next);
    if (nextKey === key) return inflight.get(0) ?? Promise.resolve();
    key = nextKey;
    generation++;
    if (indexId.value !== nextIndexId) clearChecked();
    indexId.value = nextIndexId;
    query.value = next;
    pages.clear();
    inflight.clear();
    total.value = null;
    error.value = null;
    selected.value = 0;
    scrollTop.value = 0;
    version.value++;
    return loadPage(0);
  }

  /** Drops cached rows and reloads (e.g. after the index was rebuilt). */
  function refresh(): Promise<void> {
    generation++;
    pages.clear();
    inflight.clear();
    version.value++;
    return loadPage(0);
  }

  /**
   * Fetches the loaded pages again (after tags changed), keeping the old rows on screen until the
   * new ones arrive so the table does not flicker.
   */
  function reloadLoaded(): Promise<void> {
    const loaded = [...pages.keys()];
    generation++;
    inflight.clear();
    const myGeneration = generation;
    const q = query.value;
    const id = indexId.value;
    if (id == null) return Promise.resolve();
    return Promise.all(
      (loaded.length ? loaded : [0]).map((page) =>
        client
          .queryFeatures({ indexId: id, sort: q.sort, desc: q.desc, offset: page * PAGE_SIZE, limit: PAGE_SIZE, filter: q.filter })
          .then(
            (result) => {
              if (myGeneration !== generation) return;
              pages.set(page, markRaw(Object.freeze(result.rows.map((r) => markRaw(r)))));
              total.value = result.total;
              error.value = null;
              version.value++;
            },
            (e: unknown) => {
              if (myGeneration === generation) error.value = describeError(e);
            },
          ),
      ),
    ).then(() => {
      // Pages past the new end (a filter now matches fewer rows) are gone.
      if (myGeneration !== generation || total.value == null) return;
      for (const p of [...pages.keys()]) if (p * PAGE_SIZE >= Math.max(total.value, 1)) pages.delete(p);
      version.value++;
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
      if (row) next.add(row.index);
    }
    checked.value = next;
    checkAnchor.value = position;
  }

  function clearChecked(): void {
    checked.value = new Set();
    checkAnchor.value = null;
  }

  function loadPage(page: number): Promise<void> {
    const existing = inflight.get(page);
    if (existing) return existing;
    if (pages.has(page) || indexId.value == null) return Promise.resolve();
    const myGeneration = generation;
    const q = query.value;
    const request = client
      .queryFeatures({
        indexId: indexId.value,
        sort: q.sort,
        desc: q.desc,
        offset: page * PAGE_SIZE,
        limit: PAGE_SIZE,
        filter: q.filter,
      })
      .then(
        (result) => {
          if (myGeneration !== generation) return; // a newer query owns the table now
          pages.set(page, markRaw(Object.freeze(result.rows.map((r) => markRaw(r)))));
          total.value = result.total;
          error.value = null;
          evictFarFrom(page);
          version.value++;
        },
        (e: unknown) => {
          if (myGeneration !== generation) return;
          error.value = describeError(e);
        },
      )
      .finally(() => {
        if (myGeneration === generation) inflight.delete(page);
      });
    inflight.set(page, request);
    return request;
  }

  function evictFarFrom(page: number): void {
    if (pages.size <= MAX_CACHED_PAGES) return;
    const byDistance = [...pages.keys()].sort((a, b) => Math.abs(b - page) - Math.abs(a - page));
    for (const p of byDistance.slice(0, pages.size - MAX_CACHED_PAGES)) pages.delete(p);
  }

  /** Requests every page overlapping rows [start, end] that is not cached or on its way. */
  function ensureRange(start: number, end: number): Promise<void> {
    const last = total.value == null ? end : Math.min(end, total.value - 1);
    const loads: Promise<void>[] = [];
    for (let p = Math.floor(Math.max(0, start) / PAGE_SIZE); p <= Math.floor(last / PAGE_SIZE); p++) {
      loads.push(loadPage(p));
    }
    return Promise.all(loads).then(() => undefined);
  }

  /** The row at a position in the current order, or undefined while its page is loading. */
  function rowAt(position: number): FeatureRow | undefined {
    void version.value; // reactive dependency: re-evaluate when pages arrive
    return pages.get(Math.floor(position / PAGE_SIZE))?.[position % PAGE_SIZE];
  }

  /** Position of a feature among the cached rows, or -1 when it is not in a loaded page. */
  function positionOf(featureIndex: number): number {
    for (const [page, rows] of pages) {
      const i = rows.findIndex((r) => r.index === featureIndex);
      if (i >= 0) return page * PAGE_SIZE + i;
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
      await loadPage(Math.floor(target / PAGE_SIZE));
      const row = rowAt(target);
      if (row) {
        selected.value = target;
        return row.index;
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

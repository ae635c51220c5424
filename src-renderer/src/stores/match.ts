import { defineStore } from 'pinia';
import { markRaw, ref, shallowRef } from 'vue';
import type { ApiErrorPayload, FeatureCategory, FeatureDetail, FeatureMatches, IndexSummary, MatchListKind, MatchListPage, MatchPairDetail, MatchProgress, MatchSummary } from '@contract';
import { useStoreClient } from '../api/storeClient';
import { describeError } from '../api/studioError';

export interface RowCard {
  /** Item ids of the strongest exemplars, for thumbnails. */
  thumbs: number[];
  /** The most common exemplar label and its share, e.g. "beach 9/16". */
  label: string | null;
  category: FeatureCategory | null;
  tags: string[];
}

export const cardKey = (indexId: string, feature: number) => `${indexId}:${feature}`;

/**
 * Cross-model matching between the current index (side a) and another (side b): the saved run,
 * the selected feature's ranked matches, the two exemplar grids and the mutual / no-counterpart
 * lists. Every load carries a request id so a slow answer never overwrites a newer selection.
 */
export const useMatchStore = defineStore('match', () => {
  const client = useStoreClient();

  const other = shallowRef<IndexSummary | null>(null);
  const summary = shallowRef<MatchSummary | null>(null);
  const runs = shallowRef<{ path: string; name: string; createdAt: string }[]>([]);
  const error = ref<ApiErrorPayload | null>(null);
  const running = ref(false);
  /** Progress events of the running match (from the worker, through the host's event stream). */
  const progress = shallowRef<MatchProgress | null>(null);

  const matches = shallowRef<FeatureMatches | null>(null);
  const matchesError = ref<ApiErrorPayload | null>(null);
  const detailA = shallowRef<FeatureDetail | null>(null);
  const detailB = shallowRef<FeatureDetail | null>(null);
  const pair = shallowRef<MatchPairDetail | null>(null);

  const list = shallowRef<MatchListPage | null>(null);
  const listError = ref<ApiErrorPayload | null>(null);

  /** What a list row shows of a feature besides its number: thumbnails, top label, category and tags. */
  const cards = ref<Record<string, RowCard>>({});
  const cardLoading = new Set<string>();

  let selectRequest = 0;
  let listRequest = 0;
  let pairRequest = 0;

  async function loadRuns(indexId: string): Promise<void> {
    try {
      runs.value = markRaw(await client.matchRuns({ indexId }));
    } catch {
      runs.value = [];
    }
  }

  /** Opens the other index by path and reads the saved match, if any. */
  async function openOther(indexId: string, path: string): Promise<IndexSummary | null> {
    error.value = null;
    try {
      const s = await client.openIndex({ path });
      other.value = markRaw(s);
      summary.value = await client.matchSummary({ indexId, otherId: s.id });
      return s;
    } catch (e) {
      error.value = describeError(e);
      return null;
    }
  }

  async function setOtherById(indexId: string, otherId: string): Promise<void> {
    if (other.value?.id === otherId && summary.value) return;
    error.value = null;
    try {
      other.value = markRaw(await client.indexSummary({ indexId: otherId }));
      summary.value = await client.matchSummary({ indexId, otherId });
    } catch (e) {
      error.value = describeError(e);
    }
  }

  async function run(indexId: string): Promise<void> {
    if (!other.value) return;
    running.value = true;
    error.value = null;
    progress.value = null;
    const otherId = other.value.id;
    const off = client.onEvent((event) => {
      if (event.type === 'match-progress' && event.progress.indexId === indexId && event.progress.otherId === otherId) progress.value = event.progress;
    });
    try {
      summary.value = markRaw(await client.matchIndexes({ indexId, otherId }));
      await loadRuns(indexId);
    } catch (e) {
      // A cancel the user asked for is not a failure.
      const described = describeError(e);
      if (described.code !== 'cancelled') error.value = described;
    } finally {
      off();
      running.value = false;
      progress.value = null;
    }
  }

  /** Stops the running match; the previous result, if any, stays. */
  async function cancel(): Promise<void> {
    if (running.value) await client.cancelMatch();
  }

  /** Selects a feature of side `side` ('a' = this index): its matches, and the top match's grid. */
  async function select(indexId: string, side: 'a' | 'b', feature: number, partner: number | null): Promise<void> {
    if (!other.value) return;
    const id = ++selectRequest;
    const [from, to] = side === 'a' ? [indexId, other.value.id] : [other.value.id, indexId];
    matchesError.value = null;
    try {
      const m = await client.featureMatches({ indexId: from, otherId: to, feature, limit: 20 });
      if (id !== selectRequest) return;
      matches.value = markRaw(m);
      const chosen = partner ?? m.matches[0]?.other ?? null;
      const [dFrom, dTo] = await Promise.all([
        client.featureDetail({ indexId: from, feature }),
        chosen === null ? Promise.resolve(null) : client.featureDetail({ indexId: to, feature: chosen }),
      ]);
      if (id !== selectRequest) return;
      if (side === 'a') {
        detailA.value = markRaw(dFrom);
        detailB.value = dTo && markRaw(dTo);
      } else {
        detailB.value = markRaw(dFrom);
        detailA.value = dTo && markRaw(dTo);
      }
      void loadPair(indexId, side === 'a' ? feature : chosen, side === 'a' ? chosen : feature);
    } catch (e) {
      if (id !== selectRequest) return;
      matchesError.value = describeError(e);
    }
  }

  async function loadPair(indexId: string, a: number | null, b: number | null): Promise<void> {
    const id = ++pairRequest;
    pair.value = null;
    if (a === null || b === null || !other.value) return;
    try {
      const p = await client.matchPair({ indexId, otherId: other.value.id, feature: a, other: b });
      if (id === pairRequest) pair.value = markRaw(p);
    } catch {
      if (id === pairRequest) pair.value = null;
    }
  }

  async function loadList(
    indexId: string,
    kind: MatchListKind,
    sort: 'score' | 'feature' | 'lift',
    desc: boolean,
    threshold: number,
    minCoActive = 1,
  ): Promise<void> {
    if (!other.value || !summary.value) return;
    const id = ++listRequest;
    listError.value = null;
    try {
      const page = await client.matchList({ indexId, otherId: other.value.id, kind, sort, desc, threshold, minCoActive, offset: 0, limit: 500 });
      if (id === listRequest) list.value = markRaw(page);
    } catch (e) {
      if (id === listRequest) listError.value = describeError(e);
    }
  }

  /** Loads the cards of these features (cached per index and feature), a few requests at a time. */
  async function loadCards(indexId: string, features: number[]): Promise<void> {
    const todo = features.filter((f) => f >= 0 && !cards.value[cardKey(indexId, f)] && !cardLoading.has(cardKey(indexId, f)));
    for (const f of todo) cardLoading.add(cardKey(indexId, f));
    const worker = async () => {
      for (let f = todo.shift(); f !== undefined; f = todo.shift()) {
        const key = cardKey(indexId, f);
        try {
          const d = await client.featureDetail({ indexId, feature: f });
          const top = d.labelCounts[0];
          cards.value[key] = {
            thumbs: d.exemplars.slice(0, 3).map((e) => e.itemId),
            label: top ? `${top.label} ${top.count}/${d.exemplars.length}` : null,
            category: d.tags.category,
            tags: d.tags.tags,
          };
        } catch {
          // A row without its card still shows its numbers.
        } finally {
          cardLoading.delete(key);
        }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  }

  function reset(): void {
    other.value = null;
    summary.value = null;
    matches.value = null;
    detailA.value = null;
    detailB.value = null;
    pair.value = null;
    list.value = null;
  }

  return {
    other, summary, runs, error, running, progress, matches, matchesError, detailA, detailB, pair, list, listError, cancel,
    loadRuns, openOther, setOtherById, run, select, loadList, reset, cards, loadCards,
  };
});

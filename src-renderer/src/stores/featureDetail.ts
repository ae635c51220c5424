import { defineStore } from 'pinia';
import { markRaw, ref, shallowRef } from 'vue';
import type { ApiErrorPayload, FeatureDetail } from '@contract';
import { useStoreClient } from '../api/storeClient';
import { describeError } from '../api/studioError';
import { warmImages } from '../lib/warmImages';

/** Details kept for quick back-and-forth between neighbouring features. */
const CACHE_SIZE = 24;

/** One feature's detail (stats, exemplars with patch maps, label breakdown). */
export const useFeatureDetailStore = defineStore('feature', () => {
  const client = useStoreClient();

  const detail = shallowRef<FeatureDetail | null>(null);
  const loading = ref(false);
  const error = ref<ApiErrorPayload | null>(null);
  /** Which feature the view asked for last (detail may still be the previous one while loading). */
  const requested = ref<{ indexId: string; feature: number } | null>(null);
  /** Heatmap display, kept while stepping through features. */
  const overlayVisible = ref(true);
  /**
   * Exemplars across activation ranges (RangeRows), kept while stepping through features. Shut
   * by default: the rows are extra thumbnails to load, and the top-k grid stays the page's tiles.
   */
  const rangesVisible = ref(false);

  let requestId = 0;
  const cache = new Map<string, FeatureDetail>();
  const cacheKey = (indexId: string, feature: number) => `${indexId}\u0000${feature}`;

  function remember(key: string, value: FeatureDetail): void {
    cache.delete(key);
    cache.set(key, value);
    if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  }

  async function fetchDetail(indexId: string, feature: number): Promise<FeatureDetail> {
    const key = cacheKey(indexId, feature);
    const hit = cache.get(key);
    if (hit) return hit;
    const result = markRaw(await client.featureDetail({ indexId, feature }));
    remember(key, result);
    return result;
  }

  /** Shows a feature; answers for features asked earlier are dropped. */
  async function load(indexId: string, feature: number): Promise<void> {
    const id = ++requestId;
    requested.value = { indexId, feature };
    loading.value = true;
    error.value = null;
    try {
      const result = await fetchDetail(indexId, feature);
      if (id !== requestId) return;
      warmImages(result.exemplars.map((e) => client.thumbnailUrl(indexId, e.itemId)));
      detail.value = result;
    } catch (e) {
      if (id !== requestId) return;
      detail.value = null;
      error.value = describeError(e);
    } finally {
      if (id === requestId) loading.value = false;
    }
  }

  /**
   * Warms the cache for a feature the user is likely to open next, its exemplar thumbnails
   * included (an on-demand index makes them then); failures are ignored.
   */
  function prefetch(indexId: string, feature: number): void {
    fetchDetail(indexId, feature)
      .then((r) => warmImages(r.exemplars.map((e) => client.thumbnailUrl(indexId, e.itemId))))
      .catch(() => undefined);
  }

  return { detail, loading, error, requested, overlayVisible, rangesVisible, load, prefetch };
});

import { defineStore } from 'pinia';
import { markRaw, ref, shallowRef } from 'vue';
import type { ApiErrorPayload, PatchQueryResult, QueryImage, QueryImageSource } from '@contract';
import { useStoreClient } from '../api/storeClient';
import { describeError } from '../api/studioError';
import { mapSelection } from '../lib/gridMapping';

/**
 * "Ask from an image": the loaded image (one view per model), the selected patches on the first
 * model's grid, and the ranked features per model. The second model's selection is the first's
 * mapped through the source image by area. Answers to superseded requests are dropped.
 */
export const useQueryStore = defineStore('query', () => {
  const client = useStoreClient();

  const image = shallowRef<QueryImage | null>(null);
  /** Where the current image came from (a path or its bytes): the intervention view reopens it. */
  const source = shallowRef<QueryImageSource | null>(null);
  const loading = ref(false);
  const error = ref<ApiErrorPayload | null>(null);
  /** Selected patches of the first view, as row * cols + col. */
  const selected = ref<Set<number>>(new Set());
  const results = shallowRef<Record<string, PatchQueryResult>>({});
  const querying = ref(false);
  let loadRequest = 0;
  let queryRequest = 0;

  async function load(imageSource: QueryImageSource, indexIds: string[]): Promise<void> {
    const id = ++loadRequest;
    loading.value = true;
    error.value = null;
    try {
      const img = await client.loadQueryImage({ image: imageSource, indexIds });
      if (id !== loadRequest) return;
      // Same image on the same first model (a second model added or removed): keep the selection.
      const prev = image.value;
      const keep = prev !== null && prev.imageId === img.imageId && prev.views[0]?.indexId === img.views[0]?.indexId;
      image.value = markRaw(img);
      source.value = markRaw(imageSource);
      results.value = {};
      if (keep && selected.value.size > 0) void runQuery();
      else selected.value = new Set();
    } catch (e) {
      if (id !== loadRequest || describeError(e).code === 'superseded') return;
      error.value = describeError(e);
    } finally {
      if (id === loadRequest) loading.value = false;
    }
  }

  function setSelection(next: Set<number>): void {
    selected.value = next;
    void runQuery();
  }

  async function runQuery(): Promise<void> {
    const img = image.value;
    if (!img) return;
    const id = ++queryRequest;
    const first = img.views[0]!;
    const [, cols] = first.grid;
    const patches = [...selected.value].sort((a, b) => a - b).map((p) => [Math.floor(p / cols), p % cols] as [number, number]);
    if (patches.length === 0) {
      results.value = {};
      return;
    }
    querying.value = true;
    try {
      const answers = await Promise.all(
        img.views.map((v, i) => {
          if (i === 0) return client.queryPatches({ imageId: img.imageId, indexId: v.indexId, patches, limit: 40 });
          const mapped = mapSelection(patches, first, v);
          return client.queryPatches({ imageId: img.imageId, indexId: v.indexId, patches: mapped.patches, weights: mapped.weights, limit: 40 });
        }),
      );
      if (id !== queryRequest) return;
      results.value = Object.fromEntries(answers.map((a) => [a.indexId, markRaw(a)]));
      error.value = null;
    } catch (e) {
      if (id !== queryRequest || describeError(e).code === 'superseded') return;
      error.value = describeError(e);
    } finally {
      if (id === queryRequest) querying.value = false;
    }
  }

  return { image, source, loading, error, selected, results, querying, load, setSelection, runQuery };
});

import { defineStore } from 'pinia';
import { markRaw, ref, shallowRef } from 'vue';
import type { ApiErrorPayload, IndexSummary, ScatterData, SkippedItem } from '@contract';
import { useStoreClient } from '../api/storeClient';
import { describeError } from '../api/studioError';
import { rememberIndexNames } from '../lib/featureIdInput';
import { indexNameProblem } from '@contract';

/**
 * The open index: its summary, the frequency/mean scatter and the list of skipped files.
 * Each load carries a request id; an answer that arrives after a newer request is dropped, so a
 * slow reply for an index the user already left never overwrites the current one.
 */
export const useIndexStore = defineStore('index', () => {
  const client = useStoreClient();

  const summary = shallowRef<IndexSummary | null>(null);
  const summaryError = ref<ApiErrorPayload | null>(null);
  const opening = ref(false);
  let summaryRequest = 0;

  const scatter = shallowRef<ScatterData | null>(null);
  const scatterFor = ref<string | null>(null);
  const scatterError = ref<ApiErrorPayload | null>(null);
  let scatterRequest = 0;

  const skipped = shallowRef<SkippedItem[] | null>(null);
  const skippedFor = ref<string | null>(null);
  const skippedError = ref<ApiErrorPayload | null>(null);
  let skippedRequest = 0;

  function setSummary(next: IndexSummary): void {
    // Another index's scatter and skipped list go; this index's, asked for with the summary, stay.
    if (scatterFor.value !== next.id) {
      scatter.value = null;
      scatterFor.value = null;
    }
    if (skippedFor.value !== next.id) {
      skipped.value = null;
      skippedFor.value = null;
    }
    summary.value = markRaw(next);
    summaryError.value = null;
    rememberIndexNames(next);
  }

  const renameError = ref<ApiErrorPayload | null>(null);

  /** Renames the current index (stored in it); true when the host accepted the name. */
  async function rename(indexId: string, name: string): Promise<boolean> {
    const problem = indexNameProblem(name);
    if (problem) {
      renameError.value = { code: 'bad-request', message: problem };
      return false;
    }
    renameError.value = null;
    try {
      const next = await client.renameIndex({ indexId, name: name.trim() });
      if (summary.value?.id === indexId) setSummary(next);
      else rememberIndexNames(next);
      return true;
    } catch (e) {
      renameError.value = describeError(e);
      return false;
    }
  }

  /** Opens an index folder; resolves to its summary, or null with summaryError set. */
  async function openPath(path: string): Promise<IndexSummary | null> {
    const id = ++summaryRequest;
    opening.value = true;
    try {
      const result = await client.openIndex({ path });
      if (id !== summaryRequest) return null;
      setSummary(result);
      return result;
    } catch (e) {
      if (id === summaryRequest) summaryError.value = describeError(e);
      return null;
    } finally {
      if (id === summaryRequest) opening.value = false;
    }
  }

  /** Makes `indexId` the current index (a route may be entered directly, e.g. after reload). */
  async function ensure(indexId: string): Promise<IndexSummary | null> {
    if (summary.value?.id === indexId) return summary.value;
    const id = ++summaryRequest;
    opening.value = true;
    summaryError.value = null;
    try {
      const result = await client.indexSummary({ indexId });
      if (id !== summaryRequest) return null;
      setSummary(result);
      return result;
    } catch (e) {
      if (id === summaryRequest) summaryError.value = describeError(e);
      return null;
    } finally {
      if (id === summaryRequest) opening.value = false;
    }
  }

  async function loadScatter(indexId: string): Promise<void> {
    if (scatterFor.value === indexId && scatter.value) return;
    const id = ++scatterRequest;
    scatterError.value = null;
    try {
      const data = await client.scatter({ indexId });
      if (id !== scatterRequest) return;
      scatter.value = markRaw(data);
      scatterFor.value = indexId;
    } catch (e) {
      if (id === scatterRequest) scatterError.value = describeError(e);
    }
  }

  async function loadSkipped(indexId: string): Promise<void> {
    if (skippedFor.value === indexId && skipped.value) return;
    const id = ++skippedRequest;
    skippedError.value = null;
    try {
      const items = await client.skippedItems({ indexId });
      if (id !== skippedRequest) return;
      skipped.value = markRaw(items);
      skippedFor.value = indexId;
    } catch (e) {
      if (id === skippedRequest) skippedError.value = describeError(e);
    }
  }

  return {
    summary,
    summaryError,
    opening,
    scatter,
    scatterError,
    skipped,
    skippedError,
    renameError,
    openPath,
    ensure,
    rename,
    loadScatter,
    loadSkipped,
  };
});

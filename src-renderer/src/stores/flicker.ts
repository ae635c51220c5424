import { defineStore } from 'pinia';
import { markRaw, ref, shallowRef } from 'vue';
import type { ApiErrorPayload, FlickerFeature, ClosestFeature, FeatureRow, IndexSummary, OpenClip } from '@contract';
import { useStoreClient } from '../api/storeClient';
import { describeError } from '../api/studioError';

/** What the flicker view shows for one SAE: the chosen feature over the clip and its neighbours in the other SAE. */
export interface FlickerPane {
  indexId: string;
  feature: number | null;
  data: FlickerFeature | null;
  /** The index's own row for the feature (its stability numbers over the whole dataset, when it has them). */
  row: FeatureRow | null;
  closest: ClosestFeature[];
  error: ApiErrorPayload | null;
}

/** Where a clip comes from: an item of the index's dataset (relative path) or any path. */
export interface ClipSource {
  item?: string;
  path?: string;
}

/** A relative route value is an item of the dataset; an absolute one is any path on the host. */
export function clipSourceOf(value: string): ClipSource {
  return /^([a-zA-Z]:[\\/]|[\\/]|~)/.test(value) ? { path: value } : { item: value };
}

/**
 * Why index `b` cannot be the flicker view's second SAE beside `a`, or null when it can: the clip
 * runs once through the backbone to the layer and both SAEs read those activations, so they must
 * share the backbone, the layer and its width; the same dataset keeps the "whole index" numbers
 * comparable.
 */
export function incompatibility(a: IndexSummary, b: IndexSummary): string | null {
  if (a.model.name !== b.model.name || a.model.manifestPath !== b.model.manifestPath) return `another backbone (${b.model.name})`;
  if (a.model.layer !== b.model.layer) return `another layer (${b.model.layer}, not ${a.model.layer})`;
  if (a.model.dModel !== b.model.dModel) return `another width (${b.model.dModel}, not ${a.model.dModel})`;
  const da = (a as { dataset?: string }).dataset;
  const db = (b as { dataset?: string }).dataset;
  if (da !== undefined && db !== undefined && da !== db) return `another dataset (${db}, not ${da})`;
  if (a.kind !== b.kind) return `built from ${b.kind === 'videos' ? 'clips' : 'images'}, not ${a.kind === 'videos' ? 'clips' : 'images'}`;
  return null;
}

/** The help text's frame count: the index's own segment count, else the 16 the studio samples by default. */
export function framesSampled(summary: Pick<IndexSummary, 'framesPerClip'> | null): number {
  return summary?.framesPerClip ?? 16;
}

/**
 * The flicker view: one clip run through one or two SAEs on the same backbone layer,
 * the frame being shown (shared, so both sides stay synchronised) and each side's feature.
 * Answers to superseded requests are dropped, like the query store.
 */
export const useFlickerStore = defineStore('flicker', () => {
  const client = useStoreClient();

  const clip = shallowRef<OpenClip | null>(null);
  const clipKey = ref<string | null>(null);
  const loading = ref(false);
  const error = ref<ApiErrorPayload | null>(null);
  const frame = ref(0);
  const panes = ref<Record<string, FlickerPane>>({});
  const summaries = shallowRef<Record<string, IndexSummary>>({});
  let openRequest = 0;
  const featureRequests = new Map<string, number>();

  function keyOf(indexId: string, source: ClipSource, otherId: string | null): string {
    return JSON.stringify([indexId, source.item ?? null, source.path ?? null, otherId]);
  }

  async function summaryOf(indexId: string): Promise<IndexSummary | null> {
    if (summaries.value[indexId]) return summaries.value[indexId]!;
    try {
      const s = await client.indexSummary({ indexId });
      summaries.value = { ...summaries.value, [indexId]: markRaw(s) };
      return s;
    } catch {
      return null;
    }
  }

  /** Opens a clip for the index (and a second index side by side); a no-op when it is already open. */
  async function open(indexId: string, source: ClipSource, otherId: string | null): Promise<boolean> {
    const key = keyOf(indexId, source, otherId);
    if (clipKey.value === key && clip.value) return true;
    const id = ++openRequest;
    loading.value = true;
    error.value = null;
    try {
      const c = await client.openClip({ indexId, ...source, otherIndexId: otherId });
      if (id !== openRequest) return false;
      const sameClip = clip.value?.clipId === c.clipId;
      const sameSaes = sameClip && clip.value!.saes.map((s) => s.indexId).join('\n') === c.saes.map((s) => s.indexId).join('\n');
      clip.value = markRaw(c);
      clipKey.value = key;
      if (!sameClip) frame.value = 0;
      frame.value = Math.min(frame.value, c.frames - 1);
      const next: Record<string, FlickerPane> = {};
      for (const s of c.saes) next[s.indexId] = panes.value[s.indexId] && sameClip ? panes.value[s.indexId]! : { indexId: s.indexId, feature: null, data: null, row: null, closest: [], error: null };
      panes.value = next;
      // A second SAE added to (or taken from) the same clip: the kept side's "closest" suggestions
      // were computed against the previous set and are recomputed.
      if (sameClip && !sameSaes) {
        for (const s of c.saes) {
          const p = next[s.indexId]!;
          if (p.feature === null) continue;
          next[s.indexId] = { ...p, closest: [] };
          void refreshClosest(s.indexId, null);
        }
        panes.value = { ...next };
      }
      void Promise.all(c.saes.map((s) => summaryOf(s.indexId)));
      return true;
    } catch (e) {
      if (id !== openRequest || describeError(e).code === 'superseded') return false;
      error.value = describeError(e);
      // Only the second SAE changed (same index and clip): keep the clip on screen with the error.
      const prev = clipKey.value ? (JSON.parse(clipKey.value) as unknown[]) : null;
      const sameClip = prev !== null && JSON.stringify(prev.slice(0, 3)) === JSON.stringify(JSON.parse(key).slice(0, 3));
      if (!sameClip) {
        clip.value = null;
        clipKey.value = null;
        panes.value = {};
      }
      return false;
    } finally {
      if (id === openRequest) loading.value = false;
    }
  }

  function close(): void {
    openRequest++;
    clip.value = null;
    clipKey.value = null;
    panes.value = {};
    loading.value = false;
    error.value = null;
  }

  /** Shows `feature` of one SAE: its maps and trace, its index row and the other SAE's closest features. */
  async function setFeature(indexId: string, feature: number | null, maxOther: number | null = null): Promise<void> {
    const c = clip.value;
    const pane = panes.value[indexId];
    if (!c || !pane) return;
    if (pane.feature === feature && (pane.data || feature === null)) return;
    const id = (featureRequests.get(indexId) ?? 0) + 1;
    featureRequests.set(indexId, id);
    panes.value = { ...panes.value, [indexId]: { ...pane, feature, data: null, row: null, closest: [], error: null } };
    if (feature === null) return;
    const other = c.saes.find((s) => s.indexId !== indexId)?.indexId ?? null;
    try {
      const [data, page, closest] = await Promise.all([
        client.flickerFeature({ clipId: c.clipId, indexId, feature }),
        client.queryFeatures({ indexId, sort: 'index', desc: false, offset: 0, limit: 1, filter: { minIndex: feature, maxIndex: feature } }).catch(() => null),
        other ? client.closestFeatures({ clipId: c.clipId, indexId, feature, otherIndexId: other, limit: 5, maxFeature: maxOther }).catch(() => []) : Promise.resolve([]),
      ]);
      if (featureRequests.get(indexId) !== id || clip.value !== c) return;
      panes.value = {
        ...panes.value,
        [indexId]: { indexId, feature, data: markRaw(data), row: page?.rows.find((r) => r.feature === feature) ?? null, closest: markRaw(closest), error: null },
      };
    } catch (e) {
      if (featureRequests.get(indexId) !== id || describeError(e).code === 'superseded') return;
      panes.value = { ...panes.value, [indexId]: { ...panes.value[indexId]!, error: describeError(e) } };
    }
  }

  /** Recomputes the closest features (e.g. after the other side's group level changed). */
  async function refreshClosest(indexId: string, maxOther: number | null): Promise<void> {
    const c = clip.value;
    const pane = panes.value[indexId];
    const other = c?.saes.find((s) => s.indexId !== indexId)?.indexId;
    if (!c || !pane || pane.feature === null || !other) return;
    const feature = pane.feature;
    try {
      const closest = await client.closestFeatures({ clipId: c.clipId, indexId, feature, otherIndexId: other, limit: 5, maxFeature: maxOther });
      const now = panes.value[indexId];
      if (clip.value !== c || now?.feature !== feature) return;
      panes.value = { ...panes.value, [indexId]: { ...now, closest: markRaw(closest) } };
    } catch {
      // keep the previous suggestions
    }
  }

  function seek(t: number): void {
    const c = clip.value;
    if (!c) return;
    frame.value = Math.max(0, Math.min(c.frames - 1, Math.round(t)));
  }

  function step(delta: number): void {
    const c = clip.value;
    if (!c) return;
    frame.value = (frame.value + delta + c.frames) % c.frames;
  }

  return { clip, loading, error, frame, panes, summaries, open, close, setFeature, refreshClosest, seek, step };
});

import { defineStore } from 'pinia';
import { computed, markRaw, ref, shallowRef } from 'vue';
import type { ApiErrorPayload, DemoStatus, InterveneResult, InterveneSession, QueryImageSource } from '@contract';
import { useStoreClient } from '../api/storeClient';
import { describeError } from '../api/studioError';

/** One feature under test: its slider value, a multiple of its max activation in the index. */
export interface FeatureSlider {
  feature: number;
  multiple: number;
  /** Off: kept in the list but not applied (to compare with and without it). */
  enabled: boolean;
}

/** The service refuses more at once; more sliders stop being a readable experiment anyway. */
export const MAX_FEATURES = 8;
export const MIN_MULTIPLE = -3;
export const MAX_MULTIPLE = 3;

/**
 * The head the Intervene view starts with on an index of the built demo: the demo's first head
 * fitted on the same backbone (its colour classifier), or null for any other index. The demo's
 * heads are matched by backbone manifest, since a head only fits the width it was fitted on.
 */
export function demoHeadFor(status: Pick<DemoStatus, 'built' | 'heads'> | null, manifestPath: string | null | undefined): string | null {
  if (!status?.built || !manifestPath) return null;
  return status.heads?.find((h) => h.backbone === manifestPath)?.path ?? null;
}

/**
 * "Test a feature causally": a task head and an image opened on an index's models (a session in
 * the analysis worker), the patches to edit (all by default), the features with their sliders, and
 * the head's output before and after. While a run is in flight, further changes only mark the
 * state dirty; when it returns, one more run goes out with the latest state. So dragging a slider
 * never queues stale work, and the view updates as fast as the worker answers (latest wins).
 */
export const useInterveneStore = defineStore('intervene', () => {
  const client = useStoreClient();

  const indexId = ref<string | null>(null);
  const head = ref('');
  const source = shallowRef<QueryImageSource | null>(null);
  const session = shallowRef<InterveneSession | null>(null);
  const opening = ref(false);
  const openError = ref<ApiErrorPayload | null>(null);
  /** Selected patches, row * cols + col. */
  const selected = ref<Set<number>>(new Set());
  const features = ref<FeatureSlider[]>([]);
  const result = shallowRef<InterveneResult | null>(null);
  const running = ref(false);
  const runError = ref<ApiErrorPayload | null>(null);
  /** Patches to select once the next session opens (arriving from the query view). */
  let pendingPatches: number[] | null = null;
  let openRequest = 0;
  let inFlight = false;
  let dirty = false;

  const patchCount = computed(() => (session.value ? session.value.grid[0] * session.value.grid[1] : 0));
  const allSelected = computed(() => patchCount.value > 0 && selected.value.size === patchCount.value);
  /** Each feature's max in the index, as answers reported it (for activation labels). */
  const maxOf = ref<Record<number, number>>({});

  /** Switches to another index: its sessions and features do not carry over. */
  function useIndex(id: string): void {
    if (indexId.value === id) return;
    indexId.value = id;
    openRequest++;
    session.value = null;
    result.value = null;
    features.value = [];
    maxOf.value = {};
    source.value = null;
    selected.value = new Set();
    openError.value = null;
    runError.value = null;
    opening.value = false;
  }

  /** Features and patches to start from (the query view's "Test causally"). */
  function preset(opts: { features?: number[]; patches?: number[] | null }): void {
    if (opts.features) {
      features.value = [...new Set(opts.features)].slice(0, MAX_FEATURES).map((feature) => ({ feature, multiple: 0, enabled: true }));
    }
    if (opts.patches !== undefined) pendingPatches = opts.patches;
  }

  function setHead(path: string): Promise<void> {
    head.value = path.trim();
    return open();
  }

  function setImage(next: QueryImageSource): Promise<void> {
    source.value = markRaw(next);
    return open();
  }

  async function open(): Promise<void> {
    const id = ++openRequest;
    if (!indexId.value || !head.value || !source.value) return;
    opening.value = true;
    openError.value = null;
    try {
      const s = await client.interveneOpen({ indexId: indexId.value, head: head.value, image: source.value });
      if (id !== openRequest) return;
      const total = s.grid[0] * s.grid[1];
      const prev = session.value;
      // Same grid (another head, or the same image again): keep the selection the user made.
      const keep = prev !== null && prev.grid[0] === s.grid[0] && prev.grid[1] === s.grid[1] && selected.value.size > 0;
      if (pendingPatches) {
        const valid = pendingPatches.filter((p) => Number.isInteger(p) && p >= 0 && p < total);
        selected.value = new Set(valid.length > 0 ? valid : Array.from({ length: total }, (_, p) => p));
        pendingPatches = null;
      } else if (!keep) {
        selected.value = new Set(Array.from({ length: total }, (_, p) => p));
      }
      session.value = markRaw(s);
      result.value = null;
      runError.value = null;
      void run();
    } catch (e) {
      if (id !== openRequest || describeError(e).code === 'superseded') return;
      openError.value = describeError(e);
      session.value = null;
      result.value = null;
    } finally {
      if (id === openRequest) opening.value = false;
    }
  }

  function setSelection(next: Set<number>): void {
    selected.value = next;
    void run();
  }

  function selectAll(): void {
    setSelection(new Set(Array.from({ length: patchCount.value }, (_, p) => p)));
  }

  /** Adds a feature at ×0 (suppressed); false when it is already there or the list is full. */
  function addFeature(feature: number): boolean {
    if (!Number.isInteger(feature) || feature < 0) return false;
    if (features.value.some((f) => f.feature === feature) || features.value.length >= MAX_FEATURES) return false;
    features.value = [...features.value, { feature, multiple: 0, enabled: true }];
    void run();
    return true;
  }

  function removeFeature(feature: number): void {
    features.value = features.value.filter((f) => f.feature !== feature);
    void run();
  }

  function update(feature: number, patch: Partial<Omit<FeatureSlider, 'feature'>>): void {
    features.value = features.value.map((f) => (f.feature === feature ? { ...f, ...patch } : f));
    void run();
  }

  function setMultiple(feature: number, multiple: number): void {
    update(feature, { multiple: Math.max(MIN_MULTIPLE, Math.min(MAX_MULTIPLE, multiple)) });
  }

  function setEnabled(feature: number, enabled: boolean): void {
    update(feature, { enabled });
  }

  function request() {
    const s = session.value!;
    const patches = allSelected.value ? null : [...selected.value].sort((a, b) => a - b);
    // No patch selected: nothing to edit, so the answer is the unedited output on both sides.
    const edits = selected.value.size === 0 ? [] : features.value.filter((f) => f.enabled).map((f) => ({ feature: f.feature, multiple: f.multiple }));
    return { sessionId: s.sessionId, edits, patches: edits.length === 0 ? null : patches };
  }

  async function run(): Promise<void> {
    if (!session.value) return;
    if (inFlight) {
      dirty = true;
      return;
    }
    inFlight = true;
    running.value = true;
    try {
      do {
        dirty = false;
        const s: InterveneSession | null = session.value;
        if (!s) break;
        try {
          const r = await client.interveneRun(request());
          if (s !== session.value) continue;
          result.value = markRaw(r);
          runError.value = null;
          if (r.edits.some((e) => maxOf.value[e.feature] !== e.max)) maxOf.value = { ...maxOf.value, ...Object.fromEntries(r.edits.map((e) => [e.feature, e.max])) };
        } catch (e) {
          const err = describeError(e);
          if (s === session.value && err.code !== 'superseded' && !dirty) runError.value = err;
        }
      } while (dirty);
    } finally {
      inFlight = false;
      running.value = false;
    }
  }

  return {
    indexId,
    head,
    source,
    session,
    opening,
    openError,
    selected,
    features,
    result,
    running,
    runError,
    patchCount,
    allSelected,
    maxOf,
    useIndex,
    preset,
    setHead,
    setImage,
    open,
    setSelection,
    selectAll,
    addFeature,
    removeFeature,
    setMultiple,
    setEnabled,
    run,
  };
});

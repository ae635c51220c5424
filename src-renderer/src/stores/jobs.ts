import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { ApiErrorPayload, IndexRequest, JobInfo } from '@contract';
import { useStoreClient } from '../api/storeClient';
import { describeError } from '../api/studioError';

const ACTIVE_STATES = new Set<JobInfo['state']>(['queued', 'running']);

export function isActive(job: JobInfo): boolean {
  return ACTIVE_STATES.has(job.state);
}

/**
 * Long-running work (indexing, the demo build). State comes from the event stream; listJobs() at start fills in
 * jobs that began before this window existed. Events that arrive while listJobs() is in flight
 * are newer than its snapshot, so the snapshot never overwrites them.
 */
export const useJobsStore = defineStore('jobs', () => {
  const client = useStoreClient();

  const byId = shallowRef<ReadonlyMap<string, JobInfo>>(new Map());
  const panelOpen = ref(false);
  const error = ref<ApiErrorPayload | null>(null);
  const cancelErrors = shallowRef<ReadonlyMap<string, ApiErrorPayload>>(new Map());
  let unsubscribe: (() => void) | null = null;
  let fromEvents = new Set<string>();

  /** Newest first. */
  const jobs = computed(() => [...byId.value.values()].sort((a, b) => b.startedAt.localeCompare(a.startedAt)));
  const active = computed(() => jobs.value.filter(isActive));

  function upsert(job: JobInfo): void {
    const next = new Map(byId.value);
    next.set(job.jobId, job);
    byId.value = next;
  }

  async function start(): Promise<void> {
    if (unsubscribe) return;
    fromEvents = new Set();
    unsubscribe = client.onEvent((event) => {
      if (event.type !== 'job') return;
      fromEvents.add(event.job.jobId);
      upsert(event.job);
    });
    try {
      const snapshot = await client.listJobs();
      const next = new Map(byId.value);
      for (const job of snapshot) if (!fromEvents.has(job.jobId)) next.set(job.jobId, job);
      byId.value = next;
      error.value = null;
    } catch (e) {
      error.value = describeError(e);
    }
  }

  function stop(): void {
    unsubscribe?.();
    unsubscribe = null;
  }

  /**
   * Starts indexing. The panel stays as it was: the form that started the job shows its progress
   * and the top bar's Jobs button shows that something runs (an opened panel covered the form).
   */
  async function startIndex(request: IndexRequest): Promise<JobInfo> {
    const job = await client.startIndex(request);
    if (!byId.value.has(job.jobId)) upsert(job);
    return job;
  }

  async function cancel(jobId: string): Promise<void> {
    const clear = new Map(cancelErrors.value);
    clear.delete(jobId);
    cancelErrors.value = clear;
    try {
      await client.cancelJob({ jobId });
    } catch (e) {
      const next = new Map(cancelErrors.value);
      next.set(jobId, describeError(e));
      cancelErrors.value = next;
    }
  }

  function job(jobId: string): JobInfo | undefined {
    return byId.value.get(jobId);
  }

  return { jobs, active, panelOpen, error, cancelErrors, start, stop, startIndex, cancel, job, upsert };
});

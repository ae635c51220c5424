import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { ApiErrorPayload, DemoStatus, JobInfo } from '@contract';
import { useStoreClient } from '../api/storeClient';
import { describeError } from '../api/studioError';
import { useJobsStore } from './jobs';

/**
 * The embedded demo: whether it is built, and its build job. The job itself lives in the jobs
 * store (events); this store only remembers which job is the demo's.
 */
export const useDemoStore = defineStore('demo', () => {
  const client = useStoreClient();
  const jobs = useJobsStore();
  const status = shallowRef<DemoStatus | null>(null);
  const error = ref<ApiErrorPayload | null>(null);
  const jobId = ref<string | null>(null);
  const starting = ref(false);

  const job = computed<JobInfo | null>(() => (jobId.value ? (jobs.job(jobId.value) ?? null) : null));

  async function refresh(): Promise<DemoStatus | null> {
    try {
      status.value = await client.demoStatus();
      if (status.value.jobId) jobId.value = status.value.jobId;
      error.value = null;
    } catch (e) {
      error.value = describeError(e);
    }
    return status.value;
  }

  async function build(): Promise<void> {
    starting.value = true;
    error.value = null;
    try {
      await jobs.start();
      const started = await client.buildDemo({});
      jobId.value = started.jobId;
      if (!jobs.job(started.jobId)) jobs.upsert(started);
    } catch (e) {
      error.value = describeError(e);
    } finally {
      starting.value = false;
    }
  }

  return { status, error, job, jobId, starting, refresh, build };
});

import type { ApiOf, jobsMethods } from '../../contract/index.js';
import type { JobManager } from '../jobs/jobManager.js';
import type { IndexRegistry } from './indexRegistry.js';

/** The jobs slice of the contract (contract/jobs.ts): index runs in worker threads. */
export function jobsDomain(indexes: IndexRegistry, jobs: JobManager): ApiOf<typeof jobsMethods> {
  return {
    async startIndex(req) {
      // A reader holding the output index (or a group member inside it) open would see a
      // half-written state: drop it.
      indexes.dropAt(req.out);
      return jobs.start(req);
    },
    async cancelJob({ jobId }) {
      jobs.cancel(jobId);
    },
    async listJobs() {
      return jobs.list();
    },
  };
}

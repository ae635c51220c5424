import { Worker } from 'node:worker_threads';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { IndexRequest, JobInfo } from '../../contract/index.js';
import { StudioError } from '../errors.js';
import type { FromWorker } from '../../worker/protocol.js';
import { indexWorkerSpec } from './workerEntry.js';

/**
 * Runs index jobs in worker threads, one fresh worker per job: a crashed worker fails its job
 * with a message (the index keeps its last checkpoint and resumes when started again) and the
 * next job gets a new worker.
 */
export class JobManager {
  private readonly jobs = new Map<string, JobInfo>();
  private readonly workers = new Map<string, Worker>();

  constructor(
    private readonly onChange: (job: JobInfo) => void,
    private readonly options: {
      checkpointIntervalMs?: number;
      /** Where the worker comes from (tests substitute one that crashes). */
      workerSpec?: () => { file: string; workerData: Record<string, unknown> };
    } = {},
  ) {}

  list(): JobInfo[] {
    return [...this.jobs.values()].sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  }

  get(jobId: string): JobInfo | undefined {
    return this.jobs.get(jobId);
  }

  start(request: IndexRequest): JobInfo {
    const out = path.resolve(request.out);
    for (const j of this.jobs.values()) {
      if (j.state === 'running' && j.out === out) {
        throw new StudioError('bad-request', `An indexing job is already writing to ${out}.`);
      }
    }
    const jobId = randomUUID();
    const job: JobInfo = {
      jobId,
      kind: 'index',
      title: `Index ${path.basename(request.data ?? request.shards ?? '')} → ${path.basename(out)}`,
      state: 'running',
      progress: { phase: 'preparing', done: 0, total: 0, skipped: 0, itemsPerSec: 0, etaSec: null },
      provider: null,
      out,
      error: null,
      startedAt: new Date().toISOString(),
    };
    this.jobs.set(jobId, job);
    const spec = (this.options.workerSpec ?? indexWorkerSpec)();
    const worker = new Worker(spec.file, { workerData: spec.workerData });
    this.workers.set(jobId, worker);
    let settled = false;
    const finish = (patch: Partial<JobInfo>) => {
      if (settled) return;
      settled = true;
      this.update(jobId, patch);
      this.workers.delete(jobId);
      void worker.terminate();
    };
    worker.on('message', (msg: FromWorker) => {
      if (msg.type === 'progress') this.update(jobId, { progress: msg.progress, provider: msg.provider });
      else if (msg.type === 'done') {
        const j = this.jobs.get(jobId)!;
        // A finished job shows its average speed over the whole run.
        const seconds = (Date.now() - Date.parse(j.startedAt)) / 1000;
        const total = j.progress.total;
        finish({
          state: 'done',
          provider: msg.provider,
          progress: { ...j.progress, phase: 'finalizing', done: total, etaSec: 0, skipped: msg.skipped, itemsPerSec: seconds > 0 ? total / seconds : 0 },
        });
      } else if (msg.type === 'failed') {
        finish({ state: msg.error.code === 'cancelled' ? 'cancelled' : 'failed', error: msg.error.message });
      }
    });
    worker.on('error', (err) => {
      finish({ state: 'failed', error: `The indexing worker crashed: ${err.message}. The index keeps its last checkpoint; start the job again to resume.` });
    });
    worker.on('exit', (code) => {
      finish({ state: 'failed', error: `The indexing worker stopped unexpectedly (exit code ${code}). Start the job again to resume from the last checkpoint.` });
    });
    worker.postMessage({ type: 'start', jobId, request, checkpointIntervalMs: this.options.checkpointIntervalMs });
    this.onChange(job);
    return { ...job };
  }

  cancel(jobId: string): void {
    const worker = this.workers.get(jobId);
    if (!worker) {
      if (!this.jobs.has(jobId)) throw new StudioError('not-found', `No job ${jobId}.`);
      return;
    }
    worker.postMessage({ type: 'cancel', jobId });
  }

  /** Resolves when the job leaves the running state. */
  wait(jobId: string): Promise<JobInfo> {
    return new Promise((resolve) => {
      const check = () => {
        const j = this.jobs.get(jobId);
        if (!j || j.state !== 'running') resolve(j!);
        else setTimeout(check, 50);
      };
      check();
    });
  }

  async close(): Promise<void> {
    await Promise.all([...this.workers.values()].map((w) => w.terminate()));
    this.workers.clear();
  }

  private update(jobId: string, patch: Partial<JobInfo>): void {
    const j = this.jobs.get(jobId);
    if (!j) return;
    Object.assign(j, patch);
    this.onChange({ ...j, progress: { ...j.progress } });
  }
}

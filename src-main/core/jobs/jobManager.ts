import { Worker } from 'node:worker_threads';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { DemoSize, IndexRequest, JobInfo } from '../../contract/index.js';
import { StudioError } from '../errors.js';
import type { FromWorker, ToWorker } from './indexProtocol.js';
import { indexWorkerSpec } from './workerEntry.js';

/**
 * Runs index jobs (and the demo build) in worker threads, one fresh worker per job: a crashed worker fails its job
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
    this.checkFree(out);
    return this.launch(
      { kind: 'index', title: `Index ${path.basename(request.data ?? request.shards ?? '')} → ${path.basename(out)}`, out },
      (jobId) => ({ type: 'start', jobId, request, checkpointIntervalMs: this.options.checkpointIntervalMs }),
    );
  }

  /** Builds the embedded demo into `out` (core/demo/buildDemo.ts) in a worker. */
  startDemo(out: string, size: DemoSize): JobInfo {
    const abs = path.resolve(out);
    this.checkFree(abs);
    return this.launch({ kind: 'demo', title: 'Build the demo', out: abs }, (jobId) => ({ type: 'demo', jobId, out: abs, size }));
  }

  private checkFree(out: string): void {
    for (const j of this.jobs.values()) {
      if (j.state === 'running' && j.out === out) {
        throw new StudioError('bad-request', `A job is already writing to ${out}.`);
      }
    }
  }

  private launch(what: Pick<JobInfo, 'kind' | 'title' | 'out'>, message: (jobId: string) => ToWorker): JobInfo {
    const jobId = randomUUID();
    const job: JobInfo = {
      jobId,
      ...what,
      state: 'running',
      progress: { phase: 'preparing', done: 0, total: 0, skipped: 0, itemsPerSec: 0, etaSec: null },
      provider: null,
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
          // What to open: the index (for the demo, the index it opens first).
          out: msg.out,
          provider: msg.provider,
          progress: { ...j.progress, phase: 'finalizing', done: total, etaSec: 0, skipped: msg.skipped, itemsPerSec: seconds > 0 && j.kind === 'index' ? total / seconds : 0 },
        });
      } else if (msg.type === 'failed') {
        finish({ state: msg.error.code === 'cancelled' ? 'cancelled' : 'failed', error: msg.error.message });
      }
    });
    const resumeHint = what.kind === 'demo' ? 'Start the demo again to continue from the last finished step.' : 'The index keeps its last checkpoint; start the job again to resume.';
    worker.on('error', (err) => {
      finish({ state: 'failed', error: `The worker crashed: ${err.message}. ${resumeHint}` });
    });
    worker.on('exit', (code) => {
      finish({ state: 'failed', error: `The worker stopped unexpectedly (exit code ${code}). ${resumeHint}` });
    });
    worker.postMessage(message(jobId));
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

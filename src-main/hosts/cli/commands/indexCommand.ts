import path from 'node:path';
import type { IndexRequest, JobInfo, StudioEvent } from '../../../contract/index.js';
import type { StudioBackend } from '../../../core/backend.js';
import { parseGroups } from '../parseGroups.js';
import { EXIT, errorMessage, withBackend, type CliDeps } from '../context.js';
import { formatCount, formatDuration } from '../progressLine.js';
import { multiDeviceIndex } from './multiDeviceIndex.js';
import { createJsonProgressReporter, createProgressReporter } from '../progressReporter.js';

// `studio index`: starts an indexing job in the service (which runs it on its worker), follows
// the job's events with a progress line, and maps the outcome to an exit code. Ctrl-C cancels
// the job; the service keeps finished batches, so the same command resumes it.

const FINAL_STATES = new Set<JobInfo['state']>(['done', 'failed', 'cancelled']);

type Outcome = { job: JobInfo; cancelRequested: boolean } | { forced: true };

/** Starts the job and resolves when it ends, or when the user presses Ctrl-C a second time. */
function runJob(backend: StudioBackend, request: IndexRequest, deps: CliDeps): Promise<Outcome> {
  const reporter = deps.env.STUDIO_PROGRESS === 'json' ? createJsonProgressReporter(deps.stderr, deps.now) : createProgressReporter(deps.stderr, deps.now);
  return new Promise<Outcome>((resolve, reject) => {
    let jobId: string | null = null;
    let cancelRequested = false;
    let settled = false;
    const early: JobInfo[] = [];

    const settle = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      reporter.finish();
      unsubscribe();
      stopInterrupt();
      resolve(outcome);
    };
    const cancel = () => {
      if (!jobId) return; // cancelled as soon as startIndex returns an id
      backend.cancelJob({ jobId }).catch((err: unknown) => {
        deps.stderr.write(`\nerror: could not cancel the job: ${errorMessage(err)}\n`);
      });
    };
    const onJob = (job: JobInfo) => {
      if (FINAL_STATES.has(job.state)) settle({ job, cancelRequested });
      else reporter.update(job.progress);
    };
    // Subscribe before starting, so events of a fast job are not missed.
    const unsubscribe = backend.onEvent((event: StudioEvent) => {
      if (event.type !== 'job') return;
      if (jobId === null) early.push(event.job);
      else if (event.job.jobId === jobId) onJob(event.job);
    });
    const stopInterrupt = deps.onInterrupt(() => {
      if (cancelRequested) {
        settle({ forced: true });
        return;
      }
      cancelRequested = true;
      reporter.finish();
      deps.stderr.write('Cancelling at the next batch boundary… (press Ctrl-C again to stop immediately)\n');
      cancel();
    });

    backend.startIndex(request).then(
      (job) => {
        jobId = job.jobId;
        if (cancelRequested) cancel();
        onJob(job);
        for (const queued of early.splice(0)) if (queued.jobId === jobId) onJob(queued);
      },
      (err: unknown) => {
        settled = true;
        unsubscribe();
        stopInterrupt();
        reject(err);
      },
    );
  });
}

export interface IndexOptions {
  model?: string;
  layer: string;
  /** One or more (repeated --sae). */
  sae: string | string[];
  data?: string;
  kind?: 'images' | 'videos';
  frames?: number;
  fps?: number;
  maxFrames?: number;
  labels?: string;
  shards?: string;
  images?: string;
  norm?: 'none' | 'scale' | 'constant_norm_rescale' | 'layer_norm';
  normScale?: number;
  groups?: string;
  shard?: string;
  /** Several devices: one part per device, merged at the end (multiDeviceIndex.ts). */
  devices?: string;
  out: string;
  topK?: number;
  batch?: number;
  memoryBudget?: number;
  provider?: IndexRequest['provider'];
  thumbnails?: IndexRequest['thumbnails'];
}

export async function indexCommand(options: IndexOptions, deps: CliDeps): Promise<number> {
  if (!options.shards && (!options.model || !options.data)) {
    deps.stderr.write('error: give --model and --data (images through a backbone), or --shards (saev activations)\n');
    return EXIT.usage;
  }
  if (options.devices) return multiDeviceIndex(options, options.devices, deps);
  const resolve = (p?: string) => (p ? path.resolve(p) : undefined);
  const saes = (Array.isArray(options.sae) ? options.sae : [options.sae]).map((p) => path.resolve(p));
  const request: IndexRequest = {
    model: resolve(options.model),
    layer: options.layer,
    sae: saes[0]!,
    ...(saes.length > 1 ? { saes: saes.slice(1) } : {}),
    ...(options.kind ? { kind: options.kind } : {}),
    ...(options.frames !== undefined ? { frames: options.frames } : {}),
    ...(options.fps !== undefined ? { fps: options.fps } : {}),
    ...(options.maxFrames !== undefined ? { maxFrames: options.maxFrames } : {}),
    ...(options.labels ? { labels: path.resolve(options.labels) } : {}),
    data: resolve(options.data),
    shards: resolve(options.shards),
    images: resolve(options.images),
    out: path.resolve(options.out),
    topK: options.topK,
    batch: options.batch,
    memoryBudget: options.memoryBudget,
    provider: options.provider,
    normalization: options.norm ? { mode: options.norm, scale: options.normScale ?? null } : undefined,
    ...(options.groups !== undefined ? { groups: parseGroups(options.groups) } : {}),
    ...(options.shard !== undefined ? { shard: options.shard } : {}),
    ...(options.thumbnails ? { thumbnails: options.thumbnails } : {}),
  };
  const started = deps.now();
  return withBackend(deps, {}, async (backend) => {
    const outcome = await runJob(backend, request, deps);
    const resumeHint = `Work done so far is kept in ${request.out}; run the same command again to resume.`;
    if ('forced' in outcome) {
      deps.stderr.write(`Stopped. ${resumeHint}\n`);
      return EXIT.interrupted;
    }
    const { job, cancelRequested } = outcome;
    if (job.state === 'cancelled') {
      deps.stderr.write(`Indexing was cancelled. ${resumeHint}\n`);
      return cancelRequested ? EXIT.interrupted : EXIT.failure;
    }
    if (job.state === 'failed') {
      deps.stderr.write(`error: ${job.error ?? 'indexing failed without a message'}\n`);
      return EXIT.failure;
    }
    const elapsed = formatDuration((deps.now() - started) / 1000);
    const provider = job.provider ?? 'unknown';
    try {
      const summary = await backend.openIndex({ path: request.out });
      deps.stdout.write(
        `Indexed ${formatCount(summary.items)} items (${formatCount(summary.skipped)} skipped) in ${elapsed} with provider ${provider}.\n` +
          `${summary.name}: ${formatCount(summary.features)} features (${formatCount(summary.dead)} dead, ${formatCount(summary.dense)} dense), ` +
          `${formatCount(summary.tokens)} patch tokens, mean L0 ${summary.l0Mean.toFixed(1)}.\n`,
      );
      for (const warning of summary.warnings ?? []) deps.stderr.write(`warning: ${warning}\n`);
      if (summary.group) {
        deps.stdout.write(`SAEs (one index each, pick with --sae NAME): ${summary.group.members.map((m) => m.name).join(', ')}.\n`);
      }
    } catch (err) {
      const { done, skipped } = job.progress;
      deps.stdout.write(`Processed ${formatCount(done)} items (${formatCount(skipped)} skipped) in ${elapsed} with provider ${provider}.\n`);
      deps.stderr.write(`warning: the index was written but could not be reopened: ${errorMessage(err)}\n`);
    }
    deps.stdout.write(`Index: ${request.out}  (browse it with: studio serve ${JSON.stringify(request.out)})\n`);
    return EXIT.ok;
  });
}

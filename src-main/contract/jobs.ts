import { z } from 'zod';
import { nonEmpty } from './common.js';
import { NORMALIZATION_MODES, PROVIDER_NAMES } from './indexes.js';
import { returns, type MethodTable } from './method.js';

// Jobs: indexing a dataset through a backbone and SAE (in a worker thread), with progress and
// cancelling. The demo build is a job too (demo.ts).

/** Overrides the SAE's input normalisation (e.g. the scale SAELens does not save). */
const normalizationOverride = z.strictObject({
  mode: z.enum(NORMALIZATION_MODES),
  scale: z.number().positive().nullish(),
});
export type NormalizationOverride = z.infer<typeof normalizationOverride>;

/** How an image index gets its thumbnails (IndexRequest.thumbnails). */
export const THUMBNAIL_MODES = ['eager', 'on-demand'] as const;
export type ThumbnailMode = (typeof THUMBNAIL_MODES)[number];

const need = (key: string, what: string) => nonEmpty(`Missing ${key}: give the ${what}.`);
const count = z.number().int().positive();

/**
 * What to index. Images: `model` (backbone manifest) + `data` (image folder). Cached activations:
 * `shards` (a saev shard folder; `layer` is one of its layers) and optionally `images` (the image
 * folder the shards were made from, for thumbnails and labels) and `model` (whose preprocessing
 * crops those thumbnails). The indexing worker receives exactly this (see core/jobs/indexProtocol.ts).
 */
export const indexRequest = z
  .strictObject({
    model: need('model', 'backbone manifest (JSON) path').optional(),
    layer: need('layer', 'layer name from the manifest'),
    sae: need('sae', 'SAE checkpoint file or folder'),
    data: need('data', 'dataset folder').optional(),
    shards: need('shards', 'saev activation shard folder').optional(),
    images: need('images', 'image folder the shards were made from').optional(),
    out: need('out', 'output folder for the index'),
    topK: count.max(1024).optional(),
    /** At most this many items per batch (default 16); fewer when the memory budget says so. */
    batch: count.max(4096).optional(),
    /** MiB one indexing step may hold (default 1024); sizes batches in tokens × SAE features. */
    memoryBudget: count.max(1024 * 1024).optional(),
    provider: z.enum(['auto', ...PROVIDER_NAMES]).optional(),
    normalization: normalizationOverride.optional(),
    /** 'videos': each video file / frame folder / animated GIF or WebP is one clip; auto-detected when absent. */
    kind: z.enum(['images', 'videos']).optional(),
    /** Videos: N evenly spaced segments per clip (default 16 unless fps is given). */
    frames: count.optional(),
    /** Videos: every frame at this rate instead of segments. */
    fps: z.number().positive().optional(),
    /** Videos: at most this many frames per clip (default 64). */
    maxFrames: count.optional(),
    /** Videos: SSv2-style label JSON (clip id = file/folder base name). */
    labels: need('labels', 'label file').optional(),
    /** Extra SAEs beyond `sae`, indexed in the same backbone pass (a group folder, see group.json). */
    saes: z.array(need('saes', 'SAE checkpoint file or folder')).optional(),
    /**
     * Matryoshka group widths (cumulative, ending at the SAE's width) for checkpoints that do not
     * carry them (SAELens drops them on save). Applies to `sae` (the first SAE), not to `saes`.
     */
    groups: z.array(count).optional(),
    /**
     * `i/n`: index only part i (0-based) of n of the items, chosen by a hash of each item's path, as
     * one task of a split run; `studio merge` combines the n parts into the single run's index.
     * Read by the indexer (core/indexer/shardSpec.ts), which says what is wrong with it.
     */
    shard: z.string().optional(),
    /**
     * Image indexes: 'on-demand' (default) makes each thumbnail from the dataset image when it is
     * first shown, kept in a size-capped cache; 'eager' writes every exemplar's thumbnail during the
     * build, so the index can be shared without its dataset. Video indexes are always eager.
     */
    thumbnails: z.enum(THUMBNAIL_MODES).optional(),
  })
  .superRefine((req, ctx) => {
    if (req.shards) return;
    for (const key of ['model', 'data'] as const) {
      if (!req[key]) {
        const what = key === 'model' ? 'backbone manifest (JSON) path' : 'dataset folder';
        ctx.addIssue({ code: 'custom', path: [key], message: `Missing ${key}: give the ${what} (or saev activation shards instead).` });
      }
    }
  });
export type IndexRequest = z.infer<typeof indexRequest>;

export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
export type JobPhase = 'preparing' | 'indexing' | 'thumbnails' | 'finalizing' | 'training' | 'matching';

export interface JobProgress {
  phase: JobPhase;
  done: number;
  total: number;
  skipped: number;
  itemsPerSec: number;
  etaSec: number | null;
  /** Jobs made of several steps (the demo build): which one runs, for people. */
  step?: JobStep;
}

export interface JobStep {
  n: number;
  of: number;
  label: string;
  /** e.g. the training loss, FVU, L0 and dead count. */
  detail: string | null;
}


export interface JobInfo {
  jobId: string;
  kind: 'index' | 'demo';
  title: string;
  state: JobState;
  progress: JobProgress;
  provider: string | null;
  out: string | null;
  error: string | null;
  startedAt: string;
}


export const jobsMethods = {
  startIndex: {
    args: indexRequest,
    result: returns<JobInfo>(),
    errors: ['bad-request'],
  },
  cancelJob: {
    args: z.strictObject({ jobId: z.string().min(1) }),
    result: returns<void>(),
    errors: ['not-found'],
  },
  listJobs: {
    args: null,
    result: returns<JobInfo[]>(),
    errors: [],
  },
} satisfies MethodTable;

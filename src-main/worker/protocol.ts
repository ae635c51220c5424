import { z } from 'zod';
import type { ApiErrorPayload, IndexRequest, JobProgress } from '../contract/index.js';

// Messages between the job manager and an indexing worker (worker_threads). Validated on arrival
// in the worker, since they cross a thread boundary.

export const startMessageSchema = z.object({
  type: z.literal('start'),
  jobId: z.string().min(1),
  request: z.object({
    model: z.string().min(1).optional(),
    layer: z.string().min(1),
    sae: z.string().min(1),
    data: z.string().min(1).optional(),
    shards: z.string().min(1).optional(),
    images: z.string().min(1).optional(),
    out: z.string().min(1),
    topK: z.number().int().positive().optional(),
    batch: z.number().int().positive().optional(),
    provider: z.enum(['auto', 'cpu', 'cuda', 'dml', 'coreml', 'webgpu']).optional(),
    normalization: z
      .object({
        mode: z.enum(['none', 'scale', 'constant_norm_rescale', 'layer_norm']),
        scale: z.number().positive().nullable().optional(),
      })
      .optional(),
    // Videos (issue 4).
    kind: z.enum(['images', 'videos']).optional(),
    frames: z.number().int().positive().optional(),
    fps: z.number().positive().optional(),
    maxFrames: z.number().int().positive().optional(),
    labels: z.string().min(1).optional(),
    saes: z.array(z.string().min(1)).optional(),
    groups: z.array(z.number().int().positive()).optional(),
  }),
  checkpointIntervalMs: z.number().int().nonnegative().optional(),
});

export const demoMessageSchema = z.object({
  type: z.literal('demo'),
  jobId: z.string().min(1),
  out: z.string().min(1),
  size: z.enum(['full', 'small']),
});

export const toWorkerSchema = z.discriminatedUnion('type', [
  startMessageSchema,
  demoMessageSchema,
  z.object({ type: z.literal('cancel'), jobId: z.string() }),
]);

export type ToWorker = z.infer<typeof toWorkerSchema>;

export type FromWorker =
  | { type: 'progress'; jobId: string; progress: JobProgress; provider: string | null }
  | { type: 'done'; jobId: string; out: string; items: number; skipped: number; provider: string; resumed: boolean }
  | { type: 'failed'; jobId: string; error: ApiErrorPayload };

export type StartRequest = IndexRequest;

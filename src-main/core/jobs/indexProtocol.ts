import { z } from 'zod';
import { argsProblem, indexRequest, type ApiErrorPayload, type JobProgress } from '../../contract/index.js';

// Messages between the job manager and an indexing worker (worker_threads). Checked again on
// arrival in the worker, since they cross a thread boundary, with the contract's own IndexRequest
// schema: a field added to the contract reaches the worker without a second list to update.

export const startMessageSchema = z.strictObject({
  type: z.literal('start'),
  jobId: z.string().min(1),
  request: indexRequest,
  checkpointIntervalMs: z.number().int().nonnegative().optional(),
});

export const demoMessageSchema = z.strictObject({
  type: z.literal('demo'),
  jobId: z.string().min(1),
  out: z.string().min(1),
  size: z.enum(['full', 'small']),
});

export const toWorkerSchema = z.discriminatedUnion('type', [
  startMessageSchema,
  demoMessageSchema,
  z.strictObject({ type: z.literal('cancel'), jobId: z.string() }),
]);

export type ToWorker = z.infer<typeof toWorkerSchema>;

/** How the worker reads a message: the checked message, or why it was refused and for which job. */
export function readToWorker(raw: unknown): { ok: true; message: ToWorker } | { ok: false; jobId: string | null; problem: string } {
  const parsed = toWorkerSchema.safeParse(raw);
  if (parsed.success) return { ok: true, message: parsed.data };
  const jobId = (raw as { jobId?: unknown } | null)?.jobId;
  return { ok: false, jobId: typeof jobId === 'string' ? jobId : null, problem: argsProblem(toWorkerSchema, raw) ?? 'malformed message' };
}

export type FromWorker =
  | { type: 'progress'; jobId: string; progress: JobProgress; provider: string | null }
  | { type: 'done'; jobId: string; out: string; items: number; skipped: number; provider: string; resumed: boolean }
  | { type: 'failed'; jobId: string; error: ApiErrorPayload };

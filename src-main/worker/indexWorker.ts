import { parentPort } from 'node:worker_threads';
import { runIndex } from '../core/indexer/runIndex.js';
import { toErrorPayload } from '../core/errors.js';
import { toWorkerSchema, type FromWorker } from './protocol.js';

// The inference worker: runs one index job at a time off the host's event loop and reports
// progress; a cancel message aborts it at the next batch boundary (after a checkpoint).

if (!parentPort) throw new Error('indexWorker must run as a worker thread');
const port = parentPort;
const running = new Map<string, AbortController>();
const send = (msg: FromWorker) => port.postMessage(msg);

port.on('message', (raw: unknown) => {
  const parsed = toWorkerSchema.safeParse(raw);
  if (!parsed.success) return;
  const msg = parsed.data;
  if (msg.type === 'cancel') {
    running.get(msg.jobId)?.abort();
    return;
  }
  const controller = new AbortController();
  running.set(msg.jobId, controller);
  runIndex(msg.request, {
    signal: controller.signal,
    checkpointIntervalMs: msg.checkpointIntervalMs,
    onProgress: (progress, provider) => send({ type: 'progress', jobId: msg.jobId, progress, provider }),
  })
    .then((r) => send({ type: 'done', jobId: msg.jobId, ...r }))
    .catch((err: unknown) => send({ type: 'failed', jobId: msg.jobId, error: toErrorPayload(err) }))
    .finally(() => running.delete(msg.jobId));
});

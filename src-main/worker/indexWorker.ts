import { parentPort } from 'node:worker_threads';
import { runIndex } from '../core/indexer/runIndex.js';
import { toErrorPayload } from '../core/errors.js';
import { buildDemo, demoOpenPath, type DemoProgress } from '../core/demo/buildDemo.js';
import { readToWorker, type FromWorker } from '../core/jobs/indexProtocol.js';

// The inference worker: runs one index job at a time off the host's event loop and reports
// progress; a cancel message aborts it at the next batch boundary (after a checkpoint). The demo
// build (training, indexing, matching) runs here too.

if (!parentPort) throw new Error('indexWorker must run as a worker thread');
const port = parentPort;
const running = new Map<string, AbortController>();
const send = (msg: FromWorker) => port.postMessage(msg);

port.on('message', (raw: unknown) => {
  const read = readToWorker(raw);
  if (!read.ok) {
    // Fail the job instead of leaving it running forever (the job manager checked the request
    // against the same contract schema, so this means the two sides are out of step).
    if (read.jobId) send({ type: 'failed', jobId: read.jobId, error: { code: 'bad-request', message: `The indexing worker refused its start message: ${read.problem}` } });
    return;
  }
  const msg = read.message;
  if (msg.type === 'cancel') {
    running.get(msg.jobId)?.abort();
    return;
  }
  const controller = new AbortController();
  running.set(msg.jobId, controller);
  if (msg.type === 'demo') {
    runDemo(msg.jobId, msg.out, msg.size, controller.signal).finally(() => running.delete(msg.jobId));
    return;
  }
  runIndex(msg.request, {
    signal: controller.signal,
    checkpointIntervalMs: msg.checkpointIntervalMs,
    onProgress: (progress, provider) => send({ type: 'progress', jobId: msg.jobId, progress, provider }),
  })
    .then((r) => send({ type: 'done', jobId: msg.jobId, ...r }))
    .catch((err: unknown) => send({ type: 'failed', jobId: msg.jobId, error: toErrorPayload(err) }))
    .finally(() => running.delete(msg.jobId));
});

/** Demo steps as job progress: the step counts as the phase, the step's own progress as done/total. */
async function runDemo(jobId: string, out: string, size: 'full' | 'small', signal: AbortSignal): Promise<void> {
  let lastSent = 0;
  const toProgress = (p: DemoProgress) => ({
    phase: p.phase,
    done: p.done,
    total: p.total,
    skipped: 0,
    itemsPerSec: 0,
    etaSec: null,
    step: { n: p.step, of: p.steps, label: p.label, detail: p.detail },
  });
  try {
    const m = await buildDemo({
      out, size, signal,
      onProgress: (p) => {
        const now = Date.now();
        if (now - lastSent < 150 && p.done !== 0 && p.done !== p.total) return;
        lastSent = now;
        send({ type: 'progress', jobId, progress: toProgress(p), provider: 'cpu' });
      },
    });
    send({ type: 'done', jobId, out: demoOpenPath(m), items: 0, skipped: 0, provider: 'cpu', resumed: false });
  } catch (err) {
    send({ type: 'failed', jobId, error: toErrorPayload(err) });
  }
}

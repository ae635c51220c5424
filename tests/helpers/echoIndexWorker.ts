// A stand-in indexing worker that reads its message exactly as the real one does
// (core/jobs/indexProtocol.ts readToWorker) and, instead of indexing, fails the job with the
// request it received as JSON: what the real worker would hand to runIndex.
import { parentPort } from 'node:worker_threads';
import { readToWorker, type FromWorker } from '../../src-main/core/jobs/indexProtocol.js';

const port = parentPort!;
port.on('message', (raw: unknown) => {
  const read = readToWorker(raw);
  const reply: FromWorker = read.ok
    ? read.message.type === 'start'
      ? { type: 'failed', jobId: read.message.jobId, error: { code: 'internal', message: JSON.stringify(read.message.request) } }
      : { type: 'failed', jobId: read.message.jobId, error: { code: 'internal', message: 'not a start message' } }
    : { type: 'failed', jobId: read.jobId ?? '', error: { code: 'bad-request', message: read.problem } };
  port.postMessage(reply);
});

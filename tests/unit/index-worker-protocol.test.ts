import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { indexRequest, type IndexRequest } from '../../src-main/contract/index.js';
import { JobManager } from '../../src-main/core/jobs/jobManager.js';

// The indexing worker reads its start message with the contract's own IndexRequest schema, so
// every field the contract has reaches it; it once had its own copy of the schema, which silently
// dropped fields added to the contract but not to the copy (zod strips unknown keys by default).

/** Every field of the contract's IndexRequest, set: `Required` makes a new field a compile error here. */
const EVERY_FIELD: Required<IndexRequest> = {
  model: '/m/manifest.json',
  layer: 'block_1',
  sae: '/s/sae.safetensors',
  data: '/d',
  shards: '/shards',
  images: '/images',
  out: '/out',
  topK: 8,
  batch: 4,
  memoryBudget: 512,
  provider: 'cpu',
  normalization: { mode: 'scale', scale: 0.5 },
  kind: 'videos',
  frames: 8,
  fps: 2.5,
  maxFrames: 32,
  labels: '/labels.json',
  saes: ['/s/other.safetensors'],
  groups: [4, 8],
  shard: '1/4',
  thumbnails: 'eager',
};

const echoWorker = () => ({
  file: fileURLToPath(new URL('../../src-main/worker/bootstrap.mjs', import.meta.url)),
  workerData: { entry: new URL('../helpers/echoIndexWorker.ts', import.meta.url).href },
});

describe('index worker protocol', () => {
  it('the sample sets every field the contract schema has', () => {
    expect(Object.keys(EVERY_FIELD).sort()).toEqual(Object.keys(indexRequest.shape).sort());
  });

  it('every contract field of IndexRequest reaches the worker, through a real worker thread', async () => {
    const jobs = new JobManager(() => {}, { workerSpec: echoWorker });
    try {
      const job = jobs.start(EVERY_FIELD);
      const done = await jobs.wait(job.jobId);
      expect(done.state).toBe('failed');
      expect(JSON.parse(done.error!)).toEqual(EVERY_FIELD);
    } finally {
      await jobs.close();
    }
  }, 60_000);

  it('a request the contract refuses fails its job with the reason instead of hanging', async () => {
    const jobs = new JobManager(() => {}, { workerSpec: echoWorker });
    try {
      const job = jobs.start({ ...EVERY_FIELD, colour: 'red' } as IndexRequest);
      const done = await jobs.wait(job.jobId);
      expect(done).toMatchObject({ state: 'failed', error: expect.stringContaining('Unknown field "colour" in request') });
    } finally {
      await jobs.close();
    }
  }, 60_000);
});

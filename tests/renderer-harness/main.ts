// Mounts the real renderer against the fake client, for screenshots and manual poking:
//   ?features=100000   size of the synthetic index (default 24,576, like CLIP-24K)
//   ?jobs=demo         start with a running and a failed job in the Jobs panel
//   ?latency=80        milliseconds added to every reply, to see loading states
import type { JobInfo } from '../../src-main/contract/index.js';
import { createStudioApp } from '../../src-renderer/src/createStudioApp';
import { createFakeStudioClient } from '../helpers/fakeStudioClient';
import { placeholderThumbnail } from './placeholderThumbnails';

const params = new URLSearchParams(location.search);
const features = Number(params.get('features') ?? 24_576);
const latency = Number(params.get('latency') ?? 0);

const demoJobs: JobInfo[] =
  params.get('jobs') === 'demo'
    ? [
        {
          jobId: 'job-running',
          kind: 'index',
          title: 'Index imagenet/val with CLIP-24K',
          state: 'running',
          progress: { phase: 'indexing', done: 18_342, total: 50_000, skipped: 3, itemsPerSec: 412.6, etaSec: 76.7 },
          provider: 'cuda',
          out: '/data/indexes/clip-24k-imagenet-val',
          error: null,
          startedAt: '2025-05-02T10:40:00.000Z',
        },
        {
          jobId: 'job-failed',
          kind: 'index',
          title: 'Index ssv2/frames with DINO-32K',
          state: 'failed',
          progress: { phase: 'preparing', done: 0, total: 0, skipped: 0, itemsPerSec: 0, etaSec: null },
          provider: 'cpu',
          out: '/data/indexes/dino-32k-ssv2',
          error: 'SAE d_in is 1024 but layer blocks.10 of DINOv2 ViT-B/14 has width 768: pick the SAE trained on this backbone.',
          startedAt: '2025-05-02T09:12:00.000Z',
        },
      ]
    : [];

const client = createFakeStudioClient({
  // saev counts widths in units of 1024 (24,576 = "24K"); other widths read in thousands.
  index: { features, name: `CLIP-${features % 1024 === 0 ? features / 1024 : Math.round(features / 1000)}K` },
  thumbnailUrl: (_indexId, itemId) => placeholderThumbnail(itemId),
  jobTickMs: 400,
  jobs: demoJobs,
  beforeReply: latency > 0 ? () => new Promise((r) => setTimeout(r, latency)) : undefined,
});

createStudioApp(client).mount('#app');

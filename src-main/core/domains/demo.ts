import path from 'node:path';
import type { ApiOf, demoMethods } from '../../contract/index.js';
import { DEMO_STEPS, demoHeadList, demoIndexList, demoOpenPath, readDemo } from '../demo/buildDemo.js';
import type { JobManager } from '../jobs/jobManager.js';
import type { StudioBackendOptions } from '../backend.js';
import type { IndexRegistry } from './indexRegistry.js';

/** The demo slice of the contract (contract/demo.ts). The demo lives in the studio's data folder, next to the settings. */
export function demoDomain(opts: StudioBackendOptions, indexes: IndexRegistry, jobs: JobManager): ApiOf<typeof demoMethods> {
  const folder = path.join(opts.settingsDir, 'demo');
  const running = () => jobs.list().find((j) => j.kind === 'demo' && j.state === 'running') ?? null;
  return {
    async buildDemo({ size }) {
      const job = running();
      if (job) return job;
      // Readers of a previous demo would hold files the build may replace.
      indexes.dropAt(folder);
      return jobs.startDemo(folder, size ?? opts.demoSize ?? 'full');
    },
    async demoStatus() {
      const m = readDemo(folder);
      return {
        folder,
        built: m !== null,
        open: m ? demoOpenPath(m) : null,
        indexes: m ? demoIndexList(m) : [],
        seconds: m?.seconds ?? null,
        jobId: running()?.jobId ?? null,
        steps: [...DEMO_STEPS],
        heads: m ? demoHeadList(m) : [],
      };
    },
  };
}

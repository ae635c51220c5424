import type { ApiOf, JobInfo, MethodTable, StudioApi, StudioEvent } from '../contract/index.js';
import { interveneMethods, matchMethods, queryMethods, videoMethods } from '../contract/index.js';
import { AnalysisService } from './analysis/analysisService.js';
import type { StudioBackend, StudioBackendOptions } from './backend.js';
import { appDomain } from './domains/app.js';
import { demoDomain } from './domains/demo.js';
import { featuresDomain } from './domains/features.js';
import { IndexRegistry } from './domains/indexRegistry.js';
import { indexesDomain } from './domains/indexes.js';
import { jobsDomain } from './domains/jobs.js';
import { tagsDomain } from './domains/tags.js';
import { JobManager } from './jobs/jobManager.js';
import { SettingsStore } from './settingsStore.js';
import { ThumbnailCache } from './thumbnails/thumbnailCache.js';
import { TagService } from './tags/tagService.js';
import fs from 'node:fs';

export { indexIdFor } from './domains/indexRegistry.js';

/** The composed studio: every contract method, plus what the hosts and tests need around it. */
export interface StudioService extends StudioBackend {
  /** Resolves when a job ends (CLI and tests). */
  waitForJob(jobId: string): Promise<JobInfo>;
}

/**
 * Builds the studio from its domains. Each domain implements its slice of the contract directly
 * (core/domains/*, analysis/analysisService.ts, intervene/interveneService.ts); this only wires
 * the shared state (open indexes, settings, tags, jobs, the analysis worker) and puts the slices
 * side by side. Arguments are checked against the contract before they get here (hosts/dispatch.ts).
 * Never imports electron.
 */
export async function createStudioService(opts: StudioBackendOptions & { checkpointIntervalMs?: number }): Promise<StudioService> {
  const listeners = new Set<(e: StudioEvent) => void>();
  const emit = (event: StudioEvent) => {
    for (const l of listeners) l(event);
  };
  const settings = new SettingsStore(opts.settingsDir);
  const tags = new TagService(opts.settingsDir);
  // Matching, patch queries, clips and interventions run in the analysis worker.
  let analysis: AnalysisService | null = null;
  const indexes = new IndexRegistry(
    settings,
    (reader) => tags.syncOnOpen(reader),
    (dir) => analysis?.forget(dir),
  );
  analysis = new AnalysisService((id) => indexes.reader(id), emit);
  const jobs = new JobManager(
    (job) => {
      // A finished index replaces any stale reader of the same folder.
      if (job.state === 'done' && job.out) indexes.dropAt(job.out);
      emit({ type: 'job', job });
    },
    { checkpointIntervalMs: opts.checkpointIntervalMs },
  );
  let startIndexId: string | null = null;
  // Thumbnails of on-demand indexes, made when first asked for (thumbnailCache.ts).
  const thumbnails = new ThumbnailCache({ capBytes: () => settings.thumbnailCacheBytes() });

  const api: StudioApi = {
    ...appDomain(opts, settings, () => startIndexId),
    ...indexesDomain(indexes, settings),
    ...featuresDomain(indexes, analysis),
    ...tagsDomain(indexes, tags),
    ...jobsDomain(indexes, jobs),
    ...demoDomain(opts, indexes, jobs),
    ...slice(analysis, matchMethods),
    ...slice(analysis, queryMethods),
    ...slice(analysis, videoMethods),
    ...slice(analysis.intervene, interveneMethods),
  };

  const service: StudioService = {
    ...api,
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async resolveThumbnail(indexId, file) {
      const reader = indexes.find(indexId);
      return reader ? thumbnails.resolve(reader, file) : null;
    },
    waitForJob: (jobId) => jobs.wait(jobId),
    async close() {
      await jobs.close();
      await analysis.close();
      indexes.close();
      tags.close();
    },
  };

  if (opts.openAtStart) {
    startIndexId = (await api.openIndex({ path: opts.openAtStart })).id;
  } else {
    // Reopen the last index when it is still there; a moved folder just leaves the welcome screen.
    const last = settings.last();
    if (last && fs.existsSync(last.path)) {
      try {
        startIndexId = (await api.openIndex({ path: last.path })).id;
      } catch {
        startIndexId = null;
      }
    }
  }
  return service;
}

/** The methods of `table` taken from a class instance, bound to it (spreading an instance copies no methods). */
function slice<T extends MethodTable>(impl: ApiOf<T>, table: T): ApiOf<T> {
  const out: Record<string, unknown> = {};
  for (const method of Object.keys(table)) out[method] = (impl[method as keyof ApiOf<T>] as (...a: unknown[]) => unknown).bind(impl);
  return out as ApiOf<T>;
}

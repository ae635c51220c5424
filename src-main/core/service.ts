import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type {
  AppInfo,
  FeatureDetail,
  FeaturePage,
  FeatureQuery,
  IndexRequest,
  IndexSummary,
  JobInfo,
  ModelInspection,
  PathKind,
  SaeInfo,
  ScatterData,
  SkippedItem,
  StudioEvent,
} from '../contract/index.js';
import type { StudioBackend, StudioBackendOptions } from './backend.js';
import { StudioError } from './errors.js';
import { IndexReader } from './store/indexReader.js';
import { THUMBS_DIR } from './store/indexConfig.js';
import { JobManager } from './jobs/jobManager.js';
import { availableProviders } from './onnx/providers.js';
import { inspectModel } from './backbone/manifest.js';
import { loadSae, saeInfo } from './sae/loadSae.js';
import { resolveContained } from './paths/containedPath.js';
import { SettingsStore } from './settingsStore.js';
import { APP_VERSION } from './version.js';

/** A stable id for an index folder, usable in routes and thumbnail URLs. */
export function indexIdFor(dir: string): string {
  return createHash('sha256').update(path.resolve(dir)).digest('hex').slice(0, 12);
}

/**
 * The studio's one service: everything a user can do is a method here, and every host (Electron
 * IPC, web host, CLI) is a thin adapter over it. Never imports electron.
 */
export class StudioService implements StudioBackend {
  private readonly readers = new Map<string, IndexReader>();
  private readonly listeners = new Set<(e: StudioEvent) => void>();
  private readonly jobs: JobManager;
  private readonly settings: SettingsStore;
  private startIndexId: string | null = null;

  constructor(private readonly opts: StudioBackendOptions & { checkpointIntervalMs?: number }) {
    this.settings = new SettingsStore(opts.settingsDir);
    this.jobs = new JobManager((job) => this.onJob(job), { checkpointIntervalMs: opts.checkpointIntervalMs });
  }

  async init(): Promise<void> {
    if (this.opts.openAtStart) {
      const s = await this.openIndex({ path: this.opts.openAtStart });
      this.startIndexId = s.id;
    } else {
      // Reopen the last index when it is still there; a moved folder just leaves the welcome screen.
      const last = this.settings.last();
      if (last && fs.existsSync(last.path)) {
        try {
          this.startIndexId = (await this.openIndex({ path: last.path })).id;
        } catch {
          this.startIndexId = null;
        }
      }
    }
  }

  async appInfo(): Promise<AppInfo> {
    return {
      version: APP_VERSION,
      host: this.opts.host,
      providers: availableProviders(),
      recent: this.settings.recent(),
      startIndexId: this.startIndexId,
    };
  }

  async openIndex({ path: dir }: { path: string }): Promise<IndexSummary> {
    if (typeof dir !== 'string' || dir.trim() === '') throw new StudioError('bad-request', 'Give the path of an index folder.');
    const abs = path.resolve(dir.trim());
    const id = indexIdFor(abs);
    let reader = this.readers.get(id);
    if (!reader) {
      reader = IndexReader.open(id, abs);
      this.readers.set(id, reader);
    }
    const summary = reader.summary();
    this.settings.touch({ id, path: abs, name: summary.name });
    return summary;
  }

  async indexSummary({ indexId }: { indexId: string }): Promise<IndexSummary> {
    return this.reader(indexId).summary();
  }

  async queryFeatures(q: FeatureQuery): Promise<FeaturePage> {
    return this.reader(q.indexId).queryFeatures(q);
  }

  async featureDetail({ indexId, feature }: { indexId: string; feature: number }): Promise<FeatureDetail> {
    if (!Number.isInteger(feature) || feature < 0) throw new StudioError('bad-request', `Feature must be a non-negative integer (got ${feature}).`);
    return this.reader(indexId).featureDetail(feature);
  }

  async scatter({ indexId }: { indexId: string }): Promise<ScatterData> {
    return this.reader(indexId).scatter();
  }

  async skippedItems({ indexId }: { indexId: string }): Promise<SkippedItem[]> {
    return this.reader(indexId).skipped();
  }

  async inspectModel({ manifest }: { manifest: string }): Promise<ModelInspection> {
    try {
      return inspectModel(manifest);
    } catch (err) {
      throw new StudioError('bad-input', err instanceof Error ? err.message : String(err));
    }
  }

  async inspectSae({ path: saePath }: { path: string }): Promise<SaeInfo> {
    if (typeof saePath !== 'string' || saePath.trim() === '') throw new StudioError('bad-request', 'Give the path of an SAE checkpoint file or folder.');
    try {
      return saeInfo(loadSae(path.resolve(saePath.trim())));
    } catch (err) {
      throw new StudioError('bad-input', err instanceof Error ? err.message : String(err));
    }
  }

  async startIndex(req: IndexRequest): Promise<JobInfo> {
    for (const key of ['layer', 'sae', 'out'] as const) {
      if (typeof req[key] !== 'string' || req[key].trim() === '') {
        throw new StudioError('bad-request', `Missing ${key}: give the ${DESCRIPTIONS[key]}.`);
      }
    }
    if (!req.shards) {
      for (const key of ['model', 'data'] as const) {
        if (typeof req[key] !== 'string' || req[key]!.trim() === '') {
          throw new StudioError('bad-request', `Missing ${key}: give the ${DESCRIPTIONS[key]} (or saev activation shards instead).`);
        }
      }
    }
    // A reader holding the output index open would see a half-written state: drop it.
    const id = indexIdFor(req.out);
    this.readers.get(id)?.close();
    this.readers.delete(id);
    return this.jobs.start(req);
  }

  async cancelJob({ jobId }: { jobId: string }): Promise<void> {
    this.jobs.cancel(jobId);
  }

  async listJobs(): Promise<JobInfo[]> {
    return this.jobs.list();
  }

  async pickPath({ kind, title }: { kind: PathKind; title?: string }): Promise<string | null> {
    return this.opts.pickPath ? this.opts.pickPath(kind, title) : null;
  }

  onEvent(listener: (event: StudioEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  resolveThumbnail(indexId: string, file: string): string | null {
    const reader = this.readers.get(indexId) ?? this.reopen(indexId);
    if (!reader) return null;
    return resolveContained(path.join(reader.dir, THUMBS_DIR), file);
  }

  /** Wait for a job to finish (CLI and tests). */
  waitForJob(jobId: string): Promise<JobInfo> {
    return this.jobs.wait(jobId);
  }

  async close(): Promise<void> {
    await this.jobs.close();
    for (const r of this.readers.values()) r.close();
    this.readers.clear();
  }

  private reader(indexId: string): IndexReader {
    const r = this.readers.get(indexId) ?? this.reopen(indexId);
    if (!r) {
      throw new StudioError('not-found', `No open index with id ${indexId}. Open the index folder again from the welcome screen.`);
    }
    return r;
  }

  /** Routes survive a restart: an id from the recent list is reopened on demand. */
  private reopen(indexId: string): IndexReader | null {
    const recent = this.settings.recent().find((r) => r.id === indexId);
    if (!recent) return null;
    try {
      const reader = IndexReader.open(indexId, recent.path);
      this.readers.set(indexId, reader);
      return reader;
    } catch {
      return null;
    }
  }

  private onJob(job: JobInfo): void {
    if (job.state === 'done' && job.out) {
      // A finished index replaces any stale reader of the same folder.
      const id = indexIdFor(job.out);
      this.readers.get(id)?.close();
      this.readers.delete(id);
    }
    for (const l of this.listeners) l({ type: 'job', job });
  }
}

const DESCRIPTIONS = {
  model: 'backbone manifest (JSON) path',
  layer: 'layer name from the manifest',
  sae: 'SAE checkpoint file or folder',
  data: 'dataset folder',
  out: 'output folder for the index',
} as const;

export async function createStudioService(
  opts: StudioBackendOptions & { checkpointIntervalMs?: number },
): Promise<StudioService> {
  const service = new StudioService(opts);
  await service.init();
  return service;
}

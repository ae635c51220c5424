import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type {
  DemoSize,
  DemoStatus,
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
  CategorySuggestion,
  FeatureTags,
  TagAgreement,
  TagChange,
  TagEdit,
  TagExport,
  TagFileFormat,
  TagImportReport,
  TagOverview,
} from '../contract/index.js';
import { TagService } from './tags/tagService.js';
import type { StudioBackend, StudioBackendOptions } from './backend.js';
import { StudioError } from './errors.js';
import { IndexReader } from './store/indexReader.js';
import { THUMBS_DIR } from './store/indexConfig.js';
import { JobManager } from './jobs/jobManager.js';
import { DEMO_STEPS, demoHeadList, demoIndexList, demoOpenPath, readDemo } from './demo/buildDemo.js';
import { usableProviders } from './onnx/providers.js';
import { inspectModel } from './backbone/manifest.js';
import { createManifest, onnxLayers } from './backbone/manifestPresets.js';
import { categoryProblem } from './tags/categoryRules.js';
import { loadSae, saeInfo } from './sae/loadSae.js';
import { resolveContained } from './paths/containedPath.js';
import { SettingsStore } from './settingsStore.js';
import { APP_VERSION } from './version.js';
import { AnalysisService } from './analysis/analysisService.js';
import { listItems } from './store/itemList.js';
import { itemDetail } from './analysis/itemDetail.js';
import { searchFeatures } from './store/featureSearch.js';
import type { ApiArgs, ApiResult } from '../contract/index.js';

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
  private readonly tagService: TagService;
  private startIndexId: string | null = null;
  /** Matching, patch queries, similar features (analysis/analysisService.ts, run in the analysis worker). */
  private readonly analysis = new AnalysisService(
    (id) => this.reader(id),
    (event) => {
      for (const l of this.listeners) l(event);
    },
  );

  constructor(private readonly opts: StudioBackendOptions & { checkpointIntervalMs?: number }) {
    this.settings = new SettingsStore(opts.settingsDir);
    this.tagService = new TagService(opts.settingsDir);
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
      providers: await usableProviders(),
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
      this.tagService.syncOnOpen(reader);
    }
    const summary = reader.summary();
    this.settings.touch({ id, path: abs, name: summary.name, dataset: summary.dataset, detail: summary.detail });
    return summary;
  }

  async renameIndex({ indexId, name }: { indexId: string; name: string }): Promise<IndexSummary> {
    const reader = this.reader(indexId);
    reader.rename(name);
    const summary = reader.summary();
    this.settings.update(indexId, { name: summary.name });
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
    if (typeof manifest !== 'string' || manifest.trim() === '') throw new StudioError('bad-request', 'Give the path of a backbone manifest (.json).');
    const file = path.resolve(manifest.trim());
    // A missing file and a model chosen in place of its manifest are the two common slips: say so
    // plainly instead of a JSON parser's view of binary bytes.
    if (!fs.existsSync(file)) throw new StudioError('not-found', `cannot read backbone manifest ${file}: there is no file there.`);
    if (fs.statSync(file).isDirectory()) throw new StudioError('bad-request', `${file} is a folder: choose the manifest .json inside it.`);
    if (/\.onnx$/i.test(file) || looksBinary(file)) {
      throw new StudioError(
        'bad-input',
        `${file} is a model, not its manifest. Choose the .json that describes it, create one here from the model's layers, or run \`studio inspect-model ${file}\`.`,
      );
    }
    try {
      return inspectModel(file);
    } catch (err) {
      throw new StudioError('bad-input', err instanceof Error ? err.message : String(err));
    }
  }

  async inspectOnnx({ path: file }: { path: string }): Promise<ApiResult<'inspectOnnx'>> {
    if (typeof file !== 'string' || file.trim() === '') throw new StudioError('bad-request', 'Give the path of an ONNX model.');
    return onnxLayers(file.trim());
  }

  async createManifest(args: ApiArgs<'createManifest'>): Promise<ApiResult<'createManifest'>> {
    if (!args || typeof args.onnx !== 'string' || args.onnx.trim() === '') throw new StudioError('bad-request', 'Give the path of an ONNX model.');
    return createManifest({ ...args, onnx: args.onnx.trim() });
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
    this.analysis.forget(path.resolve(req.out));
    this.readers.delete(id);
    // Several SAEs: the members of the group folder too.
    const inside = path.resolve(req.out) + path.sep;
    for (const [rid, r] of this.readers) {
      if (!r.dir.startsWith(inside)) continue;
      r.close();
      this.analysis.forget(r.dir);
      this.readers.delete(rid);
    }
    return this.jobs.start(req);
  }

  async cancelJob({ jobId }: { jobId: string }): Promise<void> {
    this.jobs.cancel(jobId);
  }

  async listJobs(): Promise<JobInfo[]> {
    return this.jobs.list();
  }

  /** The demo lives in the studio's data folder, next to the settings. */
  private demoFolder(): string {
    return path.join(this.opts.settingsDir, 'demo');
  }

  async buildDemo({ size }: { size?: DemoSize } = {}): Promise<JobInfo> {
    const running = this.jobs.list().find((j) => j.kind === 'demo' && j.state === 'running');
    if (running) return running;
    const want = size ?? this.opts.demoSize ?? 'full';
    if (want !== 'full' && want !== 'small') throw new StudioError('bad-request', `Demo size must be 'full' or 'small' (got '${String(want)}').`);
    // Readers of a previous demo would hold files the build may replace.
    const inside = this.demoFolder() + path.sep;
    for (const [rid, r] of this.readers) {
      if (!r.dir.startsWith(inside)) continue;
      r.close();
      this.analysis.forget(r.dir);
      this.readers.delete(rid);
    }
    return this.jobs.startDemo(this.demoFolder(), want);
  }

  async demoStatus(): Promise<DemoStatus> {
    const folder = this.demoFolder();
    const m = readDemo(folder);
    const job = this.jobs.list().find((j) => j.kind === 'demo' && j.state === 'running') ?? null;
    return {
      folder,
      built: m !== null,
      open: m ? demoOpenPath(m) : null,
      indexes: m ? demoIndexList(m) : [],
      seconds: m?.seconds ?? null,
      jobId: job?.jobId ?? null,
      steps: [...DEMO_STEPS],
      heads: m ? demoHeadList(m) : [],
    };
  }

  async pickPath({ kind, title }: { kind: PathKind; title?: string }): Promise<string | null> {
    return this.opts.pickPath ? this.opts.pickPath(kind, title) : null;
  }

  // Tags, notes, reviewed marks (tags/tagService.ts): stored per SAE hash in the index and app-wide.

  async featureTags({ indexId, feature }: { indexId: string; feature: number }): Promise<FeatureTags> {
    return this.tagService.get(this.reader(indexId), feature);
  }

  async editTags(edit: TagEdit): Promise<TagChange> {
    const reader = this.reader(edit.indexId);
    const problem = categoryProblem(reader.config.kind ?? 'images', edit.category);
    if (problem) throw new StudioError('bad-request', problem);
    return this.tagService.edit(reader, edit);
  }

  async restoreTags({ indexId, records }: { indexId: string; records: FeatureTags[] }): Promise<TagChange> {
    return this.tagService.restore(this.reader(indexId), records);
  }

  async tagOverview({ indexId }: { indexId: string }): Promise<TagOverview> {
    return this.tagService.overview(this.reader(indexId));
  }

  async exportTags({ indexId, format }: { indexId: string; format: TagFileFormat }): Promise<TagExport> {
    return this.tagService.export(this.reader(indexId), format);
  }

  async importTags(args: { indexId: string; format: TagFileFormat; text: string; force?: boolean }): Promise<TagImportReport> {
    return this.tagService.import(this.reader(args.indexId), args);
  }

  async suggestCategory({ indexId, feature }: { indexId: string; feature: number }): Promise<CategorySuggestion> {
    return this.tagService.suggest(this.reader(indexId), feature);
  }

  async tagAgreement({ indexId }: { indexId: string }): Promise<TagAgreement> {
    return this.tagService.agreement(this.reader(indexId));
  }

  async noteAuthor(): Promise<string> {
    return this.tagService.author();
  }

  async setNoteAuthor({ author }: { author: string }): Promise<string> {
    return this.tagService.setAuthor(author);
  }

  // Cross-model matching, patch queries and decoder similarity (issue 5).
  matchIndexes(args: ApiArgs<'matchIndexes'>): Promise<ApiResult<'matchIndexes'>> {
    return this.analysis.matchIndexes(args);
  }
  cancelMatch(): Promise<boolean> {
    return this.analysis.cancelMatch();
  }
  matchSummary(args: ApiArgs<'matchSummary'>): Promise<ApiResult<'matchSummary'>> {
    return this.analysis.matchSummary(args);
  }
  matchRuns(args: ApiArgs<'matchRuns'>): Promise<ApiResult<'matchRuns'>> {
    return this.analysis.matchRuns(args);
  }
  featureMatches(args: ApiArgs<'featureMatches'>): Promise<ApiResult<'featureMatches'>> {
    return this.analysis.featureMatches(args);
  }
  matchList(args: ApiArgs<'matchList'>): Promise<ApiResult<'matchList'>> {
    return this.analysis.matchList(args);
  }
  matchPair(args: ApiArgs<'matchPair'>): Promise<ApiResult<'matchPair'>> {
    return this.analysis.matchPair(args);
  }
  similarFeatures(args: ApiArgs<'similarFeatures'>): Promise<ApiResult<'similarFeatures'>> {
    return this.analysis.similarFeatures(args);
  }
  loadQueryImage(args: ApiArgs<'loadQueryImage'>): Promise<ApiResult<'loadQueryImage'>> {
    return this.analysis.loadQueryImage(args);
  }
  queryPatches(args: ApiArgs<'queryPatches'>): Promise<ApiResult<'queryPatches'>> {
    return this.analysis.queryPatches(args);
  }

  // Interventions (issue 9): a task head before and after editing SAE features, in the analysis worker.
  interveneOpen(args: ApiArgs<'interveneOpen'>): Promise<ApiResult<'interveneOpen'>> {
    return this.analysis.intervene.open(args);
  }
  interveneRun(args: ApiArgs<'interveneRun'>): Promise<ApiResult<'interveneRun'>> {
    return this.analysis.intervene.run(args);
  }

  // Flicker view (issue 4): clips through one or two SAEs, in the analysis worker.
  openClip(args: ApiArgs<'openClip'>): Promise<ApiResult<'openClip'>> {
    return this.analysis.openClip(args);
  }
  clipFeature(args: ApiArgs<'clipFeature'>): Promise<ApiResult<'clipFeature'>> {
    return this.analysis.clipFeature(args);
  }
  closestFeatures(args: ApiArgs<'closestFeatures'>): Promise<ApiResult<'closestFeatures'>> {
    return this.analysis.closestFeatures(args);
  }

  listItems(args: ApiArgs<'listItems'>): Promise<ApiResult<'listItems'>> {
    return Promise.resolve(listItems(this.reader(args.indexId), args));
  }

  // Item page and search by meaning (issue 17). Maps of the item page come from the patch query
  // engine in the analysis worker, the same path as `studio query`.
  itemDetail(args: ApiArgs<'itemDetail'>): Promise<ApiResult<'itemDetail'>> {
    return itemDetail(this.reader(args.indexId), args, this.analysis);
  }
  async searchFeatures(args: ApiArgs<'searchFeatures'>): Promise<ApiResult<'searchFeatures'>> {
    if (typeof args.text !== 'string') throw new StudioError('bad-request', 'Give the text to search for.');
    return searchFeatures(this.reader(args.indexId), args);
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
    await this.analysis.close();
    for (const r of this.readers.values()) r.close();
    this.readers.clear();
    this.tagService.close();
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
      this.tagService.syncOnOpen(reader);
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

/** True when the file's first bytes hold NULs or other control bytes a JSON text never has. */
function looksBinary(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(512);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    for (let i = 0; i < n; i++) {
      const b = buf[i]!;
      if (b < 9 || (b > 13 && b < 32)) return true;
    }
    return false;
  } finally {
    fs.closeSync(fd);
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

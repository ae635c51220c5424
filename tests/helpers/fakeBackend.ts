import path from 'node:path';
import type {
  AppInfo,
  FeatureDetail,
  FeaturePage,
  FeatureQuery,
  FeatureRow,
  IndexRequest,
  IndexSummary,
  JobInfo,
  StudioEvent,
} from '../../src-main/contract/index.js';
import type { StudioBackend } from '../../src-main/core/backend.js';
import { StudioError } from '../../src-main/core/errors.js';
import { resolveContained } from '../../src-main/core/paths/containedPath.js';
import { createMemoryTags } from './memoryTags.js';
import { fakeAnalysisMethods } from './fakeAnalysis.js';

// A StudioBackend with canned data for host tests (web host, IPC, CLI): records every call,
// lets a test emit events, and resolves thumbnails with the real containment check.

export interface FakeCall {
  method: string;
  arg: unknown;
}

export interface FakeBackend extends StudioBackend {
  calls: FakeCall[];
  emit(event: StudioEvent): void;
  listenerCount(): number;
  closed: boolean;
  /** indexId → folder holding that index's thumbnails. */
  thumbDirs: Map<string, string>;
  /** Events startIndex plays back (asynchronously) after it returns. */
  jobScript: JobInfo[];
}

export const FAKE_INDEX_ID = 'idx1';

export function fakeRow(index: number): FeatureRow {
  const count = index === 2 ? 0 : 10 * (index + 1);
  const frequency = count / 1000;
  return {
    feature: index,
    count,
    frequency,
    logFrequency: Math.log10(frequency + 1e-10),
    mean: count === 0 ? 0 : 1 + index / 10,
    max: count === 0 ? 0 : 2 + index,
    histogram: [0, count],
    category: null,
    tags: [],
    reviewed: false,
    noteCount: 0,
    autocorrelation: null,
    switchRate: null,
  };
}

export const FAKE_FEATURES = 5;

export function fakeSummary(dir = '/data/index'): IndexSummary {
  return {
    id: FAKE_INDEX_ID,
    path: dir,
    name: 'CLIP-5',
    defaultName: 'CLIP-5',
    dataset: 'imagenet-val',
    member: null,
    detail: 'topk k=2 · index',
    schemaVersion: 1,
    complete: true,
    features: FAKE_FEATURES,
    items: 4,
    tokens: 1000,
    skipped: 1,
    provider: 'cpu',
    topK: 2,
    createdAt: '2025-01-01T00:00:00.000Z',
    model: {
      name: 'tiny-clip',
      family: 'clip',
      manifestPath: '/m/manifest.json',
      modelPath: '/m/model.onnx',
      layer: 'block10',
      outputName: 'hidden_10',
      dModel: 8,
      inputSize: 224,
      tokens: { cls: true, registers: 0, patchSize: 16, grid: [2, 2] },
    },
    sae: {
      format: 'saev',
      path: '/s/sae.pt',
      architecture: 'topk',
      dIn: 8,
      dSae: FAKE_FEATURES,
      k: 2,
      applyBDecToInput: true,
      threshold: 'none',
      normalization: { mode: 'none', scale: null, hasMean: false },
      hookName: null,
      groups: null,
      hash: 'abc',
    },
    labels: ['cat', 'dog'],
    histogram: { log10Min: -3, log10Max: 2, bins: 2 },
    l0Mean: 1.5,
    dead: 1,
    dense: 2,
    kind: 'images',
    framesPerClip: null,
    temporal: null,
    group: null,
  };
}

export function fakeJob(state: JobInfo['state'], done: number, extra: Partial<JobInfo> = {}): JobInfo {
  return {
    jobId: 'job1',
    kind: 'index',
    title: 'Index tiny',
    state,
    progress: { phase: 'indexing', done, total: 4, skipped: 0, itemsPerSec: 2, etaSec: (4 - done) / 2 },
    provider: 'cpu',
    out: '/data/index',
    error: null,
    startedAt: '2025-01-01T00:00:00.000Z',
    ...extra,
  };
}

function sortRows(rows: FeatureRow[], query: FeatureQuery): FeatureRow[] {
  const key = query.sort === 'category' || query.sort === 'reviewed' || query.sort === 'index' ? 'feature' : query.sort;
  const sorted = [...rows].sort((a, b) => (a[key] as number) - (b[key] as number) || a.feature - b.feature);
  return query.desc ? sorted.reverse() : sorted;
}

export function createFakeBackend(): FakeBackend {
  const listeners = new Set<(event: StudioEvent) => void>();
  const calls: FakeCall[] = [];
  const record = (method: string, arg: unknown) => calls.push({ method, arg });
  const rows = Array.from({ length: FAKE_FEATURES }, (_, i) => fakeRow(i));
  const memoryTags = createMemoryTags('abc', () => null);
  const requireIndex = (indexId: string) => {
    if (indexId !== FAKE_INDEX_ID) throw new StudioError('not-found', `No open index with id ${indexId}.`);
  };

  const backend: FakeBackend = {
    calls,
    closed: false,
    thumbDirs: new Map(),
    jobScript: [],
    emit(event) {
      for (const listener of listeners) listener(event);
    },
    listenerCount: () => listeners.size,

    async appInfo(): Promise<AppInfo> {
      record('appInfo', undefined);
      return { version: '0.0.0-test', host: 'web', providers: ['cpu'], recent: [], startIndexId: null };
    },
    async openIndex(args) {
      record('openIndex', args);
      if (args.path.includes('missing')) throw new StudioError('not-found', `No index at ${args.path}.`);
      if (args.path.includes('future')) throw new StudioError('schema-too-new', 'Index schema 99 is newer than this app.');
      if (args.path.includes('boom')) throw new Error('disk on fire');
      return fakeSummary(args.path);
    },
    async indexSummary(args) {
      record('indexSummary', args);
      requireIndex(args.indexId);
      return fakeSummary();
    },
    async queryFeatures(args): Promise<FeaturePage> {
      record('queryFeatures', args);
      requireIndex(args.indexId);
      const sorted = sortRows(rows, args);
      return { total: sorted.length, offset: args.offset, rows: sorted.slice(args.offset, args.offset + args.limit) };
    },
    async featureDetail(args): Promise<FeatureDetail> {
      record('featureDetail', args);
      requireIndex(args.indexId);
      const row = rows[args.feature];
      if (!row) throw new StudioError('not-found', `Feature ${args.feature} does not exist (0..${FAKE_FEATURES - 1}).`);
      const exemplars = row.count === 0
        ? []
        : [0, 1].map((rank) => ({
            rank,
            itemId: rank + 10,
            item: `cat/${rank}.jpg`,
            label: 'cat',
            value: row.max - rank,
            patchMap: [0, 1, 0, row.max - rank],
          }));
      return {
        indexId: args.indexId,
        row,
        grid: [2, 2],
        upper: row.max,
        exemplars,
        labelCounts: [{ label: 'cat', count: exemplars.length }],
        clsCount: 0,
        clsMax: 0,
        tags: memoryTags.get(args.feature),
        // One canned activation range holding the second exemplar (issue 17).
        rangeSamples: exemplars.length ? [{ lo: 1, hi: 10 ** 0.5, count: 5, items: [{ ...exemplars[1]!, rank: 0 }] }] : [],
      };
    },
    async scatter(args) {
      record('scatter', args);
      return { logFrequency: Float32Array.from(rows, (r) => r.logFrequency), logMean: Float32Array.from(rows, (r) => Math.log10(r.mean + 1e-10)) };
    },
    async skippedItems(args) {
      record('skippedItems', args);
      return [{ item: 'bad.jpg', reason: 'corrupt' }];
    },
    async listItems(args) {
      record('listItems', args);
      return { total: 1, items: [{ id: 0, path: 'clip_0.mp4', label: null, thumbnail: false }] };
    },
    // Canned item page and search (issue 17): host tests check the call goes through, not the numbers.
    async itemDetail(args) {
      record('itemDetail', args);
      requireIndex(args.indexId);
      return {
        indexId: args.indexId,
        item: { id: args.item, path: 'cat/0.jpg', file: '/data/cat/0.jpg', label: 'cat', thumbnail: false, width: 64, height: 64, frames: null },
        grid: [2, 2],
        features: [{ feature: 1, value: 0.5, category: null, tags: [], noteCount: 0, patchMap: null, sum: null }],
        upper: 0,
        preview: null,
        mapsProblem: 'Maps were not asked for.',
      };
    },
    async searchFeatures(args) {
      record('searchFeatures', args);
      requireIndex(args.indexId);
      return { total: 0, offset: args.offset ?? 0, labels: [], hits: [] };
    },
    async inspectModel(args) {
      record('inspectModel', args);
      return { name: 'tiny', family: 'clip', layers: [], inputSize: 224, tokens: fakeSummary().model.tokens };
    },
    async inspectOnnx(args) {
      record('inspectOnnx', args);
      return { path: args.path, layers: [], inputSize: 224, presets: ['clip'], manifestPath: args.path.replace(/\.onnx$/, '.json'), manifestExists: false };
    },
    async createManifest(args) {
      record('createManifest', args);
      return { manifestPath: args.onnx.replace(/\.onnx$/, '.json'), modelPath: args.onnx, inspection: { name: 'tiny', family: 'clip', layers: [], inputSize: 224, tokens: fakeSummary().model.tokens }, warnings: [] };
    },
    async renameIndex(args) {
      record('renameIndex', args);
      return { ...fakeSummary(), name: args.name };
    },
    async inspectSae(args) {
      record('inspectSae', args);
      return fakeSummary().sae;
    },
    async startIndex(args: IndexRequest) {
      record('startIndex', args);
      if (args.model?.includes('missing')) throw new StudioError('bad-input', `Model manifest ${args.model} not found.`);
      const script = [...backend.jobScript];
      // Events arrive after the caller has the JobInfo, as with the real worker.
      setTimeout(function next() {
        const job = script.shift();
        if (!job) return;
        backend.emit({ type: 'job', job });
        setTimeout(next, 5);
      }, 5);
      return fakeJob('queued', 0);
    },
    async cancelJob(args) {
      record('cancelJob', args);
    },
    async listJobs() {
      record('listJobs', undefined);
      return [];
    },
    async buildDemo(args) {
      record('buildDemo', args);
      return { ...fakeJob('running', 0), kind: 'demo' as const, title: 'Build the demo' };
    },
    async demoStatus() {
      record('demoStatus', undefined);
      return { folder: '/settings/demo', built: false, open: null, indexes: [], seconds: null, jobId: null, steps: ['Drawing the shapes-in-motion dataset', 'Training the TopK SAE on backbone A'] };
    },
    async pickPath(args) {
      record('pickPath', args);
      return '/picked/by/native/dialog';
    },
    async featureTags(args) {
      record('featureTags', args);
      requireIndex(args.indexId);
      return memoryTags.get(args.feature);
    },
    async editTags(args) {
      record('editTags', args);
      requireIndex(args.indexId);
      return memoryTags.edit(args);
    },
    async restoreTags(args) {
      record('restoreTags', args);
      requireIndex(args.indexId);
      return memoryTags.restore(args.records);
    },
    async tagOverview(args) {
      record('tagOverview', args);
      requireIndex(args.indexId);
      return memoryTags.overview();
    },
    async exportTags(args) {
      record('exportTags', args);
      requireIndex(args.indexId);
      return memoryTags.exportTags(args.format, 'CLIP-5');
    },
    async importTags(args) {
      record('importTags', args);
      requireIndex(args.indexId);
      return memoryTags.importTags(args.text ?? '');
    },
    async suggestCategory(args) {
      record('suggestCategory', args);
      requireIndex(args.indexId);
      return memoryTags.suggest(args.feature);
    },
    async tagAgreement(args) {
      record('tagAgreement', args);
      requireIndex(args.indexId);
      return memoryTags.agreement();
    },
    async noteAuthor() {
      record('noteAuthor', undefined);
      return memoryTags.author;
    },
    async setNoteAuthor(args) {
      record('setNoteAuthor', args);
      memoryTags.author = args.author ?? memoryTags.author;
      return memoryTags.author;
    },
    ...fakeAnalysisMethods(
      [
        { id: FAKE_INDEX_ID, path: '/data/idx', name: 'CLIP-5', features: FAKE_FEATURES, grid: [2, 2] },
        { id: 'idx2', path: '/data/idx2', name: 'DINO-5', features: FAKE_FEATURES, grid: [2, 2] },
      ],
      async (method, arg, produce) => {
        record(method, arg);
        return produce();
      },
    ),
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async resolveThumbnail(indexId, file) {
      const dir = backend.thumbDirs.get(indexId);
      return dir ? resolveContained(path.join(dir), file) : null;
    },
    async close() {
      backend.closed = true;
    },
  };
  return backend;
}

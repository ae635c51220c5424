// The one typed contract between processes: core service, hosts (Electron IPC, web HTTP/WS, CLI),
// preload and renderer. Types and plain constants only: this module must stay free of imports
// so that the sandboxed preload and the browser bundle can include it.

export type ProviderName = 'cpu' | 'cuda' | 'dml' | 'coreml' | 'webgpu';
export type ProviderChoice = 'auto' | ProviderName;

export interface TokenLayout {
  cls: boolean;
  registers: number;
  patchSize: number;
  /** Patch grid as [rows, columns]. */
  grid: [number, number];
}

export interface ModelInfo {
  name: string;
  family: string;
  manifestPath: string;
  modelPath: string;
  layer: string;
  outputName: string;
  dModel: number;
  inputSize: number;
  tokens: TokenLayout;
}

export type SaeArchitecture = 'relu' | 'topk' | 'batchtopk' | 'jumprelu' | 'gated';

export interface SaeNormalizationInfo {
  /** 'none'; 'scale': (x - mean) * scale (saev legacy, SAELens expected_average_only_in);
   *  'constant_norm_rescale': x * sqrt(d_in) / ||x||; 'layer_norm': per-token standardisation. */
  mode: 'none' | 'scale' | 'constant_norm_rescale' | 'layer_norm';
  scale: number | null;
  hasMean: boolean;
}

export interface SaeInfo {
  format: string;
  path: string;
  architecture: SaeArchitecture;
  dIn: number;
  dSae: number;
  k: number | null;
  applyBDecToInput: boolean;
  threshold: 'none' | 'scalar' | 'per-feature';
  normalization: SaeNormalizationInfo;
  hookName: string | null;
  /** Cumulative widths of nested (Matryoshka) groups, or null. */
  groups: number[] | null;
  /** sha256 of the weights, identifies the SAE across formats and indexes. */
  hash: string;
}

export interface HistogramSpec {
  /** Positive values are binned on log10 between these bounds; values outside go to the end bins. */
  log10Min: number;
  log10Max: number;
  bins: number;
}

export interface IndexSummary {
  id: string;
  path: string;
  /** Naming prefix for features, e.g. "CLIP-24K"; a feature is `${name}/${index}`. */
  name: string;
  schemaVersion: number;
  complete: boolean;
  features: number;
  items: number;
  /** Patch tokens seen (CLS and registers excluded). */
  tokens: number;
  skipped: number;
  provider: string;
  topK: number;
  createdAt: string;
  model: ModelInfo;
  sae: SaeInfo;
  labels: string[];
  histogram: HistogramSpec;
  /** Mean number of active features per patch token. */
  l0Mean: number;
  dead: number;
  dense: number;
}

export type FeatureSortKey = 'index' | 'frequency' | 'mean' | 'max';
export type Tristate = 'any' | 'only' | 'exclude';

export interface FeatureFilter {
  dead?: Tristate;
  dense?: Tristate;
  minLogFrequency?: number | null;
  maxLogFrequency?: number | null;
  minMean?: number | null;
  maxMean?: number | null;
  minMax?: number | null;
  maxMax?: number | null;
  /** Feature index range, inclusive (e.g. one Matryoshka group). */
  minIndex?: number | null;
  maxIndex?: number | null;
}

export interface FeatureQuery {
  indexId: string;
  sort: FeatureSortKey;
  desc: boolean;
  offset: number;
  limit: number;
  filter?: FeatureFilter;
}

export interface FeatureRow {
  index: number;
  /** Patch tokens where f > 0. */
  count: number;
  /** count / tokens. */
  frequency: number;
  /** log10(frequency + 1e-10). */
  logFrequency: number;
  /** Mean of positive values (0 when dead). */
  mean: number;
  max: number;
  /** Counts of positive values per histogram bin (see IndexSummary.histogram). */
  histogram: number[];
}

export interface FeaturePage {
  /** Rows matching the filter. */
  total: number;
  offset: number;
  rows: FeatureRow[];
}

export interface Exemplar {
  rank: number;
  itemId: number;
  /** Path relative to the dataset root. */
  item: string;
  label: string | null;
  /** Max over patches of this feature on this item. */
  value: number;
  /** The feature's activation on every patch, row-major over the grid. */
  patchMap: number[];
}

export interface LabelCount {
  label: string;
  count: number;
}

export interface FeatureDetail {
  indexId: string;
  row: FeatureRow;
  grid: [number, number];
  /** Common colour scale of this feature's heatmaps: max over its exemplars' patch values. */
  upper: number;
  exemplars: Exemplar[];
  labelCounts: LabelCount[];
  clsCount: number;
  clsMax: number;
}

export interface ScatterData {
  /** Per feature (by index): log10(frequency + 1e-10). */
  logFrequency: number[];
  /** Per feature: log10(mean + 1e-10). */
  logMean: number[];
}

export interface SkippedItem {
  item: string;
  reason: string;
}

/**
 * What to index. Images: `model` (backbone manifest) + `data` (image folder). Cached activations:
 * `shards` (a saev shard folder; `layer` is one of its layers) and optionally `images` (the image
 * folder the shards were made from, for thumbnails and labels) and `model` (whose preprocessing
 * crops those thumbnails).
 */
export interface IndexRequest {
  model?: string;
  layer: string;
  sae: string;
  data?: string;
  shards?: string;
  images?: string;
  out: string;
  topK?: number;
  batch?: number;
  provider?: ProviderChoice;
  /** Overrides the SAE's input normalisation (e.g. the scale SAELens does not save). */
  normalization?: NormalizationOverride;
}

export interface NormalizationOverride {
  mode: SaeNormalizationInfo['mode'];
  scale?: number | null;
}

export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
export type JobPhase = 'preparing' | 'indexing' | 'thumbnails' | 'finalizing';

export interface JobProgress {
  phase: JobPhase;
  done: number;
  total: number;
  skipped: number;
  itemsPerSec: number;
  etaSec: number | null;
}

export interface JobInfo {
  jobId: string;
  kind: 'index';
  title: string;
  state: JobState;
  progress: JobProgress;
  provider: string | null;
  out: string | null;
  error: string | null;
  startedAt: string;
}

export interface RecentIndex {
  id: string;
  path: string;
  name: string;
  openedAt: string;
}

export interface ModelInspection {
  name: string;
  family: string;
  layers: { name: string; outputName: string }[];
  inputSize: number;
  tokens: TokenLayout;
}

export interface AppInfo {
  version: string;
  host: 'electron' | 'web';
  providers: ProviderName[];
  recent: RecentIndex[];
  /** The index to show at start (last opened, or the one a host was started with). */
  startIndexId: string | null;
}

export type PathKind = 'file' | 'directory';

/** Every call the renderer (or any host client) can make. One argument object per method. */
export interface StudioApi {
  appInfo(): Promise<AppInfo>;
  openIndex(args: { path: string }): Promise<IndexSummary>;
  indexSummary(args: { indexId: string }): Promise<IndexSummary>;
  queryFeatures(args: FeatureQuery): Promise<FeaturePage>;
  featureDetail(args: { indexId: string; feature: number }): Promise<FeatureDetail>;
  scatter(args: { indexId: string }): Promise<ScatterData>;
  skippedItems(args: { indexId: string }): Promise<SkippedItem[]>;
  inspectModel(args: { manifest: string }): Promise<ModelInspection>;
  /** What a checkpoint path holds: format, architecture, widths, k/threshold, groups, normalisation. */
  inspectSae(args: { path: string }): Promise<SaeInfo>;
  startIndex(args: IndexRequest): Promise<JobInfo>;
  cancelJob(args: { jobId: string }): Promise<void>;
  listJobs(): Promise<JobInfo[]>;
  /** Native file/folder picker; hosts without one resolve null and the UI asks for a typed path. */
  pickPath(args: { kind: PathKind; title?: string }): Promise<string | null>;
}

export type ApiMethod = keyof StudioApi;

/** Runtime list of methods, used to generate IPC handlers, the HTTP routes and the preload bridge. */
export const API_METHODS = [
  'appInfo',
  'openIndex',
  'indexSummary',
  'queryFeatures',
  'featureDetail',
  'scatter',
  'skippedItems',
  'inspectModel',
  'inspectSae',
  'startIndex',
  'cancelJob',
  'listJobs',
  'pickPath',
] as const satisfies readonly ApiMethod[];

// Compile-time check that API_METHODS lists every method exactly.
type MissingMethods = Exclude<ApiMethod, (typeof API_METHODS)[number]>;
const _allMethodsListed: MissingMethods extends never ? true : never = true;
void _allMethodsListed;

export type ApiArgs<M extends ApiMethod> = Parameters<StudioApi[M]> extends [infer A] ? A : undefined;
export type ApiResult<M extends ApiMethod> = Awaited<ReturnType<StudioApi[M]>>;

export type StudioEvent = { type: 'job'; job: JobInfo };

export const IPC_PREFIX = 'studio:';
export const IPC_EVENT_CHANNEL = 'studio:event';
export const THUMB_SCHEME = 'studio-thumb';

/** Errors cross process boundaries as plain objects with a code a UI can act on. */
export interface ApiErrorPayload {
  code: string;
  message: string;
}

/** What the renderer gets injected: the API plus event subscription and thumbnail URLs. */
export interface StudioClient extends StudioApi {
  onEvent(listener: (event: StudioEvent) => void): () => void;
  thumbnailUrl(indexId: string, itemId: number): string;
}

/** Shown in the UI and CLI: `CLIP-24K/6909`. */
export function featureName(indexName: string, index: number): string {
  return `${indexName}/${index}`;
}

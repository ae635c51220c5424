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
  /** Clip backbones (e.g. VideoMAE): frames per input clip and frames per tubelet; absent for image backbones. */
  frames?: number;
  tubelet?: number;
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
  /** Naming prefix for features, e.g. "CLIP-24K"; a feature is `${name}/${index}`. The user's name when renamed. */
  name: string;
  /** The name the indexer gave (MODEL-WIDTH); feature ids under it stay accepted after a rename. */
  defaultName: string;
  /** The dataset folder's name (e.g. "imagenet-val"), shown as `CLIP-24K · imagenet-val`. */
  dataset: string;
  /** Group members: the SAE's label within the group (e.g. "a-topk"); shown beside the name, never part of feature ids. */
  member: string | null;
  /** Tells indexes of the same name and dataset apart: SAE architecture (k), member label, folder name. */
  detail: string;
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
  /** What the items are: images, or clips (issue 4). */
  kind: 'images' | 'videos';
  /** Frames (or tubelet steps) sampled per clip when fixed (segments sampling); null otherwise / images. */
  framesPerClip: number | null;
  /** Whole-SAE temporal statistics (video indexes); null for images. */
  temporal: TemporalSummary | null;
  /** Set when the index was opened through a group folder holding several SAEs' indexes. */
  group: IndexGroup | null;
  /** Problems worth showing with the summary, e.g. every feature dead (issue 18); absent when none. */
  warnings?: string[];
}

export interface TemporalSummary {
  /** Mean lag-1 autocorrelation over features where it is defined. */
  autocorrelation: number | null;
  /** The same mean over the raw activation dimensions (same pairs). */
  rawAutocorrelation: number | null;
  /** autocorrelation / rawAutocorrelation. */
  coherenceKept: number | null;
  /** (clip, patch, t) pairs counted. */
  pairs: number;
}

export interface IndexGroup {
  /** The group folder (holding group.json). */
  path: string;
  members: { name: string; path: string }[];
}

export type FeatureSortKey = 'index' | 'frequency' | 'mean' | 'max' | 'category' | 'reviewed' | 'autocorrelation' | 'switchRate';
export type Tristate = 'any' | 'only' | 'exclude';

/** The three built-in, mutually exclusive categories (the video-SAE paper's scene / action / object). */
export type FeatureCategory = 'scene' | 'action' | 'object';
export const FEATURE_CATEGORIES: readonly FeatureCategory[] = ['scene', 'action', 'object'];

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
  /** A category, 'none' for features without one; null or absent: any. */
  category?: FeatureCategory | 'none' | null;
  /** Only features carrying this free tag. */
  tag?: string | null;
  reviewed?: Tristate;
  /** Video indexes: range of the lag-1 autocorrelation / switch rate (features without a value are excluded when set). */
  minAutocorrelation?: number | null;
  maxAutocorrelation?: number | null;
  minSwitchRate?: number | null;
  maxSwitchRate?: number | null;
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
  category: FeatureCategory | null;
  tags: string[];
  reviewed: boolean;
  noteCount: number;
  /** Video indexes: lag-1 autocorrelation over (clip, patch, t) pairs; null when undefined or for images. */
  autocorrelation: number | null;
  /** Video indexes: fraction of active pairs where exactly one side is active; null when undefined or for images. */
  switchRate: number | null;
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
  /** The user's category, tags, notes and reviewed mark for this feature (of this SAE). */
  tags: FeatureTags;
  /**
   * Exemplars across activation ranges (issue 17): the non-empty fixed log10 ranges of the
   * feature's per-item values (max over patches), strongest first, each with its item count and a
   * few deterministically sampled items. null (or absent): the index was built without them.
   */
  rangeSamples?: RangeSampleRow[] | null;
}

/** One activation range of a feature and the items sampled from it (see FeatureDetail.rangeSamples). */
export interface RangeSampleRow {
  /** Range bounds: items with lo ≤ value < hi; lo 0 for the lowest range, hi null for the highest (open ended). */
  lo: number;
  hi: number | null;
  /** How many items have their value in this range (exact). */
  count: number;
  /** The sampled items, by value desc (rank: position in this row). */
  items: Exemplar[];
}

export interface FeatureNote {
  text: string;
  author: string;
  /** ISO 8601. */
  time: string;
}

/** What the user recorded about one feature. Belongs to the SAE (its weights hash), not the index. */
export interface FeatureTags {
  feature: number;
  category: FeatureCategory | null;
  tags: string[];
  notes: FeatureNote[];
  reviewed: boolean;
}

/** One edit applied to every listed feature; absent fields are left as they are. */
export interface TagEdit {
  indexId: string;
  features: number[];
  /** null clears the category. */
  category?: FeatureCategory | null;
  reviewed?: boolean;
  addTags?: string[];
  removeTags?: string[];
  /** Appends a note (author from the app setting, time now). */
  note?: string;
}

/** Records after a change, and before it (what undo restores). */
export interface TagChange {
  records: FeatureTags[];
  before: FeatureTags[];
}

export interface TagCount {
  tag: string;
  count: number;
}

export interface TagOverview {
  saeHash: string;
  categories: Record<FeatureCategory, number>;
  reviewed: number;
  withNotes: number;
  tags: TagCount[];
}

export type TagFileFormat = 'csv' | 'json';

export interface TagExport {
  format: TagFileFormat;
  /** Suggested file name, e.g. `CLIP-24K-tags.csv`. */
  fileName: string;
  text: string;
  features: number;
}

export interface TagConflict {
  feature: number;
  ours: FeatureCategory;
  theirs: FeatureCategory;
}

export interface TagImportReport {
  /** Features mentioned in the file. */
  features: number;
  categoriesSet: number;
  tagsAdded: number;
  notesAdded: number;
  reviewedSet: number;
  /** Same feature, different category: ours was kept. */
  conflicts: TagConflict[];
  /** Lines or entries that could not be read, with why. */
  skipped: { where: string; reason: string }[];
  /** Records before the import, for undo. */
  before: FeatureTags[];
}

/** A category the index data suggests, with its reasons; never applied without the user. */
export interface CategorySuggestion {
  feature: number;
  category: FeatureCategory | null;
  /** 0..1: how far the measurements are from the rule's thresholds. */
  confidence: number;
  reasons: string[];
  /** Mean over exemplars of the fraction of patches above 10% of the feature's scale. */
  spread: number | null;
  /** Distinct labels among the exemplars, and the share of the most common one. */
  labelClasses: number;
  topLabelShare: number | null;
}

/** Suggested (rows, 'none' = no suggestion) against the user's categories (columns), over tagged features. */
export interface TagAgreement {
  counts: Record<FeatureCategory | 'none', Record<FeatureCategory, number>>;
  tagged: number;
  agree: number;
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
  /** 'videos': each video file / frame folder / animated GIF or WebP is one clip; auto-detected when absent. */
  kind?: 'images' | 'videos';
  /** Videos: N evenly spaced segments per clip (default 16 unless fps is given). */
  frames?: number;
  /** Videos: every frame at this rate instead of segments. */
  fps?: number;
  /** Videos: at most this many frames per clip (default 64). */
  maxFrames?: number;
  /** Videos: SSv2-style label JSON (clip id = file/folder base name). */
  labels?: string;
  /** Extra SAEs beyond `sae`, indexed in the same backbone pass (a group folder, see group.json). */
  saes?: string[];
  /**
   * Matryoshka group widths (cumulative, ending at the SAE's width) for checkpoints that do not
   * carry them (SAELens drops them on save). Applies to `sae` (the first SAE), not to `saes`.
   */
  groups?: number[];
}

export interface NormalizationOverride {
  mode: SaeNormalizationInfo['mode'];
  scale?: number | null;
}

export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
export type JobPhase = 'preparing' | 'indexing' | 'thumbnails' | 'finalizing' | 'training' | 'matching';

export interface JobProgress {
  phase: JobPhase;
  done: number;
  total: number;
  skipped: number;
  itemsPerSec: number;
  etaSec: number | null;
  /** Jobs made of several steps (the demo build): which one runs, for people. */
  step?: JobStep;
}

export interface JobStep {
  n: number;
  of: number;
  label: string;
  /** e.g. the training loss, FVU, L0 and dead count. */
  detail: string | null;
}

export type DemoSize = 'full' | 'small';

/** The embedded demo in the studio's data folder (see core/demo/buildDemo.ts). */
export interface DemoStatus {
  folder: string;
  built: boolean;
  /** The index the app opens first (clips through toy backbone A, TopK and Matryoshka side by side). */
  open: string | null;
  indexes: { label: string; path: string }[];
  /** Seconds the last build took. */
  seconds: number | null;
  /** The running build, if any. */
  jobId: string | null;
  /** The build's steps, in order (JobProgress.step.n counts them from 1). */
  steps: string[];
  /** Task heads the demo fitted (Intervene view), with the backbone manifest each one reads; the first per backbone is the default. */
  heads?: { label: string; path: string; backbone: string }[];
}

export interface JobInfo {
  jobId: string;
  kind: 'index' | 'demo';
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
  /** See IndexSummary; absent in entries recorded by older versions. */
  dataset?: string;
  detail?: string;
  openedAt: string;
}

/** An ONNX file offered as a backbone: the layers inspect-model finds, and the known families' presets. */
export interface OnnxLayers {
  path: string;
  /** Tensors shaped [batch, tokens, d] that look like block outputs, in graph order. */
  layers: { name: string; tensor: string; tokens: number; dModel: number; isGraphOutput: boolean }[];
  /** Input side when the file fixes it, else null. */
  inputSize: number | null;
  /** Preset keys (see ManifestPreset) that fit the file, best guess first. */
  presets: ManifestPresetKey[];
  /** Where createManifest would write, and whether a file is already there. */
  manifestPath: string;
  manifestExists: boolean;
}

export type ManifestPresetKey = 'clip' | 'dinov2-saev' | 'dinov2-hf' | 'siglip' | 'videomae';

export interface CreateManifestArgs {
  /** The ONNX model. */
  onnx: string;
  /** Layer names (from OnnxLayers.layers) to list in the manifest. */
  layers: string[];
  preset: ManifestPresetKey;
  /** Replace an existing manifest at the target path. */
  overwrite?: boolean;
}

export interface CreatedManifest {
  manifestPath: string;
  /** The model the manifest points at: the file itself, or a copy exposing layers it did not output. */
  modelPath: string;
  inspection: ModelInspection;
  warnings: string[];
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

// ---- Cross-model matching, patch queries, similar features (issue 5) ----

/** One side of a match run, as the UI names it. */
export interface MatchSide {
  indexId: string;
  path: string;
  name: string;
  features: number;
  /** Features that fired on at least one common item. */
  live: number;
}

/** A saved match between two indexes of the same dataset, from `a`'s point of view. */
export interface MatchSummary {
  a: MatchSide;
  b: MatchSide;
  /** Items present in both (paired by relative path), and in one only. */
  itemsCommon: number;
  itemsOnlyA: number;
  itemsOnlyB: number;
  /** Example paths present in one index only (at most a few), to explain a mismatch. */
  examplesOnlyA: string[];
  examplesOnlyB: string[];
  /** (item, feature of A, feature of B) triples that were accumulated: the cost of matching. */
  coActivePairs: number;
  mutual: number;
  /** Matches kept per feature and direction. */
  perFeature: number;
  seconds: number;
  createdAt: string;
}

/** A feature's match on the other side: correlation across items and lift on exemplars. */
export interface MatchEntry {
  feature: number;
  other: number;
  /** Pearson correlation across common items of max-over-patches activations (sparse approximation). */
  score: number;
  /** Mean of `other` on `feature`'s exemplars over its mean on all common items. */
  lift: number;
  /** Items where both are among their item's strongest features. */
  coCount: number;
}

export interface FeatureMatches {
  feature: number;
  /** Best first. Empty when the feature never fired on a common item. */
  matches: MatchEntry[];
  /** True when the best match also picks this feature as its best. */
  mutual: boolean;
}

export type MatchListKind = 'mutual' | 'no-counterpart';

export interface MatchListQuery {
  indexId: string;
  otherId: string;
  kind: MatchListKind;
  /** For 'no-counterpart': best score below this (default 0.3). */
  threshold?: number;
  /** Only pairs co-active on at least this many images (default 1): hides matches of very rare features. */
  minCoActive?: number;
  sort: 'score' | 'feature' | 'lift';
  desc: boolean;
  offset: number;
  limit: number;
}

export interface MatchListPage {
  total: number;
  offset: number;
  /** For 'no-counterpart', `other` is the best (too weak) match, or -1 when there is none. */
  rows: MatchEntry[];
}

/** A chosen pair looked at closely: lift both ways and the patch-level refinement. */
export interface MatchPairDetail {
  a: number;
  b: number;
  score: number | null;
  liftAB: number;
  liftBA: number;
  /** The common grid both patch maps were resampled to (by area), e.g. [14, 14]. */
  grid: [number, number];
  /** Pearson correlation of the two features over (item, cell) of the common grid, on the items compared. */
  patchCorrelation: number | null;
  /** Mean over those items of the overlap (sum of min / sum of max) of the two normalised maps. */
  patchOverlap: number | null;
  /** Items whose patch maps of both features were available (exemplars of both). */
  itemsCompared: number;
  /** Why the refinement is missing or partial. */
  note: string | null;
}

export interface SimilarFeature {
  index: number;
  /** Cosine similarity of the decoder directions. */
  cosine: number;
}

/** An image to ask about: a file path the host can read, or the file's bytes (base64). */
export interface QueryImageSource {
  path?: string;
  data?: string;
  name?: string;
}

/** One model's view of a query image. */
export interface QueryImageView {
  indexId: string;
  name: string;
  grid: [number, number];
  /** The model's input crop as a PNG data URL: what the patches cover. */
  preview: string;
  /** That crop in source-image fractions [x0, y0, x1, y1], for mapping patches between models. */
  crop: [number, number, number, number];
}

export interface QueryImage {
  imageId: string;
  name: string;
  sourceWidth: number;
  sourceHeight: number;
  views: QueryImageView[];
}

export interface PatchQuery {
  imageId: string;
  indexId: string;
  /** [row, column] of the model's patch grid, from 0. */
  patches: [number, number][];
  /** Optional weight per patch (default 1): a selection mapped from another model's grid. */
  weights?: number[];
  limit?: number;
}

export interface PatchFeature {
  index: number;
  /** Activation summed over the selected patches (weighted). */
  value: number;
  /** Largest single-patch activation among them. */
  max: number;
  /** The feature's activation on every patch of the image, row-major over the grid. */
  patchMap: number[];
}

export interface PatchQueryResult {
  imageId: string;
  indexId: string;
  patches: number;
  features: PatchFeature[];
}

// ---- Flicker view (issue 4): one clip through one or two SAEs on the same backbone layer ----

export type ClipSampling = { mode: 'segments'; count: number } | { mode: 'fps'; fps: number };

export interface OpenClipArgs {
  indexId: string;
  /** A clip path relative to the index's dataset folder (an item of a video index)... */
  item?: string;
  /** ...or any clip path on this machine (video file, folder of frames, animated GIF/WebP). */
  path?: string;
  /** A second index on the same backbone and layer, shown side by side. */
  otherIndexId?: string | null;
  /** Default: 16 evenly spaced segments. */
  sampling?: ClipSampling;
}

export interface OpenClip {
  clipId: string;
  name: string;
  /** The clip's absolute path. */
  path: string;
  /** Sampled frames (T). */
  frames: number;
  /** Which source frames were sampled. */
  frameIndexes: number[];
  grid: [number, number];
  /** One JPEG data URL per frame: the model's crop. */
  frameImages: string[];
  /** Each SAE, with its strongest features in this clip (max over frames and patches), for the pickers. */
  saes: { indexId: string; name: string; features: number; top: { index: number; max: number }[] }[];
}

export interface ClipFeature {
  clipId: string;
  indexId: string;
  feature: number;
  /** [T][P] activation on every patch (row-major over the grid) of every frame. */
  maps: number[][];
  /** Max over patches per frame. */
  trace: number[];
  /** Max over the whole clip (one heatmap scale per feature). */
  upper: number;
  /** The definitions over this clip's (patch, t→t+1) pairs; null when undefined. */
  clipAutocorrelation: number | null;
  clipSwitchRate: number | null;
}

export interface ClosestFeature {
  index: number;
  /** Pearson correlation over every (frame, patch) of the clip. */
  correlation: number;
  max: number;
}

// ---- Interventions (issue 9) ----

/** What an intervention session runs: an index's backbone, layer and SAE, a task head, one image. */
export interface InterveneOpenArgs {
  indexId: string;
  /** A head folder (head.json, head.safetensors, labels.json) on the host. */
  head: string;
  image: QueryImageSource;
}

export interface InterveneSession {
  sessionId: string;
  indexId: string;
  head: {
    path: string;
    task: 'classification' | 'segmentation';
    /** The backbone output the head reads. */
    input: string;
    labels: string[];
  };
  image: { name: string; sourceWidth: number; sourceHeight: number };
  grid: [number, number];
  /** The model's input crop as a PNG data URL: what the patches cover. */
  preview: string;
}

/** Set a feature to `multiple` × its max activation in the index (0 suppresses; −2 and 2 mean the same across features). */
export interface InterveneEdit {
  feature: number;
  multiple: number;
}

export interface InterveneRunArgs {
  sessionId: string;
  edits: InterveneEdit[];
  /** Patches (row * columns + column) to edit; null: every patch. */
  patches: number[] | null;
}

/** A head's output: class probabilities (classification) or each patch's class (segmentation). */
export interface InterveneOutput {
  /** Classification: probabilities in label order. */
  probs: number[] | null;
  /** Segmentation: per patch (row-major) the argmax class id, and its probability. */
  patchClasses: number[] | null;
  patchConfidence: number[] | null;
}

export interface InterveneResult {
  sessionId: string;
  task: 'classification' | 'segmentation';
  labels: string[];
  before: InterveneOutput;
  after: InterveneOutput;
  /** Each edit as applied: the feature's max in the index and the activation it was set to. */
  edits: { feature: number; multiple: number; max: number; value: number }[];
  /** Classification: classes whose probability moved by at least CHANGED_PROB (0.005), or that entered or left the top 5. */
  changedClasses: number[];
  /** Segmentation: patches whose class changed. */
  changedPatches: number[];
  /** Milliseconds the worker spent on this run. */
  ms: number;
}

export type PathKind = 'file' | 'directory';

/** A page of an index's items (listItems): for picking a clip from the index instead of typing a path. */
export interface ItemPage {
  /** Items matching the search. */
  total: number;
  /** id (for thumbnailUrl), path relative to the dataset root, label, and whether a thumbnail exists (exemplar items only). */
  items: { id: number; path: string; label: string | null; thumbnail: boolean }[];
}

/** One feature active on an item (itemDetail): from the index's stored per-item top features. */
export interface ItemFeature {
  index: number;
  /** Max over patches as the index stored it (float16), the order of the list. */
  value: number;
  category: FeatureCategory | null;
  tags: string[];
  noteCount: number;
  /** The feature's activation on every patch, re-encoded now through the patch query engine; null when not computed. */
  patchMap: number[] | null;
  /** Activation summed over the whole image (what `studio query --patches all` ranks by); null without maps. */
  sum: number | null;
}

/** An item page: the image (or clip) and every feature the index stored as active on it. */
export interface ItemDetail {
  indexId: string;
  item: {
    id: number;
    /** Relative to the dataset root. */
    path: string;
    /** Absolute path on the host (what "query these patches" and "test causally" open). */
    file: string;
    label: string | null;
    thumbnail: boolean;
    /** Source size in pixels, null when the file cannot be read now. */
    width: number | null;
    height: number | null;
    /** Clips of a video index: frames sampled; null for images. */
    frames: number | null;
  };
  grid: [number, number];
  features: ItemFeature[];
  /** Common colour scale of the maps: their largest patch value (0 without maps). */
  upper: number;
  /** The model's input crop (PNG data URL) the maps cover; null without maps. */
  preview: string | null;
  /** Why maps are missing (a clip, a cached-activation index, an unreadable file), or null. */
  mapsProblem: string | null;
}

/** What a search hit matched. */
export type FeatureSearchMatch =
  | { kind: 'tag'; text: string }
  | { kind: 'note'; text: string }
  | { kind: 'category'; text: FeatureCategory }
  | { kind: 'suggested'; text: FeatureCategory }
  | { kind: 'label'; text: string };

export interface FeatureSearchHit {
  row: FeatureRow;
  matches: FeatureSearchMatch[];
  /** Dataset-label hits: exemplars carrying a matching label, and that count over all exemplars; 0 otherwise. */
  labelCount: number;
  labelPurity: number;
  exemplars: number;
}

export interface FeatureSearchPage {
  total: number;
  offset: number;
  /** The dataset labels the text matched (exactly, else as a substring). */
  labels: string[];
  hits: FeatureSearchHit[];
}

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
  /** The candidate layers of an ONNX file (runs it once on a dummy input), for writing its manifest. */
  inspectOnnx(args: { path: string }): Promise<OnnxLayers>;
  /** Writes a backbone manifest next to an ONNX file from a family's preprocessing preset. */
  createManifest(args: CreateManifestArgs): Promise<CreatedManifest>;
  /** Renames an index (stored in it): non-empty, no "/". Its feature ids become `name/INDEX`. */
  renameIndex(args: { indexId: string; name: string }): Promise<IndexSummary>;
  /** What a checkpoint path holds: format, architecture, widths, k/threshold, groups, normalisation. */
  inspectSae(args: { path: string }): Promise<SaeInfo>;
  startIndex(args: IndexRequest): Promise<JobInfo>;
  cancelJob(args: { jobId: string }): Promise<void>;
  listJobs(): Promise<JobInfo[]>;
  /** Builds the embedded demo in the studio's data folder, as a job (continues an interrupted build). */
  buildDemo(args: { size?: DemoSize }): Promise<JobInfo>;
  demoStatus(): Promise<DemoStatus>;
  /** Native file/folder picker; hosts without one resolve null and the UI asks for a typed path. */
  pickPath(args: { kind: PathKind; title?: string }): Promise<string | null>;
  featureTags(args: { indexId: string; feature: number }): Promise<FeatureTags>;
  editTags(args: TagEdit): Promise<TagChange>;
  /** Puts records back exactly as given (undo/redo). */
  restoreTags(args: { indexId: string; records: FeatureTags[] }): Promise<TagChange>;
  tagOverview(args: { indexId: string }): Promise<TagOverview>;
  exportTags(args: { indexId: string; format: TagFileFormat }): Promise<TagExport>;
  /** Merges a file's tags: adds what is missing, reports category conflicts instead of overwriting. */
  importTags(args: { indexId: string; format: TagFileFormat; text: string; force?: boolean }): Promise<TagImportReport>;
  suggestCategory(args: { indexId: string; feature: number }): Promise<CategorySuggestion>;
  tagAgreement(args: { indexId: string }): Promise<TagAgreement>;
  /** Author written on new notes (app setting; default: the OS user name). */
  noteAuthor(): Promise<string>;
  setNoteAuthor(args: { author: string }): Promise<string>;
  /** Matches two indexes of the same dataset (in the worker) and saves the result into both. */
  matchIndexes(args: { indexId: string; otherId: string }): Promise<MatchSummary>;
  /** Stops the running match (nothing is saved); false when none was running. */
  cancelMatch(): Promise<boolean>;
  /** The saved match with another index, or null when none was run. */
  matchSummary(args: { indexId: string; otherId: string }): Promise<MatchSummary | null>;
  /** Saved matches of this index: the other index paths, to reopen them. */
  matchRuns(args: { indexId: string }): Promise<{ path: string; name: string; createdAt: string }[]>;
  featureMatches(args: { indexId: string; otherId: string; feature: number; limit?: number }): Promise<FeatureMatches>;
  matchList(args: MatchListQuery): Promise<MatchListPage>;
  matchPair(args: { indexId: string; otherId: string; feature: number; other: number }): Promise<MatchPairDetail>;
  /** Features of the same SAE whose decoder directions are closest to this one's. */
  similarFeatures(args: { indexId: string; feature: number; limit?: number }): Promise<SimilarFeature[]>;
  /** Runs an image through the models of these indexes (in the worker) and keeps its codes. */
  loadQueryImage(args: { image: QueryImageSource; indexIds: string[] }): Promise<QueryImage>;
  /** Features ranked by activation summed over the selected patches; a newer query supersedes an older one. */
  queryPatches(args: PatchQuery): Promise<PatchQueryResult>;
  /** Runs an image through an index's backbone up to its layer and SAE (in the worker) and opens a task head on it. */
  interveneOpen(args: InterveneOpenArgs): Promise<InterveneSession>;
  /** Head output before and after setting features on patches; a newer run supersedes an older one. */
  interveneRun(args: InterveneRunArgs): Promise<InterveneResult>;
  /** Decodes a clip and runs it through the index's backbone and SAE (and another index's SAE on the same layer), in the worker. */
  openClip(args: OpenClipArgs): Promise<OpenClip>;
  /** One feature's patch maps and trace over an open clip; a newer request for the same index supersedes an older one. */
  clipFeature(args: { clipId: string; indexId: string; feature: number }): Promise<ClipFeature>;
  /** The other SAE's features ranked by correlation with this one over the clip's (frame, patch) activations. */
  closestFeatures(args: { clipId: string; indexId: string; feature: number; otherIndexId: string; limit?: number; maxFeature?: number | null }): Promise<ClosestFeature[]>;
  /** The index's items whose path or label holds every word of `search`, by path (the flicker view's clip list). */
  listItems(args: { indexId: string; search?: string; offset?: number; limit?: number }): Promise<ItemPage>;
  /** An item page: the item and its stored top features, with each one's map re-encoded (maps: false skips the model). */
  itemDetail(args: { indexId: string; item: number; maps?: boolean }): Promise<ItemDetail>;
  /** Features by tag, note text, category (set or suggested) and dataset label purity, with the table's filters. */
  searchFeatures(args: { indexId: string; text: string; filter?: FeatureFilter; limit?: number; offset?: number }): Promise<FeatureSearchPage>;
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
  'inspectOnnx',
  'createManifest',
  'renameIndex',
  'inspectSae',
  'startIndex',
  'cancelJob',
  'listJobs',
  'buildDemo',
  'demoStatus',
  'pickPath',
  'featureTags',
  'editTags',
  'restoreTags',
  'tagOverview',
  'exportTags',
  'importTags',
  'suggestCategory',
  'tagAgreement',
  'noteAuthor',
  'setNoteAuthor',
  'matchIndexes',
  'cancelMatch',
  'matchSummary',
  'matchRuns',
  'featureMatches',
  'matchList',
  'matchPair',
  'similarFeatures',
  'loadQueryImage',
  'queryPatches',
  'interveneOpen',
  'interveneRun',
  'openClip',
  'clipFeature',
  'closestFeatures',
  'listItems',
  'itemDetail',
  'searchFeatures',
] as const satisfies readonly ApiMethod[];

// Compile-time check that API_METHODS lists every method exactly.
type MissingMethods = Exclude<ApiMethod, (typeof API_METHODS)[number]>;
const _allMethodsListed: MissingMethods extends never ? true : never = true;
void _allMethodsListed;

export type ApiArgs<M extends ApiMethod> = Parameters<StudioApi[M]> extends [infer A] ? A : undefined;
export type ApiResult<M extends ApiMethod> = Awaited<ReturnType<StudioApi[M]>>;

export type StudioEvent = { type: 'job'; job: JobInfo } | { type: 'match-progress'; progress: MatchProgress };

/** Progress of a running match (matchIndexes), for the match view. */
export interface MatchProgress {
  indexId: string;
  otherId: string;
  phase: 'reading' | 'matching' | 'saving';
  done: number;
  total: number;
}

export const IPC_PREFIX = 'studio:';
export const IPC_EVENT_CHANNEL = 'studio:event';
export const THUMB_SCHEME = 'studio-thumb';

/** Errors cross process boundaries as plain objects with a code a UI can act on. */
export interface ApiErrorPayload {
  code: string;
  message: string;
}

/** One call's outcome as it crosses a process boundary (HTTP body, IPC reply, preload bridge). */
export type ApiEnvelope<T = unknown> = { ok: true; result: T } | { ok: false; error: ApiErrorPayload };

/** What the renderer gets injected: the API plus event subscription and thumbnail URLs. */
export interface StudioClient extends StudioApi {
  onEvent(listener: (event: StudioEvent) => void): () => void;
  thumbnailUrl(indexId: string, itemId: number): string;
}

/**
 * What the Electron preload exposes as `window.studio`. Its methods resolve with envelopes and
 * never reject: contextBridge copies a thrown error's message only, so an error's code (not-found,
 * superseded, ...) would arrive as nothing. The renderer unwraps them (api/ipcClient.ts), the same
 * way it unwraps the web host's replies, so both hosts raise the same codes.
 */
export type StudioBridge = { [M in ApiMethod]: (arg?: ApiArgs<M>) => Promise<ApiEnvelope<ApiResult<M>>> } & {
  onEvent(listener: (event: StudioEvent) => void): () => void;
  thumbnailUrl(indexId: string, itemId: number): string;
};

/**
 * What is wrong with Matryoshka group widths for an SAE of `dSae` latents, or null when nothing
 * is: they are cumulative, i.e. positive integers, strictly increasing, ending at d_sae. One rule
 * for every reader, the trainer, `--groups` and the New index form.
 */
export function groupWidthsProblem(widths: readonly number[], dSae: number): string | null {
  if (widths.length === 0) return 'at least one width';
  if (widths.some((w) => !Number.isInteger(w) || w < 1)) return 'positive integers';
  if (widths.some((w, i) => i > 0 && w <= widths[i - 1]!)) return 'strictly increasing';
  if (widths[widths.length - 1] !== dSae) return `ending at d_sae = ${dSae}`;
  return null;
}

/** groupWidthsProblem as a sentence naming where the widths came from, or null. */
export function groupWidthsError(where: string, widths: readonly number[], dSae: number): string | null {
  const problem = groupWidthsProblem(widths, dSae);
  return problem ? `${where} must be cumulative group widths, ${problem}; found [${widths.join(', ')}]` : null;
}

/**
 * What is wrong with a user's name for an index (renameIndex), or null. The name prefixes feature
 * ids (`NAME/12`), so it cannot hold the separator. One rule for the core and the rename field.
 */
export function indexNameProblem(name: unknown): string | null {
  if (typeof name !== 'string' || name.trim() === '') return 'A name cannot be empty.';
  if (name.includes('/')) return 'A name cannot contain "/": it separates the name from the feature number (NAME/12).';
  if (/[\u0000-\u001f]/.test(name)) return 'A name cannot contain control characters.';
  if (name.trim().length > 64) return 'A name can be at most 64 characters.';
  return null;
}

/** Shown in the UI and CLI: `CLIP-24K/6909`. */
export function featureName(indexName: string, index: number): string {
  return `${indexName}/${index}`;
}

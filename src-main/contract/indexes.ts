import { z } from 'zod';
import { indexId, nonEmpty } from './common.js';
import { returns, type MethodTable } from './method.js';

// Indexes: opening, naming and describing an index folder, and inspecting what an index is made
// from (backbone manifests, ONNX files, SAE checkpoints).

export const PROVIDER_NAMES = ['cpu', 'cuda', 'dml', 'coreml', 'webgpu'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];
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

export const NORMALIZATION_MODES = ['none', 'scale', 'constant_norm_rescale', 'layer_norm'] as const;
export type NormalizationMode = (typeof NORMALIZATION_MODES)[number];

export interface SaeNormalizationInfo {
  /** 'none'; 'scale': (x - mean) * scale (saev legacy, SAELens expected_average_only_in);
   *  'constant_norm_rescale': x * sqrt(d_in) / ||x||; 'layer_norm': per-token standardisation. */
  mode: NormalizationMode;
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
  /** What the items are: images, or clips. */
  kind: 'images' | 'videos';
  /** Frames (or tubelet steps) sampled per clip when fixed (segments sampling); null otherwise / images. */
  framesPerClip: number | null;
  /** Whole-SAE temporal statistics (video indexes); null for images. */
  temporal: TemporalSummary | null;
  /** Set when the index was opened through a group folder holding several SAEs' indexes. */
  group: IndexGroup | null;
  /** Problems worth showing with the summary, e.g. every feature dead; absent when none. */
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


export interface SkippedItem {
  item: string;
  reason: string;
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

const MANIFEST_PRESET_KEYS = ['clip', 'dinov2-saev', 'dinov2-hf', 'siglip', 'videomae'] as const;
export type ManifestPresetKey = (typeof MANIFEST_PRESET_KEYS)[number];


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

const createManifestArgs = z.strictObject({
  /** The ONNX model. */
  onnx: nonEmpty('Give the path of an ONNX model.'),
  /** Layer names (from OnnxLayers.layers) to list in the manifest. */
  layers: z.array(z.string().min(1)).min(1, 'Choose at least one layer.'),
  preset: z.enum(MANIFEST_PRESET_KEYS),
  /** Replace an existing manifest at the target path. */
  overwrite: z.boolean().optional(),
});
export type CreateManifestArgs = z.infer<typeof createManifestArgs>;

export const indexesMethods = {
  openIndex: {
    args: z.strictObject({ path: nonEmpty('Give the path of an index folder.') }),
    result: returns<IndexSummary>(),
    errors: ['not-found', 'bad-input', 'schema-too-new'],
  },
  indexSummary: {
    args: z.strictObject({ indexId }),
    result: returns<IndexSummary>(),
    errors: ['not-found'],
  },
  /** Renames an index (stored in it): non-empty, no "/". Its feature ids become `name/FEATURE`. */
  renameIndex: {
    args: z.strictObject({ indexId, name: z.string() }),
    result: returns<IndexSummary>(),
    errors: ['not-found', 'bad-request', 'bad-input'],
  },
  skippedItems: {
    args: z.strictObject({ indexId }),
    result: returns<SkippedItem[]>(),
    errors: ['not-found'],
  },
  inspectModel: {
    args: z.strictObject({ manifest: nonEmpty('Give the path of a backbone manifest (.json).') }),
    result: returns<ModelInspection>(),
    errors: ['not-found', 'bad-request', 'bad-input'],
  },
  /** The candidate layers of an ONNX file (runs it once on a dummy input), for writing its manifest. */
  inspectOnnx: {
    args: z.strictObject({ path: nonEmpty('Give the path of an ONNX model.') }),
    result: returns<OnnxLayers>(),
    errors: ['not-found', 'bad-input'],
  },
  /** Writes a backbone manifest next to an ONNX file from a family's preprocessing preset. */
  createManifest: {
    args: createManifestArgs,
    result: returns<CreatedManifest>(),
    errors: ['not-found', 'bad-request', 'bad-input'],
  },
  /** What a checkpoint path holds: format, architecture, widths, k/threshold, groups, normalisation. */
  inspectSae: {
    args: z.strictObject({ path: nonEmpty('Give the path of an SAE checkpoint file or folder.') }),
    result: returns<SaeInfo>(),
    errors: ['bad-input'],
  },
} satisfies MethodTable;

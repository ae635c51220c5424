// Reader for SAELens checkpoint folders: `cfg.json` + `sae_weights.safetensors` (+ an optional
// `sparsity.safetensors` of feature firing rates, which the studio recomputes itself and so
// ignores). Covers SAELens 6.x configs (`metadata.hook_name`, top-level `k`), 5.x ones
// (`activation_fn_str` / the runner's `activation_fn`, `activation_fn_kwargs.k`, top-level
// `hook_name`, older `hook_point`), and both kinds of folder SAELens writes:
//
// - inference folders (`save_inference_model`, or 5.x `save_model`): weights ready to encode;
// - training checkpoints (`<checkpoint_path>/<n_samples>/`: the training cfg with every training
//   key, raw training weights, `trainer_state.pt`, `activation_scaler.json` or, in 5.x,
//   `activations_store_state.safetensors`). These differ from inference folders in three ways
//   the studio must undo itself, since SAELens only undoes them when it saves for inference:
//   1. `rescale_acts_by_decoder_norm: true` (TopK family, SAELens >= 6.14): the encoder's
//      pre-activations are multiplied by each latent's decoder-row norm before TopK /
//      thresholding. The weights are not folded yet, so the reader folds them as SAELens's
//      inference save does (W_enc[:, j] and b_enc[j] times ||W_dec[j]||, W_dec[j] divided by it).
//      Inference cfgs keep the flag with already-unit rows, where folding again changes nothing.
//   2. `batchtopk` / `matryoshka_batchtopk` training SAEs keep their learned threshold as a
//      float64 scalar buffer `topk_threshold`; SAELens turns it into a JumpReLU threshold on save
//      (f = relu(h)·[h > θ]). Matryoshka is the only SAELens file that keeps `matryoshka_widths`.
//   3. `normalize_activations: "expected_average_only_in"`: the trainer multiplies inputs by an
//      estimated factor that is folded into the weights only at the very end. Intermediate
//      checkpoints keep it beside the weights (`activation_scaler.json` {"scaling_factor"} in 6.x,
//      `estimated_norm_scaling_factor` in `activations_store_state.safetensors` in 5.x), and the
//      reader turns it into the record's input scale.
//
// BatchTopK exports from other tools that say `architecture: "batchtopk"` load when they carry a
// threshold (a `threshold` tensor, scalar or [d_sae], or a number in cfg.json). SAELens's BatchTopK
// takes ReLU before thresholding, so the record's threshold is max(θ, 0) (see referenceEncoder.ts).
import { existsSync } from 'node:fs';
import { readCheckedTextSync } from '../util/checkedRead.js';
import { join } from 'node:path';
import { z } from 'zod';
import { groupWidthsError, type SaeArchitecture } from '../../contract/index.js';
import { readSafetensors, takeTensor, type SafetensorsTensor } from './safetensors.js';
import type { SaeNormalization, SaeRecord, SaeWeights } from './types.js';

export const SAELENS_CFG = 'cfg.json';
export const SAELENS_WEIGHTS = 'sae_weights.safetensors';
/** Files SAELens writes beside cfg.json in a training checkpoint (pointing at one means the folder). */
export const SAELENS_CHECKPOINT_FILES = [
  'sparsity.safetensors',
  'trainer_state.pt',
  'activation_scaler.json',
  'activations_store_state.safetensors',
  'runner_cfg.json',
];
const ACTIVATION_SCALER = 'activation_scaler.json';
const ACTIVATIONS_STORE_STATE = 'activations_store_state.safetensors';

const SAELENS_ARCHITECTURES = ['standard', 'topk', 'jumprelu', 'gated', 'batchtopk', 'matryoshka_batchtopk'] as const;

// Loose objects: SAELens configs carry dozens of training keys we neither need nor want to
// reject when a new SAELens version adds more. Only keys that change encoding are typed.
const SaeLensCfgSchema = z.looseObject({
  d_in: z.number().int().positive(),
  d_sae: z.number().int().positive(),
  architecture: z.string().nullish(),
  /** TopK: an integer; BatchTopK training configs store the average k as a float. */
  k: z.number().positive().nullish(),
  apply_b_dec_to_input: z.boolean().nullish(),
  normalize_activations: z.union([z.string(), z.boolean()]).nullish(),
  activation_fn_str: z.string().nullish(),
  activation_fn: z.string().nullish(),
  activation_fn_kwargs: z.looseObject({ k: z.number().positive().nullish() }).nullish(),
  hook_name: z.string().nullish(),
  hook_point: z.string().nullish(),
  metadata: z.looseObject({ hook_name: z.string().nullish() }).nullish(),
  /** MatryoshkaBatchTopK: cumulative widths of the nested groups (validated in readSaeLensFolder). */
  matryoshka_widths: z.array(z.number()).nullish(),
  /** Some batchtopk exports store the scalar inference threshold here instead of a tensor. */
  threshold: z.number().nullish(),
  /** TopK family (SAELens >= 6.14): pre-activations are scaled by the decoder-row norms. */
  rescale_acts_by_decoder_norm: z.boolean().nullish(),
});

export type SaeLensCfg = z.infer<typeof SaeLensCfgSchema>;

/** Read a SAELens folder into an SaeRecord (path = the folder). */
export function readSaeLensFolder(dir: string): SaeRecord {
  const cfgPath = join(dir, SAELENS_CFG);
  const weightsPath = join(dir, SAELENS_WEIGHTS);
  if (!existsSync(cfgPath)) {
    throw new Error(`No ${SAELENS_CFG} in ${dir}: a SAELens folder holds ${SAELENS_CFG} and ${SAELENS_WEIGHTS}`);
  }
  if (!existsSync(weightsPath)) {
    throw new Error(`No ${SAELENS_WEIGHTS} beside ${cfgPath}: a SAELens folder holds ${SAELENS_CFG} and ${SAELENS_WEIGHTS}`);
  }
  const cfg = parseSaeLensCfg(readCheckedTextSync(cfgPath, 'json'), cfgPath);
  const { architecture, k, topkRelu, topkFamily } = resolveArchitecture(cfg, cfgPath);
  const { d_in: dIn, d_sae: dSae } = cfg;

  const tensors = readSafetensors(weightsPath);
  const take = (name: string, shape: number[]) => takeTensor(tensors, name, shape, weightsPath);
  const weights: SaeWeights = {
    W_enc: take('W_enc', [dIn, dSae]),
    // Gated SAEs have no b_enc: their gate bias plays its role in h (see types.ts).
    b_enc: architecture === 'gated' ? take('b_gate', [dSae]) : take('b_enc', [dSae]),
    W_dec: take('W_dec', [dSae, dIn]),
    b_dec: take('b_dec', [dIn]),
  };
  if (architecture === 'gated') {
    weights.gated = { r_mag: take('r_mag', [dSae]), b_mag: take('b_mag', [dSae]) };
  }

  let threshold: Float32Array | null = null;
  if (architecture === 'jumprelu') {
    // Inference checkpoints store `threshold`; some training checkpoints store its log.
    threshold = tensors.has('threshold') || !tensors.has('log_threshold')
      ? take('threshold', [dSae])
      : take('log_threshold', [dSae]).map(Math.exp);
  } else if (architecture === 'batchtopk') {
    threshold = batchTopKThreshold(tensors, cfg, weightsPath, cfgPath);
  }

  // Only SAELens's TopK-family configs have the flag (others drop unknown keys on load).
  if (topkFamily && cfg.rescale_acts_by_decoder_norm === true) foldDecoderNorms(weights, dIn, dSae);

  return {
    format: 'saelens',
    path: dir,
    dIn,
    dSae,
    architecture,
    k,
    topkRelu,
    applyBDecToInput: cfg.apply_b_dec_to_input ?? true,
    threshold,
    normalization: resolveNormalization(cfg.normalize_activations, dir, cfgPath),
    hookName: cfg.hook_name ?? cfg.metadata?.hook_name ?? cfg.hook_point ?? null,
    groups: resolveGroups(cfg.matryoshka_widths, dSae, cfgPath),
    weights,
  };
}

/** Parse and validate cfg.json text; errors name the file and every bad key. */
function parseSaeLensCfg(text: string, cfgPath: string): SaeLensCfg {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${cfgPath} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = SaeLensCfgSchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(`${cfgPath} is not a usable SAELens config:\n${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

interface ResolvedArchitecture {
  architecture: SaeArchitecture;
  k: number | null;
  topkRelu: boolean;
  /** TopK, BatchTopK or Matryoshka BatchTopK: the configs that may set rescale_acts_by_decoder_norm. */
  topkFamily: boolean;
}

function resolveArchitecture(cfg: SaeLensCfg, cfgPath: string): ResolvedArchitecture {
  const name = cfg.architecture ?? 'standard';
  if (!(SAELENS_ARCHITECTURES as readonly string[]).includes(name)) {
    throw new Error(
      `Unsupported SAELens architecture '${name}' in ${cfgPath}; supported: ${SAELENS_ARCHITECTURES.join(', ')}`,
    );
  }
  // Before SAELens had `architecture: "topk"`, TopK SAEs were "standard" with a topk activation.
  const activation = cfg.activation_fn_str ?? cfg.activation_fn ?? 'relu';
  const isTopK = name === 'topk' || (name === 'standard' && activation === 'topk');
  if (name === 'standard' && !isTopK && activation !== 'relu') {
    throw new Error(`Unsupported SAELens activation function '${activation}' in ${cfgPath}; supported: relu, topk`);
  }
  if (isTopK) {
    const k = cfg.k ?? cfg.activation_fn_kwargs?.k;
    if (k == null || !Number.isInteger(k) || k > cfg.d_sae) {
      throw new Error(
        `${cfgPath} describes a TopK SAE but gives no usable k (found ${k ?? 'none'}); ` +
          `set "k" to an integer between 1 and d_sae = ${cfg.d_sae}`,
      );
    }
    // SAELens's TopK applies ReLU to the kept values.
    return { architecture: 'topk', k, topkRelu: true, topkFamily: true };
  }
  if (name === 'batchtopk' || name === 'matryoshka_batchtopk') {
    // k is the batch average (a float in training configs) and only informative: inference
    // thresholds per token. Keep it when it is a usable integer.
    const k = cfg.k ?? cfg.activation_fn_kwargs?.k ?? null;
    return { architecture: 'batchtopk', k: k !== null && Number.isInteger(k) && k <= cfg.d_sae ? k : null, topkRelu: false, topkFamily: true };
  }
  const architecture: SaeArchitecture = name === 'standard' ? 'relu' : (name as 'jumprelu' | 'gated');
  return { architecture, k: null, topkRelu: false, topkFamily: false };
}

/**
 * Fold each latent's decoder-row norm into the encoder, in place, as SAELens does when it saves a
 * TopK-family SAE trained with rescale_acts_by_decoder_norm: h·||W_dec[j]|| becomes the plain
 * pre-activation of the folded weights, and decoding f with the unit rows gives the same output.
 * A zero row stays as it is (its latent's rescaled pre-activation is 0 either way).
 */
function foldDecoderNorms(weights: SaeWeights, dIn: number, dSae: number): void {
  const { W_enc, b_enc, W_dec } = weights;
  for (let j = 0; j < dSae; j++) {
    let squares = 0;
    for (let i = 0; i < dIn; i++) squares += W_dec[j * dIn + i]! * W_dec[j * dIn + i]!;
    const norm = Math.sqrt(squares);
    b_enc[j] = b_enc[j]! * norm;
    for (let i = 0; i < dIn; i++) W_enc[i * dSae + j] = W_enc[i * dSae + j]! * norm;
    if (norm > 0) for (let i = 0; i < dIn; i++) W_dec[j * dIn + i] = W_dec[j * dIn + i]! / norm;
  }
}

/**
 * `matryoshka_widths` as groups (checked by the shared rule). SAELens itself appends d_sae when
 * the list stops short of it (with a warning), so the reader does the same.
 */
function resolveGroups(widths: number[] | null | undefined, dSae: number, cfgPath: string): number[] | null {
  if (widths == null || widths.length === 0) return null;
  const completed = widths[widths.length - 1]! < dSae ? [...widths, dSae] : widths.slice();
  const error = groupWidthsError(`"matryoshka_widths" in ${cfgPath}`, completed, dSae);
  if (error) throw new Error(error);
  return completed;
}

/**
 * BatchTopK's inference threshold, from exactly one of: a `threshold` tensor (scalar or [d_sae],
 * other tools' exports), a `topk_threshold` scalar (SAELens training checkpoints, float64), or a
 * cfg number. Stored as max(θ, 0): SAELens applies ReLU first, so a negative θ keeps nothing more.
 */
function batchTopKThreshold(tensors: Map<string, SafetensorsTensor>, cfg: SaeLensCfg, weightsPath: string, cfgPath: string): Float32Array {
  const sources: string[] = [];
  if (tensors.has('threshold')) sources.push(`a 'threshold' tensor in ${weightsPath}`);
  if (tensors.has('topk_threshold')) sources.push(`a 'topk_threshold' tensor in ${weightsPath}`);
  if (cfg.threshold != null) sources.push(`a "threshold" value in ${cfgPath}`);
  if (sources.length > 1) throw new Error(`The BatchTopK threshold is given twice (${sources.join(' and ')}); keep only one`);
  if (sources.length === 0) {
    throw new Error(
      `${cfgPath} says architecture "${cfg.architecture}" but there is no threshold to encode with: BatchTopK picks its top k·batch ` +
        `activations across a whole batch, so a single token can only be encoded with the learned threshold θ (f = h·[h > θ]). ` +
        `Add a 'threshold' tensor ([${cfg.d_sae}] or scalar) to ${weightsPath} or a "threshold": <number> to ${cfgPath} ` +
        `(SAELens training checkpoints keep it as 'topk_threshold'; SAELens saves BatchTopK SAEs for inference as "jumprelu" with a ` +
        `'threshold' tensor), or set "architecture": "topk" to encode per token with k instead`,
    );
  }
  let theta: Float32Array;
  if (cfg.threshold != null) {
    theta = Float32Array.of(cfg.threshold);
  } else {
    const name = tensors.has('threshold') ? 'threshold' : 'topk_threshold';
    const tensor = tensors.get(name)!;
    if (tensor.data.length !== 1 && !(tensor.shape.length === 1 && tensor.shape[0] === cfg.d_sae)) {
      throw new Error(`tensor '${name}' in ${weightsPath} has shape [${tensor.shape.join(', ')}] but [${cfg.d_sae}] or a scalar was expected`);
    }
    theta = tensor.data.slice();
  }
  return theta.map((t) => Math.max(t, 0));
}

/**
 * `expected_average_only_in` scales inputs by sqrt(d_in) / E[||x||], a factor SAELens estimates
 * from the training data. Training checkpoints keep it beside the weights (see the header); a
 * folder without it becomes mode 'scale' with scale = null, and the user must supply the factor
 * before encoding (the encoder refuses to guess). `constant_norm_rescale` and `layer_norm` are
 * computed per token, so need nothing stored.
 */
function resolveNormalization(value: string | boolean | null | undefined, dir: string, cfgPath: string): SaeNormalization {
  switch (value) {
    case undefined:
    case null:
    case false: // very old configs stored a boolean; false meant no normalisation
    case 'none':
      return { mode: 'none', mean: null, scale: null };
    case 'expected_average_only_in':
      return { mode: 'scale', mean: null, scale: savedScalingFactor(dir) };
    case 'constant_norm_rescale':
      return { mode: 'constant_norm_rescale', mean: null, scale: null };
    case 'layer_norm':
      return { mode: 'layer_norm', mean: null, scale: null };
    default:
      throw new Error(
        `Unsupported normalize_activations ${JSON.stringify(value)} in ${cfgPath}; supported: ` +
          `"none", "expected_average_only_in", "constant_norm_rescale", "layer_norm"`,
      );
  }
}

/** The trainer's input scaling factor kept in a training checkpoint, or null when there is none. */
function savedScalingFactor(dir: string): number | null {
  const scalerPath = join(dir, ACTIVATION_SCALER);
  if (existsSync(scalerPath)) {
    let json: unknown;
    try {
      json = JSON.parse(readCheckedTextSync(scalerPath, 'json'));
    } catch (error) {
      throw new Error(`${scalerPath} is not valid JSON: ${(error as Error).message}`);
    }
    const factor = (json as { scaling_factor?: unknown } | null)?.scaling_factor;
    if (factor === null || factor === undefined) return null;
    if (typeof factor !== 'number' || !(factor > 0) || !Number.isFinite(factor)) {
      throw new Error(`${scalerPath}: "scaling_factor" should be a positive number or null; found ${JSON.stringify(factor)}`);
    }
    return factor;
  }
  const storePath = join(dir, ACTIVATIONS_STORE_STATE);
  if (existsSync(storePath)) {
    const factor = readSafetensors(storePath).get('estimated_norm_scaling_factor');
    if (factor && factor.data.length === 1 && factor.data[0]! > 0) return factor.data[0]!;
  }
  return null;
}

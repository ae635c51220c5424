// Reader for SAELens checkpoint folders: `cfg.json` + `sae_weights.safetensors` (+ an optional
// `sparsity.safetensors` of feature firing rates, which the studio recomputes itself and so
// ignores). Covers current SAELens configs and the older keys (`activation_fn_str`,
// `activation_fn_kwargs.k`, `hook_point`) that published checkpoints still carry.
//
// Matryoshka: SAELens's MatryoshkaBatchTopK config names its nested prefix widths
// `matryoshka_widths` (cumulative, ending at d_sae). SAELens's own inference save drops them, but
// exporters that keep them (the studio's trainer does) get them read into `groups`.
//
// BatchTopK: SAELens saves BatchTopK SAEs for inference as JumpReLU (a `threshold` tensor). Some
// exports say `architecture: "batchtopk"` instead; they load when they carry the threshold (a
// `threshold` tensor, scalar or [d_sae], or a number in cfg.json), since BatchTopK's inference form
// is h·[h > θ]. Without one there is no faithful way to encode them per token, so they are refused.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { groupWidthsError, type SaeArchitecture } from '../../contract/index.js';
import { readSafetensors, takeTensor, type SafetensorsTensor } from './safetensors.js';
import type { SaeNormalization, SaeRecord, SaeWeights } from './types.js';

export const SAELENS_CFG = 'cfg.json';
export const SAELENS_WEIGHTS = 'sae_weights.safetensors';

const SAELENS_ARCHITECTURES = ['standard', 'topk', 'jumprelu', 'gated', 'batchtopk'] as const;

// Loose objects: SAELens configs carry dozens of training keys we neither need nor want to
// reject when a new SAELens version adds more. Only keys that change encoding are typed.
const SaeLensCfgSchema = z.looseObject({
  d_in: z.number().int().positive(),
  d_sae: z.number().int().positive(),
  architecture: z.string().nullish(),
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
  const cfg = parseSaeLensCfg(readFileSync(cfgPath, 'utf8'), cfgPath);
  const { architecture, k, topkRelu } = resolveArchitecture(cfg, cfgPath);
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
    normalization: resolveNormalization(cfg.normalize_activations, cfgPath),
    hookName: cfg.hook_name ?? cfg.metadata?.hook_name ?? cfg.hook_point ?? null,
    groups: resolveGroups(cfg.matryoshka_widths, dSae, cfgPath),
    weights,
  };
}

/** Parse and validate cfg.json text; errors name the file and every bad key. */
export function parseSaeLensCfg(text: string, cfgPath: string): SaeLensCfg {
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

function resolveArchitecture(
  cfg: SaeLensCfg,
  cfgPath: string,
): { architecture: SaeArchitecture; k: number | null; topkRelu: boolean } {
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
    return { architecture: 'topk', k, topkRelu: true };
  }
  if (name === 'batchtopk') {
    // k is informative only (inference uses the threshold); keep it when it is usable.
    const k = cfg.k ?? cfg.activation_fn_kwargs?.k ?? null;
    return { architecture: 'batchtopk', k: k !== null && Number.isInteger(k) && k <= cfg.d_sae ? k : null, topkRelu: false };
  }
  const architecture: SaeArchitecture = name === 'standard' ? 'relu' : (name as 'jumprelu' | 'gated');
  return { architecture, k: null, topkRelu: false };
}

/** `matryoshka_widths` as groups (checked by the shared rule). */
function resolveGroups(widths: number[] | null | undefined, dSae: number, cfgPath: string): number[] | null {
  if (widths == null || widths.length === 0) return null;
  const error = groupWidthsError(`"matryoshka_widths" in ${cfgPath}`, widths, dSae);
  if (error) throw new Error(error);
  return widths.slice();
}

/** BatchTopK's inference threshold: a `threshold` tensor (scalar or [d_sae]) or a cfg number, not both. */
function batchTopKThreshold(tensors: Map<string, SafetensorsTensor>, cfg: SaeLensCfg, weightsPath: string, cfgPath: string): Float32Array {
  const tensor = tensors.get('threshold');
  if (tensor && cfg.threshold != null) {
    throw new Error(`${weightsPath} has a 'threshold' tensor and ${cfgPath} a "threshold" value; keep only one`);
  }
  if (cfg.threshold != null) return Float32Array.of(cfg.threshold);
  if (!tensor) {
    throw new Error(
      `${cfgPath} says architecture "batchtopk" but there is no threshold to encode with: BatchTopK picks its top k·batch ` +
        `activations across a whole batch, so a single token can only be encoded with the learned threshold θ (f = h·[h > θ]). ` +
        `Add a 'threshold' tensor ([${cfg.d_sae}] or scalar) to ${weightsPath} or a "threshold": <number> to ${cfgPath} ` +
        `(SAELens itself saves BatchTopK SAEs as "jumprelu" with that tensor), or set "architecture": "topk" to encode per token with k instead`,
    );
  }
  if (tensor.data.length !== 1 && !(tensor.shape.length === 1 && tensor.shape[0] === cfg.d_sae)) {
    throw new Error(`tensor 'threshold' in ${weightsPath} has shape [${tensor.shape.join(', ')}] but [${cfg.d_sae}] or a scalar was expected`);
  }
  return tensor.data;
}

/**
 * `expected_average_only_in` scales inputs by sqrt(d_in) / E[||x||], a factor SAELens estimates
 * from the training data and does not save in the folder; it becomes mode 'scale' with
 * scale = null, and the user must supply the factor before encoding (the encoder refuses to
 * guess). `constant_norm_rescale` and `layer_norm` are computed per token, so need nothing stored.
 */
function resolveNormalization(value: string | boolean | null | undefined, cfgPath: string): SaeNormalization {
  switch (value) {
    case undefined:
    case null:
    case false: // very old configs stored a boolean; false meant no normalisation
    case 'none':
      return { mode: 'none', mean: null, scale: null };
    case 'expected_average_only_in':
      return { mode: 'scale', mean: null, scale: null };
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

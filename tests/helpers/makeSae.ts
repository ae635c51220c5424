// Deterministic SAE checkpoints for tests: the same options always give the same bytes, so a
// fresh clone's suite needs no downloaded fixtures. Weights are scaled so that, on inputs from
// makeSaeInputs (zero mean, unit variance), each feature fires on roughly 5-20% of tokens:
// sparse like a trained SAE, but never dead, so indexer tests see real top-k exemplars.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SaeArchitecture } from '../../src-main/contract/index.js';
import { writeSafetensors, type Float32Tensor } from '../../src-main/core/sae/safetensors.js';
import type { SaeWeights } from '../../src-main/core/sae/types.js';
import { mulberry32 } from './prng.js';

export interface MakeSaeOptions {
  dIn: number;
  dSae: number;
  architecture: SaeArchitecture;
  /** Required for topk; recorded (not used to encode) for batchtopk. */
  k?: number;
  seed: number;
  /** 'saelens' (default): folder with cfg.json + sae_weights.safetensors. 'safetensors': bare file + sidecar. */
  format?: 'saelens' | 'safetensors';
  /** Folder name (saelens) or file basename (safetensors); derived from the options by default. */
  name?: string;
  /** Threshold shape for jumprelu/batchtopk in the bare format (SAELens stores it per feature). */
  threshold?: 'per-feature' | 'scalar';
  applyBDecToInput?: boolean;
  /** SAELens only. */
  normalizeActivations?: 'none' | 'expected_average_only_in' | 'constant_norm_rescale' | 'layer_norm';
  /** Bare format only: whether TopK ReLUs its kept values (default: key left out, reader's default). */
  topkRelu?: boolean;
  /** Bare format only: cumulative Matryoshka widths. */
  groups?: number[];
  hookName?: string;
}

export interface GeneratedSae {
  weights: SaeWeights;
  /** Length dSae (per feature) or 1 (scalar); null for architectures without a threshold. */
  threshold: Float32Array | null;
}

export const seededRandom = mulberry32;

/** Uniform values with mean 0 and the given standard deviation. */
function uniform(random: () => number, n: number, std: number, mean = 0): Float32Array {
  const halfWidth = std * Math.sqrt(3);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = mean + (2 * random() - 1) * halfWidth;
  return out;
}

/** [rows, dIn] inputs with zero mean and unit variance, deterministic in `seed`. */
export function makeSaeInputs(rows: number, dIn: number, seed: number): Float32Array {
  return uniform(seededRandom(seed ^ 0x5eed), rows * dIn, 1);
}

/** The weights makeSae writes for these options (same seed, same values). */
export function makeSaeWeights(options: MakeSaeOptions): GeneratedSae {
  const { dIn, dSae, architecture } = options;
  const random = seededRandom(options.seed);
  // Columns of W_enc with variance 1/dIn make x W_enc roughly unit variance; a bias near -1
  // then lets each feature fire on the upper tail (~16%) of its pre-activation.
  const W_enc = uniform(random, dIn * dSae, 1 / Math.sqrt(dIn));
  const b_enc = uniform(random, dSae, 0.1, -1);
  // Decoder rows are the normalised encoder columns (tied initialisation, unit-norm atoms).
  const W_dec = new Float32Array(dSae * dIn);
  for (let j = 0; j < dSae; j++) {
    let norm = 0;
    for (let i = 0; i < dIn; i++) norm += W_enc[i * dSae + j]! ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let i = 0; i < dIn; i++) W_dec[j * dIn + i] = W_enc[i * dSae + j]! / norm;
  }
  const b_dec = uniform(random, dIn, 0.05);
  const weights: SaeWeights = { W_enc, b_enc, W_dec, b_dec };

  let threshold: Float32Array | null = null;
  if (architecture === 'jumprelu' || architecture === 'batchtopk') {
    // h is roughly N(-1, 1): thresholds a little above 0 still let each feature fire on ~10%.
    const perFeature = options.threshold ?? (options.format === 'safetensors' && architecture === 'batchtopk' ? 'scalar' : 'per-feature');
    threshold = perFeature === 'scalar' ? Float32Array.of(0.25) : uniform(random, dSae, 0.1, 0.2);
  }
  if (architecture === 'gated') {
    weights.gated = { r_mag: uniform(random, dSae, 0.2), b_mag: uniform(random, dSae, 0.1) };
  }
  return { weights, threshold };
}

/**
 * Write a deterministic SAE under `dir` and return the path loadSae should be given: the
 * SAELens folder, or the bare .safetensors file (its sidecar `<name>.json` is written beside it).
 */
export function makeSae(dir: string, options: MakeSaeOptions): string {
  const { dIn, dSae, architecture } = options;
  if (architecture === 'topk' && options.k == null) throw new Error('makeSae: a topk SAE needs k');
  const format = options.format ?? 'saelens';
  const name = options.name ?? `${architecture}-${dIn}x${dSae}-seed${options.seed}`;
  const { weights, threshold } = makeSaeWeights(options);

  const tensors: Record<string, Float32Tensor> = {
    W_enc: { shape: [dIn, dSae], data: weights.W_enc },
    // SAELens and the bare reader both name the gated bias b_gate.
    [architecture === 'gated' ? 'b_gate' : 'b_enc']: { shape: [dSae], data: weights.b_enc },
    W_dec: { shape: [dSae, dIn], data: weights.W_dec },
    b_dec: { shape: [dIn], data: weights.b_dec },
  };
  if (weights.gated) {
    tensors.r_mag = { shape: [dSae], data: weights.gated.r_mag };
    tensors.b_mag = { shape: [dSae], data: weights.gated.b_mag };
  }

  mkdirSync(dir, { recursive: true });
  if (format === 'saelens') {
    if (architecture === 'batchtopk') throw new Error('makeSae: SAELens saves BatchTopK SAEs as jumprelu; use format "safetensors"');
    if (threshold) tensors.threshold = { shape: [dSae], data: expandThreshold(threshold, dSae) };
    const folder = join(dir, name);
    mkdirSync(folder, { recursive: true });
    writeSafetensors(join(folder, 'sae_weights.safetensors'), tensors);
    const cfg = {
      d_in: dIn,
      d_sae: dSae,
      dtype: 'float32',
      device: 'cpu',
      apply_b_dec_to_input: options.applyBDecToInput ?? true,
      normalize_activations: options.normalizeActivations ?? 'none',
      architecture: architecture === 'relu' ? 'standard' : architecture,
      ...(architecture === 'topk' ? { k: options.k } : {}),
      metadata: { model_name: 'generated', hook_name: options.hookName ?? 'blocks.0.hook_resid_post' },
    };
    writeFileSync(join(folder, 'cfg.json'), JSON.stringify(cfg, null, 2));
    return folder;
  }

  if (threshold) tensors.threshold = { shape: threshold.length === 1 ? [] : [dSae], data: threshold };
  const file = join(dir, `${name}.safetensors`);
  writeSafetensors(file, tensors);
  const sidecar: Record<string, unknown> = { architecture };
  if (options.k != null) sidecar.k = options.k;
  if (options.applyBDecToInput != null) sidecar.apply_b_dec_to_input = options.applyBDecToInput;
  if (options.topkRelu != null) sidecar.topk_relu = options.topkRelu;
  if (options.hookName != null) sidecar.hook_name = options.hookName;
  if (options.groups != null) sidecar.groups = options.groups;
  writeFileSync(join(dir, `${name}.json`), JSON.stringify(sidecar, null, 2));
  return file;
}

/** A scalar threshold (length 1, see makeSaeWeights) repeated for every feature. */
function expandThreshold(threshold: Float32Array, dSae: number): Float32Array {
  return threshold.length === dSae ? threshold : new Float32Array(dSae).fill(threshold[0]!);
}

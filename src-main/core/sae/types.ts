import type { SaeArchitecture } from '../../contract/index.js';

/** Input normalisation applied to each token before encoding (part of the SAE record). */
export interface SaeNormalization {
  mode: 'none' | 'scale' | 'constant_norm_rescale' | 'layer_norm';
  /** For 'scale': x' = (x - mean) * scale. */
  mean: Float32Array | null;
  scale: number | null;
}

export interface SaeWeights {
  /** [dIn, dSae], row-major. */
  W_enc: Float32Array;
  /** [dSae]. For gated SAEs this is b_gate. */
  b_enc: Float32Array;
  /** [dSae, dIn], row-major. */
  W_dec: Float32Array;
  /** [dIn]. */
  b_dec: Float32Array;
  /** Gated SAEs only (SAELens 'gated'): magnitude path uses W_enc * exp(r_mag) + b_mag. */
  gated?: { r_mag: Float32Array; b_mag: Float32Array };
}

/** Everything needed to encode with an SAE, whatever format it was read from. */
export interface SaeRecord {
  format: 'saelens' | 'safetensors' | 'saev' | 'dictionary_learning';
  path: string;
  dIn: number;
  dSae: number;
  architecture: SaeArchitecture;
  k: number | null;
  /** SAELens and dictionary_learning apply ReLU to the kept top-k values; saev keeps them as they are. */
  topkRelu: boolean;
  applyBDecToInput: boolean;
  /** JumpReLU / BatchTopK threshold: length 1 (scalar) or dSae. */
  threshold: Float32Array | null;
  normalization: SaeNormalization;
  hookName: string | null;
  groups: number[] | null;
  weights: SaeWeights;
}

// Float64 reference encoder: the ground truth the fast (ONNX, float32) encoder is tested
// against. Written for clarity and exactness, not speed: one row at a time, float64 sums.
//
//   x' = normalise(x)                         (see normaliseRow)
//   h  = (x' - b_dec·[applyBDecToInput]) W_enc + b_enc
//   relu       f = relu(h)
//   topk       keep the k largest h (ties: lower index first), relu'd if topkRelu, others 0
//   batchtopk  f = h·[h > θ]                  (inference form of BatchTopK)
//   jumprelu   f = relu(h)·[h > θ]            (SAELens; θ scalar or per feature)
//   gated      f = [x_c W_enc + b_gate > 0] · relu(x_c (W_enc ⊙ exp(r_mag)) + b_mag)
//
// checkEncodable verifies every array's length against d_in and d_sae first, so the loops below
// index within bounds and mark their reads with `!` (noUncheckedIndexedAccess).
import type { SaeNormalization, SaeRecord } from './types.js';

/** SAELens's layer_norm epsilon. */
const LAYER_NORM_EPS = 1e-5;

/** Encode `rows` rows of `x` ([rows, dIn], row-major); returns [rows, dSae] in float64. */
export function encodeReference(sae: SaeRecord, x: ArrayLike<number>, rows: number): Float64Array {
  const { dIn, dSae, weights } = sae;
  if (!Number.isInteger(rows) || rows < 0) throw new Error(`encodeReference: rows must be a non-negative integer, got ${rows}`);
  if (x.length !== rows * dIn) {
    throw new Error(`encodeReference: x has ${x.length} values but ${rows} rows of d_in = ${dIn} need ${rows * dIn}`);
  }
  checkEncodable(sae);

  const out = new Float64Array(rows * dSae);
  const xc = new Float64Array(dIn);
  const pre = new Float64Array(dSae);
  for (let r = 0; r < rows; r++) {
    normaliseRow(sae.normalization, x, r * dIn, dIn, xc);
    if (sae.applyBDecToInput) for (let i = 0; i < dIn; i++) xc[i]! -= weights.b_dec[i]!;

    // pre = xc W_enc, accumulated row of W_enc by row of W_enc (contiguous reads).
    pre.fill(0);
    for (let i = 0; i < dIn; i++) {
      const xi = xc[i]!;
      if (xi === 0) continue;
      const base = i * dSae;
      for (let j = 0; j < dSae; j++) pre[j]! += xi * weights.W_enc[base + j]!;
    }
    activate(sae, pre, out.subarray(r * dSae, (r + 1) * dSae));
  }
  return out;
}

/** Fail before encoding, with a fix, when the record lacks what its architecture needs. */
function checkEncodable(sae: SaeRecord): void {
  const where = `SAE ${sae.path}`;
  if (sae.normalization.mode === 'scale' && sae.normalization.scale === null) {
    throw new Error(
      `${where} normalises inputs by a scale factor that its checkpoint does not carry ` +
        `(e.g. SAELens expected_average_only_in: sqrt(d_in) / mean ||x|| over training data); set it with --norm scale --norm-scale X (CLI) or the normalisation fields of the new-index form`,
    );
  }
  if (sae.normalization.mean && sae.normalization.mean.length !== sae.dIn) {
    throw new Error(`${where}: normalisation mean has ${sae.normalization.mean.length} values, expected d_in = ${sae.dIn}`);
  }
  if (sae.architecture === 'topk' && (sae.k === null || sae.k < 1)) throw new Error(`${where} is TopK but has no k`);
  if (sae.architecture === 'jumprelu' || sae.architecture === 'batchtopk') {
    const length = sae.threshold?.length;
    if (length !== 1 && length !== sae.dSae) {
      throw new Error(`${where} is ${sae.architecture} but its threshold has ${length ?? 'no'} values; expected 1 or d_sae = ${sae.dSae}`);
    }
  }
  if (sae.architecture === 'gated' && !sae.weights.gated) throw new Error(`${where} is gated but has no r_mag/b_mag`);
  const { W_enc, b_enc, W_dec, b_dec, gated } = sae.weights;
  const sizes: Array<[string, ArrayLike<number> | undefined, number]> = [
    ['W_enc', W_enc, sae.dIn * sae.dSae], ['b_enc', b_enc, sae.dSae], ['W_dec', W_dec, sae.dSae * sae.dIn], ['b_dec', b_dec, sae.dIn],
    ['r_mag', gated?.r_mag, sae.dSae], ['b_mag', gated?.b_mag, sae.dSae],
  ];
  for (const [name, values, expected] of sizes) {
    if (values && values.length !== expected) throw new Error(`${where}: ${name} has ${values.length} values, expected ${expected} (d_in = ${sae.dIn}, d_sae = ${sae.dSae})`);
  }
}

/**
 * Write the normalised row into `dst`:
 * - scale: (x - mean) · scale (mean treated as 0 when absent);
 * - constant_norm_rescale: x · sqrt(d_in) / ||x|| (an all-zero row stays zero instead of NaN);
 * - layer_norm: (x - mean(x)) / (std(x) + 1e-5), exactly as SAELens computes it: `std` is
 *   torch's default, the unbiased (n - 1) standard deviation, and epsilon is added to the std,
 *   not to the variance.
 */
function normaliseRow(norm: SaeNormalization, x: ArrayLike<number>, offset: number, dIn: number, dst: Float64Array): void {
  for (let i = 0; i < dIn; i++) dst[i] = x[offset + i]!;
  switch (norm.mode) {
    case 'none':
      return;
    case 'scale': {
      const scale = norm.scale as number;
      for (let i = 0; i < dIn; i++) dst[i] = (dst[i]! - (norm.mean ? norm.mean[i]! : 0)) * scale;
      return;
    }
    case 'constant_norm_rescale': {
      let sumSquares = 0;
      for (let i = 0; i < dIn; i++) sumSquares += dst[i]! * dst[i]!;
      const factor = sumSquares > 0 ? Math.sqrt(dIn) / Math.sqrt(sumSquares) : 0;
      for (let i = 0; i < dIn; i++) dst[i]! *= factor;
      return;
    }
    case 'layer_norm': {
      let sum = 0;
      for (let i = 0; i < dIn; i++) sum += dst[i]!;
      const mean = sum / dIn;
      let squares = 0;
      for (let i = 0; i < dIn; i++) squares += (dst[i]! - mean) ** 2;
      const std = dIn > 1 ? Math.sqrt(squares / (dIn - 1)) : 0;
      for (let i = 0; i < dIn; i++) dst[i] = (dst[i]! - mean) / (std + LAYER_NORM_EPS);
      return;
    }
  }
}

/** Turn `pre` (= xc W_enc, no bias yet) into feature activations in `f`. */
function activate(sae: SaeRecord, pre: Float64Array, f: Float64Array): void {
  const { dSae, weights } = sae;
  const thresholdAt = (j: number): number => {
    const threshold = sae.threshold as Float32Array;
    return threshold.length === 1 ? threshold[0]! : threshold[j]!;
  };

  if (sae.architecture === 'gated') {
    const { r_mag, b_mag } = weights.gated!;
    for (let j = 0; j < dSae; j++) {
      const open = pre[j]! + weights.b_enc[j]! > 0; // b_enc holds b_gate
      // x (W_enc ⊙ exp(r_mag)) = exp(r_mag) · (x W_enc), since r_mag scales whole columns.
      const magnitude = pre[j]! * Math.exp(r_mag[j]!) + b_mag[j]!;
      f[j] = open && magnitude > 0 ? magnitude : 0;
    }
    return;
  }

  const h = pre;
  for (let j = 0; j < dSae; j++) h[j]! += weights.b_enc[j]!;

  switch (sae.architecture) {
    case 'relu':
      for (let j = 0; j < dSae; j++) f[j] = h[j]! > 0 ? h[j]! : 0;
      return;
    case 'batchtopk':
      for (let j = 0; j < dSae; j++) f[j] = h[j]! > thresholdAt(j) ? h[j]! : 0;
      return;
    case 'jumprelu':
      for (let j = 0; j < dSae; j++) f[j] = h[j]! > thresholdAt(j) && h[j]! > 0 ? h[j]! : 0;
      return;
    case 'topk': {
      const k = Math.min(sae.k as number, dSae);
      const order = Array.from({ length: dSae }, (_, j) => j);
      order.sort((a, b) => h[b]! - h[a]! || a - b);
      f.fill(0);
      for (let n = 0; n < k; n++) {
        const j = order[n]!;
        f[j] = sae.topkRelu && h[j]! < 0 ? 0 : h[j]!;
      }
      return;
    }
  }
}

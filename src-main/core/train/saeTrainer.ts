// SAE trainer: TopK, BatchTopK and Matryoshka (nested-prefix TopK) sparse autoencoders trained on
// a stream of activation rows, in plain TypeScript on Float32Array.
//
//   xc  = x - b_dec
//   pre = xc W_enc + b_enc                         W_enc [dIn, width], row-major
//   f   = topk (per row) / batchtopk (per batch) of relu(pre)
//   x̂_g = b_dec + f[:g] W_dec[:g]                   W_dec [width, dIn], unit-norm rows
//   loss = Σ_g mean_rows ||x̂_g - x||²  (one prefix g = width unless Matryoshka)
//        + auxCoef · mean_rows ||Σ_{top-kAux dead j} f_j W_dec[j] - (x - x̂)||² / E||x - x̂||²  (AuxK)
//
// Initialisation: W_dec rows random unit vectors, W_enc = W_decᵀ, b_enc = 0, b_dec = the
// arithmetic mean of the first batch. Adam; decoder-row gradients are projected orthogonal to
// the row and rows renormalised after every step. Deterministic from a seed (mulberry32).
// While training, W_enc is held transposed ([width, dIn], like W_dec), so that every per-latent
// loop (forward dots, encoder gradient) reads contiguous memory; the result carries it in the
// usual [dIn, width] layout.
//
// The dense product `pre = xc W_enc + b_enc` is the only O(rows·dIn·width) step; everything after
// it touches only the active latents of each row. With denseProduct 'onnx' it runs on
// onnxruntime (OnnxDenseProduct: MLAS GEMM on all cores, or a GPU provider), the weights fed as
// inputs each step; 'js' (the default) keeps it in this file.
//
// Indexing: the numeric loops index typed arrays within bounds that their loop limits and the
// buffer sizes set up in train() guarantee, so element reads carry `!` (noUncheckedIndexedAccess)
// instead of a check per element, which would cost time in the inner loops.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { groupWidthsError, type ProviderChoice } from '../../contract/index.js';
import { writeSafetensors } from '../sae/safetensors.js';
import { SAELENS_CFG, SAELENS_WEIGHTS } from '../sae/saelens.js';
import { OnnxDenseProduct } from './onnxDenseProduct.js';
import { mulberry32 } from '../util/prng.js';

export type TrainArch = 'topk' | 'batchtopk' | 'matryoshka';

export interface TrainOptions {
  dIn: number;
  width: number;
  k: number;
  arch: TrainArch;
  /** Matryoshka: cumulative group widths ending at width (e.g. [16, 64, 256]). */
  groups?: number[];
  steps: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  /** Latents not fired in this many tokens count as dead (default 10 000). */
  deadTokens?: number;
  /** AuxK: how many dead latents reconstruct the residual (default dIn / 2). */
  auxK?: number;
  /** AuxK coefficient (default 1/32); 0 disables the aux loss. */
  auxCoef?: number;
  signal?: AbortSignal;
  onProgress?: (p: TrainProgress) => void;
  /** Call onProgress every this many steps (default 10; always on the last step). */
  progressEvery?: number;
  /** Where pre = xc W_enc + b_enc is computed: 'js' (default) or 'onnx' (onnxruntime). */
  denseProduct?: 'js' | 'onnx';
  /** onnxruntime provider for denseProduct 'onnx' (default 'cpu'). */
  provider?: ProviderChoice;
  /**
   * Makes the optimizer of each parameter (default: Adam at lr). Tests pass one that records the
   * gradient the trainer computed, to check it against finite differences of the loss.
   */
  optimizer?: OptimizerFactory;
}

/** W_enc is handed over transposed ([width, dIn], as it is held while training, like W_dec). */
export type SaeParameter = 'W_encT' | 'b_enc' | 'W_dec' | 'b_dec';
/** step(g) updates the parameter array given at creation from its gradient g (same layout). */
export type OptimizerFactory = (name: SaeParameter, p: Float32Array, lr: number) => { step(g: Float32Array): void };

export interface TrainProgress {
  step: number;
  steps: number;
  loss: number;
  fvu: number;
  l0: number;
  dead: number;
  tokens: number;
}

/** Returns the next batch ([rows, dIn] row-major), or null when the stream is exhausted. */
export type BatchSource = (rows: number) => Float32Array | null | Promise<Float32Array | null>;

export interface TrainedSae {
  arch: TrainArch;
  dIn: number;
  width: number;
  k: number;
  groups: number[] | null;
  /** BatchTopK inference threshold (running mean of the smallest kept activation). */
  threshold: number | null;
  W_enc: Float32Array;
  b_enc: Float32Array;
  W_dec: Float32Array;
  b_dec: Float32Array;
  stepsDone: number;
  tokens: number;
  history: TrainProgress[];
  aborted: boolean;
  /** Where the dense product ran: 'js', or 'onnx:<provider>' (with why, when it fell back). */
  denseProduct: string;
}

/** mulberry32 (util/prng.ts), under the name the trainer's callers use. */
export const makeRng = mulberry32;

export function makeGaussian(rng: () => number): () => number {
  return () => {
    const u = Math.max(rng(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
  };
}

/** Adam (Kingma & Ba) with bias correction, updating `p` in place. */
export class Adam {
  private m: Float32Array;
  private v: Float32Array;
  private t = 0;
  constructor(private readonly p: Float32Array, private readonly lr: number, private readonly b1 = 0.9, private readonly b2 = 0.999, private readonly eps = 1e-8) {
    this.m = new Float32Array(p.length);
    this.v = new Float32Array(p.length);
  }
  step(g: Float32Array): void {
    this.t++;
    const { m, v, p, b1, b2 } = this;
    // p -= lr · m̂ / (sqrt(v̂) + eps), m̂ = m / (1 - b1^t), v̂ = v / (1 - b2^t); divisions hoisted.
    const a = this.lr / (1 - b1 ** this.t);
    const ic2 = 1 / (1 - b2 ** this.t);
    const eps = this.eps, ob1 = 1 - b1, ob2 = 1 - b2;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i]!;
      const mi = b1 * m[i]! + ob1 * gi;
      const vi = b2 * v[i]! + ob2 * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i]! -= (a * mi) / (Math.sqrt(vi * ic2) + eps);
    }
  }
}

function checkOptions(o: TrainOptions): number[] {
  if (!Number.isInteger(o.dIn) || o.dIn < 1) throw new Error(`dIn must be a positive integer, got ${o.dIn}`);
  if (!Number.isInteger(o.width) || o.width < 1) throw new Error(`width must be a positive integer, got ${o.width}`);
  if (!Number.isInteger(o.k) || o.k < 1 || o.k > o.width) throw new Error(`k must be an integer in 1..width (${o.width}), got ${o.k}`);
  if (o.arch === 'matryoshka') {
    const g = o.groups ?? [];
    if (g.length === 0) throw new Error('matryoshka needs groups: cumulative widths ending at width, e.g. --groups 16,64,256');
    const error = groupWidthsError('groups', g, o.width);
    if (error) throw new Error(error);
    return g.slice();
  }
  if (o.groups && o.groups.length > 0) throw new Error(`groups apply only to --arch matryoshka (got arch ${o.arch})`);
  return [o.width];
}

/** Normalise each of `rows` rows of length d in place. */
function normaliseRows(w: Float32Array, rows: number, d: number): void {
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let i = 0; i < d; i++) s += w[r * d + i]! ** 2;
    const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
    for (let i = 0; i < d; i++) w[r * d + i]! *= inv;
  }
}

/** pre[r, :] = (x[r, :] - b_dec) W_enc + b_enc, with W_enc given transposed (W_encT [width, dIn]): one contiguous dot per latent. Also writes xc = x - b_dec. */
function encodePreT(x: Float32Array, rows: number, dIn: number, width: number, W_encT: Float32Array, b_enc: Float32Array, b_dec: Float32Array, xc: Float32Array, pre: Float32Array): void {
  for (let r = 0; r < rows; r++) {
    const xo = r * dIn, po = r * width;
    for (let i = 0; i < dIn; i++) xc[xo + i] = x[xo + i]! - b_dec[i]!;
    for (let j = 0; j < width; j++) {
      const wo = j * dIn;
      let s = b_enc[j]!;
      for (let i = 0; i < dIn; i++) s += xc[xo + i]! * W_encT[wo + i]!;
      pre[po + j] = s;
    }
  }
}

/** [rows, cols] row-major -> [cols, rows], in blocks (both sides stay in cache). */
function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  const B = 32;
  for (let r0 = 0; r0 < rows; r0 += B) {
    for (let c0 = 0; c0 < cols; c0 += B) {
      const r1 = Math.min(r0 + B, rows), c1 = Math.min(c0 + B, cols);
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) out[c * rows + r] = a[r * cols + c]!;
    }
  }
  return out;
}

/** The kth smallest value (0-based) of `a`, which it reorders: quickselect, median-of-three pivots. */
function selectKth(a: Float32Array, kth: number): number {
  let lo = 0, hi = a.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    let x = a[lo]!, y = a[mid]!, z = a[hi]!;
    if (x > y) { const t = x; x = y; y = t; }
    if (y > z) { y = z; if (x > y) y = x; }
    const pivot = y;
    let i = lo, j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) { const t = a[i]!; a[i] = a[j]!; a[j] = t; i++; j--; }
    }
    if (kth <= j) hi = j;
    else if (kth >= i) lo = i;
    else return a[kth]!;
  }
  return a[kth]!;
}

/** Indices of the k largest positive values of a[off..off+n) (ties: lower index first). */
function topkRow(a: Float32Array, off: number, n: number, k: number, mask: Uint8Array | null, out: number[]): void {
  out.length = 0;
  const vals = topkVals.length >= k ? topkVals : (topkVals = new Float64Array(k));
  let m = 0; // kept so far
  let floor = 0; // a value must beat this to enter (the smallest kept once k are kept)
  for (let j = 0; j < n; j++) {
    const v = a[off + j]!;
    if (!(v > floor)) continue;
    if (mask && !mask[j]) continue;
    let p = m < k ? m++ : k - 1;
    while (p > 0 && vals[p - 1]! < v) { out[p] = out[p - 1]!; vals[p] = vals[p - 1]!; p--; }
    out[p] = j;
    vals[p] = v;
    if (m === k) floor = vals[k - 1]!;
  }
  out.length = m;
}
/** topkRow's scratch values (reused: it runs once per row). */
let topkVals = new Float64Array(64);

/**
 * Train an SAE on batches from `source`. Stops after `steps` steps, when the source runs dry,
 * or when `signal` aborts (returning what it has, with aborted = true).
 */
export async function trainSae(source: BatchSource, o: TrainOptions): Promise<TrainedSae> {
  checkOptions(o);
  const dense = o.denseProduct === 'onnx' ? await OnnxDenseProduct.create(o.dIn, o.width, o.provider ?? 'cpu') : null;
  try {
    return await train(source, o, dense);
  } finally {
    await dense?.close();
  }
}

async function train(source: BatchSource, o: TrainOptions, dense: OnnxDenseProduct | null): Promise<TrainedSae> {
  const groups = checkOptions(o);
  const { dIn, width, k } = o;
  const B = o.batchSize ?? 256;
  const lr = o.lr ?? 2e-3;
  const deadTokens = o.deadTokens ?? 10_000;
  const auxK = Math.min(o.auxK ?? Math.max(1, Math.floor(dIn / 2)), width);
  const auxCoef = o.auxCoef ?? 1 / 32;
  const every = o.progressEvery ?? 10;
  const gauss = makeGaussian(makeRng(o.seed ?? 0));

  const W_dec = new Float32Array(width * dIn);
  for (let i = 0; i < W_dec.length; i++) W_dec[i] = gauss();
  normaliseRows(W_dec, width, dIn);
  const W_encT = Float32Array.from(W_dec); // W_enc = W_decᵀ, held as its transpose [width, dIn]
  const b_enc = new Float32Array(width);
  const b_dec = new Float32Array(dIn);

  const makeOptimizer: OptimizerFactory = o.optimizer ?? ((_name, p, rate) => new Adam(p, rate));
  const optEnc = makeOptimizer('W_encT', W_encT, lr);
  const optBEnc = makeOptimizer('b_enc', b_enc, lr);
  const optDec = makeOptimizer('W_dec', W_dec, lr);
  const optBDec = makeOptimizer('b_dec', b_dec, lr);
  const gW_encT = new Float32Array(W_encT.length);
  const gb_enc = new Float32Array(width);
  const gW_dec = new Float32Array(W_dec.length);
  const gb_dec = new Float32Array(dIn);

  const lastFired = new Float64Array(width); // token count when each latent last fired
  let tokens = 0;
  let threshold: number | null = null;
  const history: TrainProgress[] = [];
  let step = 0;
  let aborted = false;
  let xc = new Float32Array(0);
  let pre: Float32Array = new Float32Array(0);
  const groupOf = new Int32Array(width);
  for (let g = 0, j = 0; j < width; j++) { while (j >= groups[g]!) g++; groupOf[j] = g; }
  const G = groups.length;
  const e = new Float64Array(G * dIn); // per-prefix errors of one row, turned into suffix sums
  const dpre = new Float32Array(width);
  const gbDecEnc = new Float64Array(dIn);
  const cur = new Float64Array(dIn); // one row's running reconstruction error
  let positives = new Float32Array(0); // BatchTopK: the batch's positive pre-activations
  const active: number[] = [];
  const touched: number[] = [];
  const isTouched = new Uint8Array(width);
  const auxIdx: number[] = [];
  const deadMask = new Uint8Array(width);
  const resid = new Float64Array(dIn);
  const eAux = new Float64Array(dIn);
  // AuxK normalises by the residual's energy (Gao et al.): the previous batch's mean ||x - x̂||².
  let residEnergy = 0;

  while (step < o.steps) {
    if (o.signal?.aborted) { aborted = true; break; }
    const x = await source(B);
    if (!x) break;
    if (x.length % dIn !== 0) throw new Error(`batch has ${x.length} values, not a multiple of dIn = ${dIn}`);
    const rows = x.length / dIn;
    if (rows === 0) break;
    if (step === 0) {
      for (let r = 0; r < rows; r++) for (let i = 0; i < dIn; i++) b_dec[i]! += x[r * dIn + i]! / rows;
    }
    if (xc.length < rows * dIn) { xc = new Float32Array(rows * dIn); pre = dense ? pre : new Float32Array(rows * width); }

    if (dense) {
      for (let r = 0; r < rows; r++) for (let i = 0; i < dIn; i++) xc[r * dIn + i] = x[r * dIn + i]! - b_dec[i]!;
      pre = await dense.run(xc, rows, W_encT, b_enc);
    } else {
      encodePreT(x, rows, dIn, width, W_encT, b_enc, b_dec, xc, pre);
    }

    // Selection: per-row TopK, or BatchTopK's global top rows·k.
    let cut = 0;
    if (o.arch === 'batchtopk') {
      // cut = the (rows·k)-th largest positive pre-activation, by selection (no full sort).
      let count = 0;
      for (let i = 0; i < rows * width; i++) if (pre[i]! > 0) count++;
      if (positives.length < count) positives = new Float32Array(count);
      for (let i = 0, c = 0; i < rows * width; i++) if (pre[i]! > 0) positives[c++] = pre[i]!;
      const n = Math.min(rows * k, count);
      cut = n > 0 ? selectKth(positives.subarray(0, count), count - n) : Infinity;
      if (n > 0) threshold = threshold === null ? cut : 0.99 * threshold + 0.01 * cut;
    }

    let dead = 0;
    for (let j = 0; j < width; j++) {
      deadMask[j] = tokens - lastFired[j]! > deadTokens ? 1 : 0;
      dead += deadMask[j]!;
    }
    gW_encT.fill(0); gb_enc.fill(0); gW_dec.fill(0); gb_dec.fill(0);
    const scale = 2 / rows;
    let lossSum = 0, errSum = 0, l0Sum = 0;
    const mean = new Float64Array(dIn);
    for (let r = 0; r < rows; r++) for (let i = 0; i < dIn; i++) mean[i]! += x[r * dIn + i]! / rows;
    let varSum = 0;
    for (let r = 0; r < rows; r++) for (let i = 0; i < dIn; i++) varSum += (x[r * dIn + i]! - mean[i]!) ** 2;

    for (let r = 0; r < rows; r++) {
      const po = r * width, xo = r * dIn;
      if (o.arch === 'batchtopk') {
        active.length = 0;
        for (let j = 0; j < width; j++) if (pre[po + j]! >= cut && pre[po + j]! > 0) active.push(j);
      } else {
        topkRow(pre, po, width, k, null, active);
        active.sort((a, b) => a - b);
      }
      l0Sum += active.length;
      for (const j of active) lastFired[j] = tokens + r + 1;

      // Prefix reconstructions: e[g] = x̂_g - x, accumulated group by group.
      for (let i = 0; i < dIn; i++) cur[i] = b_dec[i]! - x[xo + i]!;
      let a = 0;
      for (let g = 0; g < G; g++) {
        while (a < active.length && active[a]! < groups[g]!) {
          const j = active[a++]!, f = pre[po + j]!, wo = j * dIn;
          for (let i = 0; i < dIn; i++) cur[i]! += f * W_dec[wo + i]!;
        }
        let s = 0;
        for (let i = 0; i < dIn; i++) { e[g * dIn + i] = cur[i]!; s += cur[i]! * cur[i]!; }
        lossSum += s;
        if (g === G - 1) errSum += s;
      }
      // Gradient w.r.t. the full-row residual (for AuxK): resid = x - x̂.
      for (let i = 0; i < dIn; i++) resid[i] = -e[(G - 1) * dIn + i]!;
      // b_dec gets every prefix's error; suffix sums give each latent's error sum.
      for (let g = G - 1; g >= 0; g--) {
        for (let i = 0; i < dIn; i++) {
          if (g < G - 1) e[g * dIn + i]! += e[(g + 1) * dIn + i]!;
        }
      }
      for (let i = 0; i < dIn; i++) gb_dec[i]! += scale * e[i]!;

      // dpre is nonzero only on the active (and AuxK) latents: reset and visit just those.
      for (const j of touched) { dpre[j] = 0; isTouched[j] = 0; }
      touched.length = 0;
      for (const j of active) { touched.push(j); isTouched[j] = 1; }
      for (const j of active) {
        const f = pre[po + j]!, wo = j * dIn, eo = groupOf[j]! * dIn;
        let d = 0;
        for (let i = 0; i < dIn; i++) { d += e[eo + i]! * W_dec[wo + i]!; gW_dec[wo + i]! += scale * f * e[eo + i]!; }
        dpre[j]! += scale * d;
      }

      // AuxK: the top auxK dead latents reconstruct the residual.
      if (auxCoef > 0 && dead > 0) {
        topkRow(pre, po, width, auxK, deadMask, auxIdx);
        if (auxIdx.length > 0) {
          for (let i = 0; i < dIn; i++) eAux[i] = -resid[i]!;
          for (const j of auxIdx) { const f = pre[po + j]!, wo = j * dIn; for (let i = 0; i < dIn; i++) eAux[i]! += f * W_dec[wo + i]!; }
          let s = 0;
          for (let i = 0; i < dIn; i++) s += eAux[i]! * eAux[i]!;
          const norm = residEnergy > 0 ? 1 / residEnergy : 1;
          lossSum += auxCoef * s * norm;
          const c = auxCoef * scale * norm;
          for (const j of auxIdx) {
            const f = pre[po + j]!, wo = j * dIn;
            let d = 0;
            for (let i = 0; i < dIn; i++) { d += eAux[i]! * W_dec[wo + i]!; gW_dec[wo + i]! += c * f * eAux[i]!; }
            if (!isTouched[j]) { touched.push(j); isTouched[j] = 1; }
            dpre[j]! += c * d;
          }
        }
      }

      // Back through the encoder (only latents with a nonzero gradient).
      for (const j of touched) {
        const dj = dpre[j]!;
        if (dj === 0) continue;
        gb_enc[j]! += dj;
        const wo = j * dIn;
        for (let i = 0; i < dIn; i++) gW_encT[wo + i]! += xc[xo + i]! * dj;
      }
    }
    // b_dec also enters through xc = x - b_dec: its gradient there is -Σ_rows W_enc dpre = -W_enc gb_enc.
    gbDecEnc.fill(0);
    for (let j = 0; j < width; j++) {
      const gj = gb_enc[j]!;
      if (gj === 0) continue;
      const wo = j * dIn;
      for (let i = 0; i < dIn; i++) gbDecEnc[i]! += W_encT[wo + i]! * gj;
    }
    for (let i = 0; i < dIn; i++) gb_dec[i]! -= gbDecEnc[i]!;
    tokens += rows;
    residEnergy = errSum / rows;

    // Keep decoder rows on the unit sphere: drop the radial part of their gradient, step, renormalise.
    for (let j = 0; j < width; j++) {
      const wo = j * dIn;
      let d = 0;
      for (let i = 0; i < dIn; i++) d += gW_dec[wo + i]! * W_dec[wo + i]!;
      if (d !== 0) for (let i = 0; i < dIn; i++) gW_dec[wo + i]! -= d * W_dec[wo + i]!;
    }
    optEnc.step(gW_encT); optBEnc.step(gb_enc); optDec.step(gW_dec); optBDec.step(gb_dec);
    normaliseRows(W_dec, width, dIn);
    step++;

    const progress: TrainProgress = {
      step, steps: o.steps, loss: lossSum / rows, fvu: varSum > 0 ? errSum / varSum : 0, l0: l0Sum / rows, dead, tokens,
    };
    history.push(progress);
    if (o.onProgress && (step % every === 0 || step === o.steps)) o.onProgress(progress);
  }

  return {
    arch: o.arch, dIn, width, k, groups: o.arch === 'matryoshka' ? groups : null,
    threshold: o.arch === 'batchtopk' ? (threshold ?? 0) : null,
    W_enc: transpose(W_encT, width, dIn), b_enc, W_dec, b_dec, stepsDone: step, tokens, history, aborted,
    denseProduct: dense ? `onnx:${dense.provider}${dense.fallbackReason ? ` (${dense.fallbackReason})` : ''}` : 'js',
  };
}

/** Encode rows with the trained model exactly as training's inference form does ([rows, width]). */
export function encodeTrained(sae: TrainedSae, x: Float32Array, rows: number): Float32Array {
  const { dIn, width } = sae;
  const xc = new Float32Array(rows * dIn);
  const pre = new Float32Array(rows * width);
  encodePreT(x, rows, dIn, width, transpose(sae.W_enc, dIn, width), sae.b_enc, sae.b_dec, xc, pre);
  const out = new Float32Array(rows * width);
  const idx: number[] = [];
  for (let r = 0; r < rows; r++) {
    const po = r * width;
    if (sae.arch === 'batchtopk') {
      for (let j = 0; j < width; j++) if (pre[po + j]! > (sae.threshold ?? 0)) out[po + j] = pre[po + j]!;
    } else {
      topkRow(pre, po, width, sae.k, null, idx);
      for (const j of idx) out[po + j] = pre[po + j]!;
    }
  }
  return out;
}

export interface WrittenSae {
  /** The path loadSae should be given: always the SAELens folder. */
  loadPath: string;
  files: string[];
}

/**
 * Write a trained SAE to `dir` as a SAELens folder (cfg.json + sae_weights.safetensors), the form
 * SAELens itself saves for inference:
 * - topk: architecture "topk", k;
 * - batchtopk: architecture "jumprelu" with a `threshold` tensor [d_sae] filled with the learned
 *   scalar (SAELens saves BatchTopK SAEs as JumpReLU; relu(h)·[h > θ] = h·[h > θ] since θ ≥ 0),
 *   plus "trained_as": "batchtopk" and k for the record;
 * - matryoshka: architecture "topk", k, and "matryoshka_widths" (cumulative group widths ending at
 *   d_sae, SAELens's MatryoshkaBatchTopK field name), which the reader turns into groups.
 */
export function writeTrainedSae(sae: TrainedSae, dir: string, extra: { hookName?: string; model?: string } = {}): WrittenSae {
  mkdirSync(dir, { recursive: true });
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {
    W_enc: { shape: [sae.dIn, sae.width], data: sae.W_enc },
    b_enc: { shape: [sae.width], data: sae.b_enc },
    W_dec: { shape: [sae.width, sae.dIn], data: sae.W_dec },
    b_dec: { shape: [sae.dIn], data: sae.b_dec },
  };
  const jumprelu = sae.arch === 'batchtopk';
  if (jumprelu) tensors.threshold = { shape: [sae.width], data: new Float32Array(sae.width).fill(sae.threshold ?? 0) };
  const cfg: Record<string, unknown> = {
    architecture: jumprelu ? 'jumprelu' : 'topk',
    d_in: sae.dIn,
    d_sae: sae.width,
    k: sae.k,
    ...(jumprelu ? {} : { activation_fn: 'topk', activation_fn_kwargs: { k: sae.k } }),
    ...(sae.groups ? { matryoshka_widths: sae.groups } : {}),
    trained_as: sae.arch,
    apply_b_dec_to_input: true,
    normalize_activations: 'none',
    hook_name: extra.hookName ?? null,
    model_name: extra.model ?? null,
    dtype: 'float32',
    training_steps: sae.stepsDone,
    training_tokens: sae.tokens,
  };
  const weightsPath = join(dir, SAELENS_WEIGHTS);
  const cfgPath = join(dir, SAELENS_CFG);
  writeSafetensors(weightsPath, tensors, { format: 'pt' });
  writeFileSync(cfgPath, `${JSON.stringify(cfg, null, 2)}\n`);
  return { loadPath: dir, files: [weightsPath, cfgPath] };
}

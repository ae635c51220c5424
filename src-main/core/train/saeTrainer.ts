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
//
// The dense product `pre = xc W_enc` is the only O(rows·dIn·width) step; everything after it
// touches only the k active latents per row. For large widths it is the place where
// onnxruntime (a MatMul graph from OnnxGraphBuilder, GPU provider when present) could take over.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors } from '../sae/safetensors.js';
import { SAELENS_CFG, SAELENS_WEIGHTS } from '../sae/saelens.js';

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
}

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
}

/** mulberry32: small, fast, deterministic PRNG. */
export function makeRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function makeGaussian(rng: () => number): () => number {
  return () => {
    const u = Math.max(rng(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
  };
}

class Adam {
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
    const c1 = 1 - b1 ** this.t;
    const c2 = 1 - b2 ** this.t;
    const lr = this.lr;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i];
      m[i] = b1 * m[i] + (1 - b1) * gi;
      v[i] = b2 * v[i] + (1 - b2) * gi * gi;
      p[i] -= (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + this.eps);
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
    for (let i = 0; i < g.length; i++) {
      if (!Number.isInteger(g[i]) || g[i] < 1 || (i > 0 && g[i] <= g[i - 1])) throw new Error(`groups must be strictly increasing positive integers, got ${g.join(',')}`);
    }
    if (g[g.length - 1] !== o.width) throw new Error(`groups must end at width ${o.width}, got ${g.join(',')}`);
    return g.slice();
  }
  if (o.groups && o.groups.length > 0) throw new Error(`groups apply only to --arch matryoshka (got arch ${o.arch})`);
  return [o.width];
}

/** Normalise each of `rows` rows of length d in place. */
function normaliseRows(w: Float32Array, rows: number, d: number): void {
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let i = 0; i < d; i++) s += w[r * d + i] ** 2;
    const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
    for (let i = 0; i < d; i++) w[r * d + i] *= inv;
  }
}

/** pre[r, :] = (x[r, :] - b_dec) W_enc + b_enc; row-of-W_enc axpys (contiguous reads). */
function encodePre(x: Float32Array, rows: number, dIn: number, width: number, W_enc: Float32Array, b_enc: Float32Array, b_dec: Float32Array, xc: Float32Array, pre: Float32Array): void {
  for (let r = 0; r < rows; r++) {
    const po = r * width;
    pre.set(b_enc, po);
    for (let i = 0; i < dIn; i++) {
      const v = x[r * dIn + i] - b_dec[i];
      xc[r * dIn + i] = v;
      if (v === 0) continue;
      const wo = i * width;
      for (let j = 0; j < width; j++) pre[po + j] += v * W_enc[wo + j];
    }
  }
}

/** Indices of the k largest positive values of a[off..off+n) (ties: lower index first). */
function topkRow(a: Float32Array, off: number, n: number, k: number, mask: Uint8Array | null, out: number[]): void {
  out.length = 0;
  const vals: number[] = [];
  for (let j = 0; j < n; j++) {
    if (mask && !mask[j]) continue;
    const v = a[off + j];
    if (!(v > 0)) continue;
    if (out.length === k && v <= vals[k - 1]) continue;
    let p = out.length === k ? k - 1 : out.length;
    if (out.length < k) { out.push(j); vals.push(v); }
    while (p > 0 && vals[p - 1] < v) { out[p] = out[p - 1]; vals[p] = vals[p - 1]; p--; }
    out[p] = j;
    vals[p] = v;
  }
}

/**
 * Train an SAE on batches from `source`. Stops after `steps` steps, when the source runs dry,
 * or when `signal` aborts (returning what it has, with aborted = true).
 */
export async function trainSae(source: BatchSource, o: TrainOptions): Promise<TrainedSae> {
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
  const W_enc = new Float32Array(dIn * width);
  for (let j = 0; j < width; j++) for (let i = 0; i < dIn; i++) W_enc[i * width + j] = W_dec[j * dIn + i];
  const b_enc = new Float32Array(width);
  const b_dec = new Float32Array(dIn);

  const optEnc = new Adam(W_enc, lr);
  const optBEnc = new Adam(b_enc, lr);
  const optDec = new Adam(W_dec, lr);
  const optBDec = new Adam(b_dec, lr);
  const gW_enc = new Float32Array(W_enc.length);
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
  let pre = new Float32Array(0);
  const groupOf = new Int32Array(width);
  for (let g = 0, j = 0; j < width; j++) { while (j >= groups[g]) g++; groupOf[j] = g; }
  const G = groups.length;
  const e = new Float64Array(G * dIn); // per-prefix errors of one row, turned into suffix sums
  const dpre = new Float32Array(width);
  const gxc = new Float64Array(dIn);
  const active: number[] = [];
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
      for (let r = 0; r < rows; r++) for (let i = 0; i < dIn; i++) b_dec[i] += x[r * dIn + i] / rows;
    }
    if (xc.length < rows * dIn) { xc = new Float32Array(rows * dIn); pre = new Float32Array(rows * width); }

    encodePre(x, rows, dIn, width, W_enc, b_enc, b_dec, xc, pre);

    // Selection: per-row TopK, or BatchTopK's global top rows·k.
    let cut = 0;
    if (o.arch === 'batchtopk') {
      const pos: number[] = [];
      for (let i = 0; i < rows * width; i++) if (pre[i] > 0) pos.push(pre[i]);
      pos.sort((a, b) => b - a);
      const n = Math.min(rows * k, pos.length);
      cut = n > 0 ? pos[n - 1] : Infinity;
      if (n > 0) threshold = threshold === null ? cut : 0.99 * threshold + 0.01 * cut;
    }

    let dead = 0;
    for (let j = 0; j < width; j++) {
      deadMask[j] = tokens - lastFired[j] > deadTokens ? 1 : 0;
      dead += deadMask[j];
    }
    gW_enc.fill(0); gb_enc.fill(0); gW_dec.fill(0); gb_dec.fill(0);
    const scale = 2 / rows;
    let lossSum = 0, errSum = 0, l0Sum = 0;
    const mean = new Float64Array(dIn);
    for (let r = 0; r < rows; r++) for (let i = 0; i < dIn; i++) mean[i] += x[r * dIn + i] / rows;
    let varSum = 0;
    for (let r = 0; r < rows; r++) for (let i = 0; i < dIn; i++) varSum += (x[r * dIn + i] - mean[i]) ** 2;

    for (let r = 0; r < rows; r++) {
      const po = r * width, xo = r * dIn;
      if (o.arch === 'batchtopk') {
        active.length = 0;
        for (let j = 0; j < width; j++) if (pre[po + j] >= cut && pre[po + j] > 0) active.push(j);
      } else {
        topkRow(pre, po, width, k, null, active);
        active.sort((a, b) => a - b);
      }
      l0Sum += active.length;
      for (const j of active) lastFired[j] = tokens + r + 1;

      // Prefix reconstructions: e[g] = x̂_g - x, accumulated group by group.
      const cur = new Float64Array(dIn);
      for (let i = 0; i < dIn; i++) cur[i] = b_dec[i] - x[xo + i];
      let a = 0;
      for (let g = 0; g < G; g++) {
        while (a < active.length && active[a] < groups[g]) {
          const j = active[a++], f = pre[po + j], wo = j * dIn;
          for (let i = 0; i < dIn; i++) cur[i] += f * W_dec[wo + i];
        }
        let s = 0;
        for (let i = 0; i < dIn; i++) { e[g * dIn + i] = cur[i]; s += cur[i] * cur[i]; }
        lossSum += s;
        if (g === G - 1) errSum += s;
      }
      // Gradient w.r.t. the full-row residual (for AuxK): resid = x - x̂.
      for (let i = 0; i < dIn; i++) resid[i] = -e[(G - 1) * dIn + i];
      // b_dec gets every prefix's error; suffix sums give each latent's error sum.
      for (let g = G - 1; g >= 0; g--) {
        for (let i = 0; i < dIn; i++) {
          if (g < G - 1) e[g * dIn + i] += e[(g + 1) * dIn + i];
        }
      }
      for (let i = 0; i < dIn; i++) gb_dec[i] += scale * e[i];

      dpre.fill(0);
      for (const j of active) {
        const f = pre[po + j], wo = j * dIn, eo = groupOf[j] * dIn;
        let d = 0;
        for (let i = 0; i < dIn; i++) { d += e[eo + i] * W_dec[wo + i]; gW_dec[wo + i] += scale * f * e[eo + i]; }
        dpre[j] += scale * d;
      }

      // AuxK: the top auxK dead latents reconstruct the residual.
      if (auxCoef > 0 && dead > 0) {
        topkRow(pre, po, width, auxK, deadMask, auxIdx);
        if (auxIdx.length > 0) {
          for (let i = 0; i < dIn; i++) eAux[i] = -resid[i];
          for (const j of auxIdx) { const f = pre[po + j], wo = j * dIn; for (let i = 0; i < dIn; i++) eAux[i] += f * W_dec[wo + i]; }
          let s = 0;
          for (let i = 0; i < dIn; i++) s += eAux[i] * eAux[i];
          const norm = residEnergy > 0 ? 1 / residEnergy : 1;
          lossSum += auxCoef * s * norm;
          const c = auxCoef * scale * norm;
          for (const j of auxIdx) {
            const f = pre[po + j], wo = j * dIn;
            let d = 0;
            for (let i = 0; i < dIn; i++) { d += eAux[i] * W_dec[wo + i]; gW_dec[wo + i] += c * f * eAux[i]; }
            dpre[j] += c * d;
          }
        }
      }

      // Back through the encoder (only latents with a nonzero gradient).
      gxc.fill(0);
      for (let j = 0; j < width; j++) {
        const dj = dpre[j];
        if (dj === 0) continue;
        gb_enc[j] += dj;
        for (let i = 0; i < dIn; i++) {
          gW_enc[i * width + j] += xc[xo + i] * dj;
          gxc[i] += W_enc[i * width + j] * dj;
        }
      }
      for (let i = 0; i < dIn; i++) gb_dec[i] -= gxc[i];
    }
    tokens += rows;
    residEnergy = errSum / rows;

    // Keep decoder rows on the unit sphere: drop the radial part of their gradient, step, renormalise.
    for (let j = 0; j < width; j++) {
      const wo = j * dIn;
      let d = 0;
      for (let i = 0; i < dIn; i++) d += gW_dec[wo + i] * W_dec[wo + i];
      if (d !== 0) for (let i = 0; i < dIn; i++) gW_dec[wo + i] -= d * W_dec[wo + i];
    }
    optEnc.step(gW_enc); optBEnc.step(gb_enc); optDec.step(gW_dec); optBDec.step(gb_dec);
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
    W_enc, b_enc, W_dec, b_dec, stepsDone: step, tokens, history, aborted,
  };
}

/** Encode rows with the trained model exactly as training's inference form does ([rows, width]). */
export function encodeTrained(sae: TrainedSae, x: Float32Array, rows: number): Float32Array {
  const { dIn, width } = sae;
  const xc = new Float32Array(rows * dIn);
  const pre = new Float32Array(rows * width);
  encodePre(x, rows, dIn, width, sae.W_enc, sae.b_enc, sae.b_dec, xc, pre);
  const out = new Float32Array(rows * width);
  const idx: number[] = [];
  for (let r = 0; r < rows; r++) {
    const po = r * width;
    if (sae.arch === 'batchtopk') {
      for (let j = 0; j < width; j++) if (pre[po + j] > (sae.threshold ?? 0)) out[po + j] = pre[po + j];
    } else {
      topkRow(pre, po, width, sae.k, null, idx);
      for (const j of idx) out[po + j] = pre[po + j];
    }
  }
  return out;
}

export interface WrittenSae {
  /** The path loadSae should be given. */
  loadPath: string;
  files: string[];
}

/**
 * Write a trained SAE to `dir`: always `sae.safetensors` + `sae.json` (bare format with
 * architecture, k, threshold and Matryoshka "groups"); plain TopK also as a SAELens folder
 * (cfg.json + sae_weights.safetensors), which is then the path to load.
 */
export function writeTrainedSae(sae: TrainedSae, dir: string, extra: { hookName?: string; model?: string } = {}): WrittenSae {
  mkdirSync(dir, { recursive: true });
  const tensors = {
    W_enc: { shape: [sae.dIn, sae.width], data: sae.W_enc },
    b_enc: { shape: [sae.width], data: sae.b_enc },
    W_dec: { shape: [sae.width, sae.dIn], data: sae.W_dec },
    b_dec: { shape: [sae.dIn], data: sae.b_dec },
  };
  const files: string[] = [];
  const bare = join(dir, 'sae.safetensors');
  writeSafetensors(bare, tensors, { format: 'pt' });
  const sidecar: Record<string, unknown> = {
    architecture: sae.arch === 'batchtopk' ? 'batchtopk' : 'topk',
    trained_as: sae.arch,
    k: sae.k,
    topk_relu: true,
    apply_b_dec_to_input: true,
    hook_name: extra.hookName ?? null,
    model: extra.model ?? null,
    steps: sae.stepsDone,
    tokens: sae.tokens,
  };
  if (sae.arch === 'batchtopk') sidecar.threshold = sae.threshold ?? 0;
  if (sae.groups) sidecar.groups = sae.groups;
  const sidecarPath = join(dir, 'sae.json');
  writeFileSync(sidecarPath, `${JSON.stringify(sidecar, null, 2)}\n`);
  files.push(bare, sidecarPath);
  if (sae.arch === 'topk') {
    writeSafetensors(join(dir, SAELENS_WEIGHTS), tensors, { format: 'pt' });
    const cfg = {
      architecture: 'topk', d_in: sae.dIn, d_sae: sae.width, k: sae.k, activation_fn: 'topk', activation_fn_kwargs: { k: sae.k },
      apply_b_dec_to_input: true, normalize_activations: 'none', hook_name: extra.hookName ?? null, model_name: extra.model ?? null,
      dtype: 'float32', training_steps: sae.stepsDone, training_tokens: sae.tokens,
    };
    writeFileSync(join(dir, SAELENS_CFG), `${JSON.stringify(cfg, null, 2)}\n`);
    files.push(join(dir, SAELENS_WEIGHTS), join(dir, SAELENS_CFG));
    return { loadPath: dir, files };
  }
  return { loadPath: bare, files };
}

import { readCheckedFile } from '../util/checkedRead.js';
import * as ort from 'onnxruntime-node';
import type { ProviderChoice } from '../../contract/index.js';
import { StudioError } from '../errors.js';
import { loadManifest, layerOutputName, type BackboneManifest } from '../backbone/manifest.js';
import { BackboneSession } from '../backbone/backboneSession.js';
import { preprocessImage, type PreprocessedImage } from '../backbone/preprocess.js';
import { checkSaeFitsLayer, loadSae } from '../sae/loadSae.js';
import { SaeEncoderSession, type SparseCodes } from '../sae/encoderSession.js';
import type { SaeRecord } from '../sae/types.js';
import { createSession } from '../onnx/providers.js';
import { tailGraph } from '../onnx/graphSurgery.js';
import { headInputWidth, headLogits, loadTaskHead, pooledFeatures, softmax, type TaskHead } from './taskHead.js';

/** Set feature `feature` to `value` (an activation) on the chosen patches. */
export interface FeatureEdit {
  feature: number;
  value: number;
}

export interface HeadOutput {
  task: TaskHead['task'];
  labels: string[];
  /** Classification: class probabilities in label order. */
  probs: number[] | null;
  /** Segmentation: per patch (row-major over the grid) the argmax class id and its probabilities. */
  patchClasses: number[] | null;
  patchProbs: number[][] | null;
}

const LAYER_NORM_EPS = 1e-5;

/**
 * saev's intervention procedure, on one image: x = the block output; f = encode(x);
 * err = x − decode(f); set chosen features to chosen values on chosen patches (f'); x' =
 * decode(f') + err; run the rest of the backbone and the head on x' and on x. Since decode is
 * linear (and so is undoing the input normalisation), x' = x + (f' − f)·W_dec per patch, scaled
 * back from the SAE's normalised space: err never needs materialising, and reconstruction error
 * stays in x exactly.
 */
export class Intervener {
  private image: { tokens: Float32Array; codes: SparseCodes } | null = null;
  /** The unedited output of the current image, computed once (sliders re-run only "after"). */
  private before: HeadOutput | null = null;

  private constructor(
    readonly manifest: BackboneManifest,
    readonly layer: string,
    readonly sae: SaeRecord,
    readonly head: TaskHead,
    private readonly backbone: BackboneSession,
    private readonly encoder: SaeEncoderSession,
    private readonly tail: ort.InferenceSession | null,
    private readonly cutName: string,
  ) {}

  static async open(opts: {
    model: string;
    layer: string;
    sae: string;
    head: string;
    provider?: ProviderChoice;
    /** The input normalisation an index ran with, when it overrides the checkpoint's (a SAELens scale it does not save). */
    normalization?: { mode: SaeRecord['normalization']['mode']; scale: number | null };
  }): Promise<Intervener> {
    const manifest = loadManifest(opts.model);
    const cutName = layerOutputName(manifest, opts.layer);
    const sae = loadSae(opts.sae);
    const norm = opts.normalization;
    if (norm && (sae.normalization.mode !== norm.mode || sae.normalization.scale !== norm.scale)) {
      sae.normalization = { mode: norm.mode, mean: norm.mode === 'scale' ? sae.normalization.mean : null, scale: norm.mode === 'scale' ? norm.scale : null };
    }
    const head = loadTaskHead(opts.head);
    const provider = opts.provider ?? 'auto';
    const backbone = await BackboneSession.open(manifest, opts.layer, provider);
    try {
      checkSaeFitsLayer(sae, opts.layer, manifest.name, backbone.d);
      const T = backbone.layout.tokens;
      let tail: ort.InferenceSession | null = null;
      if (head.input !== cutName) {
        const bytes = await readCheckedFile(manifest.modelPath, 'onnx');
        tail = (await createSession(tailGraph(bytes, cutName, [head.input], ['batch', T, backbone.d]), provider)).session;
      } else if (head.d !== headInputWidth(head, backbone.d)) {
        throw new StudioError(
          'bad-input',
          `The head's weight is ${head.d} wide, but ${head.task === 'classification' ? `pool '${head.pool}' of ` : ''}layer '${opts.layer}' (width ${backbone.d}) gives ${headInputWidth(head, backbone.d)}.`,
        );
      }
      const encoder = await SaeEncoderSession.create(sae, provider);
      return new Intervener(manifest, opts.layer, sae, head, backbone, encoder, tail, cutName);
    } catch (err) {
      await backbone.close();
      throw err;
    }
  }

  get grid(): [number, number] {
    return this.manifest.tokens.grid;
  }

  /** Runs the backbone up to the layer and encodes the patches; later run() calls reuse it. Returns the model's crop. */
  async setImage(file: string | Buffer, label?: string): Promise<PreprocessedImage> {
    const pre = await preprocessImage(file, this.manifest.preprocess, label);
    const { pixels } = pre;
    const { tokens } = await this.backbone.run(pixels, 1);
    const { patchOffset, patches } = this.backbone.layout;
    const d = this.backbone.d;
    const codes = await this.encoder.encode(tokens.slice(patchOffset * d, (patchOffset + patches) * d), patches);
    this.image = { tokens: tokens.slice(), codes };
    this.before = null;
    return pre;
  }

  /** Activation of a feature on a patch of the current image (0 where it does not fire). */
  activation(patch: number, feature: number): number {
    const { codes } = this.requireImage();
    for (let e = codes.rowPtr[patch]!; e < codes.rowPtr[patch + 1]!; e++) if (codes.feature[e] === feature) return codes.value[e]!;
    return 0;
  }

  /** Head outputs before and after the edits; `patches` null means every patch. */
  async run(edits: FeatureEdit[], patches: number[] | null): Promise<{ before: HeadOutput; after: HeadOutput }> {
    const { tokens } = this.requireImage();
    this.before ??= await this.headOutput(tokens);
    const after = edits.length === 0 ? this.before : await this.headOutput(this.edited(edits, patches));
    return { before: this.before, after };
  }

  /** x' = x + (f' − f)·W_dec, in the layer's own (un-normalised) space. */
  edited(edits: FeatureEdit[], patches: number[] | null): Float32Array {
    const { tokens } = this.requireImage();
    const { patchOffset, patches: P } = this.backbone.layout;
    const d = this.backbone.d;
    const F = this.sae.dSae;
    for (const e of edits) {
      if (!Number.isInteger(e.feature) || e.feature < 0 || e.feature >= F) {
        throw new StudioError('bad-request', `Feature ${e.feature} does not exist (this SAE has features 0–${F - 1}).`);
      }
    }
    const chosen = patches ?? Array.from({ length: P }, (_, p) => p);
    const out = tokens.slice();
    const W = this.sae.weights.W_dec;
    for (const p of chosen) {
      if (!Number.isInteger(p) || p < 0 || p >= P) throw new StudioError('bad-request', `Patch ${p} is outside the ${this.grid[0]}x${this.grid[1]} grid.`);
      const row = (patchOffset + p) * d;
      const factor = this.denormFactor(tokens, row, d);
      for (const e of edits) {
        const delta = (e.value - this.activation(p, e.feature)) * factor;
        if (delta === 0) continue;
        const w = e.feature * d;
        for (let i = 0; i < d; i++) out[row + i]! += delta * W[w + i]!;
      }
    }
    return out;
  }

  async close(): Promise<void> {
    await this.backbone.close();
    await this.encoder.close();
    await this.tail?.release();
  }

  /** How one unit in the SAE's normalised input space maps back to the layer's space for a token. */
  private denormFactor(x: Float32Array, row: number, d: number): number {
    const norm = this.sae.normalization;
    switch (norm.mode) {
      case 'none':
        return 1;
      case 'scale':
        if (!norm.scale) throw new StudioError('bad-input', 'The SAE normalises by a scale it does not carry; set it first.');
        return 1 / norm.scale;
      case 'constant_norm_rescale': {
        let squares = 0;
        for (let i = 0; i < d; i++) squares += x[row + i]! ** 2;
        return Math.sqrt(squares / d);
      }
      case 'layer_norm': {
        let sum = 0;
        for (let i = 0; i < d; i++) sum += x[row + i]!;
        const mu = sum / d;
        let squares = 0;
        for (let i = 0; i < d; i++) squares += (x[row + i]! - mu) ** 2;
        return (d > 1 ? Math.sqrt(squares / (d - 1)) : 0) + LAYER_NORM_EPS;
      }
    }
  }

  private async headOutput(layerTokens: Float32Array): Promise<HeadOutput> {
    const T = this.backbone.layout.tokens;
    let hidden = layerTokens;
    let width = this.backbone.d;
    if (this.tail) {
      const feeds = { [this.cutName]: new ort.Tensor('float32', layerTokens, [1, T, this.backbone.d]) };
      const out = (await this.tail.run(feeds))[this.head.input]!;
      hidden = out.data as Float32Array;
      width = out.dims[2] as number;
    }
    if (headInputWidth(this.head, width) !== this.head.d) {
      throw new StudioError('bad-input', `The head reads width ${this.head.d} but '${this.head.input}' gives ${headInputWidth(this.head, width)} (pool '${this.head.pool}').`);
    }
    const C = this.head.labels.length;
    const base = { task: this.head.task, labels: this.head.labels };
    if (this.head.task === 'classification') {
      const { patchOffset, patches } = this.backbone.layout;
      const x = pooledFeatures(this.head.pool, hidden, width, this.manifest.tokens.cls, patchOffset, patches);
      return { ...base, probs: softmax(headLogits(this.head, x, 1)), patchClasses: null, patchProbs: null };
    }
    const { patchOffset, patches } = this.backbone.layout;
    const logits = headLogits(this.head, hidden.subarray(patchOffset * width, (patchOffset + patches) * width), patches);
    const patchProbs = Array.from({ length: patches }, (_, p) => softmax(logits, p * C, C));
    const patchClasses = patchProbs.map((probs) => probs.indexOf(Math.max(...probs)));
    return { ...base, probs: null, patchClasses, patchProbs };
  }

  private requireImage(): { tokens: Float32Array; codes: SparseCodes } {
    if (!this.image) throw new StudioError('bad-request', 'Open an image first.');
    return this.image;
  }
}

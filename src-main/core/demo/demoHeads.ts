// Task heads for the embedded demo, so the Intervene view works on it out of the box: linear
// probes fitted here on the demo's own ground truth, written in the head folder format the
// intervener reads (head.json, head.safetensors, labels.json).
//
// Per backbone, three heads on `last_hidden_state` (the split model then re-runs the final norm
// after an edit at the SAE's layer, as a real probe on a real backbone would):
//   colour        classification, mean of the patch tokens → the object's colour
//   scene         classification, mean of the patch tokens → the background scene
//   segmentation  every patch → "background" or the colour of the object covering it (the
//                 generator's own mask: a patch is object when at least half of it is inside)
// The toy backbones have no attention, so their CLS token never sees the image: the classifiers
// read the patch mean ("pool": "mean"), not CLS.
//
// The fit is multinomial logistic regression by full-batch gradient descent with momentum from
// zero weights on standardised inputs (no sampling, fixed iteration count), so the same images
// always give the same bytes. The standardisation is folded back into weight and bias.
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../errors.js';
import { loadManifest } from '../backbone/manifest.js';
import { BackboneSession } from '../backbone/backboneSession.js';
import { preprocessImage } from '../backbone/preprocess.js';
import { writeSafetensors } from '../sae/safetensors.js';
import type { ProviderChoice } from '../../contract/index.js';
import { COLOURS, SCENES, objectCoverage, type ShapeItem } from './shapesDataset.js';

export type DemoHeadKey = 'colour' | 'scene' | 'segmentation';
export const DEMO_HEAD_KEYS: readonly DemoHeadKey[] = ['colour', 'scene', 'segmentation'];
/** The backbone output every demo head reads. */
const DEMO_HEAD_INPUT = 'last_hidden_state';
/** A patch counts as object when at least this fraction of its pixels is inside the shape. */
const OBJECT_COVERAGE = 0.5;

export interface FitOptions {
  iterations?: number;
  learningRate?: number;
  /** L2 penalty on the (standardised) weights; keeps probabilities away from 0 and 1. */
  l2?: number;
  /** Weight classes by inverse frequency (segmentation: background would swamp the objects). */
  balanced?: boolean;
}

export interface LinearProbe {
  /** [classes, d] row-major, applies to raw (unstandardised) inputs. */
  weight: Float32Array;
  bias: Float32Array;
  classes: number;
  d: number;
  /** Fraction of the training rows whose argmax is their label. */
  accuracy: number;
}

/**
 * Multinomial logistic regression on rows x [n, d] with labels y (0 … classes−1). Deterministic:
 * full batch, zero start, fixed iterations, Nesterov-free heavy-ball momentum.
 */
export function fitLogistic(x: Float32Array, y: Int32Array, n: number, d: number, classes: number, o: FitOptions = {}): LinearProbe {
  const iterations = o.iterations ?? 200;
  const lr = o.learningRate ?? 0.5;
  const l2 = o.l2 ?? 1e-3;
  const mu = new Float64Array(d);
  const sd = new Float64Array(d);
  for (let r = 0; r < n; r++) for (let i = 0; i < d; i++) mu[i]! += x[r * d + i]! / n;
  for (let r = 0; r < n; r++) for (let i = 0; i < d; i++) sd[i]! += (x[r * d + i]! - mu[i]!) ** 2 / n;
  for (let i = 0; i < d; i++) sd[i] = Math.sqrt(sd[i]!) || 1;
  const z = new Float64Array(n * d);
  for (let r = 0; r < n; r++) for (let i = 0; i < d; i++) z[r * d + i] = (x[r * d + i]! - mu[i]!) / sd[i]!;
  const counts = new Float64Array(classes);
  for (let r = 0; r < n; r++) counts[y[r]!]!++;
  const cw = Float64Array.from(counts, (c) => (o.balanced && c > 0 ? n / (classes * c) : 1));
  let wsum = 0;
  for (let r = 0; r < n; r++) wsum += cw[y[r]!]!;

  const W = new Float64Array(classes * d);
  const b = new Float64Array(classes);
  const vW = new Float64Array(classes * d);
  const vb = new Float64Array(classes);
  const gW = new Float64Array(classes * d);
  const gb = new Float64Array(classes);
  const p = new Float64Array(classes);
  const momentum = 0.9;
  for (let it = 0; it < iterations; it++) {
    gW.fill(0);
    gb.fill(0);
    for (let r = 0; r < n; r++) {
      const zo = r * d;
      let max = -Infinity;
      for (let c = 0; c < classes; c++) {
        let acc = b[c]!;
        const wo = c * d;
        for (let i = 0; i < d; i++) acc += W[wo + i]! * z[zo + i]!;
        p[c] = acc;
        if (acc > max) max = acc;
      }
      let sum = 0;
      for (let c = 0; c < classes; c++) sum += p[c] = Math.exp(p[c]! - max);
      const w = cw[y[r]!]! / wsum;
      for (let c = 0; c < classes; c++) {
        const g = (p[c]! / sum - (c === y[r] ? 1 : 0)) * w;
        if (g === 0) continue;
        gb[c]! += g;
        const wo = c * d;
        for (let i = 0; i < d; i++) gW[wo + i]! += g * z[zo + i]!;
      }
    }
    for (let j = 0; j < W.length; j++) {
      vW[j] = momentum * vW[j]! - lr * (gW[j]! + l2 * W[j]!);
      W[j]! += vW[j]!;
    }
    for (let c = 0; c < classes; c++) {
      vb[c] = momentum * vb[c]! - lr * gb[c]!;
      b[c]! += vb[c]!;
    }
  }
  // Fold the standardisation in: w·(x − mu)/sd + b = (w/sd)·x + (b − Σ w·mu/sd).
  const weight = new Float32Array(classes * d);
  const bias = new Float32Array(classes);
  for (let c = 0; c < classes; c++) {
    let shift = 0;
    for (let i = 0; i < d; i++) {
      const w = W[c * d + i]! / sd[i]!;
      weight[c * d + i] = w;
      shift += w * mu[i]!;
    }
    bias[c] = b[c]! - shift;
  }
  let right = 0;
  for (let r = 0; r < n; r++) {
    let best = 0;
    let bestV = -Infinity;
    for (let c = 0; c < classes; c++) {
      let acc = bias[c]!;
      for (let i = 0; i < d; i++) acc += weight[c * d + i]! * x[r * d + i]!;
      if (acc > bestV) [best, bestV] = [c, acc];
    }
    if (best === y[r]) right++;
  }
  return { weight, bias, classes, d, accuracy: n > 0 ? right / n : 0 };
}

function writeHead(dir: string, spec: { task: 'classification' | 'segmentation'; pool?: 'mean'; description: string }, probe: LinearProbe, labels: readonly string[]): void {
  fs.mkdirSync(dir, { recursive: true });
  // head.json's schema keeps task/input/pool; the other fields are for people reading the folder.
  const head = {
    task: spec.task,
    input: DEMO_HEAD_INPUT,
    ...(spec.pool ? { pool: spec.pool } : {}),
    description: spec.description,
    train_accuracy: Number(probe.accuracy.toFixed(4)),
  };
  fs.writeFileSync(path.join(dir, 'head.json'), `${JSON.stringify(head, null, 2)}\n`);
  writeSafetensors(path.join(dir, 'head.safetensors'), {
    weight: { shape: [probe.classes, probe.d], data: probe.weight },
    bias: { shape: [probe.classes], data: probe.bias },
  });
  fs.writeFileSync(path.join(dir, 'labels.json'), `${JSON.stringify(labels)}\n`);
}

export interface DemoHeadsResult {
  dirs: Record<DemoHeadKey, string>;
  accuracy: Record<DemoHeadKey, number>;
}

/** The demo's image items with their files (images/<scene>/<id>.png). */
function imageFiles(items: ShapeItem[], imagesDir: string): { item: ShapeItem; file: string }[] {
  return items.filter((i) => i.kind === 'image').map((item) => ({ item, file: path.join(imagesDir, item.factors.scene, `${item.id}.png`) }));
}

/**
 * Runs the demo's images through a backbone to `last_hidden_state`, fits the three probes and
 * writes them under `outDir/<key>/`.
 */
export async function writeDemoHeads(o: {
  manifest: string;
  items: ShapeItem[];
  imagesDir: string;
  outDir: string;
  backboneLabel: string;
  provider?: ProviderChoice;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, detail: string | null) => void;
}): Promise<DemoHeadsResult> {
  const manifest = loadManifest(o.manifest);
  const session = await BackboneSession.open(manifest, DEMO_HEAD_INPUT, o.provider ?? 'cpu');
  const files = imageFiles(o.items, o.imagesDir);
  const { patchOffset, patches, tokens: T, grid } = session.layout;
  const d = session.d;
  const n = files.length;
  const pooled = new Float32Array(n * d);
  const patchRows = new Float32Array(n * patches * d);
  const colour = new Int32Array(n);
  const scene = new Int32Array(n);
  const seg = new Int32Array(n * patches);
  const S = manifest.inputSize;
  const batch = 16;
  try {
    for (let start = 0; start < n; start += batch) {
      if (o.signal?.aborted) throw new StudioError('cancelled', 'Demo build cancelled; start it again to continue where it stopped.');
      const chunk = files.slice(start, start + batch);
      const pixels = new Float32Array(chunk.length * 3 * S * S);
      const pres = await Promise.all(chunk.map((f) => preprocessImage(f.file, manifest.preprocess)));
      pres.forEach((pre, j) => pixels.set(pre.pixels, j * 3 * S * S));
      const { tokens } = await session.run(pixels, chunk.length);
      chunk.forEach(({ item }, j) => {
        const r = start + j;
        for (let p = 0; p < patches; p++) {
          const src = (j * T + patchOffset + p) * d;
          patchRows.set(tokens.subarray(src, src + d), (r * patches + p) * d);
          for (let i = 0; i < d; i++) pooled[r * d + i]! += tokens[src + i]! / patches;
        }
        colour[r] = COLOURS.indexOf(item.factors.colour);
        scene[r] = SCENES.indexOf(item.factors.scene);
        // The demo images are square and every backbone here takes the whole frame (128 px
        // shortest-side or a 112 px squash), so patch (row, col) covers the same fraction of the
        // generator's frame whatever the backbone's pixel size.
        const cover = objectCoverage(item, 0, grid[0], grid[1]);
        for (let p = 0; p < patches; p++) seg[r * patches + p] = cover[p]! >= OBJECT_COVERAGE ? 1 + colour[r]! : 0;
      });
      o.onProgress?.(Math.min(n, start + batch), n + 3, null);
    }
  } finally {
    await session.close();
  }
  const dirs = {} as Record<DemoHeadKey, string>;
  const accuracy = {} as Record<DemoHeadKey, number>;
  const fit = (key: DemoHeadKey, probe: LinearProbe, labels: readonly string[], task: 'classification' | 'segmentation', what: string) => {
    dirs[key] = path.join(o.outDir, key);
    accuracy[key] = probe.accuracy;
    writeHead(dirs[key], { task, pool: task === 'classification' ? 'mean' : undefined, description: `${what} (${o.backboneLabel}); a linear probe the demo fitted on its own ground truth` }, probe, labels);
  };
  const colourProbe = fitLogistic(pooled, colour, n, d, COLOURS.length);
  fit('colour', colourProbe, COLOURS, 'classification', "The object's colour from the mean patch token");
  o.onProgress?.(n + 1, n + 3, `colour ${(100 * colourProbe.accuracy).toFixed(0)}%`);
  const sceneProbe = fitLogistic(pooled, scene, n, d, SCENES.length);
  fit('scene', sceneProbe, SCENES, 'classification', 'The background scene from the mean patch token');
  o.onProgress?.(n + 2, n + 3, `scene ${(100 * sceneProbe.accuracy).toFixed(0)}%`);
  // The per-patch problem has ~16x the rows, nearly all background: keep every object patch and
  // every 4th background patch (a fixed pattern, so still deterministic), with balanced class
  // weights. That costs a quarter of the time and loses nothing the labels could teach.
  const keep: number[] = [];
  for (let r = 0; r < n * patches; r++) if (seg[r] !== 0 || r % 4 === 0) keep.push(r);
  const segRows = new Float32Array(keep.length * d);
  const segLabels = new Int32Array(keep.length);
  keep.forEach((r, j) => {
    segRows.set(patchRows.subarray(r * d, (r + 1) * d), j * d);
    segLabels[j] = seg[r]!;
  });
  const segProbe = fitLogistic(segRows, segLabels, keep.length, d, 1 + COLOURS.length, { balanced: true, iterations: 150 });
  fit('segmentation', segProbe, ['background', ...COLOURS], 'segmentation', 'Per patch: background or the colour of the object covering it');
  o.onProgress?.(n + 3, n + 3, `segmentation ${(100 * segProbe.accuracy).toFixed(0)}%`);
  return { dirs, accuracy };
}

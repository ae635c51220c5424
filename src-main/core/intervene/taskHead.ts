import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { StudioError } from '../errors.js';
import { readSafetensors } from '../sae/safetensors.js';
import { readCheckedTextSync } from '../util/checkedRead.js';

// A task head on top of a backbone output: a linear layer (safetensors `weight [classes, d]`,
// `bias [classes]`) applied to the CLS token (classification) or to every patch token
// (segmentation), with `labels.json` naming the classes and `head.json` saying which backbone
// output it reads.

const headSpecSchema = z.object({
  task: z.enum(['classification', 'segmentation']),
  /** The backbone graph output the head reads, e.g. last_hidden_state. */
  input: z.string().min(1),
  /**
   * Classification only: what the linear layer reads. 'cls' (CLIP-style), 'mean' of the patch
   * tokens, or 'cls+mean' concatenated (DINOv2's linear probes), which makes the weight 2d wide.
   */
  pool: z.enum(['cls', 'mean', 'cls+mean']).default('cls'),
});

export type HeadPool = z.infer<typeof headSpecSchema>['pool'];

export type HeadTask = z.infer<typeof headSpecSchema>['task'];

export interface TaskHead {
  task: HeadTask;
  input: string;
  pool: HeadPool;
  labels: string[];
  d: number;
  /** [classes, d] row-major. */
  weight: Float32Array;
  bias: Float32Array;
}

/** Reads a head folder: head.json + head.safetensors (or weights.safetensors) + labels.json. */
export function loadTaskHead(dirOrFile: string): TaskHead {
  const dir = fs.existsSync(dirOrFile) && fs.statSync(dirOrFile).isDirectory() ? dirOrFile : path.dirname(dirOrFile);
  const specFile = path.join(dir, 'head.json');
  if (!fs.existsSync(specFile)) {
    throw new StudioError(
      'bad-input',
      `No head.json in ${dir}. Write {"task": "classification" | "segmentation", "input": "<backbone output name>", "pool": "cls" | "mean" | "cls+mean"} beside the weights.`,
    );
  }
  const spec = headSpecSchema.safeParse(JSON.parse(readCheckedTextSync(specFile, 'json')));
  if (!spec.success) throw new StudioError('bad-input', `${specFile}: ${spec.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const weightsFile = ['head.safetensors', 'weights.safetensors'].map((f) => path.join(dir, f)).find((f) => fs.existsSync(f));
  if (!weightsFile) throw new StudioError('bad-input', `No head.safetensors in ${dir} (tensors weight [classes, d] and bias [classes]).`);
  const tensors = readSafetensors(weightsFile);
  const weight = tensors.get('weight');
  const bias = tensors.get('bias');
  if (!weight || weight.shape.length !== 2) throw new StudioError('bad-input', `${weightsFile} needs a 2-d tensor 'weight' [classes, d].`);
  const [classes, d] = weight.shape as [number, number];
  if (!bias || bias.shape.length !== 1 || bias.shape[0] !== classes) {
    throw new StudioError('bad-input', `${weightsFile} needs 'bias' [${classes}] to match weight [${classes}, ${d}].`);
  }
  const labelsFile = path.join(dir, 'labels.json');
  const labels = fs.existsSync(labelsFile) ? (JSON.parse(readCheckedTextSync(labelsFile, 'json')) as unknown) : null;
  if (labels !== null && (!Array.isArray(labels) || labels.length !== classes || labels.some((l) => typeof l !== 'string'))) {
    throw new StudioError('bad-input', `${labelsFile} must be a list of ${classes} class names.`);
  }
  return {
    ...spec.data,
    labels: (labels as string[] | null) ?? Array.from({ length: classes }, (_, i) => `class ${i}`),
    d,
    weight: weight.data,
    bias: bias.data,
  };
}

/** Logits for `rows` token rows [rows, d] → [rows, classes]. */
export function headLogits(head: TaskHead, x: Float32Array, rows: number): Float32Array {
  const C = head.labels.length;
  const d = head.d;
  const out = new Float32Array(rows * C);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < C; c++) {
      let acc = head.bias[c]!;
      const w = c * d;
      const xo = r * d;
      for (let i = 0; i < d; i++) acc += head.weight[w + i]! * x[xo + i]!;
      out[r * C + c] = acc;
    }
  }
  return out;
}

export function softmax(logits: Float32Array, offset = 0, n = logits.length): number[] {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, logits[offset + i]!);
  const e = Array.from({ length: n }, (_, i) => Math.exp(logits[offset + i]! - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** The vector a classification head reads from one image's tokens [T, width]. */
export function pooledFeatures(pool: HeadPool, tokens: Float32Array, width: number, cls: boolean, patchOffset: number, patches: number): Float32Array {
  const mean = () => {
    const out = new Float32Array(width);
    for (let p = 0; p < patches; p++) for (let i = 0; i < width; i++) out[i]! += tokens[(patchOffset + p) * width + i]! / patches;
    return out;
  };
  if (pool !== 'mean' && !cls) throw new StudioError('bad-input', `A '${pool}' head reads the CLS token, which this backbone does not have; use "pool": "mean".`);
  if (pool === 'cls') return tokens.slice(0, width);
  if (pool === 'mean') return mean();
  const out = new Float32Array(2 * width);
  out.set(tokens.subarray(0, width), 0);
  out.set(mean(), width);
  return out;
}

/** The width a head's weight must have for a backbone output of `width`. */
export function headInputWidth(head: Pick<TaskHead, 'task' | 'pool'>, width: number): number {
  return head.task === 'classification' && head.pool === 'cls+mean' ? 2 * width : width;
}

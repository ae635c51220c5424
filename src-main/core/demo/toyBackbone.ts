// Toy ViT-shaped backbones, written as ONNX by the studio's own graph builder. They serve the
// embedded demo (two backbones with different token layouts) and the test suite. They are what
// their names say: random but fixed weights from a seeded PRNG (the same options always give the
// same bytes), a stride-P patch embedding, learned CLS/register tokens, position embeddings and
// pre-norm residual MLP blocks. There is no attention, so tokens do not mix; patch tokens are a
// fixed nonlinear function of their own pixels and position, which is all the demo needs for
// colours, scenes and motion to be readable by an SAE.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { OnnxGraphBuilder, attr } from '../onnx/graphBuilder.js';
import { mulberry32 } from '../util/prng.js';

export interface ToyBackboneOptions {
  imageSize?: number;
  patchSize?: number;
  dModel?: number;
  cls?: boolean;
  registers?: number;
  seed?: number;
  /** 'clip' uses CLIP mean/std and shortest-side bicubic; 'dinov2' ImageNet mean/std and squash. */
  family?: 'clip' | 'dinov2';
  /** The manifest's family field (index names start with it); default: `family`. */
  manifestFamily?: string;
  name?: string;
  /** Residual MLP blocks (outputs block_0 … block_{n-1}); default 2. */
  blocks?: number;
  /** Scale of the uniform position embeddings; default 0.5. */
  positionScale?: number;
  /** Written into the manifest's notes. */
  notes?: string;
}

export interface ToyBackbone {
  dir: string;
  manifestPath: string;
  modelPath: string;
  /** Tokens per image: CLS + registers + grid^2. */
  tokens: number;
  grid: number;
  dModel: number;
  /** Layer names in the manifest (block_i and last_hidden_state). */
  layers: string[];
}

const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];
const CLIP_STD = [0.26862954, 0.26130258, 0.27577711];
const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

function uniform(rand: () => number, n: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rand() * 2 - 1) * scale;
  return out;
}

/** The ONNX bytes of a toy backbone (input pixel_values [batch, 3, S, S]). */
function buildToyBackboneGraph(options: ToyBackboneOptions = {}): { bytes: Uint8Array; tokens: number; grid: number; dModel: number; blocks: number } {
  const S = options.imageSize ?? 32;
  const P = options.patchSize ?? 8;
  const d = options.dModel ?? 16;
  const cls = options.cls ?? true;
  const registers = options.registers ?? 0;
  const blocks = options.blocks ?? 2;
  if (S % P !== 0) throw new Error(`toy backbone: imageSize ${S} is not a multiple of patchSize ${P}`);
  const grid = S / P;
  const prefix = (cls ? 1 : 0) + registers;
  const T = prefix + grid * grid;
  const rand = mulberry32(options.seed ?? 1);

  const b = new OnnxGraphBuilder('toy_vit');
  b.addInput('pixel_values', 'float32', ['batch', 3, S, S]);

  // Patch embedding: a stride-P convolution, then [batch, d, g, g] -> [batch, g*g, d].
  b.addFloat('patch_w', uniform(rand, d * 3 * P * P, 1 / Math.sqrt(3 * P * P)), [d, 3, P, P]);
  b.addFloat('patch_b', uniform(rand, d, 0.1), [d]);
  const conv = b.op('Conv', ['pixel_values', 'patch_w', 'patch_b'], { kernel_shape: attr.ints([P, P]), strides: attr.ints([P, P]) });
  b.addInt64('flat_shape', [0, d, -1]);
  const flat = b.op('Reshape', [conv, 'flat_shape']);
  let x = b.op('Transpose', [flat], { perm: attr.ints([0, 2, 1]) });

  // CLS and register tokens are parameters shared by all images: expand them to the batch.
  if (prefix > 0) {
    b.addFloat('prefix_tokens', uniform(rand, prefix * d, 1), [1, prefix, d]);
    const shape = b.op('Shape', [x]);
    b.addInt64('zero', [0]);
    b.addInt64('one', [1]);
    const batchDim = b.op('Slice', [shape, 'zero', 'one']);
    b.addInt64('prefix_dims', [prefix, d]);
    const expandShape = b.op('Concat', [batchDim, 'prefix_dims'], { axis: attr.int(0) });
    const prefixTokens = b.op('Expand', ['prefix_tokens', expandShape]);
    x = b.op('Concat', [prefixTokens, x], { axis: attr.int(1) });
  }
  b.addFloat('pos_embed', uniform(rand, T * d, options.positionScale ?? 0.5), [1, T, d]);
  x = b.op('Add', [x, 'pos_embed']);

  // Pre-norm residual MLP blocks: x + relu(LN(x) W1 + b1) W2.
  const hidden = 2 * d;
  for (let i = 0; i < blocks; i++) {
    b.addFloat(`ln${i}_scale`, Float32Array.from({ length: d }, () => 1 + (rand() - 0.5) * 0.2), [d]);
    b.addFloat(`ln${i}_bias`, uniform(rand, d, 0.1), [d]);
    b.addFloat(`w1_${i}`, uniform(rand, d * hidden, 1 / Math.sqrt(d)), [d, hidden]);
    b.addFloat(`b1_${i}`, uniform(rand, hidden, 0.1), [hidden]);
    b.addFloat(`w2_${i}`, uniform(rand, hidden * d, 1 / Math.sqrt(hidden)), [hidden, d]);
    const ln = b.op('LayerNormalization', [x, `ln${i}_scale`, `ln${i}_bias`], { axis: attr.int(-1), epsilon: attr.float(1e-5) });
    const h = b.op('Relu', [b.op('Add', [b.op('MatMul', [ln, `w1_${i}`]), `b1_${i}`])]);
    x = b.node('Add', [x, b.op('MatMul', [h, `w2_${i}`])], [`block_${i}`])[0]!;
    b.addOutput(x, 'float32', ['batch', T, d]);
  }
  b.addFloat('final_scale', new Float32Array(d).fill(1), [d]);
  b.addFloat('final_bias', new Float32Array(d), [d]);
  b.node('LayerNormalization', [x, 'final_scale', 'final_bias'], ['last_hidden_state'], { axis: attr.int(-1), epsilon: attr.float(1e-5) });
  b.addOutput('last_hidden_state', 'float32', ['batch', T, d]);
  return { bytes: b.toBytes(), tokens: T, grid, dModel: d, blocks };
}

/** Writes model.onnx and manifest.json into `dir`. */
export async function writeToyBackbone(dir: string, options: ToyBackboneOptions = {}): Promise<ToyBackbone> {
  const S = options.imageSize ?? 32;
  const P = options.patchSize ?? 8;
  const registers = options.registers ?? 0;
  const family = options.family ?? (registers > 0 ? 'dinov2' : 'clip');
  const { bytes, tokens, grid, dModel, blocks } = buildToyBackboneGraph(options);
  await mkdir(dir, { recursive: true });
  const modelPath = path.join(dir, 'model.onnx');
  const manifestPath = path.join(dir, 'manifest.json');
  await writeFile(modelPath, bytes);
  const layers: Record<string, string> = {};
  for (let i = 0; i < blocks; i++) layers[`block_${i}`] = `block_${i}`;
  layers.last_hidden_state = 'last_hidden_state';
  const manifest = {
    name: options.name ?? `tiny-${family}-${S}-p${P}-d${dModel}${registers ? `-reg${registers}` : ''}`,
    family: options.manifestFamily ?? family,
    model: 'model.onnx',
    input: {
      name: 'pixel_values',
      size: S,
      resize: family === 'dinov2' ? 'squash' : 'shortest-side',
      resize_to: S,
      interpolation: family === 'dinov2' ? 'bilinear' : 'bicubic',
      crop: S,
      mean: family === 'dinov2' ? IMAGENET_MEAN : CLIP_MEAN,
      std: family === 'dinov2' ? IMAGENET_STD : CLIP_STD,
    },
    tokens: { cls: options.cls ?? true, registers, patch_size: P, grid: [grid, grid] },
    layers,
    d_model: dModel,
    notes: options.notes ?? 'Toy backbone written by Feature Studio: random fixed weights, no attention.',
  };
  await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return { dir, manifestPath, modelPath, tokens, grid, dModel, layers: Object.keys(layers) };
}

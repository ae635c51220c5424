// A hand-made "backbone" whose patch tokens are the mean R, G, B of each patch (values v/255:
// mean 0, std 1, no CLS), plus a ReLU SAE whose features read single channels. With these, the
// activations of a clip of solid-colour frames are known exactly, so temporal statistics can be
// checked against the definitions by hand.
import fs from 'node:fs';
import path from 'node:path';
import { OnnxGraphBuilder, attr } from '../../src-main/core/onnx/graphBuilder.js';
import { writeSafetensors } from '../../src-main/core/sae/safetensors.js';

/**
 * With `clip`, a tubelet backbone (VideoMAE-shaped): input [batch, frames, 3, S, S], a Conv with a
 * 3-D kernel [tubelet, P, P] over [frames, H, W], tokens time-major: (frames / tubelet) x grid,
 * each the mean colour of its tubelet.
 */
export function makeChannelBackbone(dir: string, opts: { size?: number; patch?: number; clip?: { frames: number; tubelet: number } } = {}): string {
  const S = opts.size ?? 16;
  const P = opts.patch ?? 8;
  const g = S / P;
  const b = new OnnxGraphBuilder('channel_means');
  const clip = opts.clip;
  const K = clip ? clip.tubelet : 1;
  const kernel = clip ? [K, P, P] : [P, P];
  const w = new Float32Array(3 * 3 * K * P * P);
  for (let c = 0; c < 3; c++) for (let i = 0; i < K * P * P; i++) w[(c * 3 + c) * K * P * P + i] = 1 / (K * P * P);
  b.addFloat('w', w, [3, 3, ...kernel]);
  let input = 'pixel_values';
  if (clip) {
    b.addInput('pixel_values', 'float32', ['batch', clip.frames, 3, S, S]);
    input = b.op('Transpose', ['pixel_values'], { perm: attr.ints([0, 2, 1, 3, 4]) });
  } else {
    b.addInput('pixel_values', 'float32', ['batch', 3, S, S]);
  }
  const conv = b.op('Conv', [input, 'w'], { kernel_shape: attr.ints(kernel), strides: attr.ints(kernel) });
  b.addInt64('flat_shape', [0, 3, -1]);
  const flat = b.op('Reshape', [conv, 'flat_shape']);
  b.node('Transpose', [flat], ['patch_means'], { perm: attr.ints([0, 2, 1]) });
  const T = (clip ? clip.frames / clip.tubelet : 1) * g * g;
  b.addOutput('patch_means', 'float32', ['batch', T, 3]);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'model.onnx'), b.toBytes());
  const manifest = {
    name: 'channel-means',
    family: 'test',
    model: 'model.onnx',
    input: { name: 'pixel_values', size: S, resize: 'squash', resize_to: S, interpolation: 'bilinear', crop: S, mean: [0, 0, 0], std: [1, 1, 1] },
    tokens: { cls: false, registers: 0, patch_size: P, grid: [g, g], ...(clip ? { frames: clip.frames, tubelet: clip.tubelet } : {}) },
    layers: { means: 'patch_means' },
    d_model: 3,
  };
  const file = path.join(dir, 'manifest.json');
  fs.writeFileSync(file, JSON.stringify(manifest, null, 2));
  return file;
}

/**
 * ReLU SAE over the channel means: feature j = relu(x · w_j − 0.5) with w_j one-hot on
 * `channels[j]` (0 = R, 1 = G, 2 = B), optionally scaled by `gains[j]`.
 */
export function makeChannelSae(dir: string, name: string, channels: number[], gains: number[] = channels.map(() => 1)): string {
  const F = channels.length;
  const W_enc = new Float32Array(3 * F);
  channels.forEach((c, j) => (W_enc[c * F + j] = gains[j]!));
  const W_dec = new Float32Array(F * 3);
  channels.forEach((c, j) => (W_dec[j * 3 + c] = 1));
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.safetensors`);
  writeSafetensors(file, {
    W_enc: { shape: [3, F], data: W_enc },
    b_enc: { shape: [F], data: new Float32Array(F).fill(-0.5) },
    W_dec: { shape: [F, 3], data: W_dec },
    b_dec: { shape: [3], data: new Float32Array(3) },
  });
  fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify({ architecture: 'relu', apply_b_dec_to_input: false }));
  return file;
}

// The backbone fixtures of tests/fixtures/backbones/ (scripts/fixtures/gen_backbones.py):
// ONNX exports of tiny random-init PyTorch models with PyTorch's own activations in ref/ as raw
// little-endian float32 files, shapes in ref/shapes.json.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoFixture } from './repoFixtures.js';

export type BackboneFixtureName = 'clip-vit-b16' | 'dinov2-vit-s14-reg' | 'videomae-vit-b' | 'siglip-vit-b16' | 'postnorm' | 'postnorm-opset13';

export interface BackboneFixture {
  dir: string;
  model: string;
  /** manifest.json (the Hugging Face exports only). */
  manifest: string;
  shapes: Record<string, number[]>;
  /** A reference tensor: 'pixels', 'hidden_<i>' (hidden_states[i]), 'last_hidden_state', 'block_<i>', 'sum_<i>'. */
  ref(name: string): Float32Array;
}

/** Reads a raw little-endian float32 file (copied: Buffer offsets need not be aligned). */
export function readF32(file: string): Float32Array {
  const bytes = readFileSync(file);
  const out = new Float32Array(bytes.byteLength / 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

export function backboneFixture(name: BackboneFixtureName): BackboneFixture {
  const dir = path.dirname(repoFixture('backbones', name, 'model.onnx'));
  const shapes = JSON.parse(readFileSync(repoFixture('backbones', name, 'ref', 'shapes.json'), 'utf8')) as Record<string, number[]>;
  return {
    dir,
    model: path.join(dir, 'model.onnx'),
    manifest: path.join(dir, 'manifest.json'),
    shapes,
    ref: (ref) => {
      const data = readF32(repoFixture('backbones', name, 'ref', `${ref}.f32`));
      const want = (shapes[ref] ?? []).reduce((a, b) => a * b, 1);
      if (data.length !== want) throw new Error(`${name}/ref/${ref}.f32 has ${data.length} floats, shapes.json says ${want}`);
      return data;
    },
  };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

/** ||a - b|| / ||b||. */
export function relativeL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

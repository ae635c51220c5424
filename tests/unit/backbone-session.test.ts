import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { BackboneSession } from '../../src-main/core/backbone/backboneSession.js';
import { loadManifest, parseManifest } from '../../src-main/core/backbone/manifest.js';
import { backboneFixture, maxAbsDiff } from '../helpers/backboneFixtures.js';
import { makeTinyVit, type TinyVit } from '../helpers/makeTinyVit.js';
import { describeWhen } from '../helpers/repoFixtures.js';

const here = path.dirname(fileURLToPath(import.meta.url));
// Optional cross-check on the shared PyTorch exports where a checkout has them; the repo's own
// fixtures (tests/fixtures/backbones/) carry the same checks on every clone.
const SHARED = path.resolve(here, '../../../shared/fixtures');
const haveShared = existsSync(path.join(SHARED, 'toy-clip', 'model.onnx'));

interface Facts {
  family: string;
  image_size: number;
  patch_size: number;
  grid: number;
  d_model: number;
  cls_token: boolean;
  register_tokens: number;
  mean: number[];
  std: number[];
  outputs: Record<string, string>;
}

/** A manifest for a shared fixture backbone, written from its facts.json. */
function sharedManifest(name: string) {
  const folder = path.join(SHARED, name);
  const facts = JSON.parse(readFileSync(path.join(folder, 'facts.json'), 'utf8')) as Facts;
  const data = {
    name,
    family: facts.family,
    model: path.join(folder, 'model.onnx'),
    input: {
      size: facts.image_size,
      resize: 'shortest-side',
      resize_to: facts.image_size,
      interpolation: 'bicubic',
      crop: facts.image_size,
      mean: facts.mean,
      std: facts.std,
    },
    tokens: { cls: facts.cls_token, registers: facts.register_tokens, patch_size: facts.patch_size, grid: [facts.grid, facts.grid] },
    layers: Object.fromEntries(Object.keys(facts.outputs).map((k) => [k, k])),
    d_model: facts.d_model,
  };
  return { facts, manifest: parseManifest(data, path.join(os.tmpdir(), `${name}.manifest.json`)) };
}

function flatten(nested: unknown): Float32Array {
  return Float32Array.from((nested as unknown[]).flat(Infinity) as number[]);
}

describe('BackboneSession on Hugging Face exports (repo fixtures)', () => {
  const cases = [
    { name: 'clip-vit-b16', tokens: 17, patchOffset: 1, patches: 16 },
    { name: 'dinov2-vit-s14-reg', tokens: 21, patchOffset: 5, patches: 16 },
  ] as const;
  for (const c of cases) {
    it(`${c.name}: block_1 matches PyTorch's hidden_states[2] within 1e-4`, async () => {
      const fx = backboneFixture(c.name);
      const session = await BackboneSession.open(loadManifest(fx.manifest), 'block_1', 'cpu');
      try {
        expect(session.layout).toMatchObject({ tokens: c.tokens, patchOffset: c.patchOffset, patches: c.patches });
        expect(session.d).toBe(32);
        const out = await session.run(fx.ref('pixels'), fx.shapes.pixels![0]!);
        expect([out.T, out.d]).toEqual([c.tokens, 32]);
        expect(maxAbsDiff(out.tokens, fx.ref('hidden_2'))).toBeLessThan(1e-4);
      } finally {
        await session.close();
      }
    });
  }

  it('names the missing ONNX output and lists the ones the model has', async () => {
    const manifest = loadManifest(backboneFixture('clip-vit-b16').manifest);
    manifest.layers.block_9 = 'block_9';
    await expect(BackboneSession.open(manifest, 'block_9', 'cpu')).rejects.toThrow(
      "layer 'block_9' maps to ONNX output 'block_9', which model.onnx does not have; its outputs are: block_0, block_1, block_2, last_hidden_state",
    );
  });

  it('rejects a manifest whose token layout does not match the model', async () => {
    const manifest = loadManifest(backboneFixture('dinov2-vit-s14-reg').manifest);
    manifest.tokens = { ...manifest.tokens, registers: 0 };
    await expect(BackboneSession.open(manifest, 'block_1', 'cpu')).rejects.toThrow(
      /output 'block_1' has 21 tokens, but manifest .* describes 17 \(CLS \+ 0 registers \+ 4x4 patches\)/,
    );
  });
});

describeWhen(haveShared)('BackboneSession on the shared PyTorch exports (optional cross-check)', () => {
  for (const name of ['toy-clip', 'toy-dinov2-reg']) {
    it(`${name}: block_1 matches the reference within 1e-4`, async () => {
      const { facts, manifest } = sharedManifest(name);
      const reference = JSON.parse(readFileSync(path.join(SHARED, name, 'reference.json'), 'utf8')) as {
        pixel_values: number[][][][];
        block_1: number[][][];
      };
      const session = await BackboneSession.open(manifest, 'block_1', 'cpu');
      try {
        const T = (facts.cls_token ? 1 : 0) + facts.register_tokens + facts.grid * facts.grid;
        expect(session.layout).toMatchObject({ tokens: T, patchOffset: (facts.cls_token ? 1 : 0) + facts.register_tokens, patches: facts.grid ** 2 });
        const out = await session.run(flatten(reference.pixel_values), reference.pixel_values.length);
        expect(maxAbsDiff(out.tokens, flatten(reference.block_1))).toBeLessThan(1e-4);
      } finally {
        await session.close();
      }
    });
  }
});

describe('BackboneSession on generated tiny ViTs', () => {
  let clipLike: TinyVit;
  let dinoLike: TinyVit;
  beforeAll(async () => {
    clipLike = await makeTinyVit({ imageSize: 32, patchSize: 8, dModel: 16, cls: true, seed: 3 });
    dinoLike = await makeTinyVit({ imageSize: 28, patchSize: 7, dModel: 12, cls: true, registers: 4, seed: 4 });
  });

  it('generates the same bytes for the same options', async () => {
    const again = await makeTinyVit({ imageSize: 32, patchSize: 8, dModel: 16, cls: true, seed: 3 });
    expect(readFileSync(again.modelPath).equals(readFileSync(clipLike.modelPath))).toBe(true);
    const other = await makeTinyVit({ imageSize: 32, patchSize: 8, dModel: 16, cls: true, seed: 5 });
    expect(readFileSync(other.modelPath).equals(readFileSync(clipLike.modelPath))).toBe(false);
  });

  it('exposes the CLIP-like and DINOv2-like token layouts', async () => {
    const clip = await BackboneSession.open(loadManifest(clipLike.manifestPath), 'block_1', 'cpu');
    expect(clip.layout).toEqual({ cls: true, registers: 0, patchSize: 8, grid: [4, 4], tokens: 17, patchOffset: 1, patches: 16 });
    expect(clip.d).toBe(16);
    expect(clip.info()).toMatchObject({ layer: 'block_1', outputName: 'block_1', dModel: 16, inputSize: 32 });
    await clip.close();

    const dino = await BackboneSession.open(loadManifest(dinoLike.manifestPath), 'last_hidden_state', 'cpu');
    expect(dino.layout).toEqual({ cls: true, registers: 4, patchSize: 7, grid: [4, 4], tokens: 21, patchOffset: 5, patches: 16 });
    expect(dino.d).toBe(12);
    await dino.close();
  });

  it('runs batches, each image independent of the others', async () => {
    const session = await BackboneSession.open(loadManifest(dinoLike.manifestPath), 'block_0', 'cpu');
    try {
      const per = 3 * 28 * 28;
      const pixels = Float32Array.from({ length: 3 * per }, (_, i) => Math.sin(i * 0.37));
      const all = await session.run(pixels, 3);
      expect([all.T, all.d, all.tokens.length]).toEqual([21, 12, 3 * 21 * 12]);
      const second = await session.run(pixels.slice(per, 2 * per), 1);
      const slice = all.tokens.subarray(21 * 12, 2 * 21 * 12);
      for (let i = 0; i < slice.length; i++) expect(second.tokens[i]).toBeCloseTo(slice[i]!, 5);
      // The patches differ between images, but the register tokens only see position embeddings.
      expect(Array.from(all.tokens.subarray(12, 5 * 12))).toEqual(Array.from(second.tokens.subarray(12, 5 * 12)));
      await expect(session.run(pixels, 2)).rejects.toThrow(/backbone input must be 2 x 3 x 28 x 28 = 4704 floats, got 7056/);
    } finally {
      await session.close();
    }
  });

  it('explains a wrong input name, width or missing model file', async () => {
    const manifest = loadManifest(clipLike.manifestPath);
    await expect(BackboneSession.open({ ...manifest, inputName: 'images' }, 'block_0', 'cpu')).rejects.toThrow(
      /model\.onnx has no input 'images' .*; its inputs are: pixel_values/,
    );
    await expect(BackboneSession.open({ ...manifest, dModel: 32 }, 'block_0', 'cpu')).rejects.toThrow(/has width 16, but manifest .* says d_model 32/);
    await expect(BackboneSession.open({ ...manifest, layers: { block_0: 'nope' } }, 'block_0', 'cpu')).rejects.toThrow(
      "layer 'block_0' maps to ONNX output 'nope', which model.onnx does not have; its outputs are: block_0, block_1, last_hidden_state",
    );
    const elsewhere = await mkdtemp(path.join(os.tmpdir(), 'no-model-'));
    const manifestPath = path.join(elsewhere, 'manifest.json');
    await writeFile(manifestPath, readFileSync(clipLike.manifestPath));
    await expect(BackboneSession.open(loadManifest(manifestPath), 'block_0', 'cpu')).rejects.toThrow(
      `backbone model ${path.join(elsewhere, 'model.onnx')} (named by manifest ${manifestPath}) does not exist`,
    );
  });

  it('checks the input size against the manifest', async () => {
    const manifest = loadManifest(clipLike.manifestPath);
    await expect(BackboneSession.open({ ...manifest, inputSize: 64 }, 'block_0', 'cpu')).rejects.toThrow(
      /input 'pixel_values' has shape \[batch, 3, 32, 32\], but manifest .* says input.size 64/,
    );
  });
});

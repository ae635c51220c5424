import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { inspectModel, loadManifest, modelInfo, patchOffset, tokenCount } from '../../src-main/core/backbone/manifest.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const shipped = path.resolve(here, '../../resources/manifests');

function valid(): Record<string, any> {
  return {
    name: 'test',
    family: 'clip',
    model: 'model.onnx',
    input: { size: 32, resize: 'shortest-side', resize_to: 32, interpolation: 'bicubic', crop: 32, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
    tokens: { cls: true, registers: 0, patch_size: 8, grid: [4, 4] },
    layers: { block_0: 'block_0', last_hidden_state: 'last_hidden_state' },
  };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'manifest-'));
});

async function write(name: string, data: unknown): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, typeof data === 'string' ? data : JSON.stringify(data));
  return file;
}

describe('backbone manifests', () => {
  it('ship CLIP ViT-B/16 and DINOv2 ViT-B/14 (with and without registers) per the design table', () => {
    const clip = loadManifest(path.join(shipped, 'clip-vit-b16.json'));
    expect(clip.preprocess).toMatchObject({ resize: 'shortest-side', resizeTo: 224, interpolation: 'bicubic', crop: 224 });
    expect(clip.preprocess.mean).toEqual([0.48145466, 0.4578275, 0.40821073]);
    expect(clip.tokens).toEqual({ cls: true, registers: 0, patchSize: 16, grid: [14, 14] });
    expect(clip.layers.block_10).toBe('block_10');
    expect(clip.modelPath).toBe(path.join(shipped, 'model.onnx'));

    for (const [file, registers] of [['dinov2-vit-b14.json', 0], ['dinov2-vit-b14-reg.json', 4]] as const) {
      const dino = loadManifest(path.join(shipped, file));
      expect(dino.preprocess).toMatchObject({ resize: 'squash', resizeTo: 256, crop: 224 });
      expect(dino.preprocess.mean).toEqual([0.485, 0.456, 0.406]);
      expect(dino.preprocess.std).toEqual([0.229, 0.224, 0.225]);
      expect(dino.tokens).toEqual({ cls: true, registers, patchSize: 14, grid: [16, 16] });
      expect(dino.notes).toMatch(/shortest side to 256/);
      expect(tokenCount(dino.tokens)).toBe(1 + registers + 256);
      expect(patchOffset(dino.tokens)).toBe(1 + registers);
    }
  });

  it('resolves the model next to the manifest and defaults the input name', async () => {
    const file = await write('ok.json', valid());
    const m = loadManifest(file);
    expect(m.modelPath).toBe(path.join(dir, 'model.onnx'));
    expect(m.inputName).toBe('pixel_values');
    expect(m.dModel).toBeNull();
    const info = modelInfo(m, 'block_0', 16);
    expect(info).toMatchObject({ layer: 'block_0', outputName: 'block_0', dModel: 16, inputSize: 32, manifestPath: file });
    expect(() => modelInfo(m, 'block_7', 16)).toThrow(`layer 'block_7' is not in backbone manifest ${file}; it has: block_0, last_hidden_state`);
    expect(inspectModel(file)).toEqual({
      name: 'test',
      family: 'clip',
      layers: [
        { name: 'block_0', outputName: 'block_0' },
        { name: 'last_hidden_state', outputName: 'last_hidden_state' },
      ],
      inputSize: 32,
      tokens: { cls: true, registers: 0, patchSize: 8, grid: [4, 4] },
    });
  });

  it('names the file and every bad field', async () => {
    const bad = valid();
    bad.input.mean = [0.5, 0.5];
    bad.input.resize = 'crop-ish';
    delete bad.tokens.cls;
    const file = await write('bad.json', bad);
    const error = (() => {
      try {
        loadManifest(file);
      } catch (err) {
        return (err as Error).message;
      }
      return '';
    })();
    expect(error).toContain(`invalid backbone manifest ${file}`);
    expect(error).toMatch(/input\.mean:/);
    expect(error).toMatch(/input\.resize:/);
    expect(error).toMatch(/tokens\.cls:/);
  });

  it('checks that size, crop and patch grid agree', async () => {
    const bad = valid();
    bad.tokens.grid = [5, 5];
    bad.input.resize_to = 16;
    const file = await write('grid.json', bad);
    expect(() => loadManifest(file)).toThrow(/tokens\.grid: \[5, 5\] does not match input\.size 32 \/ patch_size 8 = 4/);
    expect(() => loadManifest(file)).toThrow(/input\.resize_to: must be at least input\.crop \(32\)/);
  });

  it('reports unreadable and non-JSON files by name', async () => {
    const missing = path.join(dir, 'nope.json');
    expect(() => loadManifest(missing)).toThrow(`cannot read backbone manifest ${missing} (ENOENT)`);
    const broken = await write('broken.json', '{ "name": ');
    expect(() => loadManifest(broken)).toThrow(`backbone manifest ${broken} is not valid JSON`);
  });
});

import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackboneSession } from '../../src-main/core/backbone/backboneSession.js';
import { exposeLayers, inspectOnnx } from '../../src-main/core/backbone/inspectOnnx.js';
import { loadManifest } from '../../src-main/core/backbone/manifest.js';
import { decodeModel } from '../../src-main/core/onnx/graphBuilder.js';
import { exposeOutputs, listCandidateLayers, pruneToOutputs } from '../../src-main/core/onnx/graphSurgery.js';
import type { CliDeps } from '../../src-main/hosts/cli/context.js';
import { runCli } from '../../src-main/hosts/cli/program.js';
import { backboneFixture } from '../helpers/backboneFixtures.js';
import { makeTinyVit, type TinyVit } from '../helpers/makeTinyVit.js';
import { describeWhen } from '../helpers/repoFixtures.js';

const { onnx } = onnxProto;
const here = path.dirname(fileURLToPath(import.meta.url));

let base: string;
let vit: TinyVit;
/** The tiny ViT cut down to what most exports give: one pooled [batch, d] embedding output. */
let embeddingOnly: string;
let pixels: Float32Array;
const S = 32;

beforeAll(async () => {
  base = await mkdtemp(path.join(os.tmpdir(), 'graph-surgery-'));
  vit = await makeTinyVit({ dir: path.join(base, 'vit') });
  embeddingOnly = path.join(base, 'embedding-only.onnx');
  await writeFile(embeddingOnly, toEmbeddingOnly(await readFile(vit.modelPath), { block_0: 'hidden_a', block_1: 'hidden_b' }));
  pixels = Float32Array.from({ length: 2 * 3 * S * S }, (_, i) => Math.cos(i * 0.11));
});
afterAll(() => rm(base, { recursive: true, force: true }));

/** Renames tensors everywhere they appear (node inputs and outputs, graph outputs). */
function renameTensors(model: ReturnType<typeof decodeModel>, renames: Record<string, string>): void {
  const r = (n: string) => renames[n] ?? n;
  for (const node of model.graph!.node!) {
    node.input = node.input!.map(r);
    node.output = node.output!.map(r);
  }
  for (const o of model.graph!.output!) o.name = r(o.name!);
}

/** Keeps only a CLS-pooled embedding as output, and anonymises the block tensors. */
function toEmbeddingOnly(bytes: Uint8Array, renames: Record<string, string>): Uint8Array {
  const model = decodeModel(bytes);
  renameTensors(model, renames);
  const graph = model.graph!;
  graph.initializer!.push({ name: 'cls_index', dataType: onnx.TensorProto.DataType.INT64, dims: [], rawData: new Uint8Array(8) });
  graph.node!.push({ opType: 'Gather', name: 'pool', input: ['last_hidden_state', 'cls_index'], output: ['embedding'], attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }] });
  graph.output = [{ name: 'embedding', type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: 'batch' }, { dimValue: 16 }] } } } }];
  return onnx.ModelProto.encode(model).finish();
}

async function run(model: string | Uint8Array, input: Float32Array, batch: number, size = S): Promise<Record<string, ort.Tensor>> {
  const session = typeof model === 'string' ? await ort.InferenceSession.create(model) : await ort.InferenceSession.create(model);
  try {
    return (await session.run({ pixel_values: new ort.Tensor('float32', input, [batch, 3, size, size]) })) as Record<string, ort.Tensor>;
  } finally {
    await session.release();
  }
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

const nodeCount = (bytes: Uint8Array) => decodeModel(bytes).graph!.node!.length;
const outputNames = (bytes: Uint8Array) => decodeModel(bytes).graph!.output!.map((o) => o.name);

describe('listCandidateLayers', () => {
  it('finds the block outputs of a model that only outputs an embedding', async () => {
    const candidates = await listCandidateLayers(embeddingOnly);
    const blocks = candidates.filter((c) => c.layer !== null);
    expect(blocks.map((c) => [c.layer, c.tensor])).toEqual([
      ['block_0', 'hidden_a'],
      ['block_1', 'hidden_b'],
    ]);
    for (const c of blocks) {
      expect(c).toMatchObject({ shape: ['batch', vit.tokens, vit.dModel], op: 'Add', reason: 'residual', branch: 'mlp', isGraphOutput: false });
    }
    // The pooled [batch, d] embedding is not a candidate; the final norm is, as a normalisation output.
    expect(candidates.map((c) => c.tensor)).not.toContain('embedding');
    expect(candidates.find((c) => c.tensor === 'last_hidden_state')).toMatchObject({ layer: null, reason: 'norm', op: 'LayerNormalization' });
    expect(blocks[0]!.nodeIndex).toBeLessThan(blocks[1]!.nodeIndex);
  });

  it('accepts bytes, and needs --size when the input H and W are symbolic', async () => {
    const model = decodeModel(await readFile(embeddingOnly));
    const dims = model.graph!.input![0]!.type!.tensorType!.shape!.dim!;
    dims[2] = { dimParam: 'height' };
    dims[3] = { dimParam: 'width' };
    const symbolic = path.join(base, 'symbolic.onnx');
    await writeFile(symbolic, onnx.ModelProto.encode(model).finish());
    await expect(listCandidateLayers(symbolic)).rejects.toThrow(/symbolic dim 'height'.*--size/);
    const candidates = await listCandidateLayers(await readFile(symbolic), { size: S });
    expect(candidates.filter((c) => c.layer).map((c) => c.tensor)).toEqual(['hidden_a', 'hidden_b']);
    // A size the model cannot take (its position embeddings are for 32 px) fails naming the shape.
    await expect(listCandidateLayers(symbolic, { size: 40 })).rejects.toThrow(/failed on a test input of shape \[1, 3, 40, 40\].*--size/);

    // The exposed output's token dim stays symbolic: it varies with the input size.
    const { added } = await exposeOutputs(symbolic, ['hidden_b'], path.join(base, 'symbolic.with-block_1.onnx'), { size: S });
    expect(added).toEqual([{ name: 'hidden_b', type: 'float32', dims: ['batch', 'tokens', vit.dModel] }]);
  });
});

describe('exposeOutputs', () => {
  it('exposing block 1 reproduces the full model’s block_1 output', async () => {
    const out = path.join(base, 'embedding-only.with-block_1.onnx');
    const { added } = await exposeOutputs(embeddingOnly, ['hidden_b'], out);
    expect(added).toEqual([{ name: 'hidden_b', type: 'float32', dims: ['batch', vit.tokens, vit.dModel] }]);

    const written = await readFile(out);
    const before = decodeModel(await readFile(embeddingOnly)).graph!;
    const after = decodeModel(written).graph!;
    expect(after.output!.map((o) => o.name)).toEqual(['embedding', 'hidden_b']);
    expect(after.node!.length).toBe(before.node!.length);
    expect(after.initializer!.map((t) => t.name)).toEqual(before.initializer!.map((t) => t.name));

    const full = await run(vit.modelPath, pixels, 2);
    const exposed = await run(out, pixels, 2);
    expect(exposed.hidden_b!.dims).toEqual([2, vit.tokens, vit.dModel]);
    expect(maxAbsDiff(exposed.hidden_b!.data as Float32Array, full.block_1!.data as Float32Array)).toBeLessThan(1e-6);
  });

  it('refuses unknown tensors, non-ONNX files and overwriting the original', async () => {
    await expect(exposeOutputs(embeddingOnly, ['nope'], path.join(base, 'x.onnx'))).rejects.toThrow(/has no tensor 'nope'.*inspect-model/);
    await expect(exposeOutputs(embeddingOnly, ['hidden_b'], embeddingOnly)).rejects.toThrow(/refusing to overwrite/);
    const text = path.join(base, 'notes.onnx');
    await writeFile(text, 'this is a text file, not a model\n');
    await expect(listCandidateLayers(text)).rejects.toThrow(/is not an ONNX model/);
    const noise = path.join(base, 'noise.onnx');
    await writeFile(noise, Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251));
    await expect(listCandidateLayers(noise)).rejects.toThrow(/is not an ONNX model/);
    await expect(listCandidateLayers(path.join(base, 'missing.onnx'))).rejects.toThrow(/cannot read ONNX model .*ENOENT/);
  });

  describe('with external data', () => {
    let dir: string;
    let model: string;

    beforeAll(async () => {
      // What torch.onnx.export(..., external_data=True) writes: big weights in a side file.
      dir = path.join(base, 'external', 'model');
      await mkdir(dir, { recursive: true });
      const decoded = decodeModel(await readFile(embeddingOnly));
      const chunks: Uint8Array[] = [];
      let offset = 0;
      for (const t of decoded.graph!.initializer!) {
        if (t.dataType !== onnx.TensorProto.DataType.FLOAT) continue;
        const raw = t.rawData!;
        chunks.push(raw.slice());
        t.rawData = new Uint8Array(0);
        t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
        t.externalData = [
          { key: 'location', value: 'weights.bin' },
          { key: 'offset', value: String(offset) },
          { key: 'length', value: String(raw.byteLength) },
        ];
        offset += raw.byteLength;
      }
      await writeFile(path.join(dir, 'weights.bin'), Buffer.concat(chunks));
      model = path.join(dir, 'model.onnx');
      await writeFile(model, onnx.ModelProto.encode(decoded).finish());
    });

    it('lists candidates and exposes next to the model or in a parent folder', async () => {
      const candidates = await listCandidateLayers(model);
      expect(candidates.filter((c) => c.layer).map((c) => c.tensor)).toEqual(['hidden_a', 'hidden_b']);
      const full = await run(vit.modelPath, pixels, 2);

      const sameDir = path.join(dir, 'model.with-block_1.onnx');
      await exposeOutputs(model, ['hidden_b'], sameDir);
      expect(maxAbsDiff((await run(sameDir, pixels, 2)).hidden_b!.data as Float32Array, full.block_1!.data as Float32Array)).toBeLessThan(1e-6);

      // From the parent folder the weights are at model/weights.bin: the location is rewritten.
      const parent = path.join(base, 'external', 'copy.onnx');
      await exposeOutputs(model, ['hidden_b'], parent);
      const locations = decodeModel(await readFile(parent)).graph!.initializer!.flatMap((t) => t.externalData!.filter((e) => e.key === 'location').map((e) => e.value));
      expect(new Set(locations)).toEqual(new Set(['model/weights.bin']));
      expect(maxAbsDiff((await run(parent, pixels, 2)).hidden_b!.data as Float32Array, full.block_1!.data as Float32Array)).toBeLessThan(1e-6);
    });

    it('refuses a folder onnxruntime could not read the weights from, and says which files are missing', async () => {
      await mkdir(path.join(dir, 'sub'), { recursive: true });
      await expect(exposeOutputs(model, ['hidden_b'], path.join(dir, 'sub', 'x.onnx'))).rejects.toThrow(/weights\.bin \(external data\).*write the copy into/);
      await expect(listCandidateLayers(await readFile(model))).rejects.toThrow(/external files \(weights\.bin\); pass the model's path/);
      const lonely = path.join(base, 'external', 'lonely');
      await mkdir(lonely, { recursive: true });
      await copyFile(model, path.join(lonely, 'model.onnx'));
      await expect(listCandidateLayers(path.join(lonely, 'model.onnx'))).rejects.toThrow(/missing from .*lonely: weights\.bin/);
    });
  });
});

describe('pruneToOutputs', () => {
  it('keeps only what block_0 needs and computes the same numbers', async () => {
    const bytes = await readFile(vit.modelPath);
    const pruned = pruneToOutputs(bytes, ['block_0']);
    expect(outputNames(pruned)).toEqual(['block_0']);
    expect(nodeCount(pruned)).toBeLessThan(nodeCount(bytes));
    const prunedInits = decodeModel(pruned).graph!.initializer!.map((t) => t.name);
    expect(prunedInits).not.toContain('w1_1'); // block 1's weights are gone too
    const full = await run(vit.modelPath, pixels, 2);
    const out = await run(pruned, pixels, 2);
    expect(Object.keys(out)).toEqual(['block_0']);
    expect(maxAbsDiff(out.block_0!.data as Float32Array, full.block_0!.data as Float32Array)).toBe(0);
  });

  it('refuses unknown outputs and non-ONNX bytes', () => {
    const bytes = readFileSync(vit.modelPath);
    expect(() => pruneToOutputs(bytes, ['nope'])).toThrow(/has no tensor 'nope'/);
    expect(() => pruneToOutputs(new TextEncoder().encode('{"not": "onnx"}'), ['block_0'])).toThrow(/is not an ONNX model/);
  });
});

describe('CLIPVisionModel exported by scripts/export_backbone.py (repo fixture)', () => {
  const fx = backboneFixture('clip-vit-b16');
  const pixels = fx.ref('pixels');
  const batch = fx.shapes.pixels![0]!;
  const anonymous = (i: number) => `/model/encoder/layers.${i}/Add_1_output_0`;
  let stripped: string;

  beforeAll(async () => {
    // Remove the block outputs and give the block tensors torch's anonymous names, as an export
    // that only outputs last_hidden_state would have them.
    const model = decodeModel(await readFile(fx.model));
    renameTensors(model, { block_0: anonymous(0), block_1: anonymous(1), block_2: anonymous(2) });
    model.graph!.output = model.graph!.output!.filter((o) => o.name === 'last_hidden_state');
    stripped = path.join(base, 'clip-stripped.onnx');
    await writeFile(stripped, onnx.ModelProto.encode(model).finish());
  });

  it('rediscovers the blocks (every second residual add: attention, then MLP)', async () => {
    const candidates = await listCandidateLayers(stripped);
    expect(candidates.filter((c) => c.layer).map((c) => [c.layer, c.tensor])).toEqual([
      ['block_0', anonymous(0)],
      ['block_1', anonymous(1)],
      ['block_2', anonymous(2)],
    ]);
    expect(candidates.filter((c) => c.reason === 'residual').map((c) => c.branch)).toEqual(['attention', 'mlp', 'attention', 'mlp', 'attention', 'mlp']);
    expect(candidates.find((c) => c.layer === 'block_1')).toMatchObject({ shape: ['batch', 17, 32], op: 'Add' });
    // CLIP's pre_layrnorm and each block's layer_norm1/2 are offered as normalisation outputs.
    expect(candidates.filter((c) => c.reason === 'norm').map((c) => c.tensor.split('/').slice(-2, -1)[0])).toEqual([
      'pre_layrnorm', 'layer_norm1', 'layer_norm2', 'layer_norm1', 'layer_norm2', 'layer_norm1', 'layer_norm2',
    ]);
  });

  it('exposing block_1 reproduces PyTorch hidden_states[2] within 1e-4', async () => {
    const out = path.join(base, 'clip.with-block_1.onnx');
    await exposeOutputs(stripped, [anonymous(1)], out);
    const result = await run(out, pixels, batch, 64);
    expect(maxAbsDiff(result[anonymous(1)]!.data as Float32Array, fx.ref('hidden_2'))).toBeLessThan(1e-4);
  });

  it('pruned to block_1, computes the same numbers with fewer nodes', async () => {
    const bytes = await readFile(stripped);
    const pruned = pruneToOutputs(bytes, [anonymous(1)]);
    expect(nodeCount(pruned)).toBeLessThan(nodeCount(bytes));
    const result = await run(pruned, pixels, batch, 64);
    expect(maxAbsDiff(result[anonymous(1)]!.data as Float32Array, fx.ref('hidden_2'))).toBeLessThan(1e-4);
  });
});

// Optional cross-check on the shared 12-block export where a checkout has it.
const VIT_TINY = path.resolve(here, '../../../shared/fixtures/vit-tiny-224/model.onnx');

describeWhen(existsSync(VIT_TINY))('vit-tiny-224 (a 12-block, 224px PyTorch export)', () => {
  it('names all 12 blocks of a ViT-B-depth graph', async () => {
    const model = decodeModel(await readFile(VIT_TINY));
    const renames = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`block_${i}`, `/blocks.${i}/Add_1_output_0`]));
    renameTensors(model, renames);
    model.graph!.output = model.graph!.output!.filter((o) => o.name === 'last_hidden_state');
    const candidates = await listCandidateLayers(onnx.ModelProto.encode(model).finish());
    expect(candidates.filter((c) => c.layer).map((c) => [c.layer, c.tensor, c.tokens, c.dModel])).toEqual(
      Array.from({ length: 12 }, (_, i) => [`block_${i}`, `/blocks.${i}/Add_1_output_0`, 197, 192]),
    );
  });
});

describe('inspectOnnx and exposeLayers', () => {
  it('reports inputs and outputs as declared', async () => {
    const inspection = await inspectOnnx(embeddingOnly);
    expect(inspection.inputs).toEqual([{ name: 'pixel_values', type: 'float32', shape: ['batch', 3, S, S] }]);
    expect(inspection.outputs).toEqual([{ name: 'embedding', type: 'float32', shape: ['batch', 16] }]);
  });

  it('writes <model>.with-<layer>.onnx and a new manifest the backbone session accepts', async () => {
    const dir = path.join(base, 'new-manifest');
    await mkdir(dir, { recursive: true });
    const model = path.join(dir, 'vit.onnx');
    await copyFile(embeddingOnly, model);
    const result = await exposeLayers(model, ['block_1']);
    expect(result).toMatchObject({
      modelPath: path.join(dir, 'vit.with-block_1.onnx'),
      manifestPath: path.join(dir, 'vit.with-block_1.json'),
      manifestCreated: true,
      layers: { block_1: 'hidden_b' },
    });
    expect(result.warnings.join()).toMatch(/preprocessing is a guess/);
    const manifest = loadManifest(result.manifestPath);
    expect(manifest.tokens).toEqual({ cls: true, registers: 0, patchSize: 8, grid: [4, 4] });
    expect(manifest.dModel).toBe(vit.dModel);

    const session = await BackboneSession.open(manifest, 'block_1', 'cpu');
    try {
      const out = await session.run(pixels, 2);
      const full = await run(vit.modelPath, pixels, 2);
      expect(maxAbsDiff(out.tokens, full.block_1!.data as Float32Array)).toBeLessThan(1e-6);
    } finally {
      await session.close();
    }
  });

  it('refuses a name that is not a candidate, listing the candidates', async () => {
    await expect(exposeLayers(embeddingOnly, ['block_7'])).rejects.toThrow(/'block_7' is neither a candidate layer nor a tensor of .*; candidates: .*block_0.*block_1/);
  });
});

describe('studio inspect-model', () => {
  function harness() {
    const out: string[] = [];
    const err: string[] = [];
    const deps: CliDeps = {
      createBackend: async () => {
        throw new Error('inspect-model must not need the backend');
      },
      stdout: { write: (t: string) => out.push(t) },
      stderr: { write: (t: string) => err.push(t) },
      env: {},
      onInterrupt: () => () => {},
      now: () => 0,
      projectRoot: base,
      buildRenderer: async () => {},
      openUrl: async () => "disabled" as const,
    };
    return { deps, stdout: () => out.join(''), stderr: () => err.join('') };
  }

  it('prints inputs, outputs and candidates as JSON', async () => {
    const h = harness();
    expect(await runCli(['inspect-model', embeddingOnly, '--json'], h.deps)).toBe(0);
    const json = JSON.parse(h.stdout());
    expect(json.inputs[0].name).toBe('pixel_values');
    expect(json.outputs.map((o: { name: string }) => o.name)).toEqual(['embedding']);
    expect(json.candidates.filter((c: { layer: string | null }) => c.layer).map((c: { layer: string; tensor: string }) => [c.layer, c.tensor])).toEqual([
      ['block_0', 'hidden_a'],
      ['block_1', 'hidden_b'],
    ]);
  });

  it('prints a table, and --expose updates an existing manifest', async () => {
    const dir = path.join(base, 'cli-expose');
    await mkdir(dir, { recursive: true });
    await copyFile(embeddingOnly, path.join(dir, 'model.onnx'));
    await copyFile(vit.manifestPath, path.join(dir, 'manifest.json'));
    const h = harness();
    const code = await runCli(['inspect-model', path.join(dir, 'model.onnx'), '--expose', 'block_1', '--manifest', path.join(dir, 'manifest.json')], h.deps);
    expect(h.stderr()).toBe('');
    expect(code).toBe(0);
    expect(h.stdout()).toMatch(/block_1 +hidden_b +batch x 17 x 16 +Add +residual \(mlp\)/);
    expect(h.stdout()).toMatch(/Updated manifest .*manifest\.json/);
    expect(h.stdout()).toMatch(/removed layers whose outputs the model lacks: block_0, last_hidden_state/);

    const manifest = loadManifest(path.join(dir, 'manifest.json'));
    expect(manifest.modelPath).toBe(path.join(dir, 'model.with-block_1.onnx'));
    expect(manifest.layers).toEqual({ block_1: 'hidden_b' });
    const session = await BackboneSession.open(manifest, 'block_1', 'cpu');
    await session.close();
  });

  it('fails clearly on a bad name or a non-ONNX file', async () => {
    const h = harness();
    expect(await runCli(['inspect-model', embeddingOnly, '--expose', 'nope'], h.deps)).toBe(1);
    expect(h.stderr()).toMatch(/error: 'nope' is neither a candidate layer nor a tensor/);
    const text = path.join(base, 'readme.onnx');
    await writeFile(text, 'hello');
    const h2 = harness();
    expect(await runCli(['inspect-model', text], h2.deps)).toBe(1);
    expect(h2.stderr()).toMatch(/is not an ONNX model/);
    const h3 = harness();
    expect(await runCli(['inspect-model', embeddingOnly, '--input-shape', '1,x'], h3.deps)).toBe(2);
  });
});

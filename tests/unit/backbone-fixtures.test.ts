// The studio on backbones exported by the real exporters (tests/fixtures/backbones/, written by
// scripts/fixtures/gen_backbones.py): Hugging Face CLIP, DINOv2 with registers, VideoMAE and SigLIP
// through scripts/export_backbone.py, and a post-norm ViT through torch.onnx. Every number is
// compared with PyTorch's own activations for the same pixels.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackboneSession } from '../../src-main/core/backbone/backboneSession.js';
import { VideoBackboneSession } from '../../src-main/core/backbone/videoBackboneSession.js';
import { exposeLayers, inspectOnnx } from '../../src-main/core/backbone/inspectOnnx.js';
import { loadManifest } from '../../src-main/core/backbone/manifest.js';
import { decodeModel } from '../../src-main/core/onnx/graphBuilder.js';
import { listCandidateLayers } from '../../src-main/core/onnx/graphSurgery.js';
import type { CliDeps } from '../../src-main/hosts/cli/context.js';
import { runCli } from '../../src-main/hosts/cli/program.js';
import { backboneFixture, maxAbsDiff, relativeL2, type BackboneFixtureName } from '../helpers/backboneFixtures.js';

const { onnx } = onnxProto;
let base: string;
beforeAll(async () => {
  base = await mkdtemp(path.join(os.tmpdir(), 'backbone-fixtures-'));
});
afterAll(() => rm(base, { recursive: true, force: true }));

async function runOnnx(model: string, pixels: Float32Array, shape: number[], outputs: string[]): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(model);
  try {
    const out = await session.run({ pixel_values: new ort.Tensor('float32', pixels, shape) }, outputs);
    return Object.fromEntries(outputs.map((o) => [o, out[o]!.data as Float32Array]));
  } finally {
    await session.release();
  }
}

/** The studio's session for a manifest: clip (VideoMAE) backbones have their own. */
async function openSession(manifest: ReturnType<typeof loadManifest>, layer: string) {
  return VideoBackboneSession.isClipManifest(manifest) ? VideoBackboneSession.open(manifest, layer, 'cpu') : BackboneSession.open(manifest, layer, 'cpu');
}

const HF: { name: BackboneFixtureName; blocks: number; tokens: number; patchOffset: number; frames?: number }[] = [
  { name: 'clip-vit-b16', blocks: 3, tokens: 17, patchOffset: 1 },
  { name: 'dinov2-vit-s14-reg', blocks: 3, tokens: 21, patchOffset: 5 },
  { name: 'videomae-vit-b', blocks: 2, tokens: 8, patchOffset: 0, frames: 4 },
  // SigLIP: no CLS; its tanh-GELU computes x + 0.044715 x^3, an Add(x, g(x)) that is no residual.
  { name: 'siglip-vit-b16', blocks: 2, tokens: 16, patchOffset: 0 },
];

describe('Hugging Face exports (scripts/export_backbone.py) through BackboneSession', () => {
  for (const f of HF) {
    it(`${f.name}: every block and last_hidden_state match PyTorch's hidden states within 1e-4`, async () => {
      const fx = backboneFixture(f.name);
      const manifest = loadManifest(fx.manifest);
      expect(manifest.dModel).toBe(32);
      if (f.frames) expect(manifest.tokens).toMatchObject({ frames: f.frames, tubelet: 2 });
      const pixels = fx.ref('pixels');
      const batch = fx.shapes.pixels![0]!;
      const layers = [...Array.from({ length: f.blocks }, (_, i) => [`block_${i}`, `hidden_${i + 1}`]), ['last_hidden_state', 'last_hidden_state']];
      for (const [layer, ref] of layers) {
        const session = await openSession(manifest, layer!);
        try {
          if (session instanceof BackboneSession) expect(session.layout).toMatchObject({ tokens: f.tokens, patchOffset: f.patchOffset });
          const out = await session.run(pixels, batch);
          expect(maxAbsDiff(out.tokens, fx.ref(ref!)), `${f.name} ${layer}`).toBeLessThan(1e-4);
        } finally {
          await session.close();
        }
      }
    });

    it(`${f.name}: with only last_hidden_state left, inspect-model finds each block and exposing it gives PyTorch's numbers`, async () => {
      const fx = backboneFixture(f.name);
      // What an export that outputs only the final tensor looks like: the block outputs get the
      // exporter's anonymous names back and stop being graph outputs.
      const model = decodeModel(await readFile(fx.model));
      const renames = new Map(Array.from({ length: f.blocks }, (_, i) => [`block_${i}`, `/anonymous/block${i}/Add_1_output_0`]));
      for (const node of model.graph!.node!) {
        node.input = node.input!.map((n) => renames.get(n) ?? n);
        node.output = node.output!.map((n) => renames.get(n) ?? n);
      }
      model.graph!.output = model.graph!.output!.filter((o) => o.name === 'last_hidden_state');
      const stripped = path.join(base, `${f.name}.stripped.onnx`);
      await writeFile(stripped, onnx.ModelProto.encode(model).finish());

      const shape = fx.shapes.pixels!;
      const candidates = await listCandidateLayers(stripped, { inputShape: shape });
      expect(candidates.filter((c) => c.layer).map((c) => [c.layer, c.tensor])).toEqual(
        Array.from({ length: f.blocks }, (_, i) => [`block_${i}`, `/anonymous/block${i}/Add_1_output_0`]),
      );
      // Pre-norm blocks: LayerNorm outputs are offered too (two per block), never named blocks.
      expect(candidates.filter((c) => c.reason === 'norm').length).toBeGreaterThanOrEqual(2 * f.blocks);
      // --manifest with the export's own manifest: its layers are remapped to the exposed tensors.
      const manifestPath = path.join(base, `${f.name}.manifest.json`);
      await writeFile(manifestPath, (await readFile(fx.manifest, 'utf8')).replace('"model.onnx"', JSON.stringify(stripped)));
      const picks = candidates.filter((c) => c.layer).map((c) => c.layer!);
      const result = await exposeLayers(stripped, picks, { candidates, inputShape: shape, manifest: manifestPath });
      expect(result.dropped).toEqual([]);
      const manifest = loadManifest(result.manifestPath);
      for (let i = 0; i < f.blocks; i++) {
        expect(manifest.layers[`block_${i}`]).toBe(`/anonymous/block${i}/Add_1_output_0`);
        const session = await openSession(manifest, `block_${i}`);
        try {
          const out = await session.run(fx.ref('pixels'), shape[0]!);
          expect(out.T).toBe(f.tokens);
          expect(maxAbsDiff(out.tokens, fx.ref(`hidden_${i + 1}`)), `${f.name} block_${i}`).toBeLessThan(1e-4);
        } finally {
          await session.close();
        }
      }
    });
  }
});

describe('post-norm blocks (LayerNorm after the residual add)', () => {
  for (const name of ['postnorm', 'postnorm-opset13'] as const) {
    it(`${name}: block_i is norm2's output, matching PyTorch's block output; the residual sum is not`, async () => {
      const fx = backboneFixture(name);
      const inspection = await inspectOnnx(fx.model);
      const blocks = inspection.candidates.filter((c) => c.layer);
      expect(blocks.map((c) => c.layer)).toEqual(['block_0', 'block_1', 'block_2']);
      for (const [i, c] of blocks.entries()) {
        expect(c.reason).toBe('norm');
        expect(c.tensor).toMatch(new RegExp(`^/blocks\\.${i}/norm2/`));
      }
      // Normalisation outputs are offered: norm1 and norm2 of each block.
      expect(inspection.candidates.filter((c) => c.reason === 'norm')).toHaveLength(6);
      const sums = inspection.candidates.filter((c) => c.reason === 'residual' && c.branch === 'mlp');
      expect(sums).toHaveLength(3);

      const exposed = await exposeLayers(fx.model, ['block_0', 'block_1', 'block_2'], { candidates: inspection.candidates, out: path.join(base, `${name}.blocks.onnx`), manifest: path.join(base, `${name}.json`) });
      const pixels = fx.ref('pixels');
      const shape = fx.shapes.pixels!;
      const out = await runOnnx(exposed.modelPath, pixels, shape, [...blocks.map((c) => c.tensor)]);
      for (const [i, c] of blocks.entries()) {
        expect(maxAbsDiff(out[c.tensor]!, fx.ref(`block_${i}`))).toBeLessThan(1e-4);
        // The residual sum before norm2 is what the old naming picked: about 0.2 off.
        expect(relativeL2(fx.ref(`sum_${i}`), fx.ref(`block_${i}`))).toBeGreaterThan(0.15);
      }
      // And through the studio's session with the written manifest.
      const manifest = loadManifest(exposed.manifestPath);
      expect(manifest.tokens).toMatchObject({ cls: true, registers: 0, grid: [3, 3] });
      const session = await BackboneSession.open(manifest, 'block_2', 'cpu');
      try {
        expect(maxAbsDiff((await session.run(pixels, shape[0]!)).tokens, fx.ref('block_2'))).toBeLessThan(1e-4);
      } finally {
        await session.close();
      }
    });
  }
});

describe('studio inspect-model --expose with plain tensor names', () => {
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
      openUrl: async () => 'disabled' as const,
    };
    return { deps, stdout: () => out.join(''), stderr: () => err.join('') };
  }

  it('exposes a tensor that is not a listed candidate (the attention projection), and refuses one not shaped [batch, tokens, d]', async () => {
    const fx = backboneFixture('postnorm');
    const tensor = '/blocks.1/proj/Add_output_0';
    const h = harness();
    const out = path.join(base, 'proj.onnx');
    const code = await runCli(['inspect-model', fx.model, '--expose', `${tensor},block_1`, '--out', out, '--json'], h.deps);
    expect(h.stderr()).toMatch(/preprocessing is a guess/);
    expect(code).toBe(0);
    const json = JSON.parse(h.stdout());
    expect(json.candidates.map((c: { tensor: string }) => c.tensor)).not.toContain(tensor);
    expect(json.exposed.layers).toEqual({ 'blocks.1_proj_Add_output_0': tensor, block_1: '/blocks.1/norm2/LayerNormalization_output_0' });
    const values = await runOnnx(out, backboneFixture('postnorm').ref('pixels'), fx.shapes.pixels!, [tensor, '/blocks.1/norm2/LayerNormalization_output_0']);
    expect(values[tensor]!.length).toBe(2 * 10 * 32);
    expect(maxAbsDiff(values['/blocks.1/norm2/LayerNormalization_output_0']!, fx.ref('block_1'))).toBeLessThan(1e-4);

    const bad = harness();
    expect(await runCli(['inspect-model', fx.model, '--expose', '/blocks.1/Softmax_output_0', '--out', path.join(base, 'bad.onnx')], bad.deps)).toBe(1);
    expect(bad.stderr()).toMatch(/tensor '\/blocks\.1\/Softmax_output_0' .* cannot be a layer: it has shape \[2, 4, 10, 10\]/);
    const unknown = harness();
    expect(await runCli(['inspect-model', fx.model, '--expose', 'no_such_tensor'], unknown.deps)).toBe(1);
    expect(unknown.stderr()).toMatch(/'no_such_tensor' is neither a candidate layer nor a tensor of .*; candidates: /);
  });
});

describe('shipped manifests for the other export families', () => {
  const shipped = path.resolve(path.dirname(backboneFixture('clip-vit-b16').dir), '../../../resources/manifests');
  it('SigLIP ViT-B/16: 14x14 patches, no CLS, squash to 224, mean/std 0.5', () => {
    const m = loadManifest(path.join(shipped, 'siglip-vit-b16.json'));
    expect(m.tokens).toEqual({ cls: false, registers: 0, patchSize: 16, grid: [14, 14] });
    expect(m.preprocess).toMatchObject({ resize: 'squash', resizeTo: 224, interpolation: 'bicubic', crop: 224, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
    expect(m.layers.block_10).toBe('block_10');
  });
  it('VideoMAE ViT-B: 16 frames in 2-frame tubelets of 14x14 patches, no CLS', () => {
    const m = loadManifest(path.join(shipped, 'videomae-vit-b.json'));
    expect(m.tokens).toEqual({ cls: false, registers: 0, patchSize: 16, grid: [14, 14], frames: 16, tubelet: 2 });
    expect(m.preprocess).toMatchObject({ resize: 'shortest-side', resizeTo: 224, interpolation: 'bilinear', crop: 224 });
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Intervener } from '../../src-main/core/intervene/intervener.js';
import { headLogits, loadTaskHead, softmax } from '../../src-main/core/intervene/taskHead.js';
import { loadManifest } from '../../src-main/core/backbone/manifest.js';
import { preprocessImage } from '../../src-main/core/backbone/preprocess.js';
import { loadSae } from '../../src-main/core/sae/loadSae.js';
import { writeSafetensors } from '../../src-main/core/sae/safetensors.js';
import { backboneFixture } from '../helpers/backboneFixtures.js';
import { makeTinyVit } from '../helpers/makeTinyVit.js';
import { makeSae } from '../helpers/makeSae.js';
import { makeImageFolder } from '../helpers/makeImageFolder.js';
import { mulberry32 } from '../helpers/prng.js';
import { runIndex } from '../../src-main/core/indexer/runIndex.js';
import { IndexReader } from '../../src-main/core/store/indexReader.js';
import { interveneCommand } from '../../src-main/hosts/cli/commands/interveneCommand.js';
import type { CliDeps } from '../../src-main/hosts/cli/context.js';


function writeHead(dir: string, task: 'classification' | 'segmentation', input: string, weight: Float32Array, classes: number, d: number, seed = 1, pool?: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const r = mulberry32(seed);
  writeSafetensors(path.join(dir, 'head.safetensors'), {
    weight: { shape: [classes, d], data: weight },
    bias: { shape: [classes], data: Float32Array.from({ length: classes }, () => r() - 0.5) },
  });
  fs.writeFileSync(path.join(dir, 'head.json'), JSON.stringify({ task, input, ...(pool ? { pool } : {}) }));
  fs.writeFileSync(path.join(dir, 'labels.json'), JSON.stringify(Array.from({ length: classes }, (_, c) => `class-${c}`)));
  return dir;
}

function randomWeights(n: number, seed: number, scale = 0.3): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale);
}

/** The full model's output for one image, through onnxruntime on the unmodified graph. */
async function fullOutput(manifestPath: string, image: string, output: string): Promise<Float32Array> {
  const m = loadManifest(manifestPath);
  const { pixels } = await preprocessImage(image, m.preprocess);
  const s = await ort.InferenceSession.create(m.modelPath);
  const out = await s.run({ [m.inputName]: new ort.Tensor('float32', pixels, [1, 3, m.inputSize, m.inputSize]) }, [output]);
  await s.release();
  return out[output]!.data as Float32Array;
}

describe('intervening on SAE features', () => {
  let work: string;
  let images: string[];

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-intervene-'));
    const data = await makeImageFolder(path.join(work, 'images'), { perLabel: 1, width: 70, height: 64 });
    images = data.files.map((f) => path.join(data.dir, f));
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  const layouts = [
    { name: 'CLS + patches', registers: 0, task: 'classification' as const },
    { name: 'CLS + registers + patches', registers: 3, task: 'segmentation' as const },
  ];
  for (const layout of layouts) {
    it(`unmodified, the split model plus head reproduces the full model plus head (${layout.name})`, async () => {
      const dir = path.join(work, `vit-${layout.registers}`);
      const vit = await makeTinyVit({ dir, imageSize: 32, patchSize: 8, dModel: 16, cls: true, registers: layout.registers, seed: 5 });
      const sae = makeSae(path.join(dir, 'sae'), { dIn: 16, dSae: 40, architecture: 'relu', seed: 6 });
      const head = writeHead(path.join(dir, 'head'), layout.task, 'last_hidden_state', randomWeights(5 * 16, 7), 5, 16);
      const iv = await Intervener.open({ model: vit.manifestPath, layer: 'block_0', sae, head, provider: 'cpu' });
      try {
        for (const image of images) {
          await iv.setImage(image);
          const full = await fullOutput(vit.manifestPath, image, 'last_hidden_state');
          const T = vit.tokens;
          const h = loadTaskHead(head);
          const rows = layout.task === 'classification' ? full.subarray(0, 16) : full.subarray((1 + layout.registers) * 16, T * 16);
          const logits = headLogits(h, rows, rows.length / 16);
          const { before, after } = await iv.run([], null);
          if (layout.task === 'classification') {
            const expected = softmax(logits);
            before.probs!.forEach((p, i) => expect(p).toBeCloseTo(expected[i]!, 5));
            after.probs!.forEach((p, i) => expect(p).toBeCloseTo(expected[i]!, 5));
          } else {
            after.patchProbs!.forEach((probs, p) => probs.forEach((v, c) => expect(v).toBeCloseTo(softmax(logits, p * 5, 5)[c]!, 5)));
          }
          // Setting features to the values they already have changes nothing either.
          const same = [0, 1, 2].map((feature) => ({ feature, value: iv.activation(3, feature) }));
          const noop = await iv.run(same, [3]);
          expect(noop.after).toEqual(noop.before);
        }
      } finally {
        await iv.close();
      }
    });
  }

  it('a head reading along a feature\'s decoder direction loses exactly that feature\'s contribution when it is suppressed', async () => {
    const dir = path.join(work, 'known');
    const vit = await makeTinyVit({ dir, imageSize: 32, patchSize: 8, dModel: 16, cls: true, seed: 9 });
    const saePath = makeSae(path.join(dir, 'sae'), { dIn: 16, dSae: 40, architecture: 'relu', seed: 10 });
    const sae = loadSae(saePath);
    const iv0 = await Intervener.open({ model: vit.manifestPath, layer: 'block_1', sae: saePath, head: writeHead(path.join(dir, 'probe'), 'segmentation', 'block_1', randomWeights(3 * 16, 1), 3, 16), provider: 'cpu' });
    await iv0.setImage(images[0]!);
    // The feature that fires most on this image.
    let j = 0;
    let best = 0;
    for (let f = 0; f < 40; f++) for (let p = 0; p < 16; p++) if (iv0.activation(p, f) > best) [best, j] = [iv0.activation(p, f), f];
    await iv0.close();
    expect(best).toBeGreaterThan(0);

    const wj = sae.weights.W_dec.slice(j * 16, (j + 1) * 16);
    const other = randomWeights(16, 3);
    const weight = new Float32Array(2 * 16);
    weight.set(wj, 0); // class 0 reads exactly along feature j's decoder direction
    weight.set(other, 16);
    const head = writeHead(path.join(dir, 'head'), 'segmentation', 'block_1', weight, 2, 16);
    const iv = await Intervener.open({ model: vit.manifestPath, layer: 'block_1', sae: saePath, head, provider: 'cpu' });
    try {
      await iv.setImage(images[0]!);
      const h = loadTaskHead(head);
      const offset = 1; // CLS first
      const x = iv.edited([], null);
      const x2 = iv.edited([{ feature: j, value: 0 }], null);
      const l1 = headLogits(h, x.subarray(offset * 16), 16);
      const l2 = headLogits(h, x2.subarray(offset * 16), 16);
      const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i]!, 0);
      for (let p = 0; p < 16; p++) {
        const f = iv.activation(p, j);
        expect(l2[p * 2]! - l1[p * 2]!).toBeCloseTo(-f * dot(wj, wj), 4);
        expect(l2[p * 2 + 1]! - l1[p * 2 + 1]!).toBeCloseTo(-f * dot(wj, other), 4);
      }
      // Amplifying only on chosen patches moves only those patches.
      const x3 = iv.edited([{ feature: j, value: 5 }], [2, 7]);
      const l3 = headLogits(h, x3.subarray(offset * 16), 16);
      for (let p = 0; p < 16; p++) {
        const moved = Math.abs(l3[p * 2]! - l1[p * 2]!) > 1e-6;
        expect(moved).toBe(p === 2 || p === 7 ? 5 !== iv.activation(p, j) : false);
      }
    } finally {
      await iv.close();
    }
  });

  it('Hugging Face exports split at block_1 reproduce their full output (repo fixtures)', async () => {
    for (const fixture of ['clip-vit-b16', 'dinov2-vit-s14-reg'] as const) {
      const manifest = backboneFixture(fixture).manifest;
      const d = loadManifest(manifest).dModel!;
      const sae = makeSae(path.join(work, `sae-${fixture}`), { dIn: d, dSae: 64, architecture: 'topk', k: 4, seed: 2 });
      const head = writeHead(path.join(work, `head-${fixture}`), 'classification', 'last_hidden_state', randomWeights(4 * d, 8), 4, d);
      const iv = await Intervener.open({ model: manifest, layer: 'block_1', sae, head, provider: 'cpu' });
      try {
        await iv.setImage(images[1]!);
        const full = await fullOutput(manifest, images[1]!, 'last_hidden_state');
        const expected = softmax(headLogits(loadTaskHead(head), full.subarray(0, d), 1));
        const { after } = await iv.run([], null);
        after.probs!.forEach((p, i) => expect(Math.abs(p - expected[i]!)).toBeLessThan(1e-5));
      } finally {
        await iv.close();
      }
    }
  });

  it('studio intervene prints the head output before and after, scaling values by the index max', async () => {
    const dir = path.join(work, 'cli');
    const vit = await makeTinyVit({ dir, imageSize: 32, patchSize: 8, dModel: 16, cls: true, seed: 12 });
    const sae = makeSae(path.join(dir, 'sae'), { dIn: 16, dSae: 24, architecture: 'relu', seed: 13 });
    // The toy blocks do not mix tokens, so a per-patch (segmentation) head is where edits show.
    const head = writeHead(path.join(dir, 'head'), 'segmentation', 'last_hidden_state', randomWeights(3 * 16, 14), 3, 16);
    const index = path.join(dir, 'index');
    await runIndex({ model: vit.manifestPath, layer: 'block_0', sae, data: path.dirname(path.dirname(images[0]!)), out: index, topK: 2, provider: 'cpu' });
    // Two live features: the ones with the largest max activation in the index.
    const picker = IndexReader.open('p', index);
    const [fa, fb] = picker.queryFeatures({ indexId: 'p', sort: 'max', desc: true, offset: 0, limit: 2 }).rows.map((r) => r.feature) as [number, number];
    picker.close();
    const out: string[] = [];
    const err: string[] = [];
    const deps = { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => err.push(t) } } as unknown as CliDeps;
    const code = await interveneCommand(
      { model: vit.manifestPath, layer: 'block_0', sae, head, index, image: images[0]!, set: `${fa}=-2,${fb}=0`, patches: '0,0;1,2', json: true, provider: 'cpu' },
      deps,
    );
    expect(err.join('')).toBe('');
    expect(code).toBe(0);
    const printed = JSON.parse(out.join(''));
    // The same edit through the API, with values scaled by the features' max in the index.
    const reader = IndexReader.open('i', index);
    const maxA = reader.featureDetail(fa).row.max;
    reader.close();
    const iv = await Intervener.open({ model: vit.manifestPath, layer: 'block_0', sae, head, provider: 'cpu' });
    await iv.setImage(images[0]!);
    const { before, after } = await iv.run([{ feature: fa, value: -2 * maxA }, { feature: fb, value: 0 }], [0, 6]);
    await iv.close();
    expect(printed.before).toEqual(before.patchClasses);
    expect(printed.after).toEqual(after.patchClasses);
    after.patchProbs!.forEach((probs, p) => {
      const moved = probs.some((v, c) => Math.abs(v - before.patchProbs![p]![c]!) > 1e-7);
      expect(moved).toBe(p === 0 || p === 6);
    });

    err.length = 0;
    expect(await interveneCommand({ model: vit.manifestPath, layer: 'block_0', sae, head, image: images[0]!, set: '3=0' }, deps)).toBe(2);
    expect(err.join('')).toMatch(/give --index DIR, or --absolute/);
    expect(await interveneCommand({ model: vit.manifestPath, layer: 'block_0', sae, head, image: images[0]!, set: '3:0', absolute: true }, deps)).toBe(2);
  });

  it('classification heads can read the mean of the patch tokens, or CLS and mean concatenated', async () => {
    const dir = path.join(work, 'pool');
    const vit = await makeTinyVit({ dir, imageSize: 32, patchSize: 8, dModel: 16, cls: true, seed: 15 });
    const saePath = makeSae(path.join(dir, 'sae'), { dIn: 16, dSae: 24, architecture: 'relu', seed: 16 });
    for (const pool of ['mean', 'cls+mean'] as const) {
      const width = pool === 'mean' ? 16 : 32;
      const head = writeHead(path.join(dir, `head-${pool}`), 'classification', 'block_1', randomWeights(3 * width, 17), 3, width, 1, pool);
      const iv = await Intervener.open({ model: vit.manifestPath, layer: 'block_1', sae: saePath, head, provider: 'cpu' });
      try {
        await iv.setImage(images[0]!);
        const edits = [{ feature: 2, value: 3 }];
        const { before, after } = await iv.run(edits, null);
        // Expected: the same linear layer on the pooled edited tokens, computed here by hand.
        const expectedFor = (x: Float32Array) => {
          const mean = new Float32Array(16);
          for (let p = 0; p < 16; p++) for (let i = 0; i < 16; i++) mean[i]! += x[(1 + p) * 16 + i]! / 16;
          const v = pool === 'mean' ? mean : Float32Array.from([...x.subarray(0, 16), ...mean]);
          return softmax(headLogits(loadTaskHead(head), v, 1));
        };
        expectedFor(iv.edited([], null)).forEach((p, c) => expect(before.probs![c]).toBeCloseTo(p, 6));
        expectedFor(iv.edited(edits, null)).forEach((p, c) => expect(after.probs![c]).toBeCloseTo(p, 6));
        expect(after.probs).not.toEqual(before.probs);
      } finally {
        await iv.close();
      }
    }
    const wrong = writeHead(path.join(dir, 'head-wrong'), 'classification', 'block_1', randomWeights(3 * 16, 18), 3, 16, 1, 'cls+mean');
    await expect(Intervener.open({ model: vit.manifestPath, layer: 'block_1', sae: saePath, head: wrong, provider: 'cpu' })).rejects.toThrow(/weight is 16 wide, but pool 'cls\+mean' of layer 'block_1' \(width 16\) gives 32/);
  });

  it('refuses a head folder without head.json, naming what to write', () => {
    fs.mkdirSync(path.join(work, 'nohead'), { recursive: true });
    expect(() => loadTaskHead(path.join(work, 'nohead'))).toThrow(/No head.json .*"task"/);
  });
});

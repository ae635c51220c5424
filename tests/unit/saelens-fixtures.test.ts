// SAELens folders as SAELens writes them (tests/fixtures/saelens, made by
// scripts/fixtures/gen_saelens.py): inference folders and training checkpoints of 6.x and 5.x.
// Each must encode like SAELens's own arithmetic (reference.json), through the float64 reference
// encoder and the ONNX session.
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSae, saeInfo } from '../../src-main/core/sae/loadSae.js';
import { encodeReference } from '../../src-main/core/sae/referenceEncoder.js';
import { readSafetensors, writeSafetensors } from '../../src-main/core/sae/safetensors.js';
import type { SaeRecord } from '../../src-main/core/sae/types.js';
import { repoFixture } from '../helpers/repoFixtures.js';
import { encodeWithSession, maxAbsDiff, positivePart, readSaeReference } from '../helpers/saeFixtureCheck.js';

const tmp = mkdtempSync(join(tmpdir(), 'saelens-fixtures-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const HOOK = 'blocks.3.hook_resid_post';
const folder = (name: string) => repoFixture('saelens', name, 'cfg.json').slice(0, -'/cfg.json'.length);
const scalerFactor = (name: string) => JSON.parse(readFileSync(join(folder(name), 'activation_scaler.json'), 'utf8')).scaling_factor as number;

const CASES: Array<[string, Partial<SaeRecord>]> = [
  ['v6-standard', { architecture: 'relu', k: null, threshold: null }],
  ['v6-topk', { architecture: 'topk', k: 6, topkRelu: true }],
  ['v6-jumprelu', { architecture: 'jumprelu' }],
  ['v6-gated', { architecture: 'gated' }],
  ['v6-train-topk', { architecture: 'topk', k: 6, topkRelu: true, normalization: { mode: 'none', mean: null, scale: null } }],
  ['v6-train-batchtopk', { architecture: 'batchtopk', k: 4, groups: null }],
  ['v6-batchtopk-saved', { architecture: 'jumprelu' }],
  ['v6-train-matryoshka', { architecture: 'batchtopk', k: 5, groups: [8, 24, 64] }],
  ['v6-train-jumprelu', { architecture: 'jumprelu' }],
  ['v5-topk', { architecture: 'topk', k: 6, topkRelu: true }],
  ['v5-train-jumprelu', { architecture: 'jumprelu' }],
];

describe('SAELens fixtures encode like SAELens', () => {
  it.each(CASES)('%s', async (name, expected) => {
    const sae = loadSae(folder(name));
    expect(sae).toMatchObject({ format: 'saelens', dIn: 16, dSae: 64, applyBDecToInput: true, hookName: HOOK, ...expected });
    const { rows, x, f } = readSaeReference(folder(name));
    const reference = encodeReference(sae, x, rows);
    expect(maxAbsDiff(reference, f)).toBeLessThan(1e-5);
    expect(maxAbsDiff(await encodeWithSession(sae, x, rows), positivePart(f))).toBeLessThan(1e-4);
  });

  it('the fixtures are not trivial: every reference has active and inactive latents', () => {
    for (const [name] of CASES) {
      const { f } = readSaeReference(folder(name));
      const active = f.filter((v) => v > 0).length;
      expect(active, name).toBeGreaterThan(16);
      expect(active, name).toBeLessThan(f.length);
    }
  });
});

describe('SAELens training checkpoints', () => {
  it('rescale_acts_by_decoder_norm: the weights are folded like SAELens\'s inference save', () => {
    const sae = loadSae(folder('v6-train-topk'));
    // Folded decoder rows have unit norm; the raw file's rows do not.
    const raw = readSafetensors(join(folder('v6-train-topk'), 'sae_weights.safetensors')).get('W_dec')!.data;
    const rowNorm = (w: Float32Array, j: number) => Math.hypot(...w.subarray(j * 16, (j + 1) * 16));
    const rawNorms = Array.from({ length: 64 }, (_, j) => rowNorm(raw, j));
    expect(Math.max(...rawNorms) / Math.min(...rawNorms)).toBeGreaterThan(3);
    for (let j = 0; j < 64; j++) expect(rowNorm(sae.weights.W_dec, j)).toBeCloseTo(1, 5);
  });

  it('ignoring rescale_acts_by_decoder_norm would misread it (the bug this guards)', () => {
    const copy = join(tmp, 'topk-no-rescale');
    cpSync(folder('v6-train-topk'), copy, { recursive: true });
    const cfgPath = join(copy, 'cfg.json');
    writeFileSync(cfgPath, JSON.stringify({ ...JSON.parse(readFileSync(cfgPath, 'utf8')), rescale_acts_by_decoder_norm: false }));
    const { rows, x, f } = readSaeReference(folder('v6-train-topk'));
    expect(maxAbsDiff(encodeReference(loadSae(copy), x, rows), f)).toBeGreaterThan(0.5);
  });

  it('BatchTopK: the float64 topk_threshold is the threshold, and the checkpoint encodes like its inference save', () => {
    const training = loadSae(folder('v6-train-batchtopk'));
    const saved = loadSae(folder('v6-batchtopk-saved'));
    expect(Array.from(training.threshold!)).toEqual([Math.fround(0.8137254901960784)]);
    expect(saved.threshold![0]).toBe(training.threshold![0]);
    const { rows, x } = readSaeReference(folder('v6-train-batchtopk'));
    expect(maxAbsDiff(encodeReference(training, x, rows), encodeReference(saved, x, rows))).toBeLessThan(1e-5);
  });

  it('expected_average_only_in takes the factor from activation_scaler.json (6.x) or the store state (5.x)', () => {
    const matryoshka = loadSae(folder('v6-train-matryoshka'));
    expect(matryoshka.normalization).toEqual({ mode: 'scale', mean: null, scale: scalerFactor('v6-train-matryoshka') });
    expect(matryoshka.normalization.scale).toBeGreaterThan(0.1);
    expect(matryoshka.normalization.scale).toBeLessThan(0.9);
    const v5 = loadSae(folder('v5-train-jumprelu'));
    const stored = readSafetensors(join(folder('v5-train-jumprelu'), 'activations_store_state.safetensors')).get('estimated_norm_scaling_factor')!;
    expect(v5.normalization).toEqual({ mode: 'scale', mean: null, scale: stored.data[0] });
    expect(saeInfo(v5).normalization).toEqual({ mode: 'scale', scale: stored.data[0], hasMean: false });
  });

  it('without the saved factor the scale is left for the user, and encoding says how to set it', () => {
    const copy = join(tmp, 'matryoshka-no-scaler');
    cpSync(folder('v6-train-matryoshka'), copy, { recursive: true });
    unlinkSync(join(copy, 'activation_scaler.json'));
    const sae = loadSae(copy);
    expect(sae.normalization).toEqual({ mode: 'scale', mean: null, scale: null });
    expect(() => encodeReference(sae, new Float32Array(16), 1)).toThrow(/--norm scale --norm-scale X/);
  });

  it('a BatchTopK checkpoint without its threshold is refused with what to add', () => {
    const copy = join(tmp, 'batchtopk-no-threshold');
    cpSync(folder('v6-train-batchtopk'), copy, { recursive: true });
    const weightsPath = join(copy, 'sae_weights.safetensors');
    const tensors = readSafetensors(weightsPath);
    tensors.delete('topk_threshold');
    writeSafetensors(weightsPath, Object.fromEntries([...tensors].map(([key, t]) => [key, { shape: t.shape, data: t.data }])));
    expect(() => loadSae(copy)).toThrow(/says architecture "batchtopk" but there is no threshold to encode with/);
    expect(() => loadSae(copy)).toThrow(/training checkpoints keep it as 'topk_threshold'/);
  });

  it('pointing at any file SAELens writes into a checkpoint folder loads the folder', () => {
    const dir = folder('v6-train-batchtopk');
    const hash = saeInfo(loadSae(dir)).hash;
    for (const file of ['cfg.json', 'sae_weights.safetensors', 'sparsity.safetensors', 'trainer_state.pt', 'activation_scaler.json', 'runner_cfg.json']) {
      const sae = loadSae(join(dir, file));
      expect(sae.path, file).toBe(dir);
      expect(saeInfo(sae).hash, file).toBe(hash);
    }
    expect(loadSae(join(folder('v5-train-jumprelu'), 'activations_store_state.safetensors')).path).toBe(folder('v5-train-jumprelu'));
  });
});

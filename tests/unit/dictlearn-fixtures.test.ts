// dictionary_learning files as the library writes them (tests/fixtures/dictlearn, made by
// scripts/fixtures/gen_dictlearn.py): final ae.pt of each class, an intermediate checkpoint,
// trainSAE's resume backups, and state dicts wrapped by other scripts. Each must encode like the
// library's own arithmetic (reference.json), through the reference encoder and the ONNX session.
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSae, saeInfo } from '../../src-main/core/sae/loadSae.js';
import { encodeReference } from '../../src-main/core/sae/referenceEncoder.js';
import { readTorchTree, type TorchValue } from '../../src-main/core/sae/torch/readTorchFile.js';
import type { SaeRecord } from '../../src-main/core/sae/types.js';
import { repoFixture } from '../helpers/repoFixtures.js';
import { encodeWithSession, maxAbsDiff, positivePart, readSaeReference } from '../helpers/saeFixtureCheck.js';

const tmp = mkdtempSync(join(tmpdir(), 'dictlearn-fixtures-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SUBMODULE = 'resid_post_layer_3';
const file = (...parts: string[]) => repoFixture('dictlearn', ...parts);

/** Largest |a - b| relative to max(1, |b|): backups reach activations of ~80. */
function maxRelDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let max = 0;
  for (let i = 0; i < actual.length; i++) max = Math.max(max, Math.abs(actual[i]! - expected[i]!) / Math.max(1, Math.abs(expected[i]!)));
  return max;
}

const CASES: Array<[string, string[], Partial<SaeRecord>]> = [
  ['AutoEncoder', ['autoencoder', 'ae.pt'], { architecture: 'relu', applyBDecToInput: true }],
  ['AutoEncoderTopK', ['topk', 'ae.pt'], { architecture: 'topk', k: 6, topkRelu: true }],
  ['BatchTopKSAE', ['batchtopk', 'ae.pt'], { architecture: 'batchtopk', k: 6, threshold: Float32Array.of(0.62) }],
  ['JumpReluAutoEncoder', ['jumprelu', 'ae.pt'], { architecture: 'jumprelu', applyBDecToInput: false }],
  ['MatryoshkaBatchTopKSAE', ['matryoshka', 'ae.pt'], { architecture: 'batchtopk', k: 6, groups: [8, 24, 64] }],
  ['GatedAutoEncoder', ['gated', 'ae.pt'], { architecture: 'gated' }],
  ['checkpoints/ae_<step>.pt', ['checkpoint', 'trainer_0', 'checkpoints', 'ae_40.pt'], { architecture: 'topk', k: 6 }],
  ['backup of a BatchTopKSAE', ['backup-batchtopk', 'ae.pt'], { architecture: 'batchtopk', k: 6 }],
  ['backup of a JumpReluAutoEncoder', ['backup-jumprelu', 'ae.pt'], { architecture: 'jumprelu' }],
  ['backup of an AutoEncoder', ['backup-autoencoder', 'ae.pt'], { architecture: 'relu' }],
  ['{state_dict, cfg, act_mean} of an AutoEncoderTopK', ['wrapped-topk', 'sae_topk.pt'], { architecture: 'topk', k: 6 }],
  ['{state_dict, cfg: {trainer}, act_mean} of a Matryoshka', ['wrapped-matryoshka', 'sae.pth'], { architecture: 'batchtopk', groups: [8, 24, 64] }],
];

describe('dictionary_learning fixtures encode like dictionary_learning', () => {
  it.each(CASES)('%s', async (_, parts, expected) => {
    const path = file(...parts);
    const sae = loadSae(path);
    expect(sae).toMatchObject({ format: 'dictionary_learning', path, dIn: 16, dSae: 64, hookName: SUBMODULE, ...expected });
    const { rows, x, f } = readSaeReference(path, false);
    expect(maxRelDiff(encodeReference(sae, x, rows), f)).toBeLessThan(1e-5);
    expect(maxRelDiff(await encodeWithSession(sae, x, rows), positivePart(f))).toBeLessThan(1e-4);
  });
});

/** One value of the saved tree, by path. */
function at(tree: TorchValue, ...keys: string[]): TorchValue | undefined {
  let value: TorchValue | undefined = tree;
  for (const key of keys) value = value instanceof Map ? value.get(key) : undefined;
  return value;
}

describe('trainSAE resume backups', () => {
  it('are the library\'s layout: step, ae, optimizer, config and norm_factor', () => {
    const tree = readTorchTree(file('backup-batchtopk', 'ae.pt'));
    expect([...(tree as Map<string, TorchValue>).keys()]).toEqual(['step', 'ae', 'optimizer', 'config', 'norm_factor']);
    expect(at(tree, 'config', 'dict_class')).toBe('BatchTopKSAE');
    expect(at(tree, 'optimizer', 'param_groups')).toBeInstanceOf(Array);
  });

  it('read as the checkpoint trainSAE would write at that step: biases times norm_factor', () => {
    const tree = readTorchTree(file('backup-jumprelu', 'ae.pt'));
    const s = at(tree, 'norm_factor') as number;
    expect(s).toBeGreaterThan(5);
    const sae = loadSae(file('backup-jumprelu', 'ae.pt'));
    const raw = (name: string) => (at(tree, 'ae', name) as { data: Float32Array }).data;
    expect(sae.weights.b_enc[3]).toBe(Math.fround(raw('b_enc')[3]! * Math.fround(s)));
    expect(sae.threshold![5]).toBe(Math.fround(raw('threshold')[5]! * Math.fround(s)));
    expect(sae.weights.W_enc).toEqual(raw('W_enc')); // weights themselves are unchanged
    expect(sae.normalization.mode).toBe('none');
  });

  it('read naively (weights on raw inputs) would be far off: the bug this guards', () => {
    const path = file('backup-autoencoder', 'ae.pt');
    const sae = loadSae(path);
    const tree = readTorchTree(path);
    const naive = { ...sae, weights: { ...sae.weights, b_enc: (at(tree, 'ae', 'encoder.bias') as { data: Float32Array }).data, b_dec: (at(tree, 'ae', 'bias') as { data: Float32Array }).data } };
    const { rows, x, f } = readSaeReference(path, false);
    expect(maxAbsDiff(encodeReference(naive, x, rows), f)).toBeGreaterThan(1);
  });
});

describe('wrapped state dicts', () => {
  it('subtract act_mean before encoding and take the class from the saved cfg', () => {
    const sae = loadSae(file('wrapped-topk', 'sae_topk.pt'));
    const mean = (at(readTorchTree(file('wrapped-topk', 'sae_topk.pt')), 'act_mean') as { data: Float32Array }).data;
    expect(sae.normalization).toEqual({ mode: 'scale', mean, scale: 1 });
    expect(saeInfo(sae).normalization).toEqual({ mode: 'scale', scale: 1, hasMean: true });
  });

  it('refuse a state dict whose class cannot be told, saying what to add', () => {
    const path = file('wrapped-unknown', 'sep_sae.pt');
    expect(() => loadSae(path)).toThrow(/Cannot tell which dictionary_learning class .*sep_sae\.pt \('state_dict'\) holds \(tensors: W_enc, W_dec, b_enc, b_dec\)/);
    expect(() => loadSae(path)).toThrow(/write one: \{"trainer": \{"dict_class": "AutoEncoderTopK"\}\}.*or add "dict_class" \(and "k" for TopK classes\) to the dict saved under 'cfg'/);
  });

  it('take the class from a config.json beside them when their cfg lacks it', () => {
    const dir = join(tmp, 'wrapped-with-config');
    cpSync(dirname(file('wrapped-unknown', 'sep_sae.pt')), dir, { recursive: true });
    cpSync(file('jumprelu', 'config.json'), join(dir, 'config.json'));
    // The bare tensors carry no threshold, so the JumpReLU class asks for it by name.
    expect(() => loadSae(join(dir, 'sep_sae.pt'))).toThrow(/sep_sae\.pt \('state_dict'\) \(JumpReluAutoEncoder\) has no tensor 'threshold'/);
    expect(existsSync(join(dir, 'config.json'))).toBe(true);
  });
});

describe('dictionary_learning file finding', () => {
  it('loads a final ae.pt from its folder, the file or its config.json alike', () => {
    const folder = dirname(file('matryoshka', 'ae.pt'));
    const hashes = [folder, file('matryoshka', 'ae.pt'), file('matryoshka', 'config.json')].map((p) => saeInfo(loadSae(p)).hash);
    expect(new Set(hashes).size).toBe(1);
    expect(saeInfo(loadSae(folder))).toMatchObject({ threshold: 'scalar', groups: [8, 24, 64] });
  });

  it('finds config.json one folder up for checkpoints/ae_<step>.pt, and asks for it when there is none', () => {
    const copy = join(tmp, 'lonely-checkpoint.pt');
    cpSync(file('checkpoint', 'trainer_0', 'checkpoints', 'ae_40.pt'), copy);
    expect(() => loadSae(copy)).toThrow(/Cannot tell which dictionary_learning class lonely-checkpoint\.pt holds .* Put the trainer's config\.json beside it/);
  });
});

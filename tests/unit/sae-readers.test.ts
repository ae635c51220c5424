import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readBareSafetensorsSae } from '../../src-main/core/sae/bareSafetensors.js';
import { checkSaeFitsLayer, loadSae, saeInfo } from '../../src-main/core/sae/loadSae.js';
import { readSaeLensFolder } from '../../src-main/core/sae/saelens.js';
import { writeSafetensors } from '../../src-main/core/sae/safetensors.js';
import { saeWeightsHash } from '../../src-main/core/sae/saeHash.js';
import { makeSae, makeSaeWeights } from '../helpers/makeSae.js';
import { repoFixture } from '../helpers/repoFixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'sae-readers-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let counter = 0;
/** A fresh folder per test, so generated checkpoints never see each other's files. */
const freshDir = () => {
  const dir = join(tmp, `case-${++counter}`);
  mkdirSync(dir);
  return dir;
};

function editCfg(folder: string, edit: (cfg: Record<string, unknown>) => void): void {
  const cfgPath = join(folder, 'cfg.json');
  const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
  edit(cfg);
  writeFileSync(cfgPath, JSON.stringify(cfg));
}

// SAELens folders laid out as SAELens writes them (scripts/fixtures/gen_saelens.py); their
// encodings are checked in saelens-fixtures.test.ts.
const saelensFixture = (name: string) => path.dirname(repoFixture('saelens', name, 'cfg.json'));

describe('SAELens fixtures laid out as SAELens writes them', () => {
  it('reads the TopK folder', () => {
    const sae = readSaeLensFolder(saelensFixture('v6-topk'));
    expect(sae).toMatchObject({
      format: 'saelens',
      dIn: 16,
      dSae: 64,
      architecture: 'topk',
      k: 6,
      topkRelu: true,
      applyBDecToInput: true,
      threshold: null,
      normalization: { mode: 'none', mean: null, scale: null },
      hookName: 'blocks.3.hook_resid_post',
      groups: null,
    });
    expect(sae.weights.W_enc).toHaveLength(16 * 64);
    expect(sae.weights.W_dec).toHaveLength(64 * 16);
  });

  it('reads the JumpReLU folder with its per-feature threshold', () => {
    const sae = readSaeLensFolder(saelensFixture('v6-jumprelu'));
    expect(sae).toMatchObject({ architecture: 'jumprelu', k: null, dIn: 16, dSae: 64 });
    expect(sae.threshold).toHaveLength(64);
    expect(saeInfo(sae).threshold).toBe('per-feature');
  });

  it('loads the same SAE from the folder, its cfg.json, its weights or its sparsity file', () => {
    const folder = saelensFixture('v6-jumprelu');
    const hashes = [folder, join(folder, 'cfg.json'), join(folder, 'sae_weights.safetensors'), join(folder, 'sparsity.safetensors')]
      .map((p) => loadSae(p))
      .map((sae) => {
        expect(sae.path).toBe(folder);
        return saeInfo(sae).hash;
      });
    expect(new Set(hashes).size).toBe(1);
  });
});

describe('generated SAELens folders', () => {
  it('reads a standard SAE as relu with the generator\'s exact weights', () => {
    const options = { dIn: 8, dSae: 24, architecture: 'relu', seed: 1, hookName: 'blocks.3.hook_resid_post' } as const;
    const sae = loadSae(makeSae(freshDir(), options));
    const { weights } = makeSaeWeights(options);
    expect(sae).toMatchObject({ format: 'saelens', architecture: 'relu', k: null, dIn: 8, dSae: 24, hookName: 'blocks.3.hook_resid_post' });
    expect(sae.weights.W_enc).toEqual(weights.W_enc);
    expect(sae.weights.b_enc).toEqual(weights.b_enc);
    expect(sae.weights.W_dec).toEqual(weights.W_dec);
    expect(sae.weights.b_dec).toEqual(weights.b_dec);
    expect(sae.weights.gated).toBeUndefined();
  });

  it('reads a gated SAE: b_gate becomes b_enc, r_mag and b_mag go to weights.gated', () => {
    const options = { dIn: 8, dSae: 16, architecture: 'gated', seed: 2 } as const;
    const sae = loadSae(makeSae(freshDir(), options));
    const { weights } = makeSaeWeights(options);
    expect(sae.architecture).toBe('gated');
    expect(sae.weights.b_enc).toEqual(weights.b_enc);
    expect(sae.weights.gated).toEqual(weights.gated);
  });

  it('maps normalize_activations onto the record', () => {
    const mode = (normalizeActivations: 'expected_average_only_in' | 'constant_norm_rescale' | 'layer_norm') =>
      loadSae(makeSae(freshDir(), { dIn: 4, dSae: 8, architecture: 'relu', seed: 3, normalizeActivations })).normalization;
    // The expected-average factor is not in the checkpoint: the user supplies it later.
    expect(mode('expected_average_only_in')).toEqual({ mode: 'scale', mean: null, scale: null });
    expect(mode('constant_norm_rescale')).toEqual({ mode: 'constant_norm_rescale', mean: null, scale: null });
    expect(mode('layer_norm')).toEqual({ mode: 'layer_norm', mean: null, scale: null });
  });

  it('reads apply_b_dec_to_input = false', () => {
    const sae = loadSae(makeSae(freshDir(), { dIn: 4, dSae: 8, architecture: 'relu', seed: 4, applyBDecToInput: false }));
    expect(sae.applyBDecToInput).toBe(false);
  });

  it('understands old cfg keys: activation_fn_str topk + activation_fn_kwargs.k, hook_point, no architecture', () => {
    const folder = makeSae(freshDir(), { dIn: 4, dSae: 8, architecture: 'relu', seed: 5 });
    writeFileSync(join(folder, 'cfg.json'), JSON.stringify({
      d_in: 4,
      d_sae: 8,
      activation_fn_str: 'topk',
      activation_fn_kwargs: { k: 3 },
      hook_point: 'blocks.1.hook_resid_pre',
      hook_point_layer: 1,
      some_training_key_we_do_not_know: [1, 2, 3],
    }));
    expect(loadSae(folder)).toMatchObject({ architecture: 'topk', k: 3, topkRelu: true, applyBDecToInput: true, hookName: 'blocks.1.hook_resid_pre' });

    editCfg(folder, (cfg) => {
      delete cfg.activation_fn_str;
      delete cfg.activation_fn_kwargs;
      cfg.activation_fn = 'relu';
      cfg.normalize_activations = null;
    });
    expect(loadSae(folder)).toMatchObject({ architecture: 'relu', k: null, normalization: { mode: 'none' } });
  });

  it('reads a JumpReLU folder that stores log_threshold instead of threshold', () => {
    const options = { dIn: 4, dSae: 8, architecture: 'jumprelu', seed: 6 } as const;
    const folder = makeSae(freshDir(), options);
    const { weights, threshold } = makeSaeWeights(options);
    writeSafetensors(join(folder, 'sae_weights.safetensors'), {
      W_enc: { shape: [4, 8], data: weights.W_enc },
      b_enc: { shape: [8], data: weights.b_enc },
      W_dec: { shape: [8, 4], data: weights.W_dec },
      b_dec: { shape: [4], data: weights.b_dec },
      log_threshold: { shape: [8], data: threshold!.map(Math.log) },
    });
    const read = loadSae(folder).threshold!;
    threshold!.forEach((t, j) => expect(read[j]).toBeCloseTo(t, 6));
  });
});

describe('bare safetensors + sidecar', () => {
  it('reads relu, topk (topk_relu false) and a gated SAE with <name>.json sidecars', () => {
    const dir = freshDir();
    const relu = loadSae(makeSae(dir, { dIn: 6, dSae: 12, architecture: 'relu', seed: 7, format: 'safetensors', hookName: 'blocks.10' }));
    expect(relu).toMatchObject({ format: 'safetensors', architecture: 'relu', dIn: 6, dSae: 12, hookName: 'blocks.10', threshold: null });

    const topk = loadSae(makeSae(dir, { dIn: 6, dSae: 12, architecture: 'topk', k: 4, seed: 8, format: 'safetensors', topkRelu: false }));
    expect(topk).toMatchObject({ architecture: 'topk', k: 4, topkRelu: false });

    const gatedOptions = { dIn: 6, dSae: 12, architecture: 'gated', seed: 9, format: 'safetensors' } as const;
    const gated = loadSae(makeSae(dir, gatedOptions));
    expect(gated.weights.gated).toEqual(makeSaeWeights(gatedOptions).weights.gated);
  });

  it('reads batchtopk with a scalar threshold tensor and Matryoshka groups', () => {
    const sae = loadSae(makeSae(freshDir(), {
      dIn: 6, dSae: 12, architecture: 'batchtopk', k: 3, seed: 10, format: 'safetensors', threshold: 'scalar', groups: [4, 8, 12],
    }));
    expect(sae).toMatchObject({ architecture: 'batchtopk', k: 3, groups: [4, 8, 12] });
    expect(Array.from(sae.threshold!)).toEqual([0.25]);
    expect(saeInfo(sae).threshold).toBe('scalar');
  });

  it('takes a scalar threshold from the sidecar, and a shared sae.json sidecar', () => {
    const dir = freshDir();
    const file = makeSae(dir, { dIn: 4, dSae: 8, architecture: 'relu', seed: 11, format: 'safetensors', name: 'weights' });
    unlinkSync(join(dir, 'weights.json'));
    writeFileSync(join(dir, 'sae.json'), JSON.stringify({ architecture: 'jumprelu', threshold: 0.5, apply_b_dec_to_input: false }));
    const sae = readBareSafetensorsSae(file);
    expect(sae).toMatchObject({ architecture: 'jumprelu', applyBDecToInput: false });
    expect(Array.from(sae.threshold!)).toEqual([0.5]);
  });
});

describe('errors say what was found and what is expected', () => {
  it('missing cfg.json', () => {
    const dir = freshDir();
    expect(() => readSaeLensFolder(dir)).toThrow(/No cfg\.json in .*: a SAELens folder holds cfg\.json and sae_weights\.safetensors/);
    writeFileSync(join(dir, 'notes.txt'), 'hello');
    expect(() => loadSae(dir)).toThrow(/Cannot tell which SAE format .* found a folder holding notes\.txt\. Expected a SAELens folder \(cfg\.json \+ sae_weights\.safetensors\)/);
  });

  it('missing path', () => {
    expect(() => loadSae(join(tmp, 'nope'))).toThrow(/SAE checkpoint not found: .*nope/);
  });

  it('wrong tensor shape names the tensor and both shapes', () => {
    const folder = makeSae(freshDir(), { dIn: 8, dSae: 16, architecture: 'relu', seed: 12 });
    editCfg(folder, (cfg) => { cfg.d_in = 10; });
    expect(() => loadSae(folder)).toThrow(/tensor 'W_enc' in .*sae_weights\.safetensors has shape \[8, 16\] but \[10, 16\] was expected/);

    const file = makeSae(freshDir(), { dIn: 8, dSae: 16, architecture: 'relu', seed: 12, format: 'safetensors', name: 'bad' });
    const { weights } = makeSaeWeights({ dIn: 8, dSae: 16, architecture: 'relu', seed: 12 });
    writeSafetensors(file, {
      W_enc: { shape: [8, 16], data: weights.W_enc },
      b_enc: { shape: [16], data: weights.b_enc },
      W_dec: { shape: [16, 8], data: weights.W_dec },
      b_dec: { shape: [7], data: weights.b_dec.subarray(0, 7) },
    });
    expect(() => loadSae(file)).toThrow(/tensor 'b_dec' in .*bad\.safetensors has shape \[7\] but \[8\] was expected/);
  });

  it('missing tensor lists what the file holds', () => {
    const folder = makeSae(freshDir(), { dIn: 4, dSae: 8, architecture: 'relu', seed: 13 });
    editCfg(folder, (cfg) => { cfg.architecture = 'gated'; });
    expect(() => loadSae(folder)).toThrow(/has no tensor 'b_gate' \(expected shape \[8\]\); it holds: W_enc, b_enc, W_dec, b_dec/);
  });

  it('unknown architecture, activation or normalisation', () => {
    const folder = makeSae(freshDir(), { dIn: 4, dSae: 8, architecture: 'relu', seed: 14 });
    editCfg(folder, (cfg) => { cfg.architecture = 'crosscoder'; });
    expect(() => loadSae(folder)).toThrow(/Unsupported SAELens architecture 'crosscoder' in .*cfg\.json; supported: standard, topk, jumprelu, gated, batchtopk, matryoshka_batchtopk/);
    editCfg(folder, (cfg) => { delete cfg.architecture; cfg.activation_fn_str = 'tanh-relu'; });
    expect(() => loadSae(folder)).toThrow(/Unsupported SAELens activation function 'tanh-relu'.*supported: relu, topk/);
    editCfg(folder, (cfg) => { delete cfg.activation_fn_str; cfg.normalize_activations = 'whiten'; });
    expect(() => loadSae(folder)).toThrow(/Unsupported normalize_activations "whiten".*"constant_norm_rescale"/);

    const file = makeSae(freshDir(), { dIn: 4, dSae: 8, architecture: 'relu', seed: 14, format: 'safetensors', name: 'x' });
    writeFileSync(join(path.dirname(file), 'x.json'), JSON.stringify({ architecture: 'softplus' }));
    expect(() => loadSae(file)).toThrow(/Unsupported architecture 'softplus' in .*x\.json; supported: relu, topk, batchtopk, jumprelu, gated/);
  });

  it('invalid cfg values and TopK without k', () => {
    const folder = makeSae(freshDir(), { dIn: 4, dSae: 8, architecture: 'topk', k: 2, seed: 15 });
    editCfg(folder, (cfg) => { cfg.d_in = 'four'; });
    expect(() => loadSae(folder)).toThrow(/cfg\.json is not a usable SAELens config:[\s\S]*d_in/);
    editCfg(folder, (cfg) => { cfg.d_in = 4; delete cfg.k; });
    expect(() => loadSae(folder)).toThrow(/describes a TopK SAE but gives no usable k \(found none\); set "k" to an integer between 1 and d_sae = 8/);
  });

  it('truncated safetensors', () => {
    const folder = makeSae(freshDir(), { dIn: 8, dSae: 16, architecture: 'relu', seed: 16 });
    const weightsPath = join(folder, 'sae_weights.safetensors');
    const bytes = readFileSync(weightsPath);
    writeFileSync(weightsPath, bytes.subarray(0, bytes.byteLength - 100));
    expect(() => loadSae(folder)).toThrow(/sae_weights\.safetensors is not a valid safetensors file: tensor '\w+' ends at byte \d+ .* \(truncated file\?\)/);
  });

  it('missing sidecar says what to write', () => {
    const dir = freshDir();
    const file = makeSae(dir, { dIn: 4, dSae: 8, architecture: 'relu', seed: 17, format: 'safetensors', name: 'lonely' });
    unlinkSync(join(dir, 'lonely.json'));
    expect(() => loadSae(file)).toThrow(
      /lonely\.safetensors has no sidecar .* Write lonely\.json \(or sae\.json\) beside it, e\.g\. \{"architecture": "topk", "k": 32\}; "architecture" is one of relu, topk, batchtopk, jumprelu, gated/,
    );
  });

  it('thresholded bare SAE without a threshold', () => {
    const dir = freshDir();
    const file = makeSae(dir, { dIn: 4, dSae: 8, architecture: 'relu', seed: 18, format: 'safetensors', name: 'j' });
    writeFileSync(join(dir, 'j.json'), JSON.stringify({ architecture: 'jumprelu' }));
    expect(() => loadSae(file)).toThrow(/A jumprelu SAE needs a threshold: add a 'threshold' tensor \(\[8\] or scalar\) to .*j\.safetensors or a "threshold": <number> to .*j\.json/);
  });

  it('bad Matryoshka groups', () => {
    const dir = freshDir();
    const file = makeSae(dir, { dIn: 4, dSae: 8, architecture: 'relu', seed: 19, format: 'safetensors', name: 'g', groups: [4, 6] });
    expect(() => loadSae(file)).toThrow(/"groups" in .*g\.json must be cumulative group widths, ending at d_sae = 8; found \[4, 6\]/);
  });

  it('.pt files (and folders holding one) go to the saev or dictionary_learning reader by name', () => {
    const saevDir = freshDir();
    writeFileSync(join(saevDir, 'sae.pt'), 'not really a torch file');
    for (const target of [join(saevDir, 'sae.pt'), saevDir]) {
      expect(() => loadSae(target)).toThrow(/does not start with saev's JSON header line .* so it is not a saev sae\.pt/);
    }
    const dictDir = freshDir();
    writeFileSync(join(dictDir, 'ae.pt'), 'not really a torch file');
    for (const target of [join(dictDir, 'ae.pt'), dictDir]) {
      expect(() => loadSae(target)).toThrow(/ae\.pt is not a readable zip archive: no end-of-central-directory record/);
    }
  });

  it('unknown file types list what is accepted', () => {
    const file = join(freshDir(), 'weights.npz');
    writeFileSync(file, '');
    expect(() => loadSae(file)).toThrow(/found a file with extension '\.npz'\. Expected a SAELens folder .*; or a bare \.safetensors file/);
  });
});

describe('checkSaeFitsLayer', () => {
  const sae = loadSae(makeSae(join(tmp, 'fit'), { dIn: 8, dSae: 16, architecture: 'relu', seed: 20 }));

  it('accepts the matching width and names both numbers otherwise', () => {
    expect(() => checkSaeFitsLayer(sae, 'block_10', 'CLIP ViT-B/16', 8)).not.toThrow();
    expect(() => checkSaeFitsLayer(sae, 'block_10', 'CLIP ViT-B/16', 768)).toThrow(
      "SAE expects d_in = 8 but layer 'block_10' of CLIP ViT-B/16 has width 768",
    );
  });
});

describe('saeWeightsHash and saeInfo', () => {
  it('gives the same hash for the same weights as a SAELens folder and as a bare file', () => {
    const options = { dIn: 8, dSae: 16, architecture: 'topk', k: 4, seed: 21 } as const;
    const dir = freshDir();
    const folder = loadSae(makeSae(dir, options));
    const bare = loadSae(makeSae(dir, { ...options, format: 'safetensors' }));
    expect(folder.format).toBe('saelens');
    expect(bare.format).toBe('safetensors');
    expect(saeInfo(folder).hash).toBe(saeInfo(bare).hash);
    expect(saeInfo(folder).hash).toBe(saeWeightsHash(makeSaeWeights(options).weights));
    expect(saeInfo(folder).hash).toMatch(/^[0-9a-f]{64}$/);

    const other = loadSae(makeSae(dir, { ...options, seed: 22 }));
    expect(saeInfo(other).hash).not.toBe(saeInfo(folder).hash);
  });

  it('hashes values, not buffers: a view into a larger buffer hashes like a copy', () => {
    const { weights } = makeSaeWeights({ dIn: 4, dSae: 8, architecture: 'relu', seed: 23 });
    const padded = new Float32Array(weights.b_dec.length + 3);
    padded.set(weights.b_dec, 3);
    expect(saeWeightsHash({ ...weights, b_dec: padded.subarray(3) })).toBe(saeWeightsHash(weights));
  });

  it('summarises a record for the contract', () => {
    const sae = loadSae(makeSae(freshDir(), { dIn: 4, dSae: 8, architecture: 'jumprelu', seed: 24, normalizeActivations: 'expected_average_only_in' }));
    expect(saeInfo(sae)).toEqual({
      format: 'saelens',
      path: sae.path,
      architecture: 'jumprelu',
      dIn: 4,
      dSae: 8,
      k: null,
      applyBDecToInput: true,
      threshold: 'per-feature',
      normalization: { mode: 'scale', scale: null, hasMean: false },
      hookName: 'blocks.0.hook_resid_post',
      groups: null,
      hash: saeWeightsHash(sae.weights),
    });
  });
});

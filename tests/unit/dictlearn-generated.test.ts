// dictionary_learning checkpoints generated in the test (moved here from sae-pt-fixtures.test.ts,
// which keeps saev): the reader's class table, tensor layouts and refusals on small hand-built
// state dicts, checked against pre-activations computed here independently of the encoders.
// Files laid out exactly as the library writes them are in dictlearn-fixtures.test.ts.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readDictionaryLearningCheckpoint } from '../../src-main/core/sae/dictionaryLearning.js';
import { loadSae } from '../../src-main/core/sae/loadSae.js';
import { encodeReference } from '../../src-main/core/sae/referenceEncoder.js';
import type { SaeWeights } from '../../src-main/core/sae/types.js';
import { makeSaeInputs, makeSaeWeights } from '../helpers/makeSae.js';
import { maxAbsDiff } from '../helpers/saeFixtureCheck.js';
import { PyFloat, tensor, torchSave, type PyValue } from '../helpers/writeTorchZip.js';

const tmp = mkdtempSync(join(tmpdir(), 'dictlearn-generated-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let counter = 0;
const freshDir = () => {
  const dir = join(tmp, `case-${++counter}`);
  mkdirSync(dir);
  return dir;
};

const D_IN = 4;
const D_SAE = 16;
const ROWS = 12;

function weightsFor(seed: number): SaeWeights {
  return makeSaeWeights({ dIn: D_IN, dSae: D_SAE, architecture: 'relu', seed }).weights;
}

function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c]!;
  return out;
}

/** h = (x - b_dec·[subtract]) W_enc + b_enc, computed here independently of the encoders. */
function preActivations(w: SaeWeights, x: Float32Array, subtract: boolean): Float64Array {
  const h = new Float64Array(ROWS * D_SAE);
  for (let r = 0; r < ROWS; r++) {
    for (let j = 0; j < D_SAE; j++) {
      let sum = w.b_enc[j]!;
      for (let i = 0; i < D_IN; i++) sum += (x[r * D_IN + i]! - (subtract ? w.b_dec[i]! : 0)) * w.W_enc[i * D_SAE + j]!;
      h[r * D_SAE + j] = sum;
    }
  }
  return h;
}

describe('generated dictionary_learning checkpoints', () => {
  const w = weightsFor(47);
  const x = makeSaeInputs(ROWS, D_IN, 47);
  const F = D_SAE;
  const D = D_IN;
  // nn.Linear layouts: encoder.weight [F, D], decoder.weight [D, F].
  const linear = {
    'encoder.weight': tensor('float32', [F, D], transpose(w.W_enc, D, F)),
    'encoder.bias': tensor('float32', [F], w.b_enc),
    'decoder.weight': tensor('float32', [D, F], transpose(w.W_dec, F, D)),
  };
  const bare = {
    W_enc: tensor('float32', [D, F], w.W_enc),
    b_enc: tensor('float32', [F], w.b_enc),
    W_dec: tensor('float32', [F, D], w.W_dec),
    b_dec: tensor('float32', [D], w.b_dec),
  };

  function writeDict(state: Record<string, PyValue>, trainer: Record<string, unknown> | null): string {
    const dir = freshDir();
    writeFileSync(join(dir, 'ae.pt'), torchSave(state, { orderedDict: true, root: 'ae' }));
    if (trainer) writeFileSync(join(dir, 'config.json'), JSON.stringify({ trainer, buffer: { d_submodule: D } }));
    return dir;
  }

  it('AutoEncoder: transposes the Linear weights, subtracts `bias`, ReLU', () => {
    const sae = loadSae(writeDict({ ...linear, bias: tensor('float32', [D], w.b_dec) }, { dict_class: 'AutoEncoder', submodule_name: 'resid_2' }));
    expect(sae).toMatchObject({ format: 'dictionary_learning', architecture: 'relu', applyBDecToInput: true, hookName: 'resid_2' });
    expect(sae.weights).toEqual({ W_enc: w.W_enc, b_enc: w.b_enc, W_dec: w.W_dec, b_dec: w.b_dec });
    const expected = preActivations(w, x, true).map((h) => Math.max(h, 0));
    expect(maxAbsDiff(encodeReference(sae, x, ROWS), expected)).toBeLessThan(1e-9);
  });

  it('AutoEncoderNew: decoder.bias is b_dec and is not subtracted', () => {
    const sae = loadSae(writeDict({ ...linear, 'decoder.bias': tensor('float32', [D], w.b_dec) }, null));
    expect(sae).toMatchObject({ architecture: 'relu', applyBDecToInput: false });
    expect(sae.weights.b_dec).toEqual(w.b_dec);
  });

  it('AutoEncoderTopK: k from the buffer, ReLU on the kept values', () => {
    const state = { ...linear, b_dec: tensor('float32', [D], w.b_dec), k: tensor('int32', [], [3]), threshold: tensor('float32', [], [-1]) };
    const sae = loadSae(writeDict(state, { dict_class: 'AutoEncoderTopK', k: 7 }));
    expect(sae).toMatchObject({ architecture: 'topk', k: 3, topkRelu: true, applyBDecToInput: true });
  });

  it('BatchTopKSAE: h·[h > max(θ, 0)] with the stored threshold', () => {
    const state = { ...linear, b_dec: tensor('float32', [D], w.b_dec), k: tensor('int64', [], [4]), threshold: tensor('float32', [], [0.2]) };
    const sae = loadSae(writeDict(state, { dict_class: 'BatchTopKSAE' }));
    expect(sae).toMatchObject({ architecture: 'batchtopk', k: 4, threshold: Float32Array.of(0.2) });
    const expected = preActivations(w, x, true).map((h) => (h > Math.fround(0.2) ? h : 0));
    expect(maxAbsDiff(encodeReference(sae, x, ROWS), expected)).toBeLessThan(1e-9);
  });

  it('MatryoshkaBatchTopKSAE: groups are the cumulative group_sizes; the class is inferred without config.json', () => {
    const state = { ...bare, k: tensor('int32', [], [2]), threshold: tensor('float32', [], [0.1]), group_sizes: tensor('int64', [3], [4, 4, 8]) };
    const sae = loadSae(writeDict(state, null));
    expect(sae).toMatchObject({ architecture: 'batchtopk', groups: [4, 8, 16], k: 2 });
    const bad = { ...state, group_sizes: tensor('int64', [2], [4, 4]) };
    expect(() => loadSae(writeDict(bad, { dict_class: 'MatryoshkaBatchTopKSAE' }))).toThrow(/group_sizes \[4, 4\] sum to 8, not d_sae = 16/);
  });

  it('JumpReluAutoEncoder: per-feature threshold, b_dec not subtracted', () => {
    const theta = Float32Array.from({ length: F }, (_, j) => (j % 3) * 0.1);
    const sae = loadSae(writeDict({ ...bare, threshold: tensor('float32', [F], theta) }, { dict_class: 'JumpReluAutoEncoder' }));
    expect(sae).toMatchObject({ architecture: 'jumprelu', applyBDecToInput: false });
    const expected = preActivations(w, x, false).map((h, i) => (h > theta[i % F]! && h > 0 ? h : 0));
    expect(maxAbsDiff(encodeReference(sae, x, ROWS), expected)).toBeLessThan(1e-9);
  });

  it('GatedAutoEncoder: gate_bias, r_mag, mag_bias, decoder_bias', () => {
    const r_mag = Float32Array.from({ length: F }, (_, j) => 0.05 * j - 0.3);
    const mag_bias = Float32Array.from({ length: F }, (_, j) => 0.02 * j - 0.1);
    const state = {
      'encoder.weight': linear['encoder.weight'],
      'decoder.weight': linear['decoder.weight'],
      decoder_bias: tensor('float32', [D], w.b_dec),
      gate_bias: tensor('float32', [F], w.b_enc),
      r_mag: tensor('float32', [F], r_mag),
      mag_bias: tensor('float32', [F], mag_bias),
    };
    const sae = loadSae(writeDict(state, { dict_class: 'GatedAutoEncoder' }));
    expect(sae).toMatchObject({ architecture: 'gated', applyBDecToInput: true });
    const gate = preActivations(w, x, true);
    const withoutBias = preActivations({ ...w, b_enc: new Float32Array(F) }, x, true);
    const expected = gate.map((g, i) => {
      const magnitude = withoutBias[i]! * Math.exp(r_mag[i % F]!) + mag_bias[i % F]!;
      return g > 0 && magnitude > 0 ? magnitude : 0;
    });
    expect(maxAbsDiff(encodeReference(sae, x, ROWS), expected)).toBeLessThan(1e-9);
  });

  it('asks for config.json when the tensors alone are ambiguous, and names unsupported classes', () => {
    const topk = { ...linear, b_dec: tensor('float32', [D], w.b_dec), k: tensor('int32', [], [3]), threshold: tensor('float32', [], [-1]) };
    expect(() => loadSae(writeDict(topk, null))).toThrow(
      /Cannot tell which dictionary_learning class ae\.pt holds .* Put the trainer's config\.json beside it, or write one: \{"trainer": \{"dict_class": "AutoEncoderTopK"\}\}/,
    );
    expect(() => loadSae(writeDict(topk, { dict_class: 'CrossCoder' }))).toThrow(
      /Unsupported dictionary_learning class "CrossCoder" in .*config\.json; supported: AutoEncoder, /,
    );
    expect(() => loadSae(writeDict({ ...linear }, { dict_class: 'AutoEncoder' }))).toThrow(
      /\(AutoEncoder\) has no decoder bias \(looked for b_dec, bias, decoder_bias\); tensors found: encoder\.weight, encoder\.bias, decoder\.weight/,
    );
  });

  it('reads a state dict holding Python values besides the tensors', () => {
    const dir = writeDict({ ...bare, threshold: tensor('float32', [F], new Float32Array(F)), step: 1000, lr: new PyFloat(3e-4) }, { dict_class: 'JumpReluAutoEncoder' });
    expect(readDictionaryLearningCheckpoint(join(dir, 'ae.pt')).dSae).toBe(F);
  });
});

describe('generated dictionary_learning backups and wrapped dicts', () => {
  const w = weightsFor(53);
  const x = makeSaeInputs(ROWS, D_IN, 53);
  const F = D_SAE;
  const D = D_IN;
  const state = {
    'encoder.weight': tensor('float32', [F, D], transpose(w.W_enc, D, F)),
    'encoder.bias': tensor('float32', [F], w.b_enc),
    'decoder.weight': tensor('float32', [D, F], transpose(w.W_dec, F, D)),
    b_dec: tensor('float32', [D], w.b_dec),
    k: tensor('int32', [], [3]),
    threshold: tensor('float32', [], [0.5]),
  };
  const config = { dict_class: 'BatchTopKSAE', k: 3, submodule_name: 'mlp_out_1' };

  function write(obj: Record<string, PyValue>, name = 'ae.pt'): string {
    const file = join(freshDir(), name);
    writeFileSync(file, torchSave(obj));
    return file;
  }

  it('a backup without config.json takes the class from its own config and scales biases by norm_factor', () => {
    const s = 2.5;
    const file = write({ step: 10, ae: state, optimizer: { state: {}, param_groups: [] }, config, norm_factor: new PyFloat(s) });
    const sae = loadSae(file);
    expect(sae).toMatchObject({ architecture: 'batchtopk', k: 3, hookName: 'mlp_out_1', threshold: Float32Array.of(0.5 * s) });
    // Exactly s · f_backup(x / s): the checkpoint trainSAE would have written at this step.
    const scaledInput = x.map((v) => v / s);
    const backupSpace = preActivations(w, scaledInput, true).map((h) => (h > Math.fround(0.5) ? h : 0));
    expect(maxAbsDiff(encodeReference(sae, x, ROWS), backupSpace.map((v) => v * s))).toBeLessThan(1e-5);
  });

  it('a backup without norm_factor is read as it is; a norm_factor that is not a positive number is refused', () => {
    const plain = loadSae(write({ step: 10, ae: state, config }));
    expect(plain.weights.b_enc).toEqual(w.b_enc);
    expect(() => loadSae(write({ step: 10, ae: state, config, norm_factor: 'big' }))).toThrow(
      /is a dictionary_learning backup whose norm_factor is "big"; expected a positive number/,
    );
  });

  it('a state dict under any one key is found; act_mean must have d_in values', () => {
    const sae = loadSae(write({ weights: state, cfg: config, epoch: 3 }, 'mine.pt'));
    expect(sae).toMatchObject({ architecture: 'batchtopk', normalization: { mode: 'none' } });
    expect(() => loadSae(write({ state_dict: state, cfg: config, act_mean: tensor('float32', [3], [1, 2, 3]) }, 'mean.pt'))).toThrow(
      /'act_mean' is a tensor of shape \[3\], but a tensor of d_in = 4 values \(the mean subtracted from inputs\) was expected/,
    );
  });

  it('a dict_class the reader does not know is refused, naming where it came from', () => {
    expect(() => loadSae(write({ state_dict: state, cfg: { dict_class: 'CrossCoder' } }, 'cc.pt'))).toThrow(
      /Unsupported dictionary_learning class "CrossCoder" in the config saved in .*cc\.pt \('state_dict'\); supported: AutoEncoder, .*set "dict_class" to it/,
    );
  });
});

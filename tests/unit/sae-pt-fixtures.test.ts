import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { readDictionaryLearningCheckpoint } from '../../src-main/core/sae/dictionaryLearning.js';
import { SaeEncoderSession } from '../../src-main/core/sae/encoderSession.js';
import { loadSae, saeInfo } from '../../src-main/core/sae/loadSae.js';
import { encodeReference } from '../../src-main/core/sae/referenceEncoder.js';
import { parseSaevHeader, readSaevCheckpoint } from '../../src-main/core/sae/saev.js';
import type { SaeRecord, SaeWeights } from '../../src-main/core/sae/types.js';
import { makeSaeInputs, makeSaeWeights } from '../helpers/makeSae.js';
import { PyFloat, saevFile, tensor, torchSave, view, type PyValue } from '../helpers/writeTorchZip.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/fixtures');
const hasFixtures = existsSync(join(FIXTURES, 'saev-top-k', 'sae.pt'));
if (!hasFixtures) console.warn(`sae-pt-fixtures: shared fixtures not found at ${FIXTURES}; skipping the checkpoint-vs-reference checks`);
const fixtureSuite = (name: string) => (hasFixtures ? name : `${name} (skipped: shared fixtures not found at ${FIXTURES})`);

const tmp = mkdtempSync(join(tmpdir(), 'sae-pt-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let counter = 0;
const freshDir = () => {
  const dir = join(tmp, `case-${++counter}`);
  mkdirSync(dir);
  return dir;
};

interface Reference {
  x: number[][];
  f: number[][];
}

const readReference = (folder: string): Reference => JSON.parse(readFileSync(join(FIXTURES, folder, 'reference.json'), 'utf8'));

function maxAbsDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let max = 0;
  for (let i = 0; i < actual.length; i++) max = Math.max(max, Math.abs(actual[i]! - expected[i]!));
  return max;
}

/** The encoder session keeps only f > 0 (CSR); expand it back to dense to compare. */
async function encodeWithSession(sae: SaeRecord, x: Float32Array, rows: number): Promise<Float64Array> {
  const session = await SaeEncoderSession.create(sae, 'cpu');
  try {
    const codes = await session.encode(x, rows);
    const dense = new Float64Array(rows * sae.dSae);
    for (let r = 0; r < rows; r++) {
      for (let e = codes.rowPtr[r]!; e < codes.rowPtr[r + 1]!; e++) dense[r * sae.dSae + codes.feature[e]!] = codes.value[e]!;
    }
    return dense;
  } finally {
    await session.close();
  }
}

const FIXTURE_CASES: Array<[string, Partial<SaeRecord>]> = [
  ['saev-legacy-relu', { format: 'saev', architecture: 'relu', applyBDecToInput: true, k: null, dIn: 32, dSae: 128 }],
  ['saev-top-k', { format: 'saev', architecture: 'topk', k: 8, topkRelu: false, applyBDecToInput: false }],
  ['saev-batch-top-k', { format: 'saev', architecture: 'batchtopk', k: 8, applyBDecToInput: false }],
  ['dictlearn-matryoshka', { format: 'dictionary_learning', architecture: 'batchtopk', k: 8, applyBDecToInput: true, groups: [8, 16, 32, 64, 128] }],
  ['saelens-topk', { format: 'saelens', architecture: 'topk', k: 5, topkRelu: true }],
  ['saelens-jumprelu', { format: 'saelens', architecture: 'jumprelu' }],
];

describe.skipIf(!hasFixtures)(fixtureSuite('checkpoints in the shared fixtures reproduce their reference encodings'), () => {
  it.each(FIXTURE_CASES)('%s', async (folder, expected) => {
    const sae = loadSae(join(FIXTURES, folder));
    expect(sae).toMatchObject(expected);
    const { x, f } = readReference(folder);
    const rows = x.length;
    const input = Float32Array.from(x.flat());
    const reference = Float64Array.from(f.flat());
    expect(maxAbsDiff(encodeReference(sae, input, rows), reference)).toBeLessThan(1e-5);

    // The fast encoder stores only f > 0, so compare it with the reference's positive part.
    const positive = reference.map((v) => (v > 0 ? v : 0));
    expect(maxAbsDiff(await encodeWithSession(sae, input, rows), positive)).toBeLessThan(1e-4);
  });

  it('reads the BatchTopK threshold and the Matryoshka threshold as scalars', () => {
    expect(Array.from(loadSae(join(FIXTURES, 'saev-batch-top-k')).threshold!)).toEqual([Math.fround(0.4)]);
    const matryoshka = loadSae(join(FIXTURES, 'dictlearn-matryoshka'));
    expect(Array.from(matryoshka.threshold!)).toEqual([Math.fround(0.3)]);
    expect(saeInfo(matryoshka)).toMatchObject({ threshold: 'scalar', groups: [8, 16, 32, 64, 128] });
  });

  it('loads the same SAE from the folder, the .pt file, or (dictionary_learning) its config.json', () => {
    for (const [folder, file] of [['saev-legacy-relu', 'sae.pt'], ['dictlearn-matryoshka', 'ae.pt'], ['dictlearn-matryoshka', 'config.json']] as const) {
      const fromFolder = loadSae(join(FIXTURES, folder));
      const fromFile = loadSae(join(FIXTURES, folder, file));
      expect(saeInfo(fromFile).hash).toBe(saeInfo(fromFolder).hash);
      expect(fromFile.path).toBe(fromFolder.path);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Generated checkpoints: the same readers on a fresh clone, without the shared fixtures.

const D_IN = 4;
const D_SAE = 16;
const ROWS = 12;

function weightsFor(seed: number): SaeWeights {
  return makeSaeWeights({ dIn: D_IN, dSae: D_SAE, architecture: 'relu', seed }).weights;
}

/** The bare-parameter state dict saev writes. */
function saevState(w: SaeWeights, extra: Record<string, PyValue> = {}): Record<string, PyValue> {
  return {
    W_enc: tensor('float32', [D_IN, D_SAE], w.W_enc),
    b_enc: tensor('float32', [D_SAE], w.b_enc),
    W_dec: tensor('float32', [D_SAE, D_IN], w.W_dec),
    b_dec: tensor('float32', [D_IN], w.b_dec),
    ...extra,
  };
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

function writeSaev(header: unknown, state: Record<string, PyValue>): string {
  const file = join(freshDir(), 'sae.pt');
  writeFileSync(file, saevFile(header, state));
  return file;
}

const schema5 = (activation: unknown) => ({ schema: 5, cfg: { d_model: D_IN, d_sae: D_SAE, activation }, commit: 'x', lib: '1' });

describe('generated saev checkpoints', () => {
  const w = weightsFor(31);
  const x = makeSaeInputs(ROWS, D_IN, 31);

  it('legacy header: ReLU of (x - b_dec) W_enc + b_enc', () => {
    const sae = loadSae(writeSaev({ d_vit: D_IN, exp_factor: D_SAE / D_IN, sparsity_coeff: 4e-4, seed: 0 }, saevState(w)));
    expect(sae).toMatchObject({ format: 'saev', architecture: 'relu', applyBDecToInput: true, dIn: D_IN, dSae: D_SAE, topkRelu: false });
    expect(sae.weights.W_enc).toEqual(w.W_enc);
    const expected = preActivations(w, x, true).map((h) => Math.max(h, 0));
    expect(maxAbsDiff(encodeReference(sae, x, ROWS), expected)).toBeLessThan(1e-9);
  });

  it('schema 5 TopK keeps the k largest h unchanged; b_dec is not subtracted', () => {
    const sae = loadSae(writeSaev(schema5({ cls: 'TopK', params: { key: 'top-k', top_k: 3 } }), saevState(w)));
    expect(sae).toMatchObject({ architecture: 'topk', k: 3, topkRelu: false, applyBDecToInput: false });
    const h = preActivations(w, x, false);
    const f = encodeReference(sae, x, ROWS);
    for (let r = 0; r < ROWS; r++) {
      const row = Array.from(h.subarray(r * D_SAE, (r + 1) * D_SAE));
      const kth = [...row].sort((a, b) => b - a)[2]!;
      row.forEach((v, j) => expect(f[r * D_SAE + j]).toBeCloseTo(v >= kth ? v : 0, 9));
    }
  });

  it('BatchTopK with a threshold tensor is h·[h > θ]; a negative θ means plain ReLU', () => {
    for (const theta of [0.25, -1]) {
      const sae = loadSae(
        writeSaev(schema5({ cls: 'BatchTopK', params: { top_k: 4 } }), saevState(w, { 'activation.threshold': tensor('float32', [], [theta]) })),
      );
      expect(sae).toMatchObject({ architecture: 'batchtopk', k: 4 });
      expect(Array.from(sae.threshold!)).toEqual([Math.max(theta, 0)]);
      const expected = preActivations(w, x, false).map((h) => (h > Math.max(theta, 0) ? h : 0));
      expect(maxAbsDiff(encodeReference(sae, x, ROWS), expected)).toBeLessThan(1e-9);
    }
  });

  it('older schemas: schema 1 with the activation as "cls", schema 2 with d_vit and exp_factor', () => {
    const one = loadSae(writeSaev({ schema: 1, cls: 'TopK', cfg: { d_vit: D_IN, exp_factor: D_SAE / D_IN, top_k: 5 } }, saevState(w)));
    expect(one).toMatchObject({ architecture: 'topk', k: 5, applyBDecToInput: false });
    const two = loadSae(writeSaev({ schema: 2, cfg: { d_vit: D_IN, exp_factor: D_SAE / D_IN, activation: { cls: 'Relu', params: {} } } }, saevState(w)));
    expect(two).toMatchObject({ architecture: 'relu', dSae: D_SAE });
    // BatchTopK saved before saev kept an inference threshold evaluated as a per-sample TopK.
    const old = loadSae(writeSaev({ schema: 3, cfg: { d_model: D_IN, d_sae: D_SAE, activation: { cls: 'BatchTopK', params: { top_k: 2 } } } }, saevState(w)));
    expect(old).toMatchObject({ architecture: 'topk', k: 2, topkRelu: false });
  });

  it('stores W_enc as a transposed view of a [d_sae, d_in] storage and still reads it right', () => {
    const base = tensor('float32', [D_SAE, D_IN], transpose(w.W_enc, D_IN, D_SAE));
    const sae = loadSae(writeSaev(schema5({ cls: 'Relu', params: {} }), { ...saevState(w), W_enc: view(base, [D_IN, D_SAE], [1, D_IN]) }));
    expect(sae.weights.W_enc).toEqual(w.W_enc);
  });

  it('refuses unknown schemas, unknown activations and tensors that disagree with the header', () => {
    expect(() => loadSae(writeSaev({ schema: 6, cfg: {} }, saevState(w)))).toThrow(
      /saev header of .*sae\.pt: schema 6 is newer than this reader supports \(1-5\)/,
    );
    expect(() => loadSae(writeSaev(schema5({ cls: 'Gelu', params: {} }), saevState(w)))).toThrow(
      /activation "Gelu" is not supported; supported: Relu, TopK, BatchTopK/,
    );
    expect(() => loadSae(writeSaev({ schema: 5, cfg: { d_model: D_IN, d_sae: 99, activation: { cls: 'Relu', params: {} } } }, saevState(w)))).toThrow(
      /tensor 'W_enc' in .*sae\.pt has shape \[4, 16\] but \[4, 99\] was expected/,
    );
    expect(() => parseSaevHeader({ d_vit: 8 }, 'h.pt')).toThrow('saev header of h.pt: "exp_factor" is missing, expected a positive integer');
    const noHeader = join(freshDir(), 'sae.pt');
    writeFileSync(noHeader, torchSave(saevState(w)));
    expect(() => readSaevCheckpoint(noHeader)).toThrow(/is a bare torch\.save file without saev's JSON header line/);
  });

  it('recognises a saev file with another name by its header line', () => {
    const file = join(freshDir(), 'checkpoint.pt');
    writeFileSync(file, saevFile(schema5({ cls: 'Relu', params: {} }), saevState(w)));
    expect(loadSae(file).format).toBe('saev');
  });
});

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

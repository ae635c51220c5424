import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { SaeEncoderSession } from '../../src-main/core/sae/encoderSession.js';
import { loadSae, saeInfo } from '../../src-main/core/sae/loadSae.js';
import { encodeReference } from '../../src-main/core/sae/referenceEncoder.js';
import { parseSaevHeader, readSaevCheckpoint } from '../../src-main/core/sae/saev.js';
import type { SaeRecord, SaeWeights } from '../../src-main/core/sae/types.js';
import { makeSaeInputs, makeSaeWeights } from '../helpers/makeSae.js';
import { saevFile, tensor, torchSave, view, type PyValue } from '../helpers/writeTorchZip.js';
import { describeWhen } from '../helpers/repoFixtures.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/fixtures');
const hasFixtures = existsSync(join(FIXTURES, 'saev-top-k', 'sae.pt'));

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
  ['saelens-topk', { format: 'saelens', architecture: 'topk', k: 5, topkRelu: true }],
  ['saelens-jumprelu', { format: 'saelens', architecture: 'jumprelu' }],
];

describeWhen(hasFixtures)('checkpoints in the shared fixtures reproduce their reference encodings (optional cross-check)', () => {
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

  it('reads the BatchTopK threshold as a scalar', () => {
    expect(Array.from(loadSae(join(FIXTURES, 'saev-batch-top-k')).threshold!)).toEqual([Math.fround(0.4)]);
  });

  // dictionary_learning's fixtures and generated checkpoints are in dictlearn-*.test.ts.
  it('loads the same SAE from the folder or the .pt file', () => {
    for (const [folder, file] of [['saev-legacy-relu', 'sae.pt']] as const) {
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
    // Schema 1 subtracted b_dec until saev's e7ca004; only headers naming that commit or the few
    // after it (before schema 2) do not. An "unknown" commit takes the common, subtracting case.
    const one = loadSae(writeSaev({ schema: 1, cls: 'TopK', cfg: { d_vit: D_IN, exp_factor: D_SAE / D_IN, top_k: 5 }, commit: 'unknown' }, saevState(w)));
    expect(one).toMatchObject({ architecture: 'topk', k: 5, applyBDecToInput: true });
    for (const commit of ['e7ca004660a3ab414da7002fcecfc157d5b786aa', '65c5a2b', 'F5D892C65A1B']) {
      expect(loadSae(writeSaev({ schema: 1, cls: 'Relu', cfg: { d_vit: D_IN, exp_factor: D_SAE / D_IN }, commit }, saevState(w))).applyBDecToInput).toBe(false);
    }
    for (const commit of ['d991de3d2a1c54b66f6da37b6c1d3bbba74e1502', '8d38c23a353bc3cadd5c316a5a6b8ed56801bbd0', 'e7ca00', 'not-a-hash']) {
      expect(loadSae(writeSaev({ schema: 1, cls: 'Relu', cfg: { d_vit: D_IN, exp_factor: D_SAE / D_IN }, commit }, saevState(w))).applyBDecToInput).toBe(true);
    }
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

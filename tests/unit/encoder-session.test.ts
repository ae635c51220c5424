import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SaeArchitecture } from '../../src-main/contract/index.js';
import { buildEncoderGraph } from '../../src-main/core/sae/encoderGraph.js';
import { SaeEncoderSession, denseToCsr, normaliseRows, topkToCsr, type SparseCodes } from '../../src-main/core/sae/encoderSession.js';
import { loadSae } from '../../src-main/core/sae/loadSae.js';
import { encodeReference } from '../../src-main/core/sae/referenceEncoder.js';
import type { SaeNormalization, SaeRecord } from '../../src-main/core/sae/types.js';
import { makeSaeInputs, makeSaeWeights } from '../helpers/makeSae.js';
import { repoFixture } from '../helpers/repoFixtures.js';

const D_IN = 24;
const D_SAE = 96;
const ROWS = 64;

interface RecordOptions {
  architecture: SaeArchitecture;
  k?: number;
  topkRelu?: boolean;
  threshold?: 'per-feature' | 'scalar';
  applyBDecToInput?: boolean;
  normalization?: SaeNormalization;
  /** Added to b_enc: a large negative shift makes TopK keep negative pre-activations. */
  biasShift?: number;
}

function record(o: RecordOptions): SaeRecord {
  const { weights, threshold } = makeSaeWeights({ dIn: D_IN, dSae: D_SAE, architecture: o.architecture, seed: 11, threshold: o.threshold });
  if (o.biasShift) weights.b_enc = weights.b_enc.map((v) => v + o.biasShift!);
  return {
    format: 'safetensors',
    path: `/generated/${o.architecture}.safetensors`,
    dIn: D_IN,
    dSae: D_SAE,
    architecture: o.architecture,
    k: o.k ?? null,
    topkRelu: o.topkRelu ?? true,
    applyBDecToInput: o.applyBDecToInput ?? true,
    threshold,
    normalization: o.normalization ?? { mode: 'none', mean: null, scale: null },
    hookName: null,
    groups: null,
    weights,
  };
}

/** CSR invariants, then a check that it holds exactly the positive entries of the float64 reference. */
function expectMatchesReference(codes: SparseCodes, reference: Float64Array, rows: number, dSae: number, tolerance = 1e-4): void {
  expect(codes.rows).toBe(rows);
  expect(codes.rowPtr.length).toBe(rows + 1);
  expect(codes.rowPtr[0]).toBe(0);
  expect(codes.rowPtr[rows]).toBe(codes.feature.length);
  expect(codes.value.length).toBe(codes.feature.length);
  let positives = 0;
  for (let r = 0; r < rows; r++) {
    const start = codes.rowPtr[r]!;
    const end = codes.rowPtr[r + 1]!;
    expect(end).toBeGreaterThanOrEqual(start);
    for (let p = start; p < end; p++) {
      const j = codes.feature[p]!;
      if (p > start) expect(j).toBeGreaterThan(codes.feature[p - 1]!); // ascending, no duplicates
      expect(codes.value[p]).toBeGreaterThan(0);
      const want = reference[r * dSae + j]!;
      expect(want, `row ${r} feature ${j}: CSR has ${codes.value[p]}, reference ${want}`).toBeGreaterThan(0);
      expect(Math.abs(codes.value[p]! - want)).toBeLessThan(tolerance * Math.max(1, Math.abs(want)));
    }
    for (let j = 0; j < dSae; j++) if (reference[r * dSae + j]! > 0) positives++;
  }
  // Every CSR entry is a reference positive (above), and there are as many: the sets are equal.
  expect(codes.feature.length).toBe(positives);
}

async function check(sae: SaeRecord, rows = ROWS, seed = 5): Promise<SparseCodes> {
  const x = makeSaeInputs(rows, sae.dIn, seed);
  const encoder = await SaeEncoderSession.create(sae, 'cpu');
  try {
    const codes = await encoder.encode(x, rows);
    expectMatchesReference(codes, encodeReference(sae, x, rows), rows, sae.dSae);
    return codes;
  } finally {
    await encoder.close();
  }
}

describe('SaeEncoderSession against the float64 reference', () => {
  it('relu, with and without subtracting b_dec', async () => {
    const codes = await check(record({ architecture: 'relu' }));
    expect(codes.feature.length).toBeGreaterThan(ROWS); // not trivially empty
    await check(record({ architecture: 'relu', applyBDecToInput: false }));
  });

  it('topk with ReLU (SAELens, dictionary_learning)', async () => {
    const codes = await check(record({ architecture: 'topk', k: 7 }));
    for (let r = 0; r < ROWS; r++) expect(codes.rowPtr[r + 1]! - codes.rowPtr[r]!).toBeLessThanOrEqual(7);
  });

  it('topk without ReLU (saev): kept negatives are not stored', async () => {
    const sae = record({ architecture: 'topk', k: 7, topkRelu: false, biasShift: -2.5 });
    const x = makeSaeInputs(ROWS, D_IN, 5);
    const reference = encodeReference(sae, x, ROWS);
    // The shift makes some kept top-k values negative: the case this test is about.
    expect(reference.some((v) => v < 0)).toBe(true);
    const codes = await check(sae);
    expect(codes.feature.length).toBeLessThan(ROWS * 7);
  });

  it('batchtopk with a scalar threshold', async () => {
    await check(record({ architecture: 'batchtopk', threshold: 'scalar' }));
  });

  it('jumprelu with per-feature and scalar thresholds', async () => {
    await check(record({ architecture: 'jumprelu', threshold: 'per-feature' }));
    await check(record({ architecture: 'jumprelu', threshold: 'scalar' }));
  });

  it('gated', async () => {
    const codes = await check(record({ architecture: 'gated' }));
    expect(codes.feature.length).toBeGreaterThan(0);
  });

  it('applies every input normalisation', async () => {
    const mean = Float32Array.from({ length: D_IN }, (_, i) => Math.sin(i) * 0.3);
    for (const normalization of [
      { mode: 'scale', mean, scale: 1.7 },
      { mode: 'scale', mean: null, scale: 0.5 },
      { mode: 'constant_norm_rescale', mean: null, scale: null },
      { mode: 'layer_norm', mean: null, scale: null },
    ] satisfies SaeNormalization[]) {
      await check(record({ architecture: 'relu', normalization }));
      await check(record({ architecture: 'topk', k: 5, normalization }));
    }
  });

  it('leaves the caller’s activations untouched when normalising', () => {
    const x = makeSaeInputs(4, D_IN, 9);
    const copy = x.slice();
    const out = normaliseRows({ mode: 'layer_norm', mean: null, scale: null }, x, 4, D_IN);
    expect(out).not.toBe(x);
    expect(x).toEqual(copy);
    expect(normaliseRows({ mode: 'none', mean: null, scale: null }, x, 4, D_IN)).toBe(x);
  });

  it('encodes a view into a larger buffer (rows taken from a backbone output)', async () => {
    const sae = record({ architecture: 'topk', k: 6 });
    const big = makeSaeInputs(ROWS + 3, D_IN, 21);
    const view = big.subarray(3 * D_IN);
    const encoder = await SaeEncoderSession.create(sae, 'cpu');
    try {
      const codes = await encoder.encode(view, ROWS);
      expectMatchesReference(codes, encodeReference(sae, view, ROWS), ROWS, D_SAE);
      const empty = await encoder.encode(new Float32Array(0), 0);
      expect(Array.from(empty.rowPtr)).toEqual([0]);
      await expect(encoder.encode(view, ROWS - 1)).rejects.toThrow(/SAE encoder input must be 63 rows x d_in 24 = 1512 floats, got 1536/);
    } finally {
      await encoder.close();
    }
  });

  it('refuses records its architecture cannot encode, naming the SAE', () => {
    expect(() => buildEncoderGraph({ ...record({ architecture: 'topk' }), k: null })).toThrow('SAE /generated/topk.safetensors is TopK but has no valid k');
    expect(() => buildEncoderGraph({ ...record({ architecture: 'jumprelu' }), threshold: new Float32Array(3) })).toThrow(/threshold has 3 values/);
    expect(() => buildEncoderGraph({ ...record({ architecture: 'relu' }), normalization: { mode: 'scale', mean: null, scale: null } })).toThrow(
      /normalises inputs by a scale/,
    );
  });
});

describe('CSR conversion', () => {
  it('denseToCsr keeps exactly the positive entries and grows past its first guess', () => {
    const rows = 3;
    const width = 2000; // dense rows overflow the initial 64-per-row capacity
    const f = Float32Array.from({ length: rows * width }, (_, i) => (i % 3 === 0 ? -1 : i % 3 === 1 ? 0 : i / 7));
    const codes = denseToCsr(f, rows, width);
    const dense = new Float64Array(rows * width);
    f.forEach((v, i) => (dense[i] = v));
    expectMatchesReference(codes, dense, rows, width, 1e-12);
  });

  it('topkToCsr drops non-positive values and sorts by feature', () => {
    const values = Float32Array.of(3, -1, 2, 0, /* row 2 */ 5, 4, 6, 1);
    const indices = Int32Array.of(9, 2, 4, 1, /* row 2 */ 7, 0, 3, 8);
    const codes = topkToCsr(values, indices, 2, 4);
    expect(Array.from(codes.rowPtr)).toEqual([0, 2, 6]);
    expect(Array.from(codes.feature)).toEqual([4, 9, 0, 3, 7, 8]);
    expect(Array.from(codes.value)).toEqual([2, 3, 4, 6, 5, 1]);
  });
});

// Checkpoints laid out as SAELens and dictionary_learning write them (scripts/fixtures/gen_*.py),
// each with the float64 encoding of its library's own arithmetic.
const LIBRARY_CHECKPOINTS: Array<[area: string, parts: string[]]> = [
  ...['v6-standard', 'v6-topk', 'v6-jumprelu', 'v6-gated', 'v6-train-topk', 'v6-train-batchtopk', 'v6-batchtopk-saved',
    'v6-train-matryoshka', 'v6-train-jumprelu', 'v5-topk', 'v5-train-jumprelu'].map((name): [string, string[]] => ['saelens', [name, 'cfg.json']]),
  ...[['autoencoder', 'ae.pt'], ['topk', 'ae.pt'], ['batchtopk', 'ae.pt'], ['jumprelu', 'ae.pt'], ['matryoshka', 'ae.pt'], ['gated', 'ae.pt'],
    ['backup-batchtopk', 'ae.pt'], ['backup-jumprelu', 'ae.pt'], ['backup-autoencoder', 'ae.pt'], ['wrapped-topk', 'sae_topk.pt'],
    ['wrapped-matryoshka', 'sae.pth']].map((parts): [string, string[]] => ['dictlearn', parts]),
];

describe('SaeEncoderSession on SAELens and dictionary_learning checkpoints', () => {
  it.each(LIBRARY_CHECKPOINTS)('%s %j: matches the float64 reference.json', async (area, parts) => {
    const file = repoFixture(area, ...parts);
    const sae = loadSae(file);
    const reference = JSON.parse(readFileSync(path.join(path.dirname(file), 'reference.json'), 'utf8')) as { x: number[][]; f: number[][] };
    const rows = reference.x.length;
    const x = Float32Array.from(reference.x.flat());
    // Relative to the size of f: dictionary_learning backups reach activations of ~80.
    const scale = Math.max(1, ...reference.f.flat().map(Math.abs));
    const f = Float64Array.from(reference.f.flat(), (v) => v / scale);
    const encoder = await SaeEncoderSession.create(sae, 'cpu');
    try {
      const codes = await encoder.encode(x, rows);
      expectMatchesReference({ ...codes, value: codes.value.map((v) => v / scale) }, f, rows, sae.dSae);
    } finally {
      await encoder.close();
    }
  });
});

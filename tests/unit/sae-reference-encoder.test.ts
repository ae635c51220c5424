import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path, { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSae } from '../../src-main/core/sae/loadSae.js';
import { encodeReference } from '../../src-main/core/sae/referenceEncoder.js';
import type { SaeRecord, SaeWeights } from '../../src-main/core/sae/types.js';
import { makeSae, makeSaeInputs } from '../helpers/makeSae.js';
import { repoFixture } from '../helpers/repoFixtures.js';
import { itWhen } from '../helpers/repoFixtures.js';

const SHARED_FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/fixtures');
const tmp = mkdtempSync(join(tmpdir(), 'sae-reference-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

// Checkpoints laid out as SAELens and dictionary_learning write them (scripts/fixtures/gen_*.py).
const LIBRARY_CHECKPOINTS: Array<[area: string, parts: string[]]> = [
  ['saelens', ['v6-topk', 'cfg.json']],
  ['saelens', ['v6-jumprelu', 'cfg.json']],
  ['saelens', ['v6-train-topk', 'cfg.json']],
  ['saelens', ['v6-train-matryoshka', 'cfg.json']],
  ['saelens', ['v5-train-jumprelu', 'cfg.json']],
  ['dictlearn', ['matryoshka', 'ae.pt']],
  ['dictlearn', ['backup-batchtopk', 'ae.pt']],
  ['dictlearn', ['wrapped-topk', 'sae_topk.pt']],
];

describe('reference encoder against library checkpoints', () => {
  it.each(LIBRARY_CHECKPOINTS)('%s %j: matches reference.json f', (area, parts) => {
    const file = repoFixture(area, ...parts);
    const reference = JSON.parse(readFileSync(join(dirname(file), 'reference.json'), 'utf8')) as { x: number[][]; f: number[][] };
    const f = encodeReference(loadSae(file), reference.x.flat(), reference.x.length);
    const expected = reference.f.flat();
    const scale = Math.max(1, ...expected.map(Math.abs)); // backups reach activations of ~80
    expect(maxAbsDifference(f, expected) / scale).toBeLessThan(1e-6);
    // A match of all-zero outputs would prove nothing.
    expect(f.some((v) => v > 0)).toBe(true);
  });

  // Optional cross-check with the session's shared fixtures, when this checkout has them.
  for (const name of ['saelens-topk', 'saelens-jumprelu']) {
    const folder = join(SHARED_FIXTURES, name);
    const present = existsSync(join(folder, 'reference.json'));
    itWhen(present)(`shared ${name}: matches reference.json f`, () => {
      const reference = JSON.parse(readFileSync(join(folder, 'reference.json'), 'utf8')) as { x: number[][]; f: number[][] };
      const f = encodeReference(loadSae(folder), reference.x.flat(), reference.x.length);
      expect(maxAbsDifference(f, reference.f.flat())).toBeLessThan(1e-4);
    });
  }
});

/**
 * Straightforward per-feature formula, independent of the encoder's loop order and its gated
 * factorisation: builds W_enc ⊙ exp(r_mag) literally.
 */
function naiveEncode(w: SaeWeights, x: Float32Array, rows: number, dIn: number, dSae: number, gated: boolean): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    const xc = Array.from({ length: dIn }, (_, i) => x[r * dIn + i]! - w.b_dec[i]!);
    for (let j = 0; j < dSae; j++) {
      let gate = w.b_enc[j]!;
      let magnitude = gated ? w.gated!.b_mag[j]! : 0;
      for (let i = 0; i < dIn; i++) {
        gate += xc[i]! * w.W_enc[i * dSae + j]!;
        if (gated) magnitude += xc[i]! * (w.W_enc[i * dSae + j]! * Math.exp(w.gated!.r_mag[j]!));
      }
      out.push(gated ? (gate > 0 ? Math.max(0, magnitude) : 0) : Math.max(0, gate));
    }
  }
  return out;
}

describe('reference encoder against an independent computation on generated SAEs', () => {
  const rows = 400;
  const dIn = 24;
  const dSae = 48;

  for (const architecture of ['relu', 'gated'] as const) {
    it(`${architecture}: same activations, sparse but no dead features`, () => {
      const sae = loadSae(makeSae(tmp, { dIn, dSae, architecture, seed: 31 }));
      const x = makeSaeInputs(rows, dIn, 7);
      const f = encodeReference(sae, x, rows);
      expect(maxAbsDifference(f, naiveEncode(sae.weights, x, rows, dIn, dSae, architecture === 'gated'))).toBeLessThan(1e-9);

      const firing = f.filter((v) => v > 0).length / f.length;
      expect(firing).toBeGreaterThan(0.02);
      expect(firing).toBeLessThan(0.4);
      for (let j = 0; j < dSae; j++) {
        let fired = false;
        for (let r = 0; r < rows && !fired; r++) fired = f[r * dSae + j]! > 0;
        expect(fired, `feature ${j} never fires`).toBe(true);
      }
    });
  }
});

/** dIn = dSae with W_enc = I and zero biases, so h equals the (normalised) input. */
function identitySae(d: number, overrides: Partial<SaeRecord> = {}): SaeRecord {
  const W = new Float32Array(d * d);
  for (let i = 0; i < d; i++) W[i * d + i] = 1;
  return {
    format: 'safetensors',
    path: 'identity',
    dIn: d,
    dSae: d,
    architecture: 'topk',
    k: d,
    topkRelu: false, // keep every h as it is: the output is h itself
    applyBDecToInput: true,
    threshold: null,
    normalization: { mode: 'none', mean: null, scale: null },
    hookName: null,
    groups: null,
    weights: { W_enc: W, b_enc: new Float32Array(d), W_dec: W, b_dec: new Float32Array(d) },
    ...overrides,
  };
}

/** An SAE whose h is exactly b_enc (W_enc = 0), to set pre-activations by hand. */
function biasOnlySae(bEnc: number[], overrides: Partial<SaeRecord>): SaeRecord {
  const dSae = bEnc.length;
  return identitySae(2, {
    dSae,
    weights: { W_enc: new Float32Array(2 * dSae), b_enc: Float32Array.from(bEnc), W_dec: new Float32Array(dSae * 2), b_dec: new Float32Array(2) },
    ...overrides,
  });
}

const encodeOne = (sae: SaeRecord, x: number[]) => Array.from(encodeReference(sae, x, 1));

describe('activation rules', () => {
  it('topk keeps the k largest, lower index first on ties, then ReLU when topkRelu', () => {
    expect(encodeOne(biasOnlySae([1, 3, 3, -1, 2], { k: 2, topkRelu: true }), [0, 0])).toEqual([0, 3, 3, 0, 0]);
    expect(encodeOne(biasOnlySae([2, 5, 2, 2, -1], { k: 2, topkRelu: true }), [0, 0])).toEqual([2, 5, 0, 0, 0]);
    expect(encodeOne(biasOnlySae([-1, -2, -3], { k: 2, topkRelu: true }), [0, 0])).toEqual([0, 0, 0]);
    // saev's TopK keeps negative winners as they are.
    expect(encodeOne(biasOnlySae([-1, -2, -3], { k: 2, topkRelu: false }), [0, 0])).toEqual([-1, -2, 0]);
  });

  it('relu zeroes negatives', () => {
    expect(encodeOne(biasOnlySae([-0.5, 0, 0.5], { architecture: 'relu', k: null }), [0, 0])).toEqual([0, 0, 0.5]);
  });

  it('batchtopk is h·[h > θ] and jumprelu is relu(h)·[h > θ], scalar or per feature', () => {
    const h = [-1, -2, 0.5, 0.25];
    const batch = biasOnlySae(h, { architecture: 'batchtopk', threshold: Float32Array.of(-1.5) });
    expect(encodeOne(batch, [0, 0])).toEqual([-1, 0, 0.5, 0.25]);
    const jump = biasOnlySae(h, { architecture: 'jumprelu', threshold: Float32Array.of(-1.5) });
    expect(encodeOne(jump, [0, 0])).toEqual([0, 0, 0.5, 0.25]);
    const perFeature = biasOnlySae(h, { architecture: 'jumprelu', threshold: Float32Array.of(0, 0, 0.5, 0.1) });
    expect(encodeOne(perFeature, [0, 0])).toEqual([0, 0, 0, 0.25]); // h > θ is strict
  });

  it('subtracts b_dec only when applyBDecToInput', () => {
    const bDec = Float32Array.of(1, -1);
    const base = identitySae(2);
    const withBias = { ...base, weights: { ...base.weights, b_dec: bDec } };
    expect(encodeOne(withBias, [3, 4])).toEqual([2, 5]);
    expect(encodeOne({ ...withBias, applyBDecToInput: false }, [3, 4])).toEqual([3, 4]);
  });
});

describe('input normalisation (before b_dec is subtracted)', () => {
  it('scale: (x - mean) · scale, mean optional', () => {
    expect(encodeOne(identitySae(2, { normalization: { mode: 'scale', mean: Float32Array.of(1, 1), scale: 2 } }), [3, 4])).toEqual([4, 6]);
    expect(encodeOne(identitySae(2, { normalization: { mode: 'scale', mean: null, scale: 0.5 } }), [3, 4])).toEqual([1.5, 2]);
  });

  it('constant_norm_rescale: x · sqrt(d_in) / ||x||, then minus b_dec', () => {
    const sae = identitySae(2, { normalization: { mode: 'constant_norm_rescale', mean: null, scale: null } });
    const withBias = { ...sae, weights: { ...sae.weights, b_dec: Float32Array.of(1, 0) } };
    const [a, b] = encodeOne(withBias, [3, 4]);
    expect(a).toBeCloseTo((3 * Math.SQRT2) / 5 - 1, 12);
    expect(b).toBeCloseTo((4 * Math.SQRT2) / 5, 12);
    expect(encodeOne(sae, [0, 0])).toEqual([0, 0]);
  });

  it('layer_norm: (x - mean) / (unbiased std + 1e-5), as SAELens computes it', () => {
    const sae = identitySae(3, { normalization: { mode: 'layer_norm', mean: null, scale: null } });
    // mean 3, deviations (-2, 0, 2), unbiased variance 8 / 2 = 4, std 2.
    const f = encodeOne(sae, [1, 3, 5]);
    [-2 / (2 + 1e-5), 0, 2 / (2 + 1e-5)].forEach((v, i) => expect(f[i]).toBeCloseTo(v, 12));
  });
});

describe('encodeReference refuses what it cannot encode', () => {
  it('a scale the checkpoint did not carry', () => {
    const sae = identitySae(2, { normalization: { mode: 'scale', mean: null, scale: null } });
    expect(() => encodeOne(sae, [1, 2])).toThrow(/scale factor that its checkpoint does not carry.*--norm scale --norm-scale X/);
  });

  it('x of the wrong length, a threshold-less jumprelu, a TopK without k', () => {
    expect(() => encodeReference(identitySae(2), [1, 2, 3], 2)).toThrow(/x has 3 values but 2 rows of d_in = 2 need 4/);
    expect(() => encodeOne(identitySae(2, { architecture: 'jumprelu' }), [1, 2])).toThrow(/jumprelu but its threshold has no values; expected 1 or d_sae = 2/);
    expect(() => encodeOne(identitySae(2, { k: null }), [1, 2])).toThrow(/is TopK but has no k/);
  });

  it('weights whose lengths do not fit d_in and d_sae, naming the tensor', () => {
    const sae = identitySae(2);
    const shortBDec = { ...sae, weights: { ...sae.weights, b_dec: new Float32Array(1) } };
    expect(() => encodeOne(shortBDec, [1, 2])).toThrow(/b_dec has 1 values, expected 2 \(d_in = 2, d_sae = 2\)/);
    const longWEnc = { ...sae, weights: { ...sae.weights, W_enc: new Float32Array(6) } };
    expect(() => encodeOne(longWEnc, [1, 2])).toThrow(/W_enc has 6 values, expected 4/);
    const gated = { ...sae, architecture: 'gated' as const, weights: { ...sae.weights, gated: { r_mag: new Float32Array(2), b_mag: new Float32Array(3) } } };
    expect(() => encodeOne(gated, [1, 2])).toThrow(/b_mag has 3 values, expected 2/);
  });
});

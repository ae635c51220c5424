// SAELens folders with Matryoshka widths (`matryoshka_widths`, SAELens's MatryoshkaBatchTopK field)
// and BatchTopK exports: the reader's groups and thresholds, and the trainer's folders reloading.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSae, saeInfo } from '../../src-main/core/sae/loadSae.js';
import { encodeReference } from '../../src-main/core/sae/referenceEncoder.js';
import { writeSafetensors, type Float32Tensor } from '../../src-main/core/sae/safetensors.js';
import { encodeTrained, makeGaussian, makeRng, trainSae, writeTrainedSae } from '../../src-main/core/train/saeTrainer.js';

const tmp = mkdtempSync(join(tmpdir(), 'saelens-matryoshka-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const D_IN = 6;
const D_SAE = 12;

function randomTensor(n: number, seed: number): Float32Array {
  const g = makeGaussian(makeRng(seed));
  return new Float32Array(n).map(() => 0.5 * g());
}

/** A SAELens folder written by hand: cfg.json (base keys + `cfg`) and sae_weights.safetensors. */
function writeFolder(name: string, cfg: Record<string, unknown>, extraTensors: Record<string, Float32Tensor> = {}): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  writeSafetensors(join(dir, 'sae_weights.safetensors'), {
    W_enc: { shape: [D_IN, D_SAE], data: randomTensor(D_IN * D_SAE, 1) },
    b_enc: { shape: [D_SAE], data: randomTensor(D_SAE, 2) },
    W_dec: { shape: [D_SAE, D_IN], data: randomTensor(D_SAE * D_IN, 3) },
    b_dec: { shape: [D_IN], data: randomTensor(D_IN, 4) },
    ...extraTensors,
  });
  writeFileSync(join(dir, 'cfg.json'), JSON.stringify({ d_in: D_IN, d_sae: D_SAE, apply_b_dec_to_input: true, normalize_activations: 'none', ...cfg }));
  return dir;
}

describe('SAELens matryoshka_widths', () => {
  it('become the groups of a TopK SAE and of a JumpReLU SAE', () => {
    const topk = loadSae(writeFolder('topk-groups', { architecture: 'topk', k: 3, matryoshka_widths: [2, 6, 12] }));
    expect(topk).toMatchObject({ format: 'saelens', architecture: 'topk', k: 3, groups: [2, 6, 12] });
    expect(saeInfo(topk).groups).toEqual([2, 6, 12]);

    const threshold = { threshold: { shape: [D_SAE], data: new Float32Array(D_SAE).fill(0.1) } };
    const jump = loadSae(writeFolder('jumprelu-groups', { architecture: 'jumprelu', matryoshka_widths: [4, 12] }, threshold));
    expect(jump).toMatchObject({ architecture: 'jumprelu', groups: [4, 12] });
  });

  it('stopping short of d_sae gets d_sae appended, as SAELens does when it builds the SAE', () => {
    const sae = loadSae(writeFolder('short-groups', { architecture: 'topk', k: 3, matryoshka_widths: [4, 8] }));
    expect(sae.groups).toEqual([4, 8, 12]);
  });

  it('absent or empty means no groups', () => {
    expect(loadSae(writeFolder('no-groups', { architecture: 'topk', k: 3 })).groups).toBeNull();
    expect(loadSae(writeFolder('empty-groups', { architecture: 'topk', k: 3, matryoshka_widths: [] })).groups).toBeNull();
  });

  it.each([
    ['not increasing', [6, 4, 12], /strictly increasing; found \[6, 4, 12\]/],
    ['repeated', [4, 4, 12], /strictly increasing; found \[4, 4, 12\]/],
    ['past d_sae', [4, 16], /ending at d_sae = 12; found \[4, 16\]/],
    ['not integers', [4.5, 12], /positive integers; found \[4\.5, 12\]/],
    ['zero', [0, 12], /positive integers; found \[0, 12\]/],
  ])('refuses widths %s, naming the file and the values', (name, widths, message) => {
    const dir = writeFolder(`bad-${name.replace(/ /g, '-')}`, { architecture: 'topk', k: 3, matryoshka_widths: widths });
    expect(() => loadSae(dir)).toThrow(/"matryoshka_widths" in .*cfg\.json must be cumulative group widths/);
    expect(() => loadSae(dir)).toThrow(message);
  });
});

describe('SAELens architecture "batchtopk"', () => {
  const x = randomTensor(5 * D_IN, 9);

  it('loads with a threshold tensor (scalar or per feature) and encodes as h·[h > θ]', () => {
    const scalar = loadSae(writeFolder('btk-scalar', { architecture: 'batchtopk', k: 3 }, { threshold: { shape: [], data: Float32Array.of(0.2) } }));
    expect(scalar).toMatchObject({ architecture: 'batchtopk', k: 3, threshold: Float32Array.of(0.2) });
    const perFeature = loadSae(
      writeFolder('btk-per-feature', { architecture: 'batchtopk', k: 3 }, { threshold: { shape: [D_SAE], data: new Float32Array(D_SAE).fill(0.2) } }),
    );
    expect(perFeature.threshold!.length).toBe(D_SAE);
    const a = encodeReference(scalar, x, 5);
    const b = encodeReference(perFeature, x, 5);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(a.some((v) => v > 0)).toBe(true);
    expect(a.every((v) => v === 0 || v > Math.fround(0.2))).toBe(true);
  });

  it('loads with a "threshold" number in cfg.json', () => {
    const sae = loadSae(writeFolder('btk-cfg-threshold', { architecture: 'batchtopk', k: 3, threshold: 0.25 }));
    expect(sae).toMatchObject({ architecture: 'batchtopk', threshold: Float32Array.of(0.25) });
  });

  it('is refused, with the fix, when it carries no threshold', () => {
    const dir = writeFolder('btk-no-threshold', { architecture: 'batchtopk', k: 3 });
    expect(() => loadSae(dir)).toThrow(/cfg\.json says architecture "batchtopk" but there is no threshold to encode with/);
    expect(() => loadSae(dir)).toThrow(/Add a 'threshold' tensor \(\[12\] or scalar\)/);
  });

  it('is refused when the threshold is given twice or has the wrong shape', () => {
    const both = writeFolder('btk-both', { architecture: 'batchtopk', threshold: 0.1 }, { threshold: { shape: [], data: Float32Array.of(0.2) } });
    expect(() => loadSae(both)).toThrow(/keep only one/);
    const wrong = writeFolder('btk-wrong-shape', { architecture: 'batchtopk' }, { threshold: { shape: [3], data: new Float32Array(3) } });
    expect(() => loadSae(wrong)).toThrow(/tensor 'threshold' in .* has shape \[3\] but \[12\] or a scalar was expected/);
  });
});

describe('SAELens training architectures "batchtopk" and "matryoshka_batchtopk"', () => {
  const x = randomTensor(5 * D_IN, 11);

  it('read the float64 topk_threshold buffer, clamp a negative θ to 0 (ReLU first), keep matryoshka_widths', () => {
    const cfg = { architecture: 'matryoshka_batchtopk', k: 2.5, matryoshka_widths: [3, 12], rescale_acts_by_decoder_norm: false };
    const sae = loadSae(writeFolder('mbtk-training', cfg, { topk_threshold: { shape: [], data: Float32Array.of(-0.25) } }));
    expect(sae).toMatchObject({ architecture: 'batchtopk', k: null, groups: [3, 12], threshold: Float32Array.of(0) });
    // relu(h)·[h > -0.25] keeps exactly the positive h.
    const relu = loadSae(writeFolder('mbtk-as-relu', { architecture: 'standard' }));
    expect(Array.from(encodeReference(sae, x, 5))).toEqual(Array.from(encodeReference(relu, x, 5)));
  });

  it('refuse a threshold given both as topk_threshold and threshold', () => {
    const both = { threshold: { shape: [], data: Float32Array.of(0.2) }, topk_threshold: { shape: [], data: Float32Array.of(0.2) } };
    expect(() => loadSae(writeFolder('btk-two-tensors', { architecture: 'batchtopk' }, both))).toThrow(
      /threshold is given twice \(a 'threshold' tensor in .* and a 'topk_threshold' tensor in .*\); keep only one/,
    );
  });

  it('rescale_acts_by_decoder_norm folds the decoder norms: same encoding as the folded weights', () => {
    const rescaled = loadSae(writeFolder('btk-rescaled', { architecture: 'batchtopk', rescale_acts_by_decoder_norm: true, threshold: 0.3 }));
    const plain = loadSae(writeFolder('btk-plain', { architecture: 'batchtopk', threshold: 0.3 }));
    const norms = Array.from({ length: D_SAE }, (_, j) => Math.hypot(...plain.weights.W_dec.subarray(j * D_IN, (j + 1) * D_IN)));
    const h = (sae: typeof plain, r: number, j: number) => {
      let sum = sae.weights.b_enc[j]!;
      for (let i = 0; i < D_IN; i++) sum += (x[r * D_IN + i]! - plain.weights.b_dec[i]!) * sae.weights.W_enc[i * D_SAE + j]!;
      return sum;
    };
    const f = encodeReference(rescaled, x, 5);
    for (let r = 0; r < 5; r++) {
      for (let j = 0; j < D_SAE; j++) {
        const want = h(plain, r, j) * norms[j]!;
        expect(f[r * D_SAE + j]!).toBeCloseTo(want > Math.fround(0.3) ? want : 0, 5);
      }
    }
  });
});

describe('a trained Matryoshka SAE written by writeTrainedSae', () => {
  it('reloads as a SAELens folder with its groups and encodes exactly like encodeTrained', async () => {
    const d = 16;
    const rng = makeRng(5);
    const g = makeGaussian(rng);
    const source = (rows: number) => {
      const out = new Float32Array(rows * d);
      for (let i = 0; i < out.length; i++) out[i] = g() * (1 + (i % d) / d);
      return out;
    };
    const sae = await trainSae(source, { dIn: d, width: 24, k: 3, arch: 'matryoshka', groups: [4, 12, 24], steps: 30, batchSize: 64, seed: 2 });
    const written = writeTrainedSae(sae, join(tmp, 'trained-matryoshka'), { hookName: 'block_1' });
    expect(written.loadPath).toBe(join(tmp, 'trained-matryoshka'));
    const loaded = loadSae(written.loadPath);
    expect(loaded).toMatchObject({ format: 'saelens', architecture: 'topk', k: 3, groups: [4, 12, 24], dIn: d, dSae: 24, hookName: 'block_1' });
    const probe = source(200);
    const ref = encodeReference(loaded, probe, 200);
    const mine = encodeTrained(sae, probe, 200);
    let active = 0;
    for (let i = 0; i < ref.length; i++) {
      expect(Math.abs(ref[i]! - mine[i]!)).toBeLessThan(1e-4);
      if (mine[i]! > 0) active++;
    }
    expect(active).toBeGreaterThan(200);
  });
});

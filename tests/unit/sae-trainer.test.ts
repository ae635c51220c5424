import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSae } from '../../src-main/core/sae/loadSae.js';
import { encodeReference } from '../../src-main/core/sae/referenceEncoder.js';
import {
  encodeTrained, makeGaussian, makeRng, trainSae, writeTrainedSae, type BatchSource, type TrainedSae, type TrainOptions,
} from '../../src-main/core/train/saeTrainer.js';

const D = 32;
const N_TRUE = 16;
const tmp = mkdtempSync(join(tmpdir(), 'sae-trainer-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** 16 random unit directions in d = 32 (rows of [16, 32]). */
function trueDirections(seed: number): Float32Array {
  const g = makeGaussian(makeRng(seed));
  const w = new Float32Array(N_TRUE * D);
  for (let r = 0; r < N_TRUE; r++) {
    let s = 0;
    for (let i = 0; i < D; i++) { w[r * D + i] = g(); s += w[r * D + i]! ** 2; }
    for (let i = 0; i < D; i++) w[r * D + i]! /= Math.sqrt(s);
  }
  return w;
}

const offsetNoise = makeGaussian(makeRng(12345));
const offset = new Float32Array(D).map(() => 0.5 * offsetNoise());

/** Rows = an offset + 1..3 of the true directions with magnitudes in [1, 3] + noise 0.02. */
function sparseSource(dirs: Float32Array, seed: number): BatchSource {
  const rng = makeRng(seed);
  const g = makeGaussian(rng);
  return (rows) => {
    const x = new Float32Array(rows * D);
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < D; i++) x[r * D + i] = offset[i]! + 0.02 * g();
      const n = 1 + Math.floor(rng() * 3);
      for (let t = 0; t < n; t++) {
        const j = Math.floor(rng() * N_TRUE);
        const m = 1 + 2 * rng();
        for (let i = 0; i < D; i++) x[r * D + i]! += m * dirs[j * D + i]!;
      }
    }
    return x;
  };
}

function recovery(sae: TrainedSae, dirs: Float32Array): number {
  let found = 0;
  for (let t = 0; t < N_TRUE; t++) {
    let best = -1;
    for (let j = 0; j < sae.width; j++) {
      let c = 0;
      for (let i = 0; i < D; i++) c += dirs[t * D + i]! * sae.W_dec[j * D + i]!;
      best = Math.max(best, c);
    }
    if (best > 0.9) found++;
  }
  return found / N_TRUE;
}

/** FVU of the reconstruction from the first `prefix` latents (encoded with the full model). */
function fvuOf(sae: TrainedSae, x: Float32Array, rows: number, prefix: number): number {
  const f = encodeTrained(sae, x, rows);
  const mean = new Float64Array(D);
  for (let r = 0; r < rows; r++) for (let i = 0; i < D; i++) mean[i]! += x[r * D + i]! / rows;
  let err = 0, v = 0;
  for (let r = 0; r < rows; r++) {
    const rec = Float64Array.from(sae.b_dec);
    for (let j = 0; j < prefix; j++) {
      const a = f[r * sae.width + j]!;
      if (a !== 0) for (let i = 0; i < D; i++) rec[i]! += a * sae.W_dec[j * D + i]!;
    }
    for (let i = 0; i < D; i++) { err += (x[r * D + i]! - rec[i]!) ** 2; v += (x[r * D + i]! - mean[i]!) ** 2; }
  }
  return err / v;
}

const dirs = trueDirections(1);
const base: TrainOptions = { dIn: D, width: 32, k: 4, arch: 'topk', steps: 400, batchSize: 128, lr: 4e-3, seed: 7, deadTokens: 2000 };
const heldOut = sparseSource(dirs, 999)(1000) as Float32Array;

describe('trainSae', () => {
  it('TopK: FVU well below 0.2, recovers ≥ 80% of true directions, loss falls', async () => {
    const t0 = performance.now();
    const sae = await trainSae(sparseSource(dirs, 2), base);
    const secs = (performance.now() - t0) / 1000;
    const fvu = fvuOf(sae, heldOut, 1000, sae.width);
    const rec = recovery(sae, dirs);
    console.log(`topk: held-out FVU ${fvu.toFixed(4)}, recovery ${(rec * 100).toFixed(0)}%, ${(sae.stepsDone / secs).toFixed(0)} steps/s, dead ${sae.history.at(-1)!.dead}`);
    expect(fvu).toBeLessThan(0.1);
    expect(rec).toBeGreaterThanOrEqual(0.8);
    expect(sae.history.at(-1)!.loss).toBeLessThan(sae.history[0]!.loss / 5);
    for (let j = 0; j < sae.width; j++) {
      let s = 0;
      for (let i = 0; i < D; i++) s += sae.W_dec[j * D + i]! ** 2;
      expect(Math.abs(Math.sqrt(s) - 1)).toBeLessThan(1e-5);
    }
    const written = writeTrainedSae(sae, join(tmp, 'topk'), { hookName: 'blocks.0' });
    expect(written.loadPath).toBe(join(tmp, 'topk'));
    const loaded = loadSae(written.loadPath);
    expect(loaded.format).toBe('saelens');
    expect(loaded.architecture).toBe('topk');
    expect(loaded.k).toBe(4);
    const ref = encodeReference(loaded, heldOut.subarray(0, 50 * D), 50);
    const mine = encodeTrained(sae, heldOut.subarray(0, 50 * D), 50);
    for (let i = 0; i < ref.length; i++) expect(Math.abs(ref[i]! - mine[i]!)).toBeLessThan(1e-4);
  });

  it('is deterministic for a seed, and differs for another seed', async () => {
    const opts = { ...base, steps: 30 };
    const a = await trainSae(sparseSource(dirs, 3), opts);
    const b = await trainSae(sparseSource(dirs, 3), opts);
    const c = await trainSae(sparseSource(dirs, 3), { ...opts, seed: 8 });
    expect(Buffer.from(a.W_dec.buffer).equals(Buffer.from(b.W_dec.buffer))).toBe(true);
    expect(Buffer.from(a.W_enc.buffer).equals(Buffer.from(b.W_enc.buffer))).toBe(true);
    expect(Buffer.from(a.b_dec.buffer).equals(Buffer.from(b.b_dec.buffer))).toBe(true);
    expect(Buffer.from(a.W_dec.buffer).equals(Buffer.from(c.W_dec.buffer))).toBe(false);
  });

  it('the aux loss revives latents that died while the data used few directions', async () => {
    // Curriculum: 100 batches drawn from 4 of 32 directions (most latents die), then all 32.
    const nt = 32;
    const g = makeGaussian(makeRng(21));
    const many = new Float32Array(nt * D).map(() => g());
    for (let r = 0; r < nt; r++) {
      let s = 0;
      for (let i = 0; i < D; i++) s += many[r * D + i]! ** 2;
      for (let i = 0; i < D; i++) many[r * D + i]! /= Math.sqrt(s);
    }
    const curriculum = (): BatchSource => {
      let calls = 0;
      const rng = makeRng(4);
      const noise = makeGaussian(rng);
      return (rows) => {
        const used = calls++ < 100 ? 4 : nt;
        const x = new Float32Array(rows * D);
        for (let r = 0; r < rows; r++) {
          for (let i = 0; i < D; i++) x[r * D + i] = 0.02 * noise();
          const n = 1 + Math.floor(rng() * 3);
          for (let t = 0; t < n; t++) {
            const j = Math.floor(rng() * used), m = 1 + 2 * rng();
            for (let i = 0; i < D; i++) x[r * D + i]! += m * many[j * D + i]!;
          }
        }
        return x;
      };
    };
    const opts: TrainOptions = { ...base, width: 32, steps: 300, deadTokens: 1000 };
    const withAux = await trainSae(curriculum(), { ...opts, auxCoef: 1 / 32 });
    const noAux = await trainSae(curriculum(), { ...opts, auxCoef: 0 });
    // Phase-2 data (all 32 directions): latents that never fire on it are dead.
    const src = curriculum();
    for (let i = 0; i < 100; i++) src(1);
    const probe = (await src(2000)) as Float32Array;
    const deadOn = (s: TrainedSae) => {
      const f = encodeTrained(s, probe, 2000);
      let dead = 0;
      for (let j = 0; j < s.width; j++) {
        let fired = false;
        for (let r = 0; r < 2000 && !fired; r++) fired = f[r * s.width + j]! > 0;
        if (!fired) dead++;
      }
      return dead;
    };
    const peak = Math.max(...withAux.history.map((h) => h.dead));
    const [dA, dN] = [deadOn(withAux), deadOn(noAux)];
    const [fA, fN] = [fvuOf(withAux, probe, 2000, 32), fvuOf(noAux, probe, 2000, 32)];
    console.log(`dead: peak during phase 1 ${peak}; never firing on phase-2 data: aux ${dA}, no aux ${dN}; FVU aux ${fA.toFixed(4)}, no aux ${fN.toFixed(4)}`);
    expect(peak).toBeGreaterThan(5);
    expect(dA).toBeLessThanOrEqual(dN);
    expect(fA).toBeLessThan(fN);
  });

  it('BatchTopK: trains, writes a SAELens JumpReLU folder with its threshold, reloads and encodes identically', async () => {
    const sae = await trainSae(sparseSource(dirs, 5), { ...base, arch: 'batchtopk' });
    const fvu = fvuOf(sae, heldOut, 1000, sae.width);
    console.log(`batchtopk: held-out FVU ${fvu.toFixed(4)}, recovery ${(recovery(sae, dirs) * 100).toFixed(0)}%, threshold ${sae.threshold}`);
    expect(fvu).toBeLessThan(0.2);
    expect(sae.threshold).toBeGreaterThan(0);
    const written = writeTrainedSae(sae, join(tmp, 'batchtopk'));
    expect(written.loadPath).toBe(join(tmp, 'batchtopk'));
    expect(existsSync(join(tmp, 'batchtopk', 'sae.safetensors'))).toBe(false);
    const cfg = JSON.parse(readFileSync(join(tmp, 'batchtopk', 'cfg.json'), 'utf8'));
    expect(cfg).toMatchObject({ architecture: 'jumprelu', trained_as: 'batchtopk', k: 4, d_in: D, d_sae: 32 });
    const loaded = loadSae(written.loadPath);
    expect(loaded.format).toBe('saelens');
    expect(loaded.architecture).toBe('jumprelu');
    expect(loaded.threshold!.length).toBe(32);
    expect(loaded.threshold!.every((t) => t === Math.fround(sae.threshold!))).toBe(true);
    const ref = encodeReference(loaded, heldOut.subarray(0, 50 * D), 50);
    const mine = encodeTrained(sae, heldOut.subarray(0, 50 * D), 50);
    for (let i = 0; i < ref.length; i++) expect(Math.abs(ref[i]! - mine[i]!)).toBeLessThan(1e-4);
  });

  it('Matryoshka: each prefix reconstructs; groups are recorded and reloaded', async () => {
    const sae = await trainSae(sparseSource(dirs, 6), { ...base, arch: 'matryoshka', width: 48, groups: [8, 24, 48] });
    const fvus = [8, 24, 48].map((g) => fvuOf(sae, heldOut, 1000, g));
    console.log(`matryoshka: held-out FVU by prefix ${fvus.map((f) => f.toFixed(4)).join(', ')}`);
    expect(fvus[0]).toBeLessThan(1);
    expect(fvus[2]).toBeLessThan(0.2);
    expect(fvus[1]!).toBeLessThanOrEqual(fvus[0]!);
    const written = writeTrainedSae(sae, join(tmp, 'matryoshka'));
    expect(written.loadPath).toBe(join(tmp, 'matryoshka'));
    const cfg = JSON.parse(readFileSync(join(tmp, 'matryoshka', 'cfg.json'), 'utf8'));
    expect(cfg).toMatchObject({ architecture: 'topk', k: 4, matryoshka_widths: [8, 24, 48], trained_as: 'matryoshka' });
    const loaded = loadSae(written.loadPath);
    expect(loaded.format).toBe('saelens');
    expect(loaded.groups).toEqual([8, 24, 48]);
    expect(loaded.architecture).toBe('topk');
    const ref = encodeReference(loaded, heldOut.subarray(0, 50 * D), 50);
    const mine = encodeTrained(sae, heldOut.subarray(0, 50 * D), 50);
    for (let i = 0; i < ref.length; i++) expect(Math.abs(ref[i]! - mine[i]!)).toBeLessThan(1e-4);
  });

  it('stops on abort and reports progress', async () => {
    const ac = new AbortController();
    const seen: number[] = [];
    const sae = await trainSae(sparseSource(dirs, 7), {
      ...base, steps: 1000, progressEvery: 5, signal: ac.signal,
      onProgress: (p) => { seen.push(p.step); if (p.step >= 20) ac.abort(); expect(Number.isFinite(p.fvu)).toBe(true); },
    });
    expect(sae.aborted).toBe(true);
    expect(sae.stepsDone).toBe(20);
    expect(seen).toEqual([5, 10, 15, 20]);
  });

  it.each(['topk', 'batchtopk', 'matryoshka'] as const)('%s: the dense product on onnxruntime gives the same losses as in JS', async (arch) => {
    const opts: TrainOptions = { ...base, arch, width: 48, steps: 20, groups: arch === 'matryoshka' ? [8, 24, 48] : undefined };
    const js = await trainSae(sparseSource(dirs, 11), opts);
    const onnx = await trainSae(sparseSource(dirs, 11), { ...opts, denseProduct: 'onnx', provider: 'cpu' });
    expect(js.denseProduct).toBe('js');
    expect(onnx.denseProduct).toBe('onnx:cpu');
    expect(onnx.stepsDone).toBe(20);
    for (let s = 0; s < 20; s++) {
      expect(Math.abs(onnx.history[s]!.loss - js.history[s]!.loss)).toBeLessThan(1e-4);
      expect(onnx.history[s]!.l0).toBe(js.history[s]!.l0);
    }
    let maxDiff = 0;
    for (let i = 0; i < js.W_enc.length; i++) maxDiff = Math.max(maxDiff, Math.abs(js.W_enc[i]! - onnx.W_enc[i]!));
    expect(maxDiff).toBeLessThan(1e-4);
  });

  it('rejects bad options', async () => {
    const src = sparseSource(dirs, 8);
    await expect(trainSae(src, { ...base, k: 0 })).rejects.toThrow(/k must be/);
    await expect(trainSae(src, { ...base, arch: 'matryoshka' })).rejects.toThrow(/groups/);
    await expect(trainSae(src, { ...base, arch: 'matryoshka', groups: [8, 16] })).rejects.toThrow(/ending at d_sae/);
  });
});

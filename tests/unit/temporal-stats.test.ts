import { describe, expect, it } from 'vitest';
import { RawTemporalAccumulator, TemporalAccumulator, pearson } from '../../src-main/core/temporal/temporalStats.js';
import type { SparseRows } from '../../src-main/core/indexer/featureAccumulator.js';
import { mulberry32 } from '../helpers/prng.js';

/** Dense [patches][features] → CSR with ascending features, as the encoder writes. */
function csr(dense: number[][]): SparseRows {
  const rowPtr = new Int32Array(dense.length + 1);
  const feature: number[] = [];
  const value: number[] = [];
  dense.forEach((row, p) => {
    row.forEach((v, f) => {
      if (v > 0) {
        feature.push(f);
        value.push(v);
      }
    });
    rowPtr[p + 1] = feature.length;
  });
  return { rows: dense.length, rowPtr, feature: Int32Array.from(feature), value: Float32Array.from(value) };
}

function brutePearson(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
    syy += (ys[i]! - my) ** 2;
  }
  return sxx === 0 || syy === 0 ? NaN : sxy / Math.sqrt(sxx * syy);
}

describe('temporal statistics', () => {
  it('a feature on and off in alternate frames flickers: switch rate 1, autocorrelation −1', () => {
    const P = 4;
    const frames = Array.from({ length: 6 }, (_, t) => csr(Array.from({ length: P }, () => [t % 2 === 0 ? 2 : 0, 1.5])));
    const acc = new TemporalAccumulator(2);
    acc.addClip(frames, P);
    const r = acc.result();
    expect(r.pairs).toBe(5 * P);
    expect(r.switchRate[0]).toBe(1);
    expect(r.autocorrelation[0]).toBeCloseTo(-1, 12);
    // Feature 1 is constant: never switches, autocorrelation undefined (zero variance).
    expect(r.switchRate[1]).toBe(0);
    expect(Number.isNaN(r.autocorrelation[1]!)).toBe(true);
    expect(r.meanAutocorrelation).toBeCloseTo(-1, 12);
  });

  it('matches the definitions computed by hand on random sparse clips', () => {
    const rand = mulberry32(3);
    const F = 7;
    const P = 5;
    const clips = Array.from({ length: 3 }, (_, c) =>
      Array.from({ length: 4 + c }, () => Array.from({ length: P }, () => Array.from({ length: F }, () => (rand() < 0.35 ? Math.round(rand() * 40) / 10 : 0)))),
    );
    const acc = new TemporalAccumulator(F);
    for (const clip of clips) acc.addClip(clip.map(csr), P);
    const r = acc.result();
    for (let f = 0; f < F; f++) {
      const xs: number[] = [];
      const ys: number[] = [];
      let either = 0;
      let one = 0;
      for (const clip of clips) {
        for (let t = 0; t + 1 < clip.length; t++) {
          for (let p = 0; p < P; p++) {
            const x = clip[t]![p]![f]!;
            const y = clip[t + 1]![p]![f]!;
            xs.push(x);
            ys.push(y);
            if (x > 0 || y > 0) either++;
            if (x > 0 !== y > 0) one++;
          }
        }
      }
      expect(r.autocorrelation[f]).toBeCloseTo(brutePearson(xs, ys), 6); // values pass through float32
      expect(r.switchRate[f]).toBeCloseTo(one / either, 12);
    }
  });

  it('raw activation dimensions get the same autocorrelation over the same pairs', () => {
    const rand = mulberry32(9);
    const d = 3;
    const P = 2;
    const clip = Array.from({ length: 5 }, () => Float32Array.from({ length: P * d }, () => rand() * 2 - 1));
    const acc = new RawTemporalAccumulator(d);
    acc.addClip(clip, P);
    const r = acc.result();
    for (let i = 0; i < d; i++) {
      const xs: number[] = [];
      const ys: number[] = [];
      for (let t = 0; t + 1 < clip.length; t++) for (let p = 0; p < P; p++) {
        xs.push(clip[t]![p * d + i]!);
        ys.push(clip[t + 1]![p * d + i]!);
      }
      expect(r.autocorrelation[i]).toBeCloseTo(brutePearson(xs, ys), 5);
    }
  });

  it('pearson is undefined without variance or with fewer than two pairs', () => {
    expect(Number.isNaN(pearson(1, 1, 1, 1, 1, 1))).toBe(true);
    expect(Number.isNaN(pearson(3, 3, 6, 3, 14, 6))).toBe(true); // x constant 1
  });
});

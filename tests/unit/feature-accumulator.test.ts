import { describe, expect, it } from 'vitest';
import { FeatureAccumulator, type SparseRows } from '../../src-main/core/indexer/featureAccumulator.js';
import { DEFAULT_HISTOGRAM, histogramBin } from '../../src-main/core/indexer/histogram.js';
import { fromHalf, toHalf } from '../../src-main/core/util/float16.js';
import { mulberry32 } from '../helpers/prng.js';
import { expectPatchMap } from '../helpers/expectPatchMap.js';
import { decodePatchMap } from '../../src-main/core/store/patchMapCodec.js';


/** Dense activations [items][rows][features] with sparsity and deliberate ties. */
function makeDense(items: number, rows: number, features: number, seed: number): number[][][] {
  const r = mulberry32(seed);
  return Array.from({ length: items }, () =>
    Array.from({ length: rows }, () =>
      Array.from({ length: features }, () => {
        const u = r();
        if (u < 0.8) return 0;
        // A coarse grid of values makes equal maxima across items common: ties must resolve by item id.
        return Math.round(r() * 8) / 2;
      }),
    ),
  );
}

function toCsr(dense: number[][]): SparseRows {
  const rowPtr = new Int32Array(dense.length + 1);
  const feature: number[] = [];
  const value: number[] = [];
  dense.forEach((row, i) => {
    row.forEach((v, f) => {
      if (v > 0) {
        feature.push(f);
        value.push(v);
      }
    });
    rowPtr[i + 1] = feature.length;
  });
  return { rows: dense.length, rowPtr, feature: Int32Array.from(feature), value: Float32Array.from(value) };
}

describe('FeatureAccumulator', () => {
  const items = 40;
  const patches = 6;
  const features = 12;
  const k = 5;
  const dense = makeDense(items, patches + 1, features, 7); // row 0 of each item is CLS

  const acc = new FeatureAccumulator(features, patches, k, DEFAULT_HISTOGRAM);
  // Feed in batches of 7 items, as the indexer does.
  for (let start = 0; start < items; start += 7) {
    const batch = dense.slice(start, start + 7);
    const codes = toCsr(batch.flat());
    batch.forEach((_, j) => acc.addItem(start + j, codes, j * (patches + 1), true));
  }

  it('counts frequency, sum, max and histogram over patch tokens only', () => {
    expect(acc.tokens).toBe(items * patches);
    for (let f = 0; f < features; f++) {
      let count = 0;
      let sum = 0;
      let max = 0;
      let clsCount = 0;
      const hist = new Array(DEFAULT_HISTOGRAM.bins).fill(0);
      for (const item of dense) {
        if (item[0]![f]! > 0) clsCount++;
        for (let p = 1; p <= patches; p++) {
          const v = item[p]![f]!;
          if (v > 0) {
            count++;
            sum += v;
            max = Math.max(max, v);
            hist[histogramBin(DEFAULT_HISTOGRAM, v)]++;
          }
        }
      }
      expect(acc.count[f]).toBe(count);
      expect(acc.sum[f]).toBeCloseTo(sum, 6);
      expect(acc.max[f]).toBe(max);
      expect(acc.clsCount[f]).toBe(clsCount);
      expect(Array.from(acc.hist.subarray(f * DEFAULT_HISTOGRAM.bins, (f + 1) * DEFAULT_HISTOGRAM.bins))).toEqual(hist);
    }
  });

  it('keeps the top-k items by max over patches, ties to the earlier item, with full patch maps', () => {
    for (let f = 0; f < features; f++) {
      const brute = dense
        .map((item, id) => {
          const map = item.slice(1).map((row) => row[f]!);
          return { id, value: Math.max(...map), map };
        })
        .filter((x) => x.value > 0)
        .sort((a, b) => b.value - a.value || a.id - b.id)
        .slice(0, k);
      const got = acc.heaps.ranked(f);
      expect(got.map((g) => g.item)).toEqual(brute.map((b) => b.id));
      expect(got.map((g) => g.value)).toEqual(brute.map((b) => b.value));
      got.forEach((g, i) => expectPatchMap(decodePatchMap(g.map, patches), brute[i]!.map, `feature ${f} exemplar ${i}`));
    }
  });
});

describe('float16', () => {
  it('round-trips representable values and rounds to nearest even', () => {
    for (const v of [0, 1, -2, 0.5, 65504, 6.103515625e-5, 5.960464477539063e-8]) expect(fromHalf(toHalf(v))).toBe(v);
    expect(fromHalf(toHalf(1 + 2 ** -11))).toBe(1); // halfway: to even
    expect(fromHalf(toHalf(1 + 3 * 2 ** -11))).toBe(1 + 2 ** -9);
    expect(fromHalf(toHalf(1e6))).toBe(Infinity);
    expect(Math.abs(fromHalf(toHalf(3.14159)) - 3.14159)).toBeLessThan(2e-3);
  });
});

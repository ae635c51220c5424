import { describe, expect, it } from 'vitest';
import { FeatureAccumulator, type SparseRows } from '../../src-main/core/indexer/featureAccumulator.js';
import { DEFAULT_HISTOGRAM } from '../../src-main/core/indexer/histogram.js';
import { DEFAULT_RANGES, rangeEdges, rangeIndex, sampleKey, type RangeSpec } from '../../src-main/core/indexer/rangeSamples.js';
import { decodePatchMap } from '../../src-main/core/store/patchMapCodec.js';
import { expectPatchMap } from '../helpers/expectPatchMap.js';
import { mulberry32 } from '../helpers/prng.js';

/**
 * Exemplars across activation ranges (issue 17) against a brute force: per feature, every item's
 * max over patches, its range found by scanning the edges 10^(-4 + r/2) with plain comparisons,
 * the items of each range counted and sorted by (sampleKey, item), the first perRange kept.
 */

/** Values spread over several decades (log-uniform 1e-3 … 1e2), with 75% zeros. */
function makeDense(items: number, rows: number, features: number, seed: number): number[][][] {
  const r = mulberry32(seed);
  return Array.from({ length: items }, () =>
    Array.from({ length: rows }, () => Array.from({ length: features }, () => (r() < 0.75 ? 0 : Math.fround(10 ** (-3 + 5 * r()))))),
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

/** Independent range assignment: the last edge not above v (edges written out as powers of ten). */
function bruteRange(v: number): number {
  let r = 0;
  for (let j = 1; j < 16; j++) if (v >= 10 ** (-4 + j / 2)) r = j;
  return r;
}

interface BruteRow {
  range: number;
  count: number;
  samples: { item: number; value: number; map: number[] }[];
}

function bruteSamples(dense: number[][][], f: number, perRange: number, patchRows: (itemRows: number[][]) => number[][]): BruteRow[] {
  const byRange = new Map<number, { item: number; value: number; map: number[] }[]>();
  dense.forEach((rows, item) => {
    const map = patchRows(rows).map((row) => row[f]!);
    const value = Math.max(...map);
    if (value <= 0) return;
    const r = bruteRange(value);
    if (!byRange.has(r)) byRange.set(r, []);
    byRange.get(r)!.push({ item, value, map });
  });
  return [...byRange.entries()]
    .sort((a, b) => b[0] - a[0])
    .map(([range, list]) => ({
      range,
      count: list.length,
      samples: list
        .slice()
        .sort((a, b) => sampleKey(f, a.item) - sampleKey(f, b.item) || a.item - b.item)
        .slice(0, perRange)
        .sort((a, b) => b.value - a.value || a.item - b.item),
    }));
}

function gotRows(acc: FeatureAccumulator, f: number): BruteRow[] {
  const rs = acc.ranges!;
  const out: BruteRow[] = [];
  const entries = rs.entries(f);
  for (let r = rs.spec.ranges - 1; r >= 0; r--) {
    const count = rs.counts[f * rs.spec.ranges + r]!;
    if (count === 0) continue;
    out.push({ range: r, count, samples: entries.filter((e) => e.range === r).map((e) => ({ item: e.item, value: e.value, map: Array.from(decodePatchMap(e.map, rs.patches)) })) });
  }
  return out;
}

describe('range samples', () => {
  const items = 300;
  const patches = 5;
  const features = 10;

  it('the edges are the half decades 1e-4 … 1e4, and values on an edge belong to the range above', () => {
    const edges = rangeEdges(DEFAULT_RANGES);
    expect(edges.length).toBe(17);
    expect(edges[8]).toBe(1);
    expect(edges[9]).toBeCloseTo(3.16227766, 7);
    for (let r = 0; r < 16; r++) {
      expect(rangeIndex(DEFAULT_RANGES, edges, edges[r]!)).toBe(r);
      if (r > 0) expect(rangeIndex(DEFAULT_RANGES, edges, edges[r]! * (1 - 1e-15))).toBe(r - 1);
    }
    expect(rangeIndex(DEFAULT_RANGES, edges, 1e-9)).toBe(0);
    expect(rangeIndex(DEFAULT_RANGES, edges, 1e9)).toBe(15);
    expect(rangeIndex(DEFAULT_RANGES, edges, 0.99)).toBe(7);
    expect(rangeIndex(DEFAULT_RANGES, edges, 3.2)).toBe(9);
  });

  it('images: counts and samples per range match the brute force', () => {
    const dense = makeDense(items, patches + 1, features, 17); // row 0 of each item is CLS
    const acc = new FeatureAccumulator(features, patches, 3, DEFAULT_HISTOGRAM);
    for (let start = 0; start < items; start += 13) {
      const batch = dense.slice(start, start + 13);
      const codes = toCsr(batch.flat());
      batch.forEach((_, j) => acc.addItem(start + j, codes, j * (patches + 1), true));
    }
    let fullRanges = 0;
    let rangesSeen = 0;
    for (let f = 0; f < features; f++) {
      const expected = bruteSamples(dense, f, 4, (rows) => rows.slice(1));
      const got = gotRows(acc, f);
      expect(got.map((r) => [r.range, r.count])).toEqual(expected.map((r) => [r.range, r.count]));
      got.forEach((row, i) => {
        const want = expected[i]!.samples;
        expect(row.samples.map((s) => s.item)).toEqual(want.map((s) => s.item));
        row.samples.forEach((s, j) => {
          expect(s.value).toBe(want[j]!.value);
          expectPatchMap(s.map, want[j]!.map, `feature ${f} range ${row.range} sample ${j}`);
        });
        if (row.count > 4) fullRanges++;
      });
      rangesSeen += got.length;
      // Every positive item is counted exactly once.
      const positive = dense.filter((rows) => rows.slice(1).some((row) => row[f]! > 0)).length;
      expect(got.reduce((a, r) => a + r.count, 0)).toBe(positive);
    }
    // The data spans several ranges per feature and most of them overflow their 4 slots.
    expect(rangesSeen).toBeGreaterThan(features * 5);
    expect(fullRanges).toBeGreaterThan(features * 4);
  });

  it('clips: the value is the max over frames and patches, the map the per-patch max over frames', () => {
    const frames = 3;
    const clips = 120;
    // Per clip, frames × patches rows (no CLS).
    const dense = makeDense(clips, frames * patches, features, 23);
    const acc = new FeatureAccumulator(features, patches, 2, DEFAULT_HISTOGRAM);
    dense.forEach((rows, item) => acc.addClip(item, toCsr(rows), 0, frames, false));
    const perPatchMax = (rows: number[][]) =>
      Array.from({ length: patches }, (_, p) => Array.from({ length: features }, (_, f) => Math.max(...Array.from({ length: frames }, (_, t) => rows[t * patches + p]![f]!))));
    for (let f = 0; f < features; f++) {
      const expected = bruteSamples(dense, f, 4, perPatchMax);
      const got = gotRows(acc, f);
      expect(got.map((r) => [r.range, r.count, r.samples.map((s) => s.item)])).toEqual(expected.map((r) => [r.range, r.count, r.samples.map((s) => s.item)]));
      got.forEach((row, i) => row.samples.forEach((s, j) => expectPatchMap(s.map, expected[i]!.samples[j]!.map, `feature ${f} sample ${j}`)));
    }
  });

  it('is mergeable: two shards\' samples, merged by smallest key, equal the single pass', () => {
    const dense = makeDense(items, patches, features, 29);
    const run = (from: number, to: number) => {
      const acc = new FeatureAccumulator(features, patches, 2, DEFAULT_HISTOGRAM);
      for (let i = from; i < to; i++) acc.addItem(i, toCsr(dense[i]!), 0, false);
      return acc;
    };
    const whole = run(0, items);
    const a = run(0, 140);
    const b = run(140, items);
    for (let f = 0; f < features; f++) {
      const merged = [...a.ranges!.entries(f), ...b.ranges!.entries(f)];
      for (let r = 0; r < 16; r++) {
        const keep = merged
          .filter((e) => e.range === r)
          .sort((x, y) => sampleKey(f, x.item) - sampleKey(f, y.item) || x.item - y.item)
          .slice(0, 4)
          .map((e) => e.item)
          .sort((x, y) => x - y);
        const want = whole.ranges!.entries(f).filter((e) => e.range === r).map((e) => e.item).sort((x, y) => x - y);
        expect(keep).toEqual(want);
        const cell = f * 16 + r;
        expect(a.ranges!.counts[cell]! + b.ranges!.counts[cell]!).toBe(whole.ranges!.counts[cell]);
      }
    }
  });

  it('a custom spec (fewer, wider ranges; 2 per range) follows the same rule', () => {
    const spec: RangeSpec = { log10Min: -2, log10Max: 2, ranges: 4, perRange: 2 };
    const dense = makeDense(80, patches, features, 31);
    const acc = new FeatureAccumulator(features, patches, 2, DEFAULT_HISTOGRAM, spec);
    dense.forEach((rows, item) => acc.addItem(item, toCsr(rows), 0, false));
    for (let f = 0; f < features; f++) {
      const byRange = new Map<number, number[]>();
      dense.forEach((rows, item) => {
        const v = Math.max(...rows.map((row) => row[f]!));
        if (v <= 0) return;
        const r = v >= 10 ? 3 : v >= 1 ? 2 : v >= 0.1 ? 1 : 0;
        byRange.set(r, [...(byRange.get(r) ?? []), item]);
      });
      for (let r = 0; r < 4; r++) {
        const all = byRange.get(r) ?? [];
        expect(acc.ranges!.counts[f * 4 + r]).toBe(all.length);
        const want = all.sort((x, y) => sampleKey(f, x) - sampleKey(f, y) || x - y).slice(0, 2).sort((x, y) => x - y);
        expect(acc.ranges!.entries(f).filter((e) => e.range === r).map((e) => e.item).sort((x, y) => x - y)).toEqual(want);
      }
    }
  });

  it('sampleKey spreads items: each of 16 buckets gets 1/16 ± 20% of 16000 keys', () => {
    const buckets = new Array(16).fill(0);
    for (let item = 0; item < 16000; item++) buckets[sampleKey(7, item) >>> 28]++;
    for (const b of buckets) expect(Math.abs(b - 1000)).toBeLessThan(200);
  });
});

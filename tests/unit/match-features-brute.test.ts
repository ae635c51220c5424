// matchFeatures against a brute force on dense matrices: Pearson correlation of every pair over
// the common items (absent = 0), co-activation counts, lift on exemplars, mutual pairs. The tables
// pair items by path in different orders, with items on one side only and ids that are not rows.
import { describe, expect, it } from 'vitest';
import { matchFeatures, type SparseItemTable } from '../../src-main/core/analysis/matchFeatures.js';
import { mulberry32 } from '../../src-main/core/util/prng.js';

const DA = 30;
const DB = 40;
const ITEMS = 160;

/** dense[item][feature] for the common items, and a sparse table holding them (plus extras) in `order`. */
function side(random: () => number, d: number, order: number[], extra: string[], idBase: number) {
  const dense = Array.from({ length: ITEMS }, () => new Float64Array(d));
  const rows: [string, number, [number, number][]][] = [];
  for (const i of order) {
    const feats: [number, number][] = [];
    for (let f = 0; f < d; f++) {
      // Features fire on a third of the items, some features share a latent with the other side.
      if (random() < 0.33) feats.push([f, Math.fround(0.1 + random() * 3)]);
    }
    random() < 0.5 && feats.reverse(); // row order is not feature order in item_acts
    for (const [f, v] of feats) dense[i]![f] = v;
    rows.push([`img/${i}.jpg`, idBase + i * 2, feats]);
  }
  // Items on this side only come first, so that common item c is not row c.
  extra.forEach((p, k) => rows.unshift([p, idBase + 10_001 + k, [[0, 1]]]));
  const rowPtr = new Int32Array(rows.length + 1);
  const feat: number[] = [];
  const val: number[] = [];
  rows.forEach(([, , fs], r) => {
    for (const [f, v] of fs) {
      feat.push(f);
      val.push(v);
    }
    rowPtr[r + 1] = feat.length;
  });
  const table: SparseItemTable = {
    paths: rows.map((r) => r[0]),
    itemIds: Int32Array.from(rows.map((r) => r[1])),
    rowPtr,
    feat: Int32Array.from(feat),
    val: Float32Array.from(val),
    features: d,
  };
  return { dense, table, idOf: (i: number) => idBase + i * 2 };
}

function pearson(x: number[], y: number[]): number {
  const n = x.length;
  const mx = x.reduce((s, v) => s + v, 0) / n;
  const my = y.reduce((s, v) => s + v, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += x[i]! * y[i]!;
    sxx += x[i]! * x[i]!;
    syy += y[i]! * y[i]!;
  }
  const sd = Math.sqrt(Math.max(0, sxx / n - mx * mx)) * Math.sqrt(Math.max(0, syy / n - my * my));
  return sd > 0 ? (sxy / n - mx * my) / sd : 0;
}

describe('matchFeatures against brute force', () => {
  it('lists, for every feature both ways, the co-active partners of highest correlation, with counts and lift', () => {
    const random = mulberry32(42);
    const shuffled = () => Array.from({ length: ITEMS }, (_, i) => i).sort(() => random() - 0.5);
    const orderA = shuffled();
    const orderB = shuffled();
    const a = side(random, DA, orderA, ['only-a/1.jpg', 'only-a/2.jpg'], 0);
    const b = side(random, DB, orderB, ['only-b/1.jpg'], 5);
    const exemplars = (s: typeof a) => (f: number) => Int32Array.from([...Array.from({ length: 6 }, (_, k) => s.idOf((f * 11 + k * 17) % ITEMS)), -3, 999_999]);
    const m = 4;
    const r = matchFeatures(a.table, b.table, { perFeature: m, exemplarsA: exemplars(a), exemplarsB: exemplars(b) });
    expect([r.itemsCommon, r.itemsOnlyA, r.itemsOnlyB]).toEqual([ITEMS, 2, 1]);

    const col = (s: typeof a, f: number) => s.dense.map((row) => row[f]!);
    const mean = (x: number[]) => x.reduce((s, v) => s + v, 0) / x.length;
    let pairs = 0;
    for (let i = 0; i < ITEMS; i++) pairs += a.dense[i]!.filter((v) => v > 0).length * b.dense[i]!.filter((v) => v > 0).length;
    expect(r.coActivePairs).toBe(pairs);

    const check = (from: typeof a, to: typeof a, dFrom: number, dTo: number, list: typeof r.aToB, ex: (f: number) => Int32Array) => {
      let listed = 0;
      for (let f = 0; f < dFrom; f++) {
        const x = col(from, f);
        const expected = Array.from({ length: dTo }, (_, o) => {
          const y = col(to, o);
          const co = x.filter((v, i) => v > 0 && y[i]! > 0).length;
          return { o, co, score: pearson(x, y) };
        })
          .filter((e) => e.co > 0)
          .sort((p, q) => q.score - p.score)
          .slice(0, m);
        const exItems = [...ex(f)].map((id) => from.dense.findIndex((_, i) => from.idOf(i) === id)).filter((i) => i >= 0);
        expected.forEach((e, k) => {
          expect(list.other[f * m + k]).toBe(e.o);
          expect(list.score[f * m + k]).toBeCloseTo(e.score, 5);
          expect(list.co[f * m + k]).toBe(e.co);
          const y = col(to, e.o);
          const lift = mean(exItems.map((i) => y[i]!)) / mean(y);
          expect(list.lift[f * m + k]).toBeCloseTo(lift, 4);
          listed++;
        });
        for (let k = expected.length; k < m; k++) expect(list.other[f * m + k]).toBe(-1);
      }
      return listed;
    };
    expect(check(a, b, DA, DB, r.aToB, exemplars(a))).toBeGreaterThan(DA * 2);
    expect(check(b, a, DB, DA, r.bToA, exemplars(b))).toBeGreaterThan(DB * 2);
    const mutual = Array.from({ length: DA }, (_, f) => f)
      .filter((f) => r.bToA.other[r.aToB.other[f * m]! * m] === f)
      .map((f) => ({ a: f, b: r.aToB.other[f * m]!, score: r.aToB.score[f * m]! }))
      .sort((p, q) => q.score - p.score);
    expect(r.mutual).toEqual(mutual);
    expect(r.liveA).toBe(DA);
  });
});

// Cross-model feature matching over per-item sparse activations.
//
// Each index keeps, per item, its 64 strongest features by max over patches (item_acts). Two
// indexes of the same dataset are paired item by item on the relative path. A feature's
// per-item activation is its max over patches; the score of a pair (a, b) is the Pearson
// correlation of those activations across the common items.
//
// Approximation (stated in the UI and README): a feature absent from an item's top 64 counts as 0
// on that item. For a TopK SAE with k <= 64 per patch this is nearly exact for strong features;
// the weakest activations of busy items are dropped.
//
// Cost: correlation needs S_ab = sum_i a_i b_i, which is non-zero only over items where both
// are present. We invert A's rows into per-feature posting lists and, for each feature a, walk
// its items and B's row on each item, accumulating into a stamped scratch of B's width. Work is
// exactly the number of co-active (item, a, b) triples; memory is the two sparse tables plus
// O(features) scratch. Pairs that never co-occur have S_ab = 0, so their correlation is
// -mean_a mean_b / (sd_a sd_b) <= 0: they can never beat a positive match and are not listed.

export interface SparseItemTable {
  /** Relative path of each row (item identity across indexes). */
  paths: string[];
  /** Item id of each row in its own index. */
  itemIds: Int32Array;
  /** rows + 1 offsets into feat/val. */
  rowPtr: Int32Array;
  feat: Int32Array;
  val: Float32Array;
  /** Width of the SAE (feature ids are < features). */
  features: number;
}

export interface MatchOptions {
  /** Matches kept per feature and direction. */
  perFeature?: number;
  /** Exemplar item ids of each feature (its top-k items), for lift; null to skip lift. */
  exemplarsA?: (feature: number) => Int32Array | null;
  exemplarsB?: (feature: number) => Int32Array | null;
  /** Called now and then while walking A's features (done of total). */
  onProgress?: (done: number, total: number) => void;
}

export interface MatchList {
  /** [features * perFeature]: other feature, -1 for an empty slot; best first. */
  other: Int32Array;
  score: Float32Array;
  lift: Float32Array;
  co: Int32Array;
}

export interface MatchResult {
  itemsCommon: number;
  itemsOnlyA: number;
  itemsOnlyB: number;
  examplesOnlyA: string[];
  examplesOnlyB: string[];
  coActivePairs: number;
  perFeature: number;
  liveA: number;
  liveB: number;
  /** Best matches of each A feature in B, and of each B feature in A. */
  aToB: MatchList;
  bToA: MatchList;
  /** Mutual best pairs [a, b, score], best score first. */
  mutual: { a: number; b: number; score: number }[];
  /** Per-feature mean over the common items (absent = 0), for lift of any pair later. */
  meansA: Float32Array;
  meansB: Float32Array;
}

function emptyList(features: number, m: number): MatchList {
  return {
    other: new Int32Array(features * m).fill(-1),
    score: new Float32Array(features * m).fill(-Infinity),
    lift: new Float32Array(features * m),
    co: new Int32Array(features * m),
  };
}

/** Offers (other, score, co) to row f's sorted top-m; returns nothing. */
function offer(list: MatchList, m: number, f: number, other: number, score: number, co: number): void {
  const base = f * m;
  if (!(score > list.score[base + m - 1]!)) return;
  let p = base + m - 1;
  while (p > base && score > list.score[p - 1]!) {
    list.other[p] = list.other[p - 1]!;
    list.score[p] = list.score[p - 1]!;
    list.co[p] = list.co[p - 1]!;
    p--;
  }
  list.other[p] = other;
  list.score[p] = score;
  list.co[p] = co;
}

interface Moments {
  mean: Float64Array;
  sd: Float64Array;
  count: Int32Array;
}

/** A table seen through the common items: common item c is row rows[c] of the table (no copy). */
interface CommonView {
  rowPtr: Int32Array;
  feat: Int32Array;
  val: Float32Array;
  rows: Int32Array;
}

function moments(v: CommonView, features: number, n: number): Moments {
  const sum = new Float64Array(features);
  const sq = new Float64Array(features);
  const count = new Int32Array(features);
  for (let c = 0; c < v.rows.length; c++) {
    const r = v.rows[c]!;
    for (let e = v.rowPtr[r]!; e < v.rowPtr[r + 1]!; e++) {
      const f = v.feat[e]!;
      const x = v.val[e]!;
      sum[f]! += x;
      sq[f]! += x * x;
      count[f]!++;
    }
  }
  const mean = new Float64Array(features);
  const sd = new Float64Array(features);
  for (let f = 0; f < features; f++) {
    const m = sum[f]! / n;
    mean[f] = m;
    sd[f] = Math.sqrt(Math.max(0, sq[f]! / n - m * m));
  }
  return { mean, sd, count };
}

/** item id -> common index (-1: not common), as a flat array: ids are the dense row ids of items. */
function commonOfItems(itemIds: Int32Array, rows: Int32Array): Int32Array {
  let max = -1;
  for (const id of itemIds) if (id > max) max = id;
  const out = new Int32Array(max + 1).fill(-1);
  rows.forEach((r, c) => (out[itemIds[r]!] = c));
  return out;
}

/** Pairs the two tables' rows by path, in A's order; the tables themselves are not copied. */
function commonRows(A: SparseItemTable, B: SparseItemTable) {
  const bRow = new Map<string, number>();
  B.paths.forEach((p, i) => bRow.set(p, i));
  const rowA = new Int32Array(A.paths.length);
  const rowB = new Int32Array(A.paths.length);
  let n = 0;
  const onlyA: string[] = [];
  let nOnlyA = 0;
  for (let i = 0; i < A.paths.length; i++) {
    const j = bRow.get(A.paths[i]!);
    if (j === undefined) {
      if (onlyA.length < 5) onlyA.push(A.paths[i]!);
      nOnlyA++;
    } else {
      rowA[n] = i;
      rowB[n++] = j;
      bRow.delete(A.paths[i]!);
    }
  }
  const onlyB = [...bRow.keys()];
  const view = (T: SparseItemTable, rows: Int32Array): CommonView => ({ rowPtr: T.rowPtr, feat: T.feat, val: T.val, rows });
  const a = view(A, rowA.slice(0, n));
  const b = view(B, rowB.slice(0, n));
  return {
    n,
    a: { ...a, commonOfItem: commonOfItems(A.itemIds, a.rows) },
    b: { ...b, commonOfItem: commonOfItems(B.itemIds, b.rows) },
    onlyA: { count: nOnlyA, examples: onlyA },
    onlyB: { count: onlyB.length, examples: onlyB.slice(0, 5) },
  };
}

/** Transposes the common rows (items) into per-feature posting lists (common item, value). */
function postings(v: CommonView, features: number) {
  const ptr = new Int32Array(features + 1);
  let nnz = 0;
  for (const r of v.rows) {
    for (let e = v.rowPtr[r]!; e < v.rowPtr[r + 1]!; e++) ptr[v.feat[e]! + 1]!++;
    nnz += v.rowPtr[r + 1]! - v.rowPtr[r]!;
  }
  for (let f = 0; f < features; f++) ptr[f + 1]! += ptr[f]!;
  const fill = ptr.slice(0, features);
  const item = new Int32Array(nnz);
  const value = new Float32Array(nnz);
  for (let c = 0; c < v.rows.length; c++) {
    const r = v.rows[c]!;
    for (let e = v.rowPtr[r]!; e < v.rowPtr[r + 1]!; e++) {
      const p = fill[v.feat[e]!]!++;
      item[p] = c;
      value[p] = v.val[e]!;
    }
  }
  return { ptr, item, value };
}

/**
 * Matches every feature of A against B and vice versa. Throws when fewer than two items are
 * common (correlation is undefined).
 */
export function matchFeatures(A: SparseItemTable, B: SparseItemTable, options: MatchOptions = {}): MatchResult {
  const m = options.perFeature ?? 10;
  const common = commonRows(A, B);
  const n = common.n;
  const dA = A.features;
  const dB = B.features;
  const aToB = emptyList(dA, m);
  const bToA = emptyList(dB, m);
  const result: MatchResult = {
    itemsCommon: n,
    itemsOnlyA: common.onlyA.count,
    itemsOnlyB: common.onlyB.count,
    examplesOnlyA: common.onlyA.examples,
    examplesOnlyB: common.onlyB.examples,
    coActivePairs: 0,
    perFeature: m,
    liveA: 0,
    liveB: 0,
    aToB,
    bToA,
    mutual: [],
    meansA: new Float32Array(dA),
    meansB: new Float32Array(dB),
  };
  if (n < 2) return result;
  const mA = moments(common.a, dA, n);
  const mB = moments(common.b, dB, n);
  result.meansA = Float32Array.from(mA.mean);
  result.meansB = Float32Array.from(mB.mean);
  for (let f = 0; f < dA; f++) if (mA.count[f]! > 0) result.liveA++;
  for (let f = 0; f < dB; f++) if (mB.count[f]! > 0) result.liveB++;

  const post = postings(common.a, dA);
  const bPtr = common.b.rowPtr;
  const bRows = common.b.rows;
  const bFeat = common.b.feat;
  const bVal = common.b.val;
  const stamp = new Int32Array(dB).fill(-1);
  const sab = new Float64Array(dB);
  const cnt = new Int32Array(dB);
  const touched = new Int32Array(dB);
  let pairsTotal = 0;
  const progressEvery = Math.max(1, Math.floor(dA / 100));
  for (let a = 0; a < dA; a++) {
    if (options.onProgress && a % progressEvery === 0) options.onProgress(a, dA);
    const p0 = post.ptr[a]!;
    const p1 = post.ptr[a + 1]!;
    if (p0 === p1) continue;
    let nt = 0;
    for (let p = p0; p < p1; p++) {
      const row = bRows[post.item[p]!]!;
      const va = post.value[p]!;
      const e0 = bPtr[row]!;
      const e1 = bPtr[row + 1]!;
      for (let e = e0; e < e1; e++) {
        const b = bFeat[e]!;
        if (stamp[b] !== a) {
          stamp[b] = a;
          sab[b] = 0;
          cnt[b] = 0;
          touched[nt++] = b;
        }
        sab[b]! += va * bVal[e]!;
        cnt[b]!++;
      }
      pairsTotal += e1 - e0;
    }
    const meanA = mA.mean[a]!;
    const sdA = mA.sd[a]!;
    for (let t = 0; t < nt; t++) {
      const b = touched[t]!;
      const denom = sdA * mB.sd[b]!;
      const score = denom > 0 ? (sab[b]! / n - meanA * mB.mean[b]!) / denom : 0;
      offer(aToB, m, a, b, score, cnt[b]!);
      offer(bToA, m, b, a, score, cnt[b]!);
    }
  }
  result.coActivePairs = pairsTotal;

  // Lift: mean of the other feature on this feature's exemplars (common ones) over its mean.
  const valueOn = (v: CommonView, c: number, f: number): number => {
    const r = v.rows[c]!;
    for (let e = v.rowPtr[r]!; e < v.rowPtr[r + 1]!; e++) if (v.feat[e] === f) return v.val[e]!;
    return 0;
  };
  const fillLift = (
    list: MatchList,
    features: number,
    exemplars: ((f: number) => Int32Array | null) | undefined,
    commonOfItem: Int32Array,
    other: CommonView,
    otherMoments: Moments,
  ) => {
    if (!exemplars) return;
    for (let f = 0; f < features; f++) {
      if (list.other[f * m] === -1) continue;
      const ex = exemplars(f);
      if (!ex) continue;
      const rows: number[] = [];
      for (const it of ex) {
        const c = it >= 0 && it < commonOfItem.length ? commonOfItem[it]! : -1;
        if (c >= 0) rows.push(c);
      }
      if (rows.length === 0) continue;
      for (let r = 0; r < m; r++) {
        const o = list.other[f * m + r]!;
        if (o < 0) break;
        let s = 0;
        for (const c of rows) s += valueOn(other, c, o);
        const base = otherMoments.mean[o]!;
        list.lift[f * m + r] = base > 0 ? s / rows.length / base : 0;
      }
    }
  };
  fillLift(aToB, dA, options.exemplarsA, common.a.commonOfItem, common.b, mB);
  fillLift(bToA, dB, options.exemplarsB, common.b.commonOfItem, common.a, mA);

  for (let a = 0; a < dA; a++) {
    const b = aToB.other[a * m]!;
    if (b >= 0 && bToA.other[b * m] === a) result.mutual.push({ a, b, score: aToB.score[a * m]! });
  }
  result.mutual.sort((x, y) => y.score - x.score);
  return result;
}

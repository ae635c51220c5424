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
// are present. For each feature a we walk the items it fires on (its posting list) and B's row
// on each, accumulating into a stamped scratch of B's width. Work is exactly the number of
// co-active (item, a, b) triples. Pairs that never co-occur have S_ab = 0, so their correlation
// is -mean_a mean_b / (sd_a sd_b) <= 0: they can never beat a positive match and are not listed.
//
// Memory: the items are not held. They are visited in passes (PairedItems: streamed from the two
// databases, or tables already in memory), and A's features are taken in blocks whose postings
// and B rows fit a working budget (matchBlocks.ts), so the number of passes adapts to it:
//   1. moments of every feature, the co-active work of each A feature, and the first block's size;
//   2. one pass per block: its postings and the B rows they point to (or dense accumulators for
//      busy features), then its pairs scored; the same pass sizes the next block;
//   3. lift, over the exemplar items of the features listed.
// Besides the budget, memory is O(features x per-feature) (lists, moments, lift sums) plus the
// exemplar lists (features x top-k). Every sum runs in the order one pass over all items would
// take (items in A's order, rows as stored, features ascending), so the budget changes the time,
// never the result: the same scores to the bit, the same ties, the same lists.

import {
  arenaBytes,
  blockViews,
  effectiveBudget,
  denseWhenAlone,
  FirstFeatureCounts,
  mustBeDense,
  planBlock,
  ROW_BYTES,
} from './matchBlocks.js';
import { exemplarIndex, LiftSums } from './matchLift.js';

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
  /** Working memory of a pass, in bytes (matchBlocks.ts); unbounded (one block) when left out. */
  memoryBudgetBytes?: number;
  /**
   * Called now and then: 'reading' during the first pass (done of the common items), 'matching'
   * during the block passes (A features matched, done of all) and the lift pass.
   */
  onProgress?: (phase: 'reading' | 'matching', done: number, total: number) => void;
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
  /** Passes over the common items (moments, one per block of A features, lift). */
  passes: number;
  /** Blocks of A features the pairs were accumulated in. */
  blocks: number;
  /** A features accumulated densely (the others through postings). */
  denseFeatures: number;
  /** Bytes of the block arena: the working memory of a pass, within the budget. */
  workingBytes: number;
}

/** One common item: its id in each index and its row in each (entries [a0, a1) of aFeat/aVal, likewise b). */
export interface PairedRow {
  idA: number;
  idB: number;
  aFeat: Int32Array;
  aVal: Float32Array;
  a0: number;
  a1: number;
  bFeat: Int32Array;
  bVal: Float32Array;
  b0: number;
  b1: number;
}

export interface Unpaired {
  count: number;
  /** Up to five paths, in that index's item order. */
  examples: string[];
}

/** The items two indexes share (paired by relative path), which a match visits once per pass. */
export interface PairedItems {
  common: number;
  onlyA: Unpaired;
  onlyB: Unpaired;
  /** Visits every common item in A's item order, the same on every call; `row` is reused. */
  forEach(visit: (row: PairedRow) => void): void;
}

export function pairedRow(): PairedRow {
  return { idA: 0, idB: 0, aFeat: new Int32Array(0), aVal: new Float32Array(0), a0: 0, a1: 0, bFeat: new Int32Array(0), bVal: new Float32Array(0), b0: 0, b1: 0 };
}

/** Pairs two tables in memory by path, in A's row order (no copy of the tables). */
function pairTables(A: SparseItemTable, B: SparseItemTable): PairedItems {
  const bRow = new Map<string, number>();
  B.paths.forEach((p, i) => bRow.set(p, i));
  const rowA: number[] = [];
  const rowB: number[] = [];
  const onlyA: Unpaired = { count: 0, examples: [] };
  A.paths.forEach((p, i) => {
    const j = bRow.get(p);
    if (j === undefined) {
      if (onlyA.examples.length < 5) onlyA.examples.push(p);
      onlyA.count++;
    } else {
      rowA.push(i);
      rowB.push(j);
      bRow.delete(p);
    }
  });
  const onlyB = [...bRow.keys()];
  const row = { ...pairedRow(), aFeat: A.feat, aVal: A.val, bFeat: B.feat, bVal: B.val };
  return {
    common: rowA.length,
    onlyA,
    onlyB: { count: onlyB.length, examples: onlyB.slice(0, 5) },
    forEach(visit) {
      for (let c = 0; c < rowA.length; c++) {
        const ra = rowA[c]!;
        const rb = rowB[c]!;
        row.idA = A.itemIds[ra]!;
        row.idB = B.itemIds[rb]!;
        row.a0 = A.rowPtr[ra]!;
        row.a1 = A.rowPtr[ra + 1]!;
        row.b0 = B.rowPtr[rb]!;
        row.b1 = B.rowPtr[rb + 1]!;
        visit(row);
      }
    },
  };
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

class MomentSums {
  readonly sum: Float64Array;
  readonly sq: Float64Array;
  readonly count: Int32Array;
  constructor(features: number) {
    this.sum = new Float64Array(features);
    this.sq = new Float64Array(features);
    this.count = new Int32Array(features);
  }
  add(feat: Int32Array, val: Float32Array, e0: number, e1: number): void {
    for (let e = e0; e < e1; e++) {
      const f = feat[e]!;
      const x = val[e]!;
      this.sum[f]! += x;
      this.sq[f]! += x * x;
      this.count[f]!++;
    }
  }
  moments(n: number): Moments {
    const features = this.sum.length;
    const mean = new Float64Array(features);
    const sd = new Float64Array(features);
    for (let f = 0; f < features; f++) {
      const m = this.sum[f]! / n;
      mean[f] = m;
      sd[f] = Math.sqrt(Math.max(0, this.sq[f]! / n - m * m));
    }
    return { mean, sd, count: this.count };
  }
}

/** Thrown when a pass sees other items than the first one did: an index changed during the match. */
function changedDuringMatch(detail: string): Error {
  return new Error(`the indexes changed while they were matched (${detail}); run the match again`);
}

function samePass(visited: number, n: number): void {
  if (visited !== n) throw changedDuringMatch(`${visited} common items in a pass, ${n} in the first`);
}

/**
 * Matches every feature of A against B and vice versa over the items they share, in passes
 * that hold at most `memoryBudgetBytes` (plus the per-feature state) whatever the item count.
 * Returns empty lists when fewer than two items are common (correlation is undefined).
 */
export function matchPairedItems(items: PairedItems, dA: number, dB: number, options: MatchOptions = {}): MatchResult {
  const m = options.perFeature ?? 10;
  const n = items.common;
  const aToB = emptyList(dA, m);
  const bToA = emptyList(dB, m);
  const result: MatchResult = {
    itemsCommon: n,
    itemsOnlyA: items.onlyA.count,
    itemsOnlyB: items.onlyB.count,
    examplesOnlyA: items.onlyA.examples,
    examplesOnlyB: items.onlyB.examples,
    coActivePairs: 0,
    perFeature: m,
    liveA: 0,
    liveB: 0,
    aToB,
    bToA,
    mutual: [],
    meansA: new Float32Array(dA),
    meansB: new Float32Array(dB),
    passes: 0,
    blocks: 0,
    denseFeatures: 0,
    workingBytes: 0,
  };
  if (n < 2) return result;
  const progress = options.onProgress ?? (() => {});
  const every = 4096;
  const budget = effectiveBudget(options.memoryBudgetBytes ?? Infinity, dB);

  // Pass 1: moments, the B entries each A feature meets (its share of the work), and the sizes
  // of the first block (items counted by their first feature).
  const sumsA = new MomentSums(dA);
  const sumsB = new MomentSums(dB);
  const coEntries = new Float64Array(dA);
  const first = new FirstFeatureCounts(dA);
  let visited = 0;
  let pairsTotal = 0;
  items.forEach((r) => {
    if (visited % every === 0) progress('reading', visited, n);
    visited++;
    sumsA.add(r.aFeat, r.aVal, r.a0, r.a1);
    sumsB.add(r.bFeat, r.bVal, r.b0, r.b1);
    const bn = r.b1 - r.b0;
    let lowest = dA;
    for (let e = r.a0; e < r.a1; e++) {
      const a = r.aFeat[e]!;
      coEntries[a]! += bn;
      if (a < lowest) lowest = a;
    }
    if (lowest < dA) {
      first.items[lowest]!++;
      first.entries[lowest]! += bn;
    }
    pairsTotal += (r.a1 - r.a0) * bn;
  });
  samePass(visited, n);
  result.passes = 1;
  result.coActivePairs = pairsTotal;
  const mA = sumsA.moments(n);
  const mB = sumsB.moments(n);
  result.meansA = Float32Array.from(mA.mean);
  result.meansB = Float32Array.from(mB.mean);
  for (let f = 0; f < dA; f++) if (mA.count[f]! > 0) result.liveA++;
  for (let f = 0; f < dB; f++) if (mB.count[f]! > 0) result.liveB++;

  // Two ways to take features (matchBlocks.ts): with postings unless they must be dense (wide
  // blocks, where features share their items' rows: budgets near what the items need), or dense
  // wherever a row is cheaper than postings and rows shared with nobody (narrow blocks: small
  // budgets). Each block goes the way that reaches further; each pass counts items for both.
  const ways = [new Uint8Array(dA), new Uint8Array(dA)] as const;
  for (let a = 0; a < dA; a++) {
    const count = mA.count[a]!;
    const must = count > 0 && mustBeDense(count, coEntries[a]!, dB, budget);
    ways[0][a] = must ? 1 : 0;
    ways[1][a] = must || (count > 0 && denseWhenAlone(count, coEntries[a]!, dB)) ? 1 : 0;
  }
  const firsts = [first, new FirstFeatureCounts(dA)] as const;
  firsts[1].copyFrom(first);

  // Per A feature in the current block: dense slot (-1: postings), and the postings' range.
  const slot = new Int32Array(dA).fill(-1);
  const postStart = new Int32Array(dA);
  const postEnd = new Int32Array(dA);
  // The stamped scratch of B's width that postings are scored through, one A feature at a time.
  const stamp = new Int32Array(dB).fill(-1);
  const sab = new Float64Array(dB);
  const cnt = new Int32Array(dB);
  const touched = new Int32Array(dB);

  const scoreFeature = (a: number, order: Int32Array, t0: number, nt: number, sums: Float64Array, counts: Int32Array, base: number) => {
    const meanA = mA.mean[a]!;
    const sdA = mA.sd[a]!;
    for (let t = t0; t < t0 + nt; t++) {
      const b = order[t]!;
      const denom = sdA * mB.sd[b]!;
      const score = denom > 0 ? (sums[base + b]! / n - meanA * mB.mean[b]!) / denom : 0;
      offer(aToB, m, a, b, score, counts[base + b]!);
      offer(bToA, m, b, a, score, counts[base + b]!);
    }
  };

  // One arena for every block: no block needs more than the budget, nor more than all features
  // in one block would (planned from the same counts, items by their first feature overall).
  const whole = Math.max(...ways.map((dense, w) => arenaBytes(planBlock(0, mA.count, dense, firsts[w]!, dB, Infinity), dB)));
  let arena = new ArrayBuffer(Math.min(whole, budget + ROW_BYTES));
  let start = 0;
  while (start < dA) {
    const plans = ways.map((dense, w) => planBlock(start, mA.count, dense, firsts[w]!, dB, budget));
    const way = plans[1]!.end > plans[0]!.end ? 1 : 0;
    const plan = plans[way]!;
    const dense = ways[way];
    result.denseFeatures += plan.dense;
    if (arenaBytes(plan, dB) > arena.byteLength) arena = new ArrayBuffer(arenaBytes(plan, dB)); // not expected: both bounds hold
    result.workingBytes = arena.byteLength;
    const v = blockViews(arena, plan, dB);
    const { end } = plan;
    const denseCount = new Int32Array(plan.dense);
    let slots = 0;
    let posts = 0;
    for (let a = start; a < end; a++) {
      if (dense[a]) slot[a] = slots++;
      else {
        postStart[a] = posts;
        postEnd[a] = posts;
        posts += mA.count[a]!;
      }
    }

    // The block's pass: dense features accumulate at once; the others keep postings into the
    // B rows stored for them. The same pass counts items by their first posting feature from `end` on.
    firsts[0].reset();
    firsts[1].reset();
    let rows = 0;
    let entries = 0;
    v.rowPtr[0] = 0;
    visited = 0;
    items.forEach((r) => {
      if (visited % every === 0) progress('matching', start + ((end - start) * visited) / n, dA);
      visited++;
      const bn = r.b1 - r.b0;
      let stored = -1;
      let next0 = dA;
      let next1 = dA;
      for (let e = r.a0; e < r.a1; e++) {
        const a = r.aFeat[e]!;
        if (a >= end) {
          if (a < next0 && !ways[0][a]) next0 = a;
          if (a < next1 && !ways[1][a]) next1 = a;
          continue;
        }
        if (a < start) continue;
        const va = r.aVal[e]!;
        const s = slot[a]!;
        if (s >= 0) {
          const base = s * dB;
          for (let j = r.b0; j < r.b1; j++) {
            const b = r.bFeat[j]!;
            const k = base + b;
            if (v.cnt[k] === 0) v.touched[base + denseCount[s]!++] = b;
            v.sab[k]! += va * r.bVal[j]!;
            v.cnt[k]!++;
          }
        } else {
          if (stored < 0) {
            if (rows >= plan.rows || entries + bn > plan.entries) throw changedDuringMatch('more rows than the first pass counted');
            for (let j = r.b0; j < r.b1; j++) {
              v.rowFeat[entries] = r.bFeat[j]!;
              v.rowVal[entries++] = r.bVal[j]!;
            }
            v.rowPtr[++rows] = entries;
            stored = rows - 1;
          }
          const p = postEnd[a]!++;
          v.postRow[p] = stored;
          v.postVal[p] = va;
        }
      }
      if (next0 < dA) {
        firsts[0].items[next0]!++;
        firsts[0].entries[next0]! += bn;
      }
      if (next1 < dA) {
        firsts[1].items[next1]!++;
        firsts[1].entries[next1]! += bn;
      }
    });
    samePass(visited, n);
    result.passes++;
    result.blocks++;

    for (let a = start; a < end; a++) {
      if (mA.count[a] === 0) continue;
      const s = slot[a]!;
      if (s >= 0) {
        scoreFeature(a, v.touched, s * dB, denseCount[s]!, v.sab, v.cnt, s * dB);
        slot[a] = -1;
        continue;
      }
      if (postEnd[a]! - postStart[a]! !== mA.count[a]) throw changedDuringMatch(`feature ${a} fired on other items`);
      let nt = 0;
      for (let p = postStart[a]!; p < postEnd[a]!; p++) {
        const row = v.postRow[p]!;
        const va = v.postVal[p]!;
        for (let e = v.rowPtr[row]!; e < v.rowPtr[row + 1]!; e++) {
          const b = v.rowFeat[e]!;
          if (stamp[b] !== a) {
            stamp[b] = a;
            sab[b] = 0;
            cnt[b] = 0;
            touched[nt++] = b;
          }
          sab[b]! += va * v.rowVal[e]!;
          cnt[b]!++;
        }
      }
      scoreFeature(a, touched, 0, nt, sab, cnt, 0);
    }
    start = end;
  }

  // Lift pass: over the common items that are exemplars of a listed feature (on either side).
  const keysA = exemplarIndex(aToB, m, dA, options.exemplarsA);
  const keysB = exemplarIndex(bToA, m, dB, options.exemplarsB);
  if (keysA?.length || keysB?.length) {
    const liftA = keysA && new LiftSums(aToB, m, dA, keysA);
    const liftB = keysB && new LiftSums(bToA, m, dB, keysB);
    visited = 0;
    items.forEach((r) => {
      if (visited % every === 0) progress('matching', dA, dA);
      visited++;
      liftA?.add(r.idA, r.bFeat, r.bVal, r.b0, r.b1);
      liftB?.add(r.idB, r.aFeat, r.aVal, r.a0, r.a1);
    });
    samePass(visited, n);
    result.passes++;
    liftA?.finish(mB.mean);
    liftB?.finish(mA.mean);
  }

  for (let a = 0; a < dA; a++) {
    const b = aToB.other[a * m]!;
    if (b >= 0 && bToA.other[b * m] === a) result.mutual.push({ a, b, score: aToB.score[a * m]! });
  }
  result.mutual.sort((x, y) => y.score - x.score);
  return result;
}

/**
 * Matches two item tables held in memory (pairing them by path): the same computation as a match
 * streamed from the databases, for callers that already have the tables.
 */
export function matchFeatures(A: SparseItemTable, B: SparseItemTable, options: MatchOptions = {}): MatchResult {
  return matchPairedItems(pairTables(A, B), A.features, B.features, options);
}

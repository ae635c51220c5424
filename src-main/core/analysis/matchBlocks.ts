// How matchFeatures cuts the features of A into blocks, one pass over the common items each, so
// that a pass holds no more than a memory budget whatever the number of items.
//
// A block [start, end) of A features holds, for each of its features, either
//   - postings: (stored row, value) for every item the feature fires on (8 B each), plus the B
//     row of every item that at least one of them fires on, stored once per block (4 B per row,
//     8 B per entry); the pairs are then scored feature by feature as a single pass would; or
//   - a dense accumulator of B's width (sum, count, first-touch list: 16 B per B feature), for a
//     feature whose postings alone would cost as much, or whose rows could not fit the budget.
// Which B rows a block stores depends on where it starts: an item is stored by the block holding
// the first of its posting features at or after that start. So each pass also counts, for the
// next start, the items (and their B entries) whose first such feature at or after it is f
// (FirstFeatureCounts), and the next block is sized before its pass begins.
//
// Rows are shared by the features of a block, so postings suit wide blocks (a budget near what
// the items need: one or a few passes). When the budget is far below that, blocks are narrow,
// few rows are shared, and a dense row is cheaper for any feature busier than a few hundred
// items: then the number of blocks is about features x B's features x 16 B / budget, whatever
// the item count. Each block is planned both ways (which features are dense: only those that
// must be, or also those cheaper dense when alone) and goes the way that reaches further.
import { constants } from 'node:buffer';

const POSTING_BYTES = 8;
export const ROW_BYTES = 4;
const ENTRY_BYTES = 8;
const DENSE_BYTES_PER_B_FEATURE = 16;

/**
 * The budget a pass works within, in bytes: the one asked for, but at least one dense
 * accumulator (a block holds at least one feature) and at most the largest ArrayBuffer Node
 * allows (the block lives in one).
 */
export function effectiveBudget(bytes: number, dB: number): number {
  return Math.min(constants.MAX_LENGTH - 64, Math.max(bytes, DENSE_BYTES_PER_B_FEATURE * dB));
}

/** Bytes of a feature's postings and the B rows of all its items, shared with no other feature. */
function aloneBytes(count: number, coEntries: number): number {
  return (POSTING_BYTES + ROW_BYTES) * count + ENTRY_BYTES * coEntries;
}

/**
 * Whether a feature has to be accumulated densely: its postings alone cost what a dense row does,
 * or it could not fit the budget by itself. `coEntries`: B entries over the items it fires on.
 */
export function mustBeDense(count: number, coEntries: number, dB: number, budget: number): boolean {
  return POSTING_BYTES * count >= DENSE_BYTES_PER_B_FEATURE * dB || aloneBytes(count, coEntries) > budget;
}

/**
 * Whether a dense row is cheaper than a feature's postings and rows when no other feature of its
 * block shares its items: the case of narrow blocks (a budget far below what the items need), where
 * the rows of busy features would otherwise take a block each.
 */
export function denseWhenAlone(count: number, coEntries: number, dB: number): boolean {
  return aloneBytes(count, coEntries) >= DENSE_BYTES_PER_B_FEATURE * dB;
}

/** Items (and their B entries) whose first (posting) A feature at or after a start is f, counted in a pass. */
export class FirstFeatureCounts {
  readonly items: Int32Array;
  readonly entries: Float64Array;
  constructor(features: number) {
    this.items = new Int32Array(features);
    this.entries = new Float64Array(features);
  }
  reset(): void {
    this.items.fill(0);
    this.entries.fill(0);
  }
  copyFrom(other: FirstFeatureCounts): void {
    this.items.set(other.items);
    this.entries.set(other.entries);
  }
}

export interface BlockPlan {
  start: number;
  end: number;
  /** Features of the block accumulated densely. */
  dense: number;
  /** Postings of its other features. */
  postings: number;
  /** Upper bounds of the B rows and entries it stores. */
  rows: number;
  entries: number;
  bytes: number;
}

/**
 * Bytes one feature adds to a block starting where `first` was counted from: its accumulator
 * (postings or dense) and the rows of the items counted under it. The first pass counts items
 * under their first feature of any kind (which features are dense is decided after it), so a
 * dense feature may carry rows that a feature after it in the block stores: counting them is an
 * upper bound. Later passes count under the first feature that keeps postings: exact.
 */
function featureBytes(f: number, count: Int32Array, dense: Uint8Array, first: FirstFeatureCounts, dB: number): number {
  const rows = ROW_BYTES * first.items[f]! + ENTRY_BYTES * first.entries[f]!;
  return rows + (dense[f] ? DENSE_BYTES_PER_B_FEATURE * dB : POSTING_BYTES * count[f]!);
}

/** The largest block from `start` that fits `budget` (at least one feature), `first` counted from `start`. */
export function planBlock(start: number, count: Int32Array, dense: Uint8Array, first: FirstFeatureCounts, dB: number, budget: number): BlockPlan {
  const plan: BlockPlan = { start, end: start, dense: 0, postings: 0, rows: 0, entries: 0, bytes: 0 };
  while (plan.end < count.length) {
    const f = plan.end;
    const bytes = featureBytes(f, count, dense, first, dB);
    if (plan.end > start && plan.bytes + bytes > budget) break;
    plan.bytes += bytes;
    if (dense[f]) plan.dense++;
    else plan.postings += count[f]!;
    plan.rows += first.items[f]!;
    plan.entries += first.entries[f]!;
    plan.end++;
  }
  return plan;
}

/** The typed views of one block inside the reused arena (doubles first, for alignment). */
export interface BlockViews {
  /** Dense accumulators, [dense slot * dB + b]. */
  sab: Float64Array;
  cnt: Int32Array;
  /** First-touch order of the B features of each dense slot, [slot * dB + t]. */
  touched: Int32Array;
  /** Postings: index of the stored row, and the A value. */
  postRow: Int32Array;
  postVal: Float32Array;
  /** Stored B rows (CSR). */
  rowPtr: Int32Array;
  rowFeat: Int32Array;
  rowVal: Float32Array;
}

/** Bytes the views of `plan` take in the arena. */
export function arenaBytes(plan: BlockPlan, dB: number): number {
  return DENSE_BYTES_PER_B_FEATURE * plan.dense * dB + POSTING_BYTES * plan.postings + ROW_BYTES * (plan.rows + 1) + ENTRY_BYTES * plan.entries;
}

export function blockViews(arena: ArrayBuffer, plan: BlockPlan, dB: number): BlockViews {
  let at = 0;
  const take = <T>(make: new (b: ArrayBuffer, o: number, n: number) => T, n: number, bytes: number): T => {
    const v = new make(arena, at, n);
    at += n * bytes;
    return v;
  };
  const denseCells = plan.dense * dB;
  const views: BlockViews = {
    sab: take(Float64Array, denseCells, 8),
    cnt: take(Int32Array, denseCells, 4),
    touched: take(Int32Array, denseCells, 4),
    postRow: take(Int32Array, plan.postings, 4),
    postVal: take(Float32Array, plan.postings, 4),
    rowPtr: take(Int32Array, plan.rows + 1, 4),
    rowFeat: take(Int32Array, plan.entries, 4),
    rowVal: take(Float32Array, plan.entries, 4),
  };
  views.sab.fill(0);
  views.cnt.fill(0);
  return views;
}

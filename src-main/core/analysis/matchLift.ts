// Lift of the listed matches: the mean of the other feature on a feature's exemplar items (those
// common to both indexes) over its mean on all common items. Computed in one pass over the common
// items after the lists are final, from the exemplar lists (features x top-k), sorted by item so
// that each item finds the features it is an exemplar of by binary search.
import type { MatchList } from './matchFeatures.js';

/** Exemplar (item, feature) pairs of the features that have matches, sorted by item, for the lift pass. */
export function exemplarIndex(list: MatchList, m: number, features: number, exemplars: ((f: number) => Int32Array | null) | undefined): Float64Array | null {
  if (!exemplars) return null;
  const keys: number[] = [];
  for (let f = 0; f < features; f++) {
    if (list.other[f * m] === -1) continue;
    for (const item of exemplars(f) ?? []) keys.push(item * features + f);
  }
  return Float64Array.from(keys).sort();
}

function lowerBound(keys: Float64Array, key: number): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Lift sums of one direction: per listed (feature, rank), the other feature's values on its common exemplars. */
export class LiftSums {
  readonly sums: Float64Array;
  readonly rows: Int32Array;
  constructor(
    private readonly list: MatchList,
    private readonly m: number,
    private readonly features: number,
    private readonly keys: Float64Array,
  ) {
    this.sums = new Float64Array(features * m);
    this.rows = new Int32Array(features);
  }
  /** Item `id` of this side is common; `feat`/`val` [e0, e1) is the other side's row on it. */
  add(id: number, feat: Int32Array, val: Float32Array, e0: number, e1: number): void {
    const lo = id * this.features;
    for (let k = lowerBound(this.keys, lo); k < this.keys.length && this.keys[k]! < lo + this.features; k++) {
      const f = this.keys[k]! - lo;
      this.rows[f]!++;
      for (let r = 0; r < this.m; r++) {
        const o = this.list.other[f * this.m + r]!;
        if (o < 0) break;
        let v = 0;
        for (let e = e0; e < e1; e++) {
          if (feat[e] === o) {
            v = val[e]!;
            break;
          }
        }
        this.sums[f * this.m + r]! += v;
      }
    }
  }
  /** Lift: mean of the other feature on this feature's common exemplars over its mean. */
  finish(otherMean: Float64Array): void {
    for (let f = 0; f < this.features; f++) {
      const rows = this.rows[f]!;
      if (rows === 0) continue;
      for (let r = 0; r < this.m; r++) {
        const o = this.list.other[f * this.m + r]!;
        if (o < 0) break;
        const base = otherMean[o]!;
        this.list.lift[f * this.m + r] = base > 0 ? this.sums[f * this.m + r]! / rows / base : 0;
      }
    }
  }
}

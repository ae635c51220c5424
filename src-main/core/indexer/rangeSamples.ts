import { PatchMapSlots } from './patchMapSlots.js';

/**
 * Exemplars across activation ranges: besides the top k, a few items sampled from each
 * range of a feature's per-item values (max over patches, over frames too for clips).
 *
 * Why fixed ranges and not quantiles: quantiles of a feature's values are only known once the pass
 * has ended, and a second pass (or keeping every value) is what the single-pass indexer avoids.
 * The ranges are fixed log10 intervals, the histogram's scale coarsened to half decades
 * (1e-4 … 1e4 in 16 ranges: …, 0.32–1.0, 1.0–3.2, 3.2–10, …), so which range an item falls in
 * never depends on what came before: the sample is exact, deterministic and mergeable.
 * Range r holds the values v with edge(r) ≤ v < edge(r + 1), edge(r) = 10^(log10Min + r·w)
 * (w = (log10Max − log10Min) / ranges, computed in float64); the first range also takes every
 * positive value below edge(0) and the last every value above, as the histogram does.
 *
 * Why not classic reservoir sampling: it depends on the arrival order and on a random stream,
 * so a resumed run, or two shards merged, would keep different items. Here a range keeps the
 * `perRange` items with the smallest sampleKey(feature, item) (ties: lower item id), a pure
 * function of the pair: a uniform sample of the range's items without replacement, the same
 * whatever the order or split of the pass, and two samples merge by keeping the smallest keys of
 * their union. Each range also counts its items exactly (Uint32), so a row can say how many items
 * it stands for.
 */
export interface RangeSpec {
  log10Min: number;
  log10Max: number;
  ranges: number;
  perRange: number;
}

export const DEFAULT_RANGES: RangeSpec = { log10Min: -4, log10Max: 4, ranges: 16, perRange: 4 };

/** Lower edges edge(0) … edge(ranges) of the ranges (float64). */
export function rangeEdges(spec: RangeSpec): Float64Array {
  const w = (spec.log10Max - spec.log10Min) / spec.ranges;
  return Float64Array.from({ length: spec.ranges + 1 }, (_, r) => 10 ** (spec.log10Min + r * w));
}

/** The range of a positive value: log10 gives the guess, the edges make it exact. */
export function rangeIndex(spec: RangeSpec, edges: Float64Array, value: number): number {
  const R = spec.ranges;
  let r = Math.floor(((Math.log10(value) - spec.log10Min) * R) / (spec.log10Max - spec.log10Min));
  if (!(r >= 0)) r = 0; // also NaN-safe
  if (r > R - 1) r = R - 1;
  while (r + 1 < R && value >= edges[r + 1]!) r++;
  while (r > 0 && value < edges[r]!) r--;
  return r;
}

/**
 * A 32-bit hash of (feature, item): the sampling key. Two odd multipliers spread the pair, then
 * an avalanche finaliser (xor-shift-multiply rounds) so nearby items get unrelated keys.
 */
export function sampleKey(feature: number, item: number): number {
  let h = Math.imul(feature + 1, 0x9e3779b1) ^ Math.imul(item + 1, 0x85ebca77);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

export interface RangeSampleEntry {
  range: number;
  item: number;
  value: number;
  /** Compact patch map (store/patchMapCodec.ts). */
  map: Uint8Array;
}

/**
 * Per feature, per range: the item count and the `perRange` kept samples. A range's slots are few
 * (4), so the worst slot is found by a scan rather than a heap. Patch maps are compact and
 * allocated per (feature, range) on first use: a feature's items usually span a few ranges, so
 * memory follows the ranges actually used and the patches that fired.
 */
export class RangeSampler {
  readonly counts: Uint32Array;
  readonly size: Uint8Array;
  readonly keys: Uint32Array;
  readonly items: Int32Array;
  readonly values: Float32Array;
  readonly edges: Float64Array;
  private readonly maps: PatchMapSlots;

  constructor(
    readonly features: number,
    readonly patches: number,
    readonly spec: RangeSpec,
  ) {
    const cells = features * spec.ranges;
    this.counts = new Uint32Array(cells);
    this.size = new Uint8Array(cells);
    this.keys = new Uint32Array(cells * spec.perRange);
    this.items = new Int32Array(cells * spec.perRange);
    this.values = new Float32Array(cells * spec.perRange);
    this.edges = rangeEdges(spec);
    this.maps = new PatchMapSlots(cells, spec.perRange, patches);
  }

  rangeOf(value: number): number {
    return rangeIndex(this.spec, this.edges, value);
  }

  /** Would this item be kept in cell (f, r)? */
  accepts(f: number, r: number, key: number, item: number): boolean {
    const cell = f * this.spec.ranges + r;
    if (this.size[cell]! < this.spec.perRange) return true;
    const w = cell * this.spec.perRange + this.worstSlot(cell);
    return key < this.keys[w]! || (key === this.keys[w]! && item < this.items[w]!);
  }

  /** Keep (item, value, map) in cell (f, r), replacing the worst kept key when full. */
  offer(f: number, r: number, key: number, item: number, value: number, map: Float32Array, off: number): void {
    const cell = f * this.spec.ranges + r;
    const slot = this.size[cell]! < this.spec.perRange ? this.size[cell]!++ : this.worstSlot(cell);
    const i = cell * this.spec.perRange + slot;
    this.keys[i] = key;
    this.items[i] = item;
    this.values[i] = value;
    this.maps.write(cell, slot, map, off);
  }

  /** Restore a kept sample read back from a checkpoint. */
  restore(f: number, e: RangeSampleEntry): void {
    const cell = f * this.spec.ranges + e.range;
    if (this.size[cell]! >= this.spec.perRange) throw new Error(`checkpoint holds more than ${this.spec.perRange} samples for feature ${f}, range ${e.range}`);
    const slot = this.size[cell]!++;
    const i = cell * this.spec.perRange + slot;
    this.keys[i] = sampleKey(f, e.item);
    this.items[i] = e.item;
    this.values[i] = e.value;
    this.maps.set(cell, slot, e.map);
  }

  /** Feature f's samples: ranges from the strongest down, within a range by value desc, item asc (maps are views, valid until the next offer). */
  entries(f: number): RangeSampleEntry[] {
    const out: RangeSampleEntry[] = [];
    const R = this.spec.ranges;
    for (let r = R - 1; r >= 0; r--) {
      const cell = f * R + r;
      const n = this.size[cell]!;
      const row: RangeSampleEntry[] = [];
      for (let s = 0; s < n; s++) {
        const i = cell * this.spec.perRange + s;
        row.push({ range: r, item: this.items[i]!, value: this.values[i]!, map: this.maps.get(cell, s) });
      }
      row.sort((a, b) => b.value - a.value || a.item - b.item);
      out.push(...row);
    }
    return out;
  }

  private worstSlot(cell: number): number {
    const base = cell * this.spec.perRange;
    let w = 0;
    for (let s = 1; s < this.size[cell]!; s++) {
      const k = this.keys[base + s]!;
      const wk = this.keys[base + w]!;
      if (k > wk || (k === wk && this.items[base + s]! > this.items[base + w]!)) w = s;
    }
    return w;
  }
}

import type { HistogramSpec } from '../../contract/index.js';
import { ExemplarHeaps } from './exemplarHeaps.js';
import { histogramBin } from './histogram.js';
import { toHalf } from '../util/float16.js';
import { DEFAULT_RANGES, RangeSampler, sampleKey, type RangeSpec } from './rangeSamples.js';

/** Features kept per item for matching: 64 × (4 B id + 2 B value) ≈ 0.4 KB per item, about 0.5 GB for ImageNet-1K (1.28M items). */
export const ITEM_TOP_FEATURES = 64;

/** An item's strongest features by max over patches, best first (values as float16 bits). */
export interface ItemActivations {
  item: number;
  feats: Int32Array;
  vals: Uint16Array;
}

/** A clip's traces (max over patches per frame) of its strongest features (video indexes). */
export interface ClipTraces {
  item: number;
  frames: number;
  feats: Int32Array;
  /** float16 bits, [feats.length x frames] row-major. */
  traces: Uint16Array;
}

/** Sparse encoder output: per row, only the features with value > 0 (CSR). */
export interface SparseRows {
  rows: number;
  rowPtr: Int32Array;
  feature: Int32Array;
  value: Float32Array;
}

/**
 * Streaming per-feature statistics over patch tokens (frequency, sum for the mean, max, log
 * histogram), CLS statistics kept apart, and top-k exemplar items by max-over-patches value.
 * One pass, memory independent of the number of items.
 */
export class FeatureAccumulator {
  readonly count: Float64Array;
  readonly sum: Float64Array;
  readonly max: Float32Array;
  readonly hist: Uint32Array;
  readonly clsCount: Float64Array;
  readonly clsMax: Float32Array;
  readonly heaps: ExemplarHeaps;
  /** Features whose statistics changed since the last checkpoint. */
  readonly dirty: Uint8Array;
  /** Features whose exemplar set changed since the last checkpoint (rewriting those is the costly part). */
  readonly exemplarsDirty: Uint8Array;
  /** Samples across activation ranges (rangeSamples.ts); null for indexes started without them. */
  ranges: RangeSampler | null;
  /** Features whose range samples changed since the last checkpoint (counts ride with `dirty`). */
  readonly rangesDirty: Uint8Array;
  tokens = 0;
  activeEntries = 0;
  /** Per-item top features since the last checkpoint; the writer drains it. */
  pendingItems: ItemActivations[] = [];
  /** Per-clip traces since the last checkpoint (addClip only); the writer drains it. */
  pendingTraces: ClipTraces[] = [];
  /**
   * Called with a feature just before its exemplars or range samples may change: a checkpoint
   * being written in slices reads them first (CheckpointWrite.freezeSamples). Null when none is.
   */
  beforeSampleChange: ((feature: number) => void) | null = null;

  // Per-item scratch, reused across items so the hot loop allocates nothing.
  private readonly stamp: Int32Array;
  private readonly itemMax: Float32Array;
  private readonly touched: Int32Array;
  private readonly slotOf: Int32Array;
  /** Per touched feature: the range the item is kept in, or -1. */
  private readonly rangeSlot: Int32Array;
  private scratch: Float32Array;
  private stampCounter = 0;

  constructor(
    readonly features: number,
    readonly patches: number,
    readonly k: number,
    readonly histogram: HistogramSpec,
    rangeSpec: RangeSpec | null = DEFAULT_RANGES,
  ) {
    this.count = new Float64Array(features);
    this.sum = new Float64Array(features);
    this.max = new Float32Array(features);
    this.hist = new Uint32Array(features * histogram.bins);
    this.clsCount = new Float64Array(features);
    this.clsMax = new Float32Array(features);
    this.heaps = new ExemplarHeaps(features, k, patches);
    this.dirty = new Uint8Array(features);
    this.exemplarsDirty = new Uint8Array(features);
    this.stamp = new Int32Array(features).fill(-1);
    this.itemMax = new Float32Array(features);
    this.touched = new Int32Array(features);
    this.slotOf = new Int32Array(features);
    this.rangeSlot = new Int32Array(features);
    this.rangesDirty = new Uint8Array(features);
    this.ranges = rangeSpec ? new RangeSampler(features, patches, rangeSpec) : null;
    this.scratch = new Float32Array(patches * 64);
  }

  /**
   * Add one item whose tokens are rows [firstRow, firstRow + (hasCls ? 1 : 0) + patches) of codes:
   * the CLS row first when present, then the patches in grid order.
   */
  addItem(item: number, codes: SparseRows, firstRow: number, hasCls: boolean): void {
    const { rowPtr, feature, value } = codes;
    const P = this.patches;
    const spec = this.histogram;
    const bins = spec.bins;
    const stampId = ++this.stampCounter;
    let nTouched = 0;

    if (hasCls) {
      for (let e = rowPtr[firstRow]!; e < rowPtr[firstRow + 1]!; e++) {
        const f = feature[e]!;
        this.clsCount[f]! += 1;
        if (value[e]! > this.clsMax[f]!) this.clsMax[f] = value[e]!;
        this.dirty[f] = 1;
      }
    }
    const p0 = firstRow + (hasCls ? 1 : 0);
    const eStart = rowPtr[p0]!;
    const eEnd = rowPtr[p0 + P]!;
    for (let e = eStart; e < eEnd; e++) {
      const f = feature[e]!;
      const v = value[e]!;
      this.count[f]! += 1;
      this.sum[f]! += v;
      if (v > this.max[f]!) this.max[f] = v;
      this.hist[f * bins + histogramBin(spec, v)]! += 1;
      if (this.stamp[f] !== stampId) {
        this.stamp[f] = stampId;
        this.itemMax[f] = v;
        this.touched[nTouched++] = f;
        this.dirty[f] = 1;
      } else if (v > this.itemMax[f]!) {
        this.itemMax[f] = v;
      }
    }
    this.tokens += P;
    this.activeEntries += eEnd - eStart;
    this.pendingItems.push(this.itemTopFeatures(item, nTouched));

    // Features for which this item enters the top-k or a range sample get their full patch map gathered.
    const nQual = this.qualify(item, nTouched);
    if (nQual === 0) return;
    if (this.scratch.length < nQual * P) this.scratch = new Float32Array(nQual * P * 2);
    const scratch = this.scratch;
    scratch.fill(0, 0, nQual * P);
    for (let p = 0; p < P; p++) {
      for (let e = rowPtr[p0 + p]!; e < rowPtr[p0 + p + 1]!; e++) {
        const s = this.slotOf[feature[e]!]!;
        if (s >= 0) scratch[s * P + p] = value[e]!;
      }
    }
    this.offerGathered(item, nTouched, scratch);
  }

  /**
   * Add one clip (one item) of `frames` frames (or tubelet steps): frame t's tokens are rows
   * firstRow + t·R … (R = (hasCls ? 1 : 0) + patches), CLS first when present. Statistics count
   * every patch token of every frame; the clip's value for a feature is its max over frames ×
   * patches (exemplar ranking and item_acts), its stored patch map the per-patch max over frames,
   * and the clip's strongest features get a trace (max over patches, per frame).
   */
  addClip(item: number, codes: SparseRows, firstRow: number, frames: number, hasCls: boolean): void {
    const { rowPtr, feature, value } = codes;
    const P = this.patches;
    const R = P + (hasCls ? 1 : 0);
    const spec = this.histogram;
    const bins = spec.bins;
    const stampId = ++this.stampCounter;
    let nTouched = 0;
    for (let t = 0; t < frames; t++) {
      const base = firstRow + t * R;
      if (hasCls) {
        for (let e = rowPtr[base]!; e < rowPtr[base + 1]!; e++) {
          const f = feature[e]!;
          this.clsCount[f]! += 1;
          if (value[e]! > this.clsMax[f]!) this.clsMax[f] = value[e]!;
          this.dirty[f] = 1;
        }
      }
      const p0 = base + (hasCls ? 1 : 0);
      const eStart = rowPtr[p0]!;
      const eEnd = rowPtr[p0 + P]!;
      for (let e = eStart; e < eEnd; e++) {
        const f = feature[e]!;
        const v = value[e]!;
        this.count[f]! += 1;
        this.sum[f]! += v;
        if (v > this.max[f]!) this.max[f] = v;
        this.hist[f * bins + histogramBin(spec, v)]! += 1;
        if (this.stamp[f] !== stampId) {
          this.stamp[f] = stampId;
          this.itemMax[f] = v;
          this.touched[nTouched++] = f;
          this.dirty[f] = 1;
        } else if (v > this.itemMax[f]!) {
          this.itemMax[f] = v;
        }
      }
      this.activeEntries += eEnd - eStart;
    }
    this.tokens += P * frames;
    const top = this.itemTopFeatures(item, nTouched);
    this.pendingItems.push(top);

    // Traces of the clip's strongest features.
    for (let i = 0; i < nTouched; i++) this.slotOf[this.touched[i]!] = -1;
    top.feats.forEach((f, i) => (this.slotOf[f] = i));
    const traces = new Float32Array(top.feats.length * frames);
    for (let t = 0; t < frames; t++) {
      const p0 = firstRow + t * R + (hasCls ? 1 : 0);
      for (let e = rowPtr[p0]!; e < rowPtr[p0 + P]!; e++) {
        const s = this.slotOf[feature[e]!]!;
        if (s >= 0 && value[e]! > traces[s * frames + t]!) traces[s * frames + t] = value[e]!;
      }
    }
    const half = new Uint16Array(traces.length);
    for (let i = 0; i < traces.length; i++) half[i] = toHalf(traces[i]!);
    this.pendingTraces.push({ item, frames, feats: top.feats, traces: half });

    // Exemplar and range-sample candidates get their per-patch max over frames gathered.
    const nQual = this.qualify(item, nTouched);
    if (nQual === 0) return;
    if (this.scratch.length < nQual * P) this.scratch = new Float32Array(nQual * P * 2);
    const scratch = this.scratch;
    scratch.fill(0, 0, nQual * P);
    for (let t = 0; t < frames; t++) {
      const p0 = firstRow + t * R + (hasCls ? 1 : 0);
      for (let p = 0; p < P; p++) {
        for (let e = rowPtr[p0 + p]!; e < rowPtr[p0 + p + 1]!; e++) {
          const s = this.slotOf[feature[e]!]!;
          if (s >= 0 && value[e]! > scratch[s * P + p]!) scratch[s * P + p] = value[e]!;
        }
      }
    }
    this.offerGathered(item, nTouched, scratch);
  }

  /**
   * Counts the item in each touched feature's range and numbers the features whose top-k or range
   * sample it enters (slotOf: scratch row, or -1), so one gather serves both. Returns how many.
   */
  private qualify(item: number, nTouched: number): number {
    const rs = this.ranges;
    let nQual = 0;
    for (let t = 0; t < nTouched; t++) {
      const f = this.touched[t]!;
      const v = this.itemMax[f]!;
      let ranged = -1;
      if (rs) {
        const r = rs.rangeOf(v);
        rs.counts[f * rs.spec.ranges + r]! += 1;
        if (rs.accepts(f, r, sampleKey(f, item), item)) ranged = r;
      }
      this.rangeSlot[f] = ranged;
      if (ranged >= 0 || this.heaps.accepts(f, v, item)) this.slotOf[f] = nQual++;
      else this.slotOf[f] = -1;
    }
    return nQual;
  }

  /** Offers the gathered patch maps (scratch rows numbered by qualify) to the top-k and range samples. */
  private offerGathered(item: number, nTouched: number, scratch: Float32Array): void {
    const P = this.patches;
    for (let t = 0; t < nTouched; t++) {
      const f = this.touched[t]!;
      const s = this.slotOf[f]!;
      if (s < 0) continue;
      this.beforeSampleChange?.(f);
      if (this.heaps.offer(f, this.itemMax[f]!, item, scratch, s * P)) this.exemplarsDirty[f] = 1;
      const r = this.rangeSlot[f]!;
      if (r >= 0) {
        this.ranges!.offer(f, r, sampleKey(f, item), item, this.itemMax[f]!, scratch, s * P);
        this.rangesDirty[f] = 1;
      }
    }
  }

  /** The item's ITEM_TOP_FEATURES strongest features (max over patches), best first, ties by id. */
  private itemTopFeatures(item: number, nTouched: number): ItemActivations {
    const order = Array.from(this.touched.subarray(0, nTouched));
    const m = this.itemMax;
    if (order.length > 1) order.sort((a, b) => m[b]! - m[a]! || a - b);
    const n = Math.min(order.length, ITEM_TOP_FEATURES);
    const feats = new Int32Array(n);
    const vals = new Uint16Array(n);
    for (let i = 0; i < n; i++) {
      feats[i] = order[i]!;
      vals[i] = toHalf(m[order[i]!]!);
    }
    return { item, feats, vals };
  }
}

import type { SparseRows } from '../indexer/featureAccumulator.js';

// Temporal statistics of SAE features over video (the definitions are ours; the source paper does
// not publish its own). For feature j, every clip c, patch position p and frame t < T−1 give a pair
// x = f_j(c,p,t), y = f_j(c,p,t+1). Autocorrelation: Pearson correlation of x and y over all those
// pairs (undefined when either side has zero variance). Switch rate: among pairs where x > 0 or
// y > 0, the fraction where exactly one is > 0. Everything is accumulated sparsely: only active
// entries are touched, so cost follows the number of activations, not features × tokens.

export interface TemporalResult {
  /** Per feature; NaN where undefined (zero variance, or never active). */
  autocorrelation: Float64Array;
  /** Per feature; NaN where the feature is never active. */
  switchRate: Float64Array;
  /** Mean autocorrelation over features where it is defined (NaN if none). */
  meanAutocorrelation: number;
  pairs: number;
}

export class TemporalAccumulator {
  private readonly sumX: Float64Array;
  private readonly sumY: Float64Array;
  private readonly sumXX: Float64Array;
  private readonly sumYY: Float64Array;
  private readonly sumXY: Float64Array;
  private readonly either: Float64Array;
  private readonly exactlyOne: Float64Array;
  private pairs = 0;

  constructor(readonly features: number) {
    this.sumX = new Float64Array(features);
    this.sumY = new Float64Array(features);
    this.sumXX = new Float64Array(features);
    this.sumYY = new Float64Array(features);
    this.sumXY = new Float64Array(features);
    this.either = new Float64Array(features);
    this.exactlyOne = new Float64Array(features);
  }

  /**
   * One clip: `frames[t]` holds the clip's patch rows for frame t (or tubelet t), `patches` rows
   * each, features ascending within a row (as the encoder writes them).
   */
  addClip(frames: SparseRows[], patches: number): void {
    for (let t = 0; t + 1 < frames.length; t++) {
      const a = frames[t]!;
      const b = frames[t + 1]!;
      for (let p = 0; p < patches; p++) this.addPair(a, p, b, p);
    }
    this.pairs += Math.max(0, frames.length - 1) * patches;
  }

  /** Row ra of `a` is x (frame t) and row rb of `b` is y (frame t+1), for one patch position. */
  private addPair(a: SparseRows, ra: number, b: SparseRows, rb: number): void {
    let i = a.rowPtr[ra]!;
    const iEnd = a.rowPtr[ra + 1]!;
    let k = b.rowPtr[rb]!;
    const kEnd = b.rowPtr[rb + 1]!;
    // Merge the two ascending feature lists.
    while (i < iEnd || k < kEnd) {
      const fa = i < iEnd ? a.feature[i]! : Infinity;
      const fb = k < kEnd ? b.feature[k]! : Infinity;
      if (fa === fb) {
        const x = a.value[i++]!;
        const y = b.value[k++]!;
        this.sumX[fa]! += x;
        this.sumXX[fa]! += x * x;
        this.sumY[fa]! += y;
        this.sumYY[fa]! += y * y;
        this.sumXY[fa]! += x * y;
        this.either[fa]! += 1;
      } else if (fa < fb) {
        const x = a.value[i++]!;
        this.sumX[fa]! += x;
        this.sumXX[fa]! += x * x;
        this.either[fa]! += 1;
        this.exactlyOne[fa]! += 1;
      } else {
        const y = b.value[k++]!;
        this.sumY[fb]! += y;
        this.sumYY[fb]! += y * y;
        this.either[fb]! += 1;
        this.exactlyOne[fb]! += 1;
      }
    }
  }

  /** The running sums as one array (for index checkpoints, so a killed run resumes exactly). */
  exportState(): Float64Array {
    return packState([this.sumX, this.sumY, this.sumXX, this.sumYY, this.sumXY, this.either, this.exactlyOne], this.pairs);
  }

  importState(state: Float64Array): void {
    this.pairs = unpackState(state, [this.sumX, this.sumY, this.sumXX, this.sumYY, this.sumXY, this.either, this.exactlyOne]);
  }

  result(): TemporalResult {
    const F = this.features;
    const n = this.pairs;
    const autocorrelation = new Float64Array(F);
    const switchRate = new Float64Array(F);
    let sum = 0;
    let defined = 0;
    for (let f = 0; f < F; f++) {
      autocorrelation[f] = pearson(n, this.sumX[f]!, this.sumY[f]!, this.sumXX[f]!, this.sumYY[f]!, this.sumXY[f]!);
      switchRate[f] = this.either[f]! > 0 ? this.exactlyOne[f]! / this.either[f]! : NaN;
      if (!Number.isNaN(autocorrelation[f]!)) {
        sum += autocorrelation[f]!;
        defined++;
      }
    }
    return { autocorrelation, switchRate, meanAutocorrelation: defined > 0 ? sum / defined : NaN, pairs: n };
  }
}

/** The same autocorrelation for raw activation dimensions (dense: every dimension is "active"). */
export class RawTemporalAccumulator {
  private readonly sumX: Float64Array;
  private readonly sumY: Float64Array;
  private readonly sumXX: Float64Array;
  private readonly sumYY: Float64Array;
  private readonly sumXY: Float64Array;
  private pairs = 0;

  constructor(readonly d: number) {
    this.sumX = new Float64Array(d);
    this.sumY = new Float64Array(d);
    this.sumXX = new Float64Array(d);
    this.sumYY = new Float64Array(d);
    this.sumXY = new Float64Array(d);
  }

  /** `frames[t]` is [patches, d] row-major for frame t. */
  addClip(frames: Float32Array[], patches: number): void {
    const d = this.d;
    for (let t = 0; t + 1 < frames.length; t++) {
      const a = frames[t]!;
      const b = frames[t + 1]!;
      for (let o = 0; o < patches * d; o += d) {
        for (let i = 0; i < d; i++) {
          const x = a[o + i]!;
          const y = b[o + i]!;
          this.sumX[i]! += x;
          this.sumY[i]! += y;
          this.sumXX[i]! += x * x;
          this.sumYY[i]! += y * y;
          this.sumXY[i]! += x * y;
        }
      }
      this.pairs += patches;
    }
  }

  exportState(): Float64Array {
    return packState([this.sumX, this.sumY, this.sumXX, this.sumYY, this.sumXY], this.pairs);
  }

  importState(state: Float64Array): void {
    this.pairs = unpackState(state, [this.sumX, this.sumY, this.sumXX, this.sumYY, this.sumXY]);
  }

  result(): { autocorrelation: Float64Array; meanAutocorrelation: number; pairs: number } {
    const autocorrelation = new Float64Array(this.d);
    let sum = 0;
    let defined = 0;
    for (let i = 0; i < this.d; i++) {
      autocorrelation[i] = pearson(this.pairs, this.sumX[i]!, this.sumY[i]!, this.sumXX[i]!, this.sumYY[i]!, this.sumXY[i]!);
      if (!Number.isNaN(autocorrelation[i]!)) {
        sum += autocorrelation[i]!;
        defined++;
      }
    }
    return { autocorrelation, meanAutocorrelation: defined > 0 ? sum / defined : NaN, pairs: this.pairs };
  }
}

function packState(arrays: Float64Array[], pairs: number): Float64Array {
  const n = arrays[0]!.length;
  const out = new Float64Array(arrays.length * n + 1);
  arrays.forEach((a, i) => out.set(a, i * n));
  out[arrays.length * n] = pairs;
  return out;
}

function unpackState(state: Float64Array, arrays: Float64Array[]): number {
  const n = arrays[0]!.length;
  if (state.length !== arrays.length * n + 1) throw new Error(`temporal state has ${state.length} values, expected ${arrays.length * n + 1}`);
  arrays.forEach((a, i) => a.set(state.subarray(i * n, (i + 1) * n)));
  return state[arrays.length * n]!;
}

/** Pearson correlation from sums; NaN when either side has (numerically) zero variance. */
export function pearson(n: number, sx: number, sy: number, sxx: number, syy: number, sxy: number): number {
  if (n < 2) return NaN;
  const vx = sxx - (sx * sx) / n;
  const vy = syy - (sy * sy) / n;
  // Relative threshold: sums of squares of float32 values carry rounding of this order.
  if (vx <= 1e-12 * Math.max(sxx, 1e-30) || vy <= 1e-12 * Math.max(syy, 1e-30)) return NaN;
  const r = (sxy - (sx * sy) / n) / Math.sqrt(vx * vy);
  return Math.max(-1, Math.min(1, r));
}

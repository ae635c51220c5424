// Features of one SAE whose decoder directions (rows of W_dec) point the same way: cosine
// similarity, computed against all rows on demand (dSae x dIn multiply-adds, ~20 ms for 24K x 768).
// The unit rows come from the index folder once saved there (decoderDirectionsFile.ts).
import type { SimilarFeature } from '../../contract/index.js';

export class DecoderDirections {
  /** @param unit dSae x dIn rows of unit length (zero rows stay zero), row-major. */
  constructor(
    readonly unit: Float32Array,
    readonly dSae: number,
    readonly dIn: number,
  ) {}

  /** Normalises the rows of W_dec [dSae, dIn]. */
  static fromDecoder(W_dec: Float32Array, dSae: number, dIn: number): DecoderDirections {
    const unit = new Float32Array(dSae * dIn);
    for (let f = 0; f < dSae; f++) {
      let s = 0;
      for (let i = 0; i < dIn; i++) s += W_dec[f * dIn + i]! ** 2;
      const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
      for (let i = 0; i < dIn; i++) unit[f * dIn + i] = W_dec[f * dIn + i]! * inv;
    }
    return new DecoderDirections(unit, dSae, dIn);
  }

  similar(feature: number, limit: number): SimilarFeature[] {
    const { dSae, dIn, unit } = this;
    const q = unit.subarray(feature * dIn, (feature + 1) * dIn);
    const best: SimilarFeature[] = [];
    let floor = -Infinity;
    for (let f = 0; f < dSae; f++) {
      if (f === feature) continue;
      let s = 0;
      const o = f * dIn;
      for (let i = 0; i < dIn; i++) s += q[i]! * unit[o + i]!;
      if (best.length < limit || s > floor) {
        best.push({ feature: f, cosine: s });
        if (best.length > limit) {
          best.sort((a, b) => b.cosine - a.cosine);
          best.length = limit;
        }
        if (best.length === limit) floor = Math.min(...best.map((x) => x.cosine));
      }
    }
    return best.sort((a, b) => b.cosine - a.cosine || a.feature - b.feature);
  }
}

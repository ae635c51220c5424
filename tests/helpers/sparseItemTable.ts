import type { SparseItemTable } from '../../src-main/core/analysis/matchFeatures.js';

/** A matching input from per-item (feature, value) rows; item i is named paths[i] and has id i. */
export function sparseItemTable(paths: string[], rows: Iterable<readonly [number, number]>[], features: number): SparseItemTable {
  const rowPtr = new Int32Array(rows.length + 1);
  const feat: number[] = [];
  const val: number[] = [];
  rows.forEach((r, i) => {
    for (const [f, v] of r) {
      feat.push(f);
      val.push(v);
    }
    rowPtr[i + 1] = feat.length;
  });
  return { paths, itemIds: Int32Array.from(paths, (_, i) => i), rowPtr, feat: Int32Array.from(feat), val: Float32Array.from(val), features };
}

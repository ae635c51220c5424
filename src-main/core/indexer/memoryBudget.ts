// How much one indexing step may hold, from a memory budget instead of an item count.
//
// The working set of a step is dominated by the SAE encoder: onnxruntime materialises the dense
// pre-activations [rows, d_sae] as float32 and keeps about two such buffers alive (the matmul
// output and the biased/activated copy TopK or ReLU reads), besides the input rows (d_in floats,
// plus the normalised copy and the backbone's output they came from). So, per token row:
//
//   bytesPerRow = 4 × (2 × d_sae + 3 × d_in)
//
// and a step of R rows needs R × bytesPerRow. At ViT-B/16 geometry (257 rows per image) and a
// 100k-feature SAE one image is 257 × 4 × (200,000 + 2,304) ≈ 208 MB, so the default 1 GiB budget
// takes 5 images per batch (16 images would be 3.3 GB), and an SAE encoder call never gets more
// than budget / bytesPerRow rows (long clips and huge SAEs are encoded in slices of that many).
import type { SaeEncoderSession, SparseCodes } from '../sae/encoderSession.js';

export const DEFAULT_MEMORY_BUDGET_MIB = 1024;
const MIB = 1024 * 1024;

/** Bytes one token row costs while it is encoded (see the formula above). */
export function bytesPerRow(dSae: number, dIn: number): number {
  return 4 * (2 * dSae + 3 * dIn);
}

/** Rows one SAE encoder call may take within `budgetMiB` (at least 1). */
export function encoderRowsWithin(budgetMiB: number, dSae: number, dIn: number): number {
  return Math.max(1, Math.floor((budgetMiB * MIB) / bytesPerRow(dSae, dIn)));
}

/**
 * Items per batch: as many as fit the budget at `rowsPerItem` rows each, at least 1 (a single item
 * larger than the budget is still indexed, its rows encoded in slices), at most `maxItems`.
 */
export function itemsPerBatch(budgetMiB: number, rowsPerItem: number, dSae: number, dIn: number, maxItems: number): number {
  const fit = Math.floor(encoderRowsWithin(budgetMiB, dSae, dIn) / rowsPerItem);
  return Math.max(1, Math.min(maxItems, fit));
}

/**
 * Encodes `rows` rows of `x` in slices of at most `maxRows` rows and joins the codes, so a batch
 * (or one long clip) never asks onnxruntime for more than the budget. Rows are encoded
 * independently, so the result equals one call over all rows.
 */
export async function encodeWithin(encoder: SaeEncoderSession, x: Float32Array, rows: number, maxRows: number): Promise<SparseCodes> {
  if (rows <= maxRows) return encoder.encode(x, rows);
  const dIn = encoder.sae.dIn;
  const parts: SparseCodes[] = [];
  for (let r0 = 0; r0 < rows; r0 += maxRows) {
    const n = Math.min(maxRows, rows - r0);
    parts.push(await encoder.encode(x.subarray(r0 * dIn, (r0 + n) * dIn), n));
  }
  return joinCodes(parts);
}

function joinCodes(parts: SparseCodes[]): SparseCodes {
  let rows = 0;
  let entries = 0;
  for (const p of parts) {
    rows += p.rows;
    entries += p.feature.length;
  }
  const rowPtr = new Int32Array(rows + 1);
  const feature = new Int32Array(entries);
  const value = new Float32Array(entries);
  let r = 0;
  let e = 0;
  for (const p of parts) {
    for (let i = 1; i <= p.rows; i++) rowPtr[r + i] = e + p.rowPtr[i]!;
    feature.set(p.feature, e);
    value.set(p.value, e);
    r += p.rows;
    e += p.feature.length;
  }
  return { rows, rowPtr, feature, value };
}

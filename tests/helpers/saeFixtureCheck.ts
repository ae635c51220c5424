// Shared by the SAELens and dictionary_learning fixture tests: read a fixture's reference.json
// (x rows and the float64 encoding the library's own arithmetic gives) and compare the studio's
// two encoders with it.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SaeEncoderSession } from '../../src-main/core/sae/encoderSession.js';
import type { SaeRecord } from '../../src-main/core/sae/types.js';

export interface SaeReference {
  rows: number;
  x: Float32Array;
  f: Float64Array;
}

/** reference.json beside `file` (or inside it, when it is a folder). */
export function readSaeReference(fileOrFolder: string, isFolder = true): SaeReference {
  const path = join(isFolder ? fileOrFolder : dirname(fileOrFolder), 'reference.json');
  const json = JSON.parse(readFileSync(path, 'utf8')) as { x: number[][]; f: number[][] };
  return { rows: json.x.length, x: Float32Array.from(json.x.flat()), f: Float64Array.from(json.f.flat()) };
}

export function maxAbsDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`lengths differ: ${actual.length} vs ${expected.length}`);
  let max = 0;
  for (let i = 0; i < actual.length; i++) max = Math.max(max, Math.abs(actual[i]! - expected[i]!));
  return max;
}

/** The ONNX encoder session's CSR codes expanded back to a dense [rows, dSae] matrix. */
export async function encodeWithSession(sae: SaeRecord, x: Float32Array, rows: number): Promise<Float64Array> {
  const session = await SaeEncoderSession.create(sae, 'cpu');
  try {
    const codes = await session.encode(x, rows);
    const dense = new Float64Array(rows * sae.dSae);
    for (let r = 0; r < rows; r++) {
      for (let e = codes.rowPtr[r]!; e < codes.rowPtr[r + 1]!; e++) dense[r * sae.dSae + codes.feature[e]!] = codes.value[e]!;
    }
    return dense;
  } finally {
    await session.close();
  }
}

/** The session stores only f > 0: compare it with the reference's positive part. */
export const positivePart = (f: Float64Array): Float64Array => f.map((v) => (v > 0 ? v : 0));

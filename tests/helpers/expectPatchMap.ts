import { expect } from 'vitest';
import { PATCH_MAP_MAX_ERROR } from '../../src-main/core/store/patchMapCodec.js';

/** float32 rounding of a decoded value (and of the stored maximum), relative to the maximum. */
const FLOAT32_SLACK = 2 ** -23;

/**
 * A stored patch map equals the true one within the compact maps' quantisation and no more: each
 * patch off by at most PATCH_MAP_MAX_ERROR of the true map's maximum (plus float32 rounding), the
 * maximum itself exact to float32, and patches that did not fire exactly 0.
 */
export function expectPatchMap(got: ArrayLike<number>, want: ArrayLike<number>, where = ''): void {
  expect(got.length, `${where} patch count`).toBe(want.length);
  let max = 0;
  for (let p = 0; p < want.length; p++) max = Math.max(max, want[p]!);
  const tolerance = max * (PATCH_MAP_MAX_ERROR + FLOAT32_SLACK);
  const wrong: string[] = [];
  for (let p = 0; p < want.length; p++) {
    const g = got[p]!;
    const w = want[p]!;
    const allowed = w === 0 ? 0 : w === max ? max * FLOAT32_SLACK : tolerance;
    if (!(Math.abs(g - w) <= allowed)) wrong.push(`patch ${p}: ${g} vs ${w} (allowed ${allowed})`);
  }
  expect(wrong, `${where} patches outside the quantisation bound`).toEqual([]);
}

import { describe, expect, it } from 'vitest';
import { layoutScatter, PointGrid } from '../../src-renderer/src/lib/scatterLayout';
import { mulberry32 } from '../helpers/prng';

// Hover in the 100k-point scatter (issue 19) goes through a bucket grid: it must find exactly
// the point a scan of every point finds.

/** The nearest live point within `radius` by scanning all of them (ties: the higher index). */
function scan(px: Float32Array, py: Float32Array, x: number, y: number, radius: number): number | null {
  let best: number | null = null;
  let bestD = radius * radius;
  for (let i = 0; i < px.length; i++) {
    if (Number.isNaN(px[i]!)) continue;
    const d = (px[i]! - x) ** 2 + (py[i]! - y) ** 2;
    if (d < bestD || (d === bestD && (best === null || i > best))) {
      bestD = d;
      best = i;
    }
  }
  return best;
}

describe('scatter hover grid', () => {
  it('finds the same point as a full scan, over 100,000 points with dead ones and stacked duplicates', () => {
    const random = mulberry32(19);
    const n = 100_000;
    const logFrequency = Float32Array.from({ length: n }, () => (random() < 0.05 ? -9.999 : -6 + 5 * random() ** 3));
    const logMean = Float32Array.from({ length: n }, () => -2 + 3 * random());
    // Stacked points: features 10..19 share feature 9's values.
    for (let i = 10; i < 20; i++) {
      logFrequency[i] = logFrequency[9]!;
      logMean[i] = logMean[9]!;
    }
    const layout = layoutScatter({ logFrequency, logMean }, 640, 360);
    const grid = new PointGrid(layout);
    let found = 0;
    for (let q = 0; q < 600; q++) {
      const x = -10 + 660 * random();
      const y = -10 + 380 * random();
      const radius = q % 3 === 0 ? 6 : q % 3 === 1 ? 2 : 15;
      const expected = scan(layout.px, layout.py, x, y, radius);
      expect(grid.nearest(x, y, radius)).toBe(expected);
      if (expected !== null) found++;
    }
    expect(found).toBeGreaterThan(200); // the queries mostly land near points
    if (!Number.isNaN(layout.px[9]!)) expect(grid.nearest(layout.px[9]!, layout.py[9]!)).toBe(19);
  });
});

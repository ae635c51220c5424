import { describe, expect, it } from 'vitest';
import { centralPoint, stepPoint } from '../../src-renderer/src/lib/scatterLayout';

// Arrow-key travel through the features scatter (issue 16): each key goes to the nearest point
// that way, keeping to its line, and says null at the edge of the cloud.
const layout = (pts: [number, number][]) => ({
  px: Float32Array.from(pts.map((p) => p[0])),
  py: Float32Array.from(pts.map((p) => p[1])),
  plot: { left: 0, top: 0, right: 100, bottom: 100 },
});

describe('stepPoint', () => {
  //   0 at (50,50); 1 right-near-on-line; 2 right-closer-but-off-line; 3 above; 4 below; 5 left; 6 dead
  const l = layout([
    [50, 50],
    [70, 52],
    [58, 57],
    [50, 20],
    [52, 80],
    [10, 50],
    [NaN, NaN],
  ]);
  it('prefers the point that keeps to the line of travel', () => {
    // Scores are distance along + 2 × sideways: 2 scores 8 + 14 = 22, 1 scores 20 + 4 = 24.
    // With 2 moved 9 px off the line (10 + 18 = 28) the on-line point wins.
    expect(stepPoint(l, 0, 'right')).toBe(2);
    const off = layout([
      [50, 50],
      [70, 52],
      [60, 59],
    ]);
    expect(stepPoint(off, 0, 'right')).toBe(1);
  });
  it('moves up, down and left (screen y grows downwards), skipping dead features', () => {
    expect(stepPoint(l, 0, 'up')).toBe(3);
    expect(stepPoint(l, 0, 'down')).toBe(4);
    expect(stepPoint(l, 0, 'left')).toBe(5);
  });
  it('is null past the edge and from a dead feature', () => {
    expect(stepPoint(l, 5, 'left')).toBeNull();
    expect(stepPoint(l, 3, 'up')).toBeNull();
    expect(stepPoint(l, 6, 'right')).toBeNull();
  });
  it('reaches points stacked on the same pixel', () => {
    const stacked = layout([
      [10, 10],
      [10, 10],
      [30, 10],
    ]);
    expect(stepPoint(stacked, 0, 'right')).toBe(1);
    expect(stepPoint(stacked, 1, 'right')).toBe(2);
  });
});

describe('centralPoint', () => {
  it('starts at the live point nearest the middle', () => {
    expect(centralPoint(layout([[NaN, NaN], [5, 5], [45, 60], [90, 90]]))).toBe(2);
    expect(centralPoint(layout([[NaN, NaN]]))).toBeNull();
  });
});

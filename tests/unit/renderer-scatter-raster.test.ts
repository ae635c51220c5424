import { describe, expect, it } from 'vitest';
import { parseRgb, rasterizePoints } from '../../src-renderer/src/lib/scatterRaster';

// The scatter's points are written as pixels in one pass instead of one fillRect each: every
// point a 2x2 CSS-pixel square in the theme's colour, and k stacked points as opaque as k
// translucent fillRects composite to, 1 − (1 − alpha)^k.

const RGB = [90, 50, 200] as const;

/** Alpha of device pixel (x, y), and whether its colour is the points' colour. */
function pixel(r: { data: Uint8ClampedArray; width: number }, x: number, y: number): { alpha: number; colour: boolean } {
  const o = (y * r.width + x) * 4;
  return { alpha: r.data[o + 3]!, colour: r.data[o] === RGB[0] && r.data[o + 1] === RGB[1] && r.data[o + 2] === RGB[2] };
}

/** Device pixels with any opacity, as "x,y". */
function covered(r: { data: Uint8ClampedArray; width: number; height: number }): string[] {
  const out: string[] = [];
  for (let y = 0; y < r.height; y++) for (let x = 0; x < r.width; x++) if (r.data[(y * r.width + x) * 4 + 3]) out.push(`${x},${y}`);
  return out;
}

describe('scatter raster', () => {
  it('draws a point as a 2x2 square centred on it, in the colour at the given opacity', () => {
    const r = rasterizePoints(Float32Array.of(10), Float32Array.of(5), 20, 12, 1, RGB, 0.3);
    expect([r.width, r.height]).toEqual([20, 12]);
    expect(covered(r)).toEqual(['9,4', '10,4', '9,5', '10,5']);
    expect(pixel(r, 9, 4)).toEqual({ alpha: Math.round(255 * 0.3), colour: true });
  });

  it('stacks points as translucent fills composite: 1 − (1 − alpha)^k', () => {
    const r = rasterizePoints(Float32Array.of(4, 4, 4, 5), Float32Array.of(4, 4, 4, 4), 10, 10, 1, RGB, 0.2);
    // Three points on (3..4, 3..4); the fourth, one pixel right, adds to column 4 and 5.
    expect(pixel(r, 3, 3).alpha).toBe(Math.round(255 * (1 - 0.8 ** 3)));
    expect(pixel(r, 4, 3).alpha).toBe(Math.round(255 * (1 - 0.8 ** 4)));
    expect(pixel(r, 5, 3).alpha).toBe(Math.round(255 * 0.2));
    expect(pixel(r, 6, 3).alpha).toBe(0);
  });

  it('leaves out dead features (NaN) and clips points at the edges', () => {
    const r = rasterizePoints(Float32Array.of(NaN, 0, 20), Float32Array.of(3, 0, 12), 20, 12, 1, RGB, 0.5);
    expect(covered(r)).toEqual(['0,0', '19,11']);
  });

  it('scales to device pixels: a 4x4 square at devicePixelRatio 2', () => {
    const r = rasterizePoints(Float32Array.of(5), Float32Array.of(5), 10, 10, 2, RGB, 0.5);
    expect([r.width, r.height]).toEqual([20, 20]);
    expect(covered(r)).toHaveLength(16);
    expect(covered(r)[0]).toBe('8,8');
    expect(covered(r)[15]).toBe('11,11');
  });

  it('reads the theme colour, and falls back to grey for a malformed one', () => {
    expect(parseRgb(' 90, 50,200 ')).toEqual([90, 50, 200]);
    expect(parseRgb('purple')).toEqual([128, 128, 128]);
  });
});

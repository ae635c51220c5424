import { describe, expect, it } from 'vitest';
import { PLASMA_TABLE, plasmaRgb } from '../../src-renderer/src/lib/plasma';
import {
  DEFAULT_HEATMAP,
  compositeOver,
  drawPatchOverlay,
  overlayAlpha,
  patchAt,
  renderPatchOverlay,
  type HeatmapSettings,
  type OverlayContext,
} from '../../src-renderer/src/lib/patchOverlay';

const GREY = 128;

/** An opaque grey image of width × height, as RGBA bytes. */
function greyImage(w: number, h: number): Uint8ClampedArray {
  return new Uint8ClampedArray(w * h * 4).fill(GREY);
}
function px(buf: Uint8ClampedArray, w: number, x: number, y: number): number[] {
  const i = (y * w + x) * 4;
  return Array.from(buf.slice(i, i + 4));
}
const settings = (mode: HeatmapSettings['mode'], threshold = 0, opacity = 1): HeatmapSettings => ({ mode, threshold, opacity });

describe('plasma colour map', () => {
  it('has 256 entries and matplotlib’s endpoints', () => {
    expect(PLASMA_TABLE).toHaveLength(256);
    expect(plasmaRgb(0)).toEqual([13, 8, 135]); // #0d0887
    expect(plasmaRgb(1)).toEqual([240, 249, 33]); // #f0f921
    expect(plasmaRgb(0.5)).toEqual([204, 71, 120]); // #cc4778, matplotlib entry 128
  });

  it('matches matplotlib entries between control points within two 8-bit steps', () => {
    // Entries of matplotlib's _plasma_data (×255, rounded) that are not control points.
    const known: [number, [number, number, number]][] = [
      [37, [85, 2, 164]],
      [100, [174, 40, 146]],
      [171, [237, 122, 82]],
      [200, [251, 161, 57]],
      [250, [243, 240, 39]],
    ];
    for (const [index, rgb] of known) {
      const got = plasmaRgb(index / 255);
      for (let c = 0; c < 3; c++) expect(Math.abs(got[c]! - rgb[c]!)).toBeLessThanOrEqual(2);
    }
  });

  it('clamps out-of-range and NaN inputs', () => {
    expect(plasmaRgb(-3)).toEqual(plasmaRgb(0));
    expect(plasmaRgb(7)).toEqual(plasmaRgb(1));
    expect(plasmaRgb(Number.NaN)).toEqual(plasmaRgb(0));
  });

  it('runs from dark blue to bright yellow (luminance rises overall)', () => {
    const lum = ([r, g, b]: readonly [number, number, number]) => 0.2126 * r + 0.7152 * g + 0.0722 * b;
    expect(lum(plasmaRgb(0))).toBeLessThan(lum(plasmaRgb(0.5)));
    expect(lum(plasmaRgb(0.5))).toBeLessThan(lum(plasmaRgb(1)));
  });
});

describe('renderPatchOverlay: image-first (the default)', () => {
  // A 2×2 map on a 32×32 grey image: row 0 = [0, 1], row 1 = [2, 4]; upper 4.
  const map = [0, 1, 2, 4];
  const W = 32;

  it('is the default mode', () => {
    expect(DEFAULT_HEATMAP.mode).toBe('image-first');
    expect(DEFAULT_HEATMAP.threshold).toBe(0);
  });

  it('leaves a zero patch exactly as the image and fades the map in as 0.9·(v/upper)^1.5', () => {
    const layer = renderPatchOverlay(map, [2, 2], 4, DEFAULT_HEATMAP, W, W);
    const seen = compositeOver(greyImage(W, W), layer);
    // Zero patch: transparent layer, image pixel unchanged everywhere in the patch.
    for (const [x, y] of [[0, 0], [15, 15], [7, 3]]) {
      expect(px(layer, W, x!, y!)[3]).toBe(0);
      expect(px(seen, W, x!, y!)).toEqual([GREY, GREY, GREY, 255]);
    }
    // Top patch: plasma(1) at alpha 0.9 (229.5 → 230 of 255).
    expect(px(layer, W, 24, 24)).toEqual([...plasmaRgb(1), Math.round(0.9 * 255)]);
    // Quarter patch: alpha 0.9 · 0.25^1.5 = 0.1125, so the image still dominates (weak = faint, not purple).
    const quarter = px(layer, W, 24, 8);
    expect(quarter.slice(0, 3)).toEqual([...plasmaRgb(0.25)]);
    expect(quarter[3]).toBe(Math.round(0.1125 * 255));
    const q = px(seen, W, 24, 8);
    for (let c = 0; c < 3; c++) expect(Math.abs(q[c]! - GREY)).toBeLessThan(0.12 * 255);
  });

  it('drops patches below the threshold and scales by opacity', () => {
    const layer = renderPatchOverlay(map, [2, 2], 4, settings('image-first', 0.5, 0.5), W, W);
    expect(px(layer, W, 24, 8)[3]).toBe(0); // 1/4 < 0.5
    expect(px(layer, W, 8, 24)[3]).toBe(Math.round(0.9 * Math.pow(0.5, 1.5) * 0.5 * 255)); // exactly at the threshold
    expect(px(layer, W, 24, 24)[3]).toBe(Math.round(0.45 * 255));
  });

  it('uses one scale for the whole feature: equal values give equal pixels across exemplars', () => {
    const a = renderPatchOverlay([3, 0, 0, 0], [2, 2], 6, DEFAULT_HEATMAP, 20, 20);
    const b = renderPatchOverlay([0, 0, 0, 3], [2, 2], 6, DEFAULT_HEATMAP, 20, 20);
    expect(px(a, 20, 0, 0)).toEqual(px(b, 20, 19, 19));
    expect(px(a, 20, 0, 0)[3]! / 255).toBeCloseTo(overlayAlpha(0.5, 1), 2);
  });

  it('tiles the canvas without gaps when the size does not divide evenly', () => {
    const layer = renderPatchOverlay(new Array(21).fill(1), [3, 7], 1, DEFAULT_HEATMAP, 100, 50);
    expect(layer.length).toBe(100 * 50 * 4);
    for (let i = 3; i < layer.length; i += 4) expect(layer[i]).toBe(Math.round(0.9 * 255));
  });

  it('draws nothing for opacity 0, a dead feature (upper 0) or an empty grid', () => {
    for (const [upper, s, g] of [
      [4, settings('image-first', 0, 0), [2, 2]],
      [0, DEFAULT_HEATMAP, [2, 2]],
      [4, DEFAULT_HEATMAP, [0, 0]],
    ] as const) {
      const layer = renderPatchOverlay(map, g as [number, number], upper, s, 10, 10);
      expect(layer.length).toBe(10 * 10 * 4);
      expect(layer.every((v) => v === 0)).toBe(true);
    }
  });

  it('overlayAlpha is 0.9 at the top, 0 at zero and below the threshold', () => {
    expect(overlayAlpha(1, 1)).toBe(0.9);
    expect(overlayAlpha(0, 1)).toBe(0);
    expect(overlayAlpha(0.25, 1)).toBeCloseTo(0.1125, 9);
    expect(overlayAlpha(0.25, 1, 0.3)).toBe(0);
    expect(overlayAlpha(2, 1)).toBe(0.9); // clamped
  });
});

describe('renderPatchOverlay: outline', () => {
  it('draws only the boundary of the patches at or above the threshold, in plasma(1); the image inside is untouched', () => {
    // 4×4 grid, 8 px per patch (line width 1): a 2×2 block of strong patches in the middle, one weak patch.
    const map = [0, 0, 0, 0, 0, 4, 3, 0, 0, 4, 4, 0, 0.5, 0, 0, 0];
    const W = 32;
    const layer = renderPatchOverlay(map, [4, 4], 4, settings('outline', 0.5), W, W);
    const seen = compositeOver(greyImage(W, W), layer);
    const yellow = [...plasmaRgb(1), 255];
    // The block spans x, y in [8, 24): its outer ring of pixels is drawn, the rest is not.
    for (let y = 0; y < W; y++) {
      for (let x = 0; x < W; x++) {
        const inBlock = x >= 8 && x < 24 && y >= 8 && y < 24;
        const onRing = inBlock && (x === 8 || x === 23 || y === 8 || y === 23);
        expect(px(layer, W, x, y), `(${x}, ${y})`).toEqual(onRing ? yellow : [0, 0, 0, 0]);
      }
    }
    // Inside the region (the seam between two strong patches included) the image shows as it is.
    expect(px(seen, W, 16, 16)).toEqual([GREY, GREY, GREY, 255]);
    expect(px(seen, W, 12, 12)).toEqual([GREY, GREY, GREY, 255]);
    // The weak patch (0.5/4 < 0.5) is not outlined; with threshold 0 it is.
    expect(px(layer, W, 0, 24)[3]).toBe(0);
    const all = renderPatchOverlay(map, [4, 4], 4, settings('outline', 0), W, W);
    expect(px(all, W, 0, 24)).toEqual(yellow);
    expect(px(all, W, 4, 28)[3]).toBe(0); // its centre
  });
});

describe('renderPatchOverlay: side-by-side and solid', () => {
  const map = [0, 1, 2, 4];
  it('side-by-side draws an opaque map with zero in plasma(0)', () => {
    const layer = renderPatchOverlay(map, [2, 2], 4, settings('side-by-side', 0, 0.2), 32, 32);
    expect(px(layer, 32, 0, 0)).toEqual([...plasmaRgb(0), 255]);
    expect(px(layer, 32, 24, 24)).toEqual([...plasmaRgb(1), 255]); // opacity does not apply
  });
  it('solid covers every patch at the chosen opacity (the image is hidden at 100%)', () => {
    const layer = renderPatchOverlay(map, [2, 2], 4, settings('solid', 0.3, 1), 32, 32);
    const seen = compositeOver(greyImage(32, 32), layer);
    expect(px(seen, 32, 0, 0)).toEqual([...plasmaRgb(0), 255]);
    expect(px(seen, 32, 24, 8)).toEqual([...plasmaRgb(0), 255]); // below the threshold: bottom colour
    expect(px(renderPatchOverlay(map, [2, 2], 4, settings('solid', 0, 0.5), 32, 32), 32, 24, 24)[3]).toBe(128);
  });
});

describe('drawPatchOverlay', () => {
  it('clears the canvas and puts the rendered layer on it', () => {
    const calls: string[] = [];
    let put: Uint8ClampedArray | null = null;
    const ctx: OverlayContext = {
      clearRect: (...a) => void calls.push(`clear ${a.join(',')}`),
      createImageData: (w, h) => ({ width: w, height: h, data: new Uint8ClampedArray(w * h * 4), colorSpace: 'srgb' }) as ImageData,
      putImageData: (d, x, y) => {
        calls.push(`put ${d.width}x${d.height}@${x},${y}`);
        put = d.data;
      },
    };
    drawPatchOverlay(ctx, [0, 4], [1, 2], 4, DEFAULT_HEATMAP, 8, 4);
    expect(calls).toEqual(['clear 0,0,8,4', 'put 8x4@0,0']);
    expect(Array.from(put!)).toEqual(Array.from(renderPatchOverlay([0, 4], [1, 2], 4, DEFAULT_HEATMAP, 8, 4)));
  });
});

describe('patchAt', () => {
  it('maps a point to (row, col) and rejects points outside', () => {
    expect(patchAt(0, 0, [14, 14], 224, 224)).toEqual({ row: 0, col: 0 });
    expect(patchAt(223.9, 100, [14, 14], 224, 224)).toEqual({ row: 6, col: 13 });
    expect(patchAt(224, 10, [14, 14], 224, 224)).toBeNull();
    expect(patchAt(-1, 10, [14, 14], 224, 224)).toBeNull();
  });
});

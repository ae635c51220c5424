import { describe, expect, it } from 'vitest';
import { PLASMA_TABLE, plasmaRgb } from '../../src-renderer/src/lib/plasma';
import { drawPatchOverlay, overlayAlpha, patchAt, type OverlayContext } from '../../src-renderer/src/lib/patchOverlay';

/** Records what drawPatchOverlay does, as a CanvasRenderingContext2D would receive it. */
class RecordingContext implements OverlayContext {
  fillStyle: string | CanvasGradient | CanvasPattern = '#000';
  clears: number[][] = [];
  fills: { x: number; y: number; w: number; h: number; style: string }[] = [];
  clearRect(x: number, y: number, w: number, h: number): void {
    this.clears.push([x, y, w, h]);
  }
  fillRect(x: number, y: number, w: number, h: number): void {
    this.fills.push({ x, y, w, h, style: String(this.fillStyle) });
  }
}

function parseRgba(style: string): [number, number, number, number] {
  const m = /^rgba\((\d+), (\d+), (\d+), ([\d.e-]+)\)$/.exec(style);
  if (!m) throw new Error(`not an rgba() colour: ${style}`);
  return [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
}

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
      for (let c = 0; c < 3; c++) expect(Math.abs(got[c] - rgb[c])).toBeLessThanOrEqual(2);
    }
  });

  it('clamps out-of-range and NaN inputs', () => {
    expect(plasmaRgb(-3)).toEqual(plasmaRgb(0));
    expect(plasmaRgb(7)).toEqual(plasmaRgb(1));
    expect(plasmaRgb(Number.NaN)).toEqual(plasmaRgb(0));
  });

  it('runs from dark blue to bright yellow (luminance rises overall)', () => {
    const lum = ([r, g, b]: readonly number[]) => 0.2126 * r + 0.7152 * g + 0.0722 * b;
    expect(lum(plasmaRgb(0))).toBeLessThan(lum(plasmaRgb(0.5)));
    expect(lum(plasmaRgb(0.5))).toBeLessThan(lum(plasmaRgb(1)));
  });
});

describe('drawPatchOverlay', () => {
  const grid: [number, number] = [2, 3];
  // Row-major: row 0 = [0, 1, 2], row 1 = [-1, 4, 8]; upper 4 so 8 clamps to the top colour.
  const patchMap = [0, 1, 2, -1, 4, 8];

  it('fills one square per positive patch with plasma(v/upper) and alpha 0.9·v/upper·opacity', () => {
    const ctx = new RecordingContext();
    drawPatchOverlay(ctx, patchMap, grid, 4, 0.5, 96, 64);
    expect(ctx.clears).toEqual([[0, 0, 96, 64]]);
    expect(ctx.fills).toHaveLength(4); // 0 and -1 stay transparent
    const expected = [
      { x: 32, y: 0, v: 1 },
      { x: 64, y: 0, v: 2 },
      { x: 32, y: 32, v: 4 },
      { x: 64, y: 32, v: 8 },
    ];
    expected.forEach(({ x, y, v }, i) => {
      const fill = ctx.fills[i];
      expect([fill.x, fill.y, fill.w, fill.h]).toEqual([x, y, 32, 32]);
      const t = Math.min(1, v / 4);
      const [r, g, b, a] = parseRgba(fill.style);
      expect([r, g, b]).toEqual([...plasmaRgb(t)]);
      expect(a).toBeCloseTo(0.9 * t * 0.5, 6);
    });
  });

  it('uses one scale for the whole feature: equal values give equal colours across exemplars', () => {
    const a = new RecordingContext();
    const b = new RecordingContext();
    drawPatchOverlay(a, [3, 0, 0, 0], [2, 2], 6, 1, 20, 20);
    drawPatchOverlay(b, [0, 0, 0, 3], [2, 2], 6, 1, 20, 20);
    expect(a.fills[0].style).toBe(b.fills[0].style);
    expect(parseRgba(a.fills[0].style)[3]).toBeCloseTo(0.45, 3);
  });

  it('tiles the canvas without gaps or overlaps when the size does not divide evenly', () => {
    const ctx = new RecordingContext();
    const full = new Array(3 * 7).fill(1);
    drawPatchOverlay(ctx, full, [3, 7], 1, 1, 100, 50);
    expect(ctx.fills).toHaveLength(21);
    const area = ctx.fills.reduce((s, f) => s + f.w * f.h, 0);
    expect(area).toBe(100 * 50);
    const firstRow = ctx.fills.slice(0, 7);
    for (let i = 1; i < firstRow.length; i++) expect(firstRow[i].x).toBe(firstRow[i - 1].x + firstRow[i - 1].w);
  });

  it('draws nothing (but still clears) for opacity 0, a dead feature (upper 0) or an empty grid', () => {
    for (const [upper, opacity, g] of [
      [4, 0, grid],
      [0, 1, grid],
      [4, 1, [0, 0]],
    ] as const) {
      const ctx = new RecordingContext();
      drawPatchOverlay(ctx, patchMap, g as [number, number], upper, opacity, 10, 10);
      expect(ctx.fills).toHaveLength(0);
      expect(ctx.clears).toHaveLength(1);
    }
  });

  it('overlayAlpha is 0.9 at the top of the scale', () => {
    expect(overlayAlpha(1, 1)).toBe(0.9);
    expect(overlayAlpha(0.5, 0.5)).toBeCloseTo(0.225, 9);
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

import { plasmaRgb } from './plasma';

/** The subset of CanvasRenderingContext2D the overlay needs, so tests can pass a recorder. */
export interface OverlayContext {
  fillStyle: string | CanvasGradient | CanvasPattern;
  clearRect(x: number, y: number, w: number, h: number): void;
  fillRect(x: number, y: number, w: number, h: number): void;
}

/**
 * Draws a feature's patch map over an exemplar: one square per patch of the grid (row-major),
 * colour plasma(v / upper) and alpha 0.9 · v / upper · opacity. `upper` is shared by all exemplars
 * of the feature so tiles compare at a glance; v ≤ 0 stays transparent so the image shows through.
 * Patch edges are rounded to whole pixels so neighbouring squares neither overlap nor leave seams.
 */
export function drawPatchOverlay(
  ctx: OverlayContext,
  patchMap: ArrayLike<number>,
  grid: readonly [number, number],
  upper: number,
  opacity: number,
  width: number,
  height: number,
): void {
  ctx.clearRect(0, 0, width, height);
  const [rows, cols] = grid;
  if (!(upper > 0) || !(opacity > 0) || rows <= 0 || cols <= 0) return;
  for (let row = 0; row < rows; row++) {
    const y0 = Math.round((row * height) / rows);
    const y1 = Math.round(((row + 1) * height) / rows);
    for (let col = 0; col < cols; col++) {
      const v = patchMap[row * cols + col];
      if (!(v > 0)) continue;
      const t = Math.min(v / upper, 1);
      const [r, g, b] = plasmaRgb(t);
      const x0 = Math.round((col * width) / cols);
      const x1 = Math.round(((col + 1) * width) / cols);
      ctx.fillStyle = `rgba(${r}, ${g}, ${b}, ${overlayAlpha(t, opacity)})`;
      ctx.fillRect(x0, y0, x1 - x0, y1 - y0);
    }
  }
}

/** Alpha of a patch with normalised value t (0.9 at the top so the image never vanishes entirely). */
export function overlayAlpha(t: number, opacity: number): number {
  return 0.9 * t * opacity;
}

/** The patch under a point of the overlay, or null outside. */
export function patchAt(
  x: number,
  y: number,
  grid: readonly [number, number],
  width: number,
  height: number,
): { row: number; col: number } | null {
  if (x < 0 || y < 0 || x >= width || y >= height) return null;
  const [rows, cols] = grid;
  return { row: Math.floor((y / height) * rows), col: Math.floor((x / width) * cols) };
}

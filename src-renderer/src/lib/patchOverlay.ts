import { plasmaRgb } from './plasma';

// The one way the studio draws a feature's patch map (feature exemplars, match and query strips,
// flicker frames, the patch picker). It renders into an RGBA pixel buffer that is put on a canvas
// laid over (or, side by side, next to) the image; doing it per pixel rather than with fillRect
// and strokes keeps the result exact and testable without a browser.

/**
 * image-first: the map fades in with activation, zero stays transparent (the default: the
 *   feature's pixels stay readable).
 * outline: only the boundary of the patches at or above the threshold, in the colour of the max.
 * side-by-side: the image untouched, the map drawn opaque on its own canvas next to it.
 * solid: the map over the image at the chosen opacity, every patch coloured (the classic view).
 */
export type HeatmapMode = 'image-first' | 'outline' | 'side-by-side' | 'solid';
export const HEATMAP_MODES: readonly HeatmapMode[] = ['image-first', 'outline', 'side-by-side', 'solid'];

export interface HeatmapSettings {
  mode: HeatmapMode;
  /** Fraction of the feature's upper value below which a patch is not drawn (0..1). */
  threshold: number;
  /** Multiplies the alpha in image-first and solid modes (0..1). */
  opacity: number;
}

export const DEFAULT_HEATMAP: Readonly<HeatmapSettings> = { mode: 'image-first', threshold: 0, opacity: 1 };

/** Image-first alpha exponent: >1 keeps weak patches nearly clear so they do not tint the image. */
const IMAGE_FIRST_GAMMA = 1.5;
/** Image-first alpha at the top of the scale: 0.9 so the image never vanishes under the map. */
const IMAGE_FIRST_MAX_ALPHA = 0.9;

/**
 * Alpha of a patch with normalised value t = v / upper in image-first mode:
 * 0.9 · t^1.5 · opacity, and 0 below the threshold (and for t ≤ 0).
 */
export function overlayAlpha(t: number, opacity: number, threshold = 0): number {
  if (!(t > 0) || t < threshold) return 0;
  return IMAGE_FIRST_MAX_ALPHA * Math.pow(Math.min(t, 1), IMAGE_FIRST_GAMMA) * opacity;
}

/** Outline line width in canvas pixels for patches `px` pixels wide (about an eighth of a patch). */
function outlineWidth(px: number): number {
  return Math.max(1, Math.round(px / 8));
}

/** The subset of CanvasRenderingContext2D the overlay needs. */
export interface OverlayContext {
  clearRect(x: number, y: number, w: number, h: number): void;
  createImageData(w: number, h: number): ImageData;
  putImageData(data: ImageData, x: number, y: number): void;
}

/**
 * The overlay layer as straight (non-premultiplied) RGBA bytes, row-major, width × height.
 * `upper` is the feature's largest patch value over its exemplars (or the clip), shared by every
 * map of the feature so they compare at a glance. Patch edges are rounded to whole pixels so
 * neighbouring squares neither overlap nor leave seams.
 */
export function renderPatchOverlay(
  patchMap: ArrayLike<number>,
  grid: readonly [number, number],
  upper: number,
  settings: HeatmapSettings,
  width: number,
  height: number,
): Uint8ClampedArray {
  const out = new Uint8ClampedArray(width * height * 4);
  const [rows, cols] = grid;
  if (!(upper > 0) || rows <= 0 || cols <= 0 || width <= 0 || height <= 0) return out;
  const threshold = clamp01(settings.threshold);
  const opacity = clamp01(settings.opacity);
  const value = (r: number, c: number) => patchMap[r * cols + c];
  const t = (r: number, c: number) => Math.min((value(r, c) ?? 0) / upper, 1);
  // Pixel bounds of each column and row, so every pixel belongs to exactly one patch.
  const xs = Array.from({ length: cols + 1 }, (_, c) => Math.round((c * width) / cols));
  const ys = Array.from({ length: rows + 1 }, (_, r) => Math.round((r * height) / rows));
  const put = (x0: number, y0: number, x1: number, y1: number, rgb: readonly number[], alpha: number) => {
    const a = Math.round(alpha * 255);
    if (a <= 0) return;
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) {
        const i = (y * width + x) * 4;
        out[i] = rgb[0]!;
        out[i + 1] = rgb[1]!;
        out[i + 2] = rgb[2]!;
        out[i + 3] = a;
      }
    }
  };

  if (settings.mode === 'outline') {
    // The set: patches that fire at or above the threshold. Lines run just inside its boundary,
    // so the image within the region is untouched and neighbouring regions stay apart.
    const inSet = (r: number, c: number) => {
      if (r < 0 || c < 0 || r >= rows || c >= cols) return false;
      const tv = t(r, c);
      return tv > 0 && tv >= threshold;
    };
    const colour = plasmaRgb(1);
    const lw = outlineWidth(Math.min(width / cols, height / rows));
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        if (!inSet(r, c)) continue;
        const [x0, x1, y0, y1] = [xs[c]!, xs[c + 1]!, ys[r]!, ys[r + 1]!];
        if (!inSet(r - 1, c)) put(x0, y0, x1, Math.min(y0 + lw, y1), colour, 1);
        if (!inSet(r + 1, c)) put(x0, Math.max(y1 - lw, y0), x1, y1, colour, 1);
        if (!inSet(r, c - 1)) put(x0, y0, Math.min(x0 + lw, x1), y1, colour, 1);
        if (!inSet(r, c + 1)) put(Math.max(x1 - lw, x0), y0, x1, y1, colour, 1);
      }
    }
    return out;
  }

  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const tv = t(r, c);
      const [x0, x1, y0, y1] = [xs[c]!, xs[c + 1]!, ys[r]!, ys[r + 1]!];
      if (settings.mode === 'image-first') {
        put(x0, y0, x1, y1, plasmaRgb(tv), overlayAlpha(tv, opacity, threshold));
      } else {
        // solid and side-by-side show every patch; those below the threshold take the bottom colour.
        const shown = tv > 0 && tv >= threshold ? tv : 0;
        put(x0, y0, x1, y1, plasmaRgb(shown), settings.mode === 'solid' ? opacity : 1);
      }
    }
  }
  return out;
}

/** Draws the overlay layer on a canvas of width × height (clearing it first). */
export function drawPatchOverlay(
  ctx: OverlayContext,
  patchMap: ArrayLike<number>,
  grid: readonly [number, number],
  upper: number,
  settings: HeatmapSettings,
  width: number,
  height: number,
): void {
  ctx.clearRect(0, 0, width, height);
  if (width <= 0 || height <= 0) return;
  const image = ctx.createImageData(width, height);
  image.data.set(renderPatchOverlay(patchMap, grid, upper, settings, width, height));
  ctx.putImageData(image, 0, 0);
}

/**
 * What the eye sees: an overlay layer (straight RGBA) composited source-over onto an opaque RGB(A)
 * image of the same size, as the browser composites the canvas over the <img>.
 */
export function compositeOver(image: Uint8ClampedArray, overlay: Uint8ClampedArray): Uint8ClampedArray {
  const out = new Uint8ClampedArray(image.length);
  for (let i = 0; i < image.length; i += 4) {
    const a = overlay[i + 3]! / 255;
    for (let k = 0; k < 3; k++) out[i + k] = Math.round(overlay[i + k]! * a + image[i + k]! * (1 - a));
    out[i + 3] = 255;
  }
  return out;
}

function clamp01(x: number): number {
  return x > 0 ? (x < 1 ? x : 1) : 0;
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

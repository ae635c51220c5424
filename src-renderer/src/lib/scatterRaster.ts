// The scatter's points as one RGBA image. 100,000 canvas fillRect calls took 105-196 ms (and
// several hundred ms sliced over frames on a software canvas); counting points per device pixel
// and writing the pixels once takes a few ms for the same picture.

export interface PointRaster {
  /** Device pixels, RGBA, not premultiplied (what ImageData takes). */
  data: Uint8ClampedArray<ArrayBuffer>;
  width: number;
  height: number;
}

/**
 * Every point (CSS pixels px[i], py[i]; NaN: not drawn) as a `size`-CSS-pixel square centred on
 * it, snapped to device pixels, in one colour at opacity `alpha`. A pixel under k points gets
 * opacity 1 − (1 − alpha)^k: what k translucent fillRects of that colour composite to.
 */
export function rasterizePoints(
  px: ArrayLike<number>,
  py: ArrayLike<number>,
  width: number,
  height: number,
  dpr: number,
  rgb: readonly [number, number, number],
  alpha: number,
  size = 2,
): PointRaster {
  const w = Math.round(width * dpr);
  const h = Math.round(height * dpr);
  const side = Math.max(1, Math.round(size * dpr));
  const half = (size / 2) * dpr;
  const counts = new Uint16Array(w * h);
  let most = 0;
  for (let i = 0; i < px.length; i++) {
    const x = px[i]!;
    if (Number.isNaN(x)) continue;
    const x0 = Math.round(x * dpr - half);
    const y0 = Math.round(py[i]! * dpr - half);
    for (let y = Math.max(0, y0); y < Math.min(h, y0 + side); y++) {
      for (let xx = Math.max(0, x0), row = y * w; xx < Math.min(w, x0 + side); xx++) {
        const c = counts[row + xx]! + 1;
        if (c < 65535) counts[row + xx] = c;
        if (c > most) most = c;
      }
    }
  }
  // Opacity per count, once: at most a few thousand distinct counts even where points stack.
  const opacity = new Uint8ClampedArray(Math.min(most, 65535) + 1);
  for (let k = 1; k < opacity.length; k++) opacity[k] = Math.round(255 * (1 - (1 - alpha) ** k));
  const data = new Uint8ClampedArray(w * h * 4);
  const [r, g, b] = rgb;
  for (let p = 0; p < counts.length; p++) {
    const k = counts[p]!;
    if (k === 0) continue;
    const o = p * 4;
    data[o] = r;
    data[o + 1] = g;
    data[o + 2] = b;
    data[o + 3] = opacity[k]!;
  }
  return { data, width: w, height: h };
}

/** "90, 50, 200" (a theme's --scatter-point) as numbers; a malformed value gives mid grey. */
export function parseRgb(text: string): [number, number, number] {
  const parts = text.split(',').map((s) => Number(s.trim()));
  return parts.length === 3 && parts.every((v) => Number.isFinite(v)) ? (parts as [number, number, number]) : [128, 128, 128];
}
